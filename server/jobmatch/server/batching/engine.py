"""The engine: the one door from the API layer into the models.

It checks a call against its model, tokenizes it (short calls on the event loop, longer ones on
the tokenizer thread), admits the job into the bounded queue (failing fast or waiting, as the
caller asks) and awaits the device worker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import gc
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from jobmatch.client.sides import SIDES
from jobmatch.server.batching.queue import InputQueue
from jobmatch.server.batching.work import EmbedJob, EmbedResult, OutputOptions
from jobmatch.server.batching.worker import BatchLimits, BatchObserver, DeviceWorker, WorkerStats
from jobmatch.server.config import ServerSettings
from jobmatch.server.errors import ErrorKind, JobMatchError, start_failed
from jobmatch.server.models import SideEncoder, load_encoder, pick_device, pick_dtype
from jobmatch.server.models.loading import PROBE_TEXTS

logger = logging.getLogger(__name__)

# Calls with at most this many characters in all are tokenized on the event loop: a title takes
# ~30 us, 512 characters ~0.2 ms, while handing a call to the tokenizer thread and back costs ~50 us
# of CPU and two thread wake-ups, which on a small machine preempt torch's threads mid-batch.
INLINE_TOKENIZE_CHARS = 512


@dataclass(frozen=True)
class EmbedCall:
    """What a caller asks for: texts of one model ('' = default) and side (None = not given)."""

    model: str
    side: str | None
    texts: Sequence[str]
    truncate: bool = False
    options: OutputOptions = field(default_factory=OutputOptions)


@dataclass(frozen=True)
class ModelDescription:
    name: str
    source: str
    dimension: int
    asymmetric: bool
    sides: tuple[str, ...]
    max_input_tokens: int
    device: str
    dtype: str
    backend: str
    is_default: bool


class EmbeddingEngine:
    """Serves `embed` calls for every configured model through one device worker."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self._encoders: dict[str, SideEncoder] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._space = asyncio.Event()
        self._queue = InputQueue(settings.max_queued_inputs, on_space=self._signal_space)
        self._worker = DeviceWorker(
            self._queue,
            BatchLimits(
                settings.max_batch_size,
                settings.max_batch_tokens,
                settings.max_batch_wait_ms / 1000,
                settings.batch_overhead_tokens,
                settings.one_thread_tokens,
            ),
            deliver=self._deliver,
            threads=settings.device_workers,
        )
        self._tokenizer_pool = concurrent.futures.ThreadPoolExecutor(
            settings.tokenizer_threads, thread_name_prefix="tokenizer"
        )
        self._accepting = False
        self._shutting_down = False
        self._start_failure: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Load and warm every model on the device worker; then accept calls."""
        self._loop = asyncio.get_running_loop()
        ready = self._worker.start(self._load_models)
        self._encoders = await asyncio.wrap_future(ready)
        # The models' ~500k Python objects live as long as the server: frozen, the collector's
        # full passes (which calls in flight trigger under load) skip them instead of walking
        # them all, a 0.2-0.5 s stall of every thread holding the GIL each time. Garbage first,
        # so none of it is frozen.
        gc.collect()
        gc.freeze()
        self._accepting = not self._shutting_down

    @property
    def ready(self) -> bool:
        return self._accepting

    def begin_shutdown(self) -> None:
        """Refuse new calls (UNAVAILABLE); calls already admitted still finish."""
        self._shutting_down = True
        self._accepting = False

    async def close(self) -> None:
        """Stop the worker once the queue is drained."""
        self.begin_shutdown()
        self._queue.close()
        await asyncio.to_thread(self._worker.join)
        self._tokenizer_pool.shutdown(wait=False, cancel_futures=True)

    @property
    def queued_inputs(self) -> int:
        return len(self._queue)

    @property
    def worker_stats(self) -> WorkerStats:
        return self._worker.stats

    def observe_batches(self, observer: BatchObserver) -> None:
        """Call `observer` on the worker thread after every forward pass (metrics)."""
        self._worker.on_batch = observer

    def describe_models(self) -> list[ModelDescription]:
        return [
            ModelDescription(
                name=name,
                source=encoder.source,
                dimension=encoder.dimension,
                asymmetric=encoder.asymmetric,
                sides=SIDES,
                max_input_tokens=encoder.max_input_tokens,
                device=str(encoder.device),
                dtype=encoder.dtype_name,
                backend=encoder.backend,
                is_default=name == self.settings.default_model,
            )
            for name, encoder in self._encoders.items()
        ]

    # -- calls -----------------------------------------------------------------------------

    async def embed(self, call: EmbedCall, *, deadline: float | None, wait_for_capacity: bool) -> EmbedResult:
        """Embed `call.texts`; rows of the result follow the input order.

        `deadline` is a time.monotonic() value after which the work is dropped. When the queue is
        full, raise QUEUE_FULL, or with `wait_for_capacity` wait for room (stream backpressure).
        """
        self._check_accepting()
        encoder = self._model(call.model)
        side = self._side(encoder, call.side)
        self._check_inputs(encoder, call)
        inline = sum(map(len, call.texts)) <= INLINE_TOKENIZE_CHARS
        if not inline:
            self._queue.expect(1)  # on its way: the worker may wait for it to fill a batch
        try:
            started = time.perf_counter_ns()
            token_ids = await self._tokenize(encoder, call, inline=inline)
            job = EmbedJob(
                model=encoder.name,
                side=side,
                token_ids=token_ids,
                options=call.options,
                future=asyncio.get_running_loop().create_future(),
                deadline=deadline,
                tokenization_ns=time.perf_counter_ns() - started,
            )
            await self._admit(job, wait_for_capacity)
        finally:
            if not inline:
                self._queue.expect(-1)
        try:
            return await job.future
        finally:
            job.future.cancel()  # a no-op when done; otherwise the worker skips the job's inputs

    def fail_start(self, reason: str) -> None:
        """Starting the server failed: calls get START_FAILED with `reason`, not 'still loading'."""
        self._start_failure = reason

    def _check_accepting(self) -> None:
        if self._start_failure is not None:
            raise start_failed(self._start_failure)
        if self._shutting_down:
            raise JobMatchError(ErrorKind.SHUTTING_DOWN, "the server is shutting down")
        if not self._accepting:
            raise JobMatchError(ErrorKind.NOT_READY, "models are still loading; retry shortly")

    def _model(self, name: str) -> SideEncoder:
        encoder = self._encoders.get(name or self.settings.default_model)
        if encoder is None:
            raise JobMatchError(
                ErrorKind.UNKNOWN_MODEL,
                f"unknown model {name!r}; this server serves {sorted(self._encoders)}",
                field="model",
            )
        return encoder

    @staticmethod
    def _side(encoder: SideEncoder, side: str | None) -> str | None:
        """The head to run: the asked side for an asymmetric model, None (no head) otherwise."""
        if side is not None and side not in SIDES:
            raise JobMatchError(
                ErrorKind.INVALID_ARGUMENT,
                f"unknown side {side}; the sides are anchor (SIDE_ANCHOR, 1) and positive (SIDE_POSITIVE, 2)",
                field="side",
            )
        if not encoder.asymmetric:
            return None
        if side is None:
            raise JobMatchError(
                ErrorKind.MISSING_SIDE,
                f"model {encoder.name!r} is asymmetric: set side to SIDE_ANCHOR (job titles) "
                "or SIDE_POSITIVE (skill lists)",
                field="side",
            )
        return side

    def _check_inputs(self, encoder: SideEncoder, call: EmbedCall) -> None:
        limit = self.settings.max_inputs_per_request
        if not call.texts:
            raise JobMatchError(ErrorKind.EMPTY_INPUT, "no inputs: send at least one text", field="inputs")
        if len(call.texts) > limit:
            raise JobMatchError(
                ErrorKind.TOO_MANY_INPUTS,
                f"{len(call.texts)} inputs in one request; the limit is {limit}: split the request",
                field="inputs",
            )
        for index, text in enumerate(call.texts):
            if not text.strip():
                raise JobMatchError(ErrorKind.EMPTY_INPUT, f"input {index} is empty", field=f"inputs[{index}]")
            if len(text) > self.settings.max_input_chars:
                raise JobMatchError(
                    ErrorKind.INPUT_TOO_LONG,
                    f"input {index} has {len(text)} characters; the limit is {self.settings.max_input_chars}",
                    field=f"inputs[{index}]",
                )
        if call.options.dimensions > encoder.dimension:
            raise JobMatchError(
                ErrorKind.INVALID_ARGUMENT,
                f"dimensions {call.options.dimensions} exceeds the model's dimension {encoder.dimension}",
                field="dimensions",
            )

    async def _tokenize(self, encoder: SideEncoder, call: EmbedCall, *, inline: bool) -> list[list[int]]:
        """Token ids per input, here or on the tokenizer thread; INPUT_TOO_LONG past the model's limit."""
        tokenize = functools.partial(encoder.tokenize, call.texts, truncate=call.truncate)
        if inline:
            token_ids = tokenize()
        else:
            token_ids = await asyncio.get_running_loop().run_in_executor(self._tokenizer_pool, tokenize)
        limit = encoder.max_input_tokens
        for index, ids in enumerate(token_ids):
            if len(ids) > limit:
                raise JobMatchError(
                    ErrorKind.INPUT_TOO_LONG,
                    f"input {index} has {len(ids)} tokens; model {encoder.name!r} takes at most {limit}: "
                    "shorten it or set truncate",
                    field=f"inputs[{index}]",
                )
        return token_ids

    async def _admit(self, job: EmbedJob, wait_for_capacity: bool) -> None:
        while True:
            self._space.clear()
            if self._queue.try_put(job):
                return
            self._check_accepting()
            if not wait_for_capacity:
                raise JobMatchError(
                    ErrorKind.QUEUE_FULL,
                    f"the queue is full ({self._queue.capacity} inputs waiting); retry with backoff",
                )
            await self._space.wait()

    # -- worker side -----------------------------------------------------------------------

    def _load_models(self) -> dict[str, SideEncoder]:
        """Runs on the device worker thread: load and warm every model there."""
        device = pick_device(self.settings.device)
        dtype = pick_dtype(self.settings.dtype, device)
        encoders = {}
        for spec in self.settings.models:
            encoder = load_encoder(
                spec,
                device=device,
                dtype=dtype,
                backend=self.settings.backend,
                cache_dir=self.settings.cache_dir,
                threads=self._worker.cpu_threads_each(device),
                trust_remote_code=self.settings.trust_remote_code,
                int8=self.settings.dtype == "int8",
            )
            for side in encoder.distinct_sides:
                encoder.encode(PROBE_TEXTS, side)
            encoders[spec.name] = encoder
            logger.info(
                "model %s ready on %s: dimension %d, sides %s",
                spec.name,
                encoder.backend,
                encoder.dimension,
                encoder.routes,
            )
        return encoders

    def _signal_space(self) -> None:
        """Called by the worker when inputs leave the queue: wake callers waiting for room."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._space.set)

    def _deliver(self, jobs: list[EmbedJob]) -> None:
        """Called by the worker with finished jobs: resolve their futures on the event loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(_resolve_all, jobs)


def _resolve_all(jobs: list[EmbedJob]) -> None:
    for job in jobs:
        job.resolve()
