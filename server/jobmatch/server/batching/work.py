"""Units of work: a request (`EmbedJob`) and one of its inputs waiting in the queue (`QueuedInput`)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np

from jobmatch.server.errors import ErrorKind, JobMatchError


@dataclass(frozen=True)
class OutputOptions:
    """What to do with the raw vectors of a request before they go back."""

    normalize: bool = True
    dimensions: int = 0  # 0 keeps every component


@dataclass(frozen=True)
class EmbedResult:
    """Vectors of one request, (n_inputs, dimension) float32, rows in input order, plus costs."""

    model: str
    vectors: np.ndarray
    prompt_tokens: int
    tokenization_ns: int
    queue_ns: int
    inference_ns: int


@dataclass(eq=False)
class EmbedJob:
    """One request waiting for its vectors: owned by the event loop, filled by the device worker.

    The worker only writes `vectors`, `remaining`, and the timing fields; it hands the finished
    job back to the loop, which resolves `future`.
    """

    model: str
    side: str | None
    token_ids: list[list[int]]
    options: OutputOptions
    future: asyncio.Future[EmbedResult]
    deadline: float | None = None  # time.monotonic() after which nobody waits for the result
    tokenization_ns: int = 0
    enqueued_at: float = field(default_factory=time.monotonic)
    first_batch_at: float | None = None
    inference_ns: int = 0
    vectors: np.ndarray | None = None
    remaining: int = 0
    error: JobMatchError | None = None
    outcome: EmbedResult | None = None

    def __post_init__(self) -> None:
        self.remaining = len(self.token_ids)

    @property
    def abandoned(self) -> bool:
        """The caller went away (cancelled) or a previous batch already failed the job."""
        return self.future.cancelled() or self.error is not None

    def expired(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline

    def store(self, index: int, vector: np.ndarray) -> None:
        """Record the raw vector of input `index` (worker thread)."""
        if self.vectors is None:
            self.vectors = np.empty((len(self.token_ids), vector.shape[0]), dtype=np.float32)
        self.vectors[index] = vector
        self.remaining -= 1

    def fail(self, kind: ErrorKind, message: str) -> None:
        if self.error is None:
            self.error = JobMatchError(kind, message)

    def finish(self) -> None:
        """Apply the output options once every input is stored (worker thread)."""
        if self.error is None:
            self.outcome = self._result()

    def _result(self) -> EmbedResult:
        assert self.vectors is not None
        assert self.first_batch_at is not None
        vectors = self.vectors
        if self.options.dimensions:
            vectors = vectors[:, : self.options.dimensions]
        if self.options.normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        return EmbedResult(
            model=self.model,
            vectors=np.ascontiguousarray(vectors, dtype=np.float32),
            prompt_tokens=sum(len(ids) for ids in self.token_ids),
            tokenization_ns=self.tokenization_ns,
            queue_ns=int((self.first_batch_at - self.enqueued_at) * 1e9),
            inference_ns=self.inference_ns,
        )

    def resolve(self) -> None:
        """Complete `future` with the result or the error (event loop thread)."""
        if self.future.done():
            return
        if self.outcome is not None:
            self.future.set_result(self.outcome)
        else:
            self.future.set_exception(self.error or JobMatchError(ErrorKind.INTERNAL, "job ended without result"))


@dataclass(frozen=True, slots=True)
class QueuedInput:
    """Input `index` of `job`, `length` tokens long."""

    job: EmbedJob
    index: int
    length: int

    @property
    def token_ids(self) -> list[int]:
        return self.job.token_ids[self.index]
