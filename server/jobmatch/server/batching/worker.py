"""The device worker: the thread (on a CPU optionally several) that makes every torch call for a device.

It loads and warms the models, then loops: take the oldest inputs from the queue, drop those
nobody waits for, sort the rest by length, cut them into the batches of least padding plus
overhead within the size and token budgets (`cutting`), run each batch, and hand the jobs it
finished back to the event loop before running the next.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from jobmatch.server.batching.cutting import CPU_OVERHEAD_TOKENS, plan_batches
from jobmatch.server.batching.queue import InputQueue
from jobmatch.server.batching.work import EmbedJob, QueuedInput
from jobmatch.server.errors import ErrorKind
from jobmatch.server.models import SideEncoder

logger = logging.getLogger(__name__)

# A round takes this many batches' worth of the oldest inputs, so sorting by length has
# something to sort while the queue stays first-in first-out across rounds.
ROUND_BATCHES = 4
# Threads running batches on a CPU unless configured. Two batches side by side, each on half the
# cores, beat one batch on all of them under load: a thread the event loop preempts holds up only
# its own batch, not a barrier every thread waits at (64 title clients on 2 cores, medians of two
# rounds: unary 685 -> 771 texts/s, stream 738 -> 1046).
DEFAULT_CPU_WORKERS = 2


@dataclass(frozen=True)
class BatchLimits:
    max_batch_size: int
    max_batch_tokens: int
    max_wait_s: float
    overhead_tokens: float | None = None  # a forward pass's fixed cost in tokens; None: per device default
    one_thread_tokens: int = 0  # CPU batches up to this many padded tokens run on one torch thread


def cut_batches(
    items: Sequence[QueuedInput], limits: BatchLimits, overhead_tokens: float
) -> Iterator[list[QueuedInput]]:
    """Split length-sorted inputs into the batches of least estimated cost (`plan_batches`),
    each of at most `max_batch_size` inputs and `max_batch_tokens` padded tokens."""
    start = 0
    lengths = [item.length for item in items]
    for end in plan_batches(lengths, limits.max_batch_size, limits.max_batch_tokens, overhead_tokens):
        yield list(items[start:end])
        start = end


@dataclass
class WorkerStats:
    """Counters since start, written by the worker threads (under their lock)."""

    batches: int = 0
    embedded_inputs: int = 0
    dropped_inputs: int = 0  # taken from the queue but not run: cancelled or past their deadline
    oom_splits: int = 0


# Called on the worker thread after each forward pass: (inputs, padded tokens, seconds).
BatchObserver = Callable[[int, int, float], None]


class DeviceWorker:
    """Runs model loading, warm-up and every forward pass on dedicated threads: one, or on a CPU
    `threads` (None: DEFAULT_CPU_WORKERS, at most one per core) sharing the models and splitting
    the CPU's threads, each running its own batches."""

    def __init__(
        self,
        queue: InputQueue,
        limits: BatchLimits,
        deliver: Callable[[list[EmbedJob]], None],
        threads: int | None = 1,
    ) -> None:
        self._queue = queue
        self._limits = limits
        self._deliver = deliver
        self._threads_wanted = threads
        self._encoders: dict[str, SideEncoder] = {}
        self.stats = WorkerStats()
        self.on_batch: BatchObserver | None = None
        self._threads: list[threading.Thread] = []
        self._bookkeeping = threading.Lock()  # jobs and stats, when several threads run batches

    def start(self, load: Callable[[], dict[str, SideEncoder]]) -> concurrent.futures.Future:
        """Start the thread; it runs `load` first. The future resolves to the loaded encoders."""
        ready: concurrent.futures.Future = concurrent.futures.Future()
        thread = threading.Thread(target=self._run, args=(load, ready), name="device-worker", daemon=True)
        self._threads.append(thread)
        thread.start()
        return ready

    def thread_count(self, device: torch.device) -> int:
        """Threads that run batches on `device`: one unless it is a CPU."""
        if device.type != "cpu":
            return 1
        return self._threads_wanted or min(DEFAULT_CPU_WORKERS, torch.get_num_threads())

    def cpu_threads_each(self, device: torch.device) -> int:
        """The CPU threads each batch-running thread computes on."""
        return max(1, torch.get_num_threads() // self.thread_count(device))

    def join(self, timeout: float | None = None) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

    def _run(self, load: Callable[[], dict[str, SideEncoder]], ready: concurrent.futures.Future) -> None:
        try:
            self._encoders = load()
        except BaseException as err:
            ready.set_exception(err)
            return
        device = next(iter(self._encoders.values())).device
        count = self.thread_count(device)
        if count > 1:
            # Each thread sets its own count: OpenMP keeps it per calling thread.
            torch_threads = self.cpu_threads_each(device)
            for i in range(1, count):
                thread = threading.Thread(
                    target=self._serve_loop, args=(torch_threads,), name=f"device-worker-{i}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            torch.set_num_threads(torch_threads)
        ready.set_result(self._encoders)
        self._serve_loop()

    def _serve_loop(self, torch_threads: int | None = None) -> None:
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)
        limits = self._limits
        take = (limits.max_batch_size * ROUND_BATCHES, limits.max_batch_size, limits.max_wait_s)
        while (taken := self._queue.take(*take)) is not None:
            done: list[EmbedJob] = []
            try:
                self._serve(taken, done)
            except Exception:
                logger.exception("device worker failed on a round")
                with self._bookkeeping:
                    for item in taken:
                        if item.job.outcome is None and item.job.error is None:
                            item.job.fail(ErrorKind.INTERNAL, "internal error while embedding")
                            done.append(item.job)
            if done:
                self._deliver(done)

    def _serve(self, taken: list[QueuedInput], done: list[EmbedJob]) -> None:
        now = time.monotonic()
        live: list[QueuedInput] = []
        with self._bookkeeping:
            for item in taken:
                job = item.job
                if job.abandoned or job.expired(now):
                    self.stats.dropped_inputs += 1
                    if not job.abandoned:
                        job.fail(ErrorKind.DEADLINE_EXCEEDED, "deadline expired while the request was queued")
                        done.append(job)
                    continue
                live.append(item)
        if not live:
            return
        live.sort(key=lambda item: item.length)
        # A round holds one model's inputs (the queue hands them out per model).
        overhead = self._overhead_of(self._encoders[live[0].job.model])
        for batch in cut_batches(live, self._limits, overhead):
            self._run_batch(batch, done)
            if done:  # back to their callers now, while the next batch runs
                self._deliver(list(done))
                done.clear()

    def _overhead_of(self, encoder: SideEncoder) -> float:
        """The forward-pass overhead to cut by: configured, or the CPU default; elsewhere (GPUs,
        not measured) one larger than any batch, which cuts only at the limits."""
        if self._limits.overhead_tokens is not None:
            return self._limits.overhead_tokens
        return CPU_OVERHEAD_TOKENS if encoder.device.type == "cpu" else float(self._limits.max_batch_tokens)

    def _run_batch(self, batch: list[QueuedInput], done: list[EmbedJob]) -> None:
        alive = [item for item in batch if not item.job.abandoned]
        with self._bookkeeping:
            self.stats.dropped_inputs += len(batch) - len(alive)
        batch = alive
        if not batch:
            return
        encoder = self._encoders[batch[0].job.model]
        padded_tokens = len(batch) * max(item.length for item in batch)
        started = time.monotonic()
        try:
            features = encoder.collate([item.token_ids for item in batch])
            with self._torch_threads_for(encoder, padded_tokens):
                vectors = encoder.forward(features, [item.job.side for item in batch]).numpy()
        except torch.cuda.OutOfMemoryError:
            self._split_after_oom(batch, done)
            return
        elapsed_ns = int((time.monotonic() - started) * 1e9)
        if self.on_batch is not None:
            self.on_batch(len(batch), padded_tokens, elapsed_ns / 1e9)
        with self._bookkeeping:  # a job's inputs may be in batches of two threads
            self.stats.batches += 1
            self.stats.embedded_inputs += len(batch)
            for job in {id(item.job): item.job for item in batch}.values():
                job.inference_ns += elapsed_ns
                if job.first_batch_at is None:
                    job.first_batch_at = started
            for item, vector in zip(batch, vectors, strict=True):
                item.job.store(item.index, vector)
                if item.job.remaining == 0:
                    item.job.finish()
                    done.append(item.job)

    @contextlib.contextmanager
    def _torch_threads_for(self, encoder: SideEncoder, padded_tokens: int) -> Iterator[None]:
        """One torch thread for a small CPU batch. With OpenMP's passive wait (see jobmatch/__init__.py)
        waking a second thread for the ~100 tiny parallel regions of a short forward pass costs more
        than it saves: one title took ~12 ms on two threads and ~7 ms on one here."""
        threads = torch.get_num_threads()
        if threads == 1 or encoder.device.type != "cpu" or padded_tokens > self._limits.one_thread_tokens:
            yield
            return
        torch.set_num_threads(1)  # per calling thread under OpenMP
        try:
            yield
        finally:
            torch.set_num_threads(threads)

    def _split_after_oom(self, batch: list[QueuedInput], done: list[EmbedJob]) -> None:
        """Retry a batch that ran out of device memory as two halves; a lone input fails alone."""
        torch.cuda.empty_cache()
        self.stats.oom_splits += 1
        if len(batch) == 1:
            job = batch[0].job
            job.fail(ErrorKind.OUT_OF_MEMORY, "the device ran out of memory on this input even alone")
            done.append(job)
            return
        logger.warning("out of device memory on a batch of %d inputs: splitting it", len(batch))
        half = len(batch) // 2
        self._run_batch(batch[:half], done)
        self._run_batch(batch[half:], done)
