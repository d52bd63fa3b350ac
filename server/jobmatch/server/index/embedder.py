"""Where the index gets its vectors: the server's own engine in-process, or a remote jobmatch server.

Both implement :class:`Embedder`: L2-normalized float32 rows in input order, one side per call
("anchor" for job titles, "positive" for comma-separated skill lists; symmetric models ignore it).
Inputs over the model's token limit are truncated: ESCO skill lists can exceed JobBERT's 64 tokens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import grpc
import numpy as np

from jobmatch.client.sides import Side
from jobmatch.server.errors import ErrorKind, JobMatchError
from jobmatch.server.index._aio import gather_or_cancel

# The engine (and torch) only for EngineEmbedder: a sync through a remote server needs neither.
if TYPE_CHECKING:
    from jobmatch.client import AsyncJobMatchClient, ModelInfo
    from jobmatch.server.batching import EmbeddingEngine, ModelDescription

__all__ = ["Embedder", "EngineEmbedder", "ModelIdentity", "RemoteEmbedder", "Side", "identity"]


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    """What the manifest records of a model. Name and dimension decide whether two are the same."""

    name: str
    source: str
    dimension: int
    asymmetric: bool

    def same_space(self, other: ModelIdentity) -> bool:
        return (self.name, self.dimension, self.asymmetric) == (other.name, other.dimension, other.asymmetric)

    def __str__(self) -> str:
        return f"{self.name!r} ({self.dimension}-d, {self.source})"


class Embedder(Protocol):
    """A model that turns texts into normalized vectors; call :meth:`prepare` before the properties."""

    @property
    def model(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def asymmetric(self) -> bool: ...

    async def prepare(self) -> None:
        """Resolve the model (name, dimension, ...); idempotent."""

    async def embed(self, texts: Sequence[str], side: Side) -> np.ndarray:
        """(len(texts), dimension) float32, L2-normalized, rows in input order."""


def identity(embedder: Embedder) -> ModelIdentity:
    return ModelIdentity(embedder.model, embedder.source, embedder.dimension, embedder.asymmetric)


def _checked(vectors: np.ndarray, rows: int, dimension: int, model: str) -> np.ndarray:
    """Float32, the expected shape, unit rows (re-normalized: cheap next to the model)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape != (rows, dimension):
        raise RuntimeError(f"model {model!r} returned vectors of shape {vectors.shape}, expected {(rows, dimension)}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class EngineEmbedder:
    """Embeds through an in-process :class:`EmbeddingEngine`, so through its batcher and queue.

    Calls are cut into chunks of at most ``max_inputs_per_request`` texts, ``max_in_flight`` at a
    time; a full queue makes them wait (``wait_for_capacity``) instead of failing.
    """

    def __init__(self, engine: EmbeddingEngine, model: str = "", *, max_in_flight: int = 4) -> None:
        self._engine = engine
        self._requested = model
        self._max_in_flight = max_in_flight
        self._found: ModelDescription | None = None

    def _description(self) -> ModelDescription:
        if self._found is None:
            self._found = self._lookup()
        return self._found

    def _lookup(self) -> ModelDescription:
        models = self._engine.describe_models()
        if not models:
            raise JobMatchError(ErrorKind.NOT_READY, "models are still loading; retry shortly")
        wanted = self._requested or self._engine.settings.default_model
        for description in models:
            if description.name == wanted:
                return description
        raise JobMatchError(ErrorKind.UNKNOWN_MODEL, f"unknown model {wanted!r}; served: {[m.name for m in models]}")

    @property
    def model(self) -> str:
        return self._description().name

    @property
    def source(self) -> str:
        return self._description().source

    @property
    def dimension(self) -> int:
        return self._description().dimension

    @property
    def asymmetric(self) -> bool:
        return self._description().asymmetric

    async def prepare(self) -> None:
        self._description()

    async def embed(self, texts: Sequence[str], side: Side) -> np.ndarray:
        from jobmatch.server.batching import EmbedCall  # not at the top: see the TYPE_CHECKING imports

        description = self._description()
        if not texts:
            return np.empty((0, description.dimension), dtype=np.float32)
        limit = self._engine.settings.max_inputs_per_request
        slots = asyncio.Semaphore(self._max_in_flight)

        async def one(chunk: Sequence[str]) -> np.ndarray:
            async with slots:
                call = EmbedCall(description.name, side, chunk, truncate=True)
                return (await self._engine.embed(call, deadline=None, wait_for_capacity=True)).vectors

        parts = await gather_or_cancel([one(texts[i : i + limit]) for i in range(0, len(texts), limit)])
        return _checked(np.concatenate(parts), len(texts), description.dimension, description.name)


class RemoteEmbedder:
    """Embeds through a remote jobmatch server; :meth:`prepare` reads the model from ``ListModels``."""

    def __init__(self, client: AsyncJobMatchClient, model: str = "") -> None:
        self._client = client
        self._requested = model
        self._info: ModelInfo | None = None

    def _resolved(self) -> ModelInfo:
        if self._info is None:
            raise RuntimeError("RemoteEmbedder: await prepare() before reading the model's properties")
        return self._info

    @property
    def model(self) -> str:
        return self._resolved().name

    @property
    def source(self) -> str:
        return self._resolved().source

    @property
    def dimension(self) -> int:
        return self._resolved().dimension

    @property
    def asymmetric(self) -> bool:
        return self._resolved().asymmetric

    async def prepare(self) -> None:
        if self._info is not None:
            return
        from jobmatch.client import JobMatchClientError

        models = await self._client.list_models()
        for info in models:
            if info.name == self._requested or (not self._requested and info.is_default):
                self._info = info
                return
        raise JobMatchClientError(
            grpc.StatusCode.NOT_FOUND,
            f"the server does not serve model {self._requested or '(default)'!r}; it serves {[m.name for m in models]}",
        )

    async def embed(self, texts: Sequence[str], side: Side) -> np.ndarray:
        await self.prepare()
        info = self._resolved()
        if not texts:
            return np.empty((0, info.dimension), dtype=np.float32)
        vectors = await self._client.embed(list(texts), side=side, model=info.name, normalize=True, truncate=True)
        return _checked(vectors, len(texts), info.dimension, info.name)
