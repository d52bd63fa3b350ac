"""The bounded queue of inputs waiting for one device, kept per model in arrival order."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from jobmatch.server.batching.work import EmbedJob, QueuedInput


class InputQueue:
    """Holds at most `capacity` inputs; a job enters whole or not at all.

    Producers (the event loop) call `try_put`; the device worker calls `take`. `on_space` is
    called (from the worker thread) whenever inputs leave the queue, so waiting producers can
    try again.
    """

    def __init__(self, capacity: int, on_space: Callable[[], None] = lambda: None) -> None:
        self.capacity = capacity
        self._on_space = on_space
        self._pending: dict[str, deque[QueuedInput]] = {}
        self._size = 0
        self._incoming = 0
        self._takers = 0  # workers inside `take`
        self._closed = False
        self._ready = threading.Condition()

    def __len__(self) -> int:
        return self._size

    def expect(self, delta: int) -> None:
        """Count jobs on their way (being tokenized): `take` waits for them to fill a batch."""
        with self._ready:
            self._incoming += delta
            self._ready.notify()

    def try_put(self, job: EmbedJob) -> bool:
        """Queue every input of `job`; False (nothing queued) when they do not fit."""
        inputs = [QueuedInput(job, i, len(ids)) for i, ids in enumerate(job.token_ids)]
        with self._ready:
            if self._closed or self._size + len(inputs) > self.capacity:
                return False
            self._pending.setdefault(job.model, deque()).extend(inputs)
            self._size += len(inputs)
            self._ready.notify()
        return True

    def take(self, limit: int, fill_target: int, max_wait_s: float) -> list[QueuedInput] | None:
        """Block until inputs wait, then take up to `limit` of the model whose input waited longest.

        Once one input is there and more jobs are on their way (`expect`), waits up to
        `max_wait_s` for `fill_target` inputs of that model (a fuller batch) before taking; with
        nothing on its way it takes at once, so a lone request pays no wait. Returns None once
        the queue is closed and empty.
        """
        with self._ready:
            self._takers += 1
            try:
                taken = self._take_locked(limit, fill_target, max_wait_s)
            finally:
                self._takers -= 1
        if taken is not None:
            self._on_space()
        return taken

    def _take_locked(self, limit: int, fill_target: int, max_wait_s: float) -> list[QueuedInput] | None:
        while not self._size:
            if self._closed:
                return None
            self._ready.wait()
        model = self._oldest_model()
        give_up_at = time.monotonic() + max_wait_s
        while self._incoming and len(self._pending[model]) < fill_target and not self._closed:
            left = give_up_at - time.monotonic()
            if left <= 0:
                break
            self._ready.wait(left)
        queue = self._pending[model]
        # Other workers waiting here get their share, to run their own batches meanwhile.
        taken = [queue.popleft() for _ in range(min(limit, -(-len(queue) // self._takers)))]
        self._size -= len(taken)
        if self._size:
            self._ready.notify()
        return taken

    def close(self) -> None:
        """Refuse new jobs; `take` drains what is left, then returns None."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def _oldest_model(self) -> str:
        heads = {model: q[0].job.enqueued_at for model, q in self._pending.items() if q}
        return min(heads, key=heads.__getitem__)
