"""The one store interface the index uses: :class:`Backend` and the neutral types it speaks.

A :class:`Backend` is a synchronous adapter over one Qdrant engine: Qdrant Edge in-process
(:mod:`.edge`, the embedded default) or a Qdrant server through qdrant-client (:mod:`.server`).
Both speak the same neutral types (:class:`CollectionSpec`, :class:`PointData`,
:class:`~jobmatch.server.index.plan.QueryPlan`) and raise the index's own errors.
:class:`~.facade.QdrantStore` runs every backend call on the store's own thread(s), never on the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from jobmatch.server.index.plan import Hit, QueryPlan, SparseVector

__all__ = ["Backend", "CollectionSpec", "DenseSpec", "PointData", "StoredPoint"]


@dataclass(frozen=True, slots=True)
class DenseSpec:
    """A dense named vector: cosine distance; ``multi``: a MAX_SIM multivector.

    ``float16``: stored in half precision. Exact search over ESCO's label multivectors is bound by
    the memory it reads: half precision halved a ``labels`` probe (1.5 -> 0.9 ms over 3,039
    occupations) and the index's memory, and left every ranking of the job-ad dev split unchanged
    (cosines move by ~1e-3; benchmarks/README.md, issue 13).
    """

    size: int
    multi: bool = False
    float16: bool = True

    @property
    def graph(self) -> bool:
        """Whether the engine builds an HNSW graph for it: not for a multivector. A graph over MAX_SIM
        multivectors found 94-96% of the exact top 10 of ESCO's labels and saved no time at their size,
        and building it took ~10 of a sync's ~11 s in ``finish_build`` (3,039 occupations, en + de);
        they are searched by a scan (exactly) at any size (benchmarks/README.md, issue 13)."""
        return not self.multi


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    """What a collection holds: dense and sparse (BM25, IDF-weighted) named vectors, payload indexes."""

    dense: Mapping[str, DenseSpec]
    sparse: tuple[str, ...] = ()
    keyword_indexes: tuple[str, ...] = ()
    integer_indexes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PointData:
    """A point to write: id, named vectors and payload.

    A vector holds a ``(dim,)`` float32 row, a ``(rows, dim)`` matrix for a multivector, or a
    :class:`~jobmatch.server.index.plan.SparseVector` for a sparse vector.
    """

    id: str
    vectors: Mapping[str, np.ndarray | SparseVector]
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredPoint:
    """A point read back: id, payload, and its vectors when asked for (name -> array)."""

    id: str
    payload: dict[str, Any]
    vectors: dict[str, np.ndarray] = field(default_factory=dict)


class Backend(Protocol):
    """A Qdrant engine, synchronously. ``collection`` arguments may name an alias."""

    location: str
    threads: int  # how many store threads may call it at once

    def collection_names(self) -> list[str]: ...
    def aliases(self) -> dict[str, str]: ...
    def metadata(self, collection: str) -> dict[str, Any]: ...
    def create_collection(self, collection: str, spec: CollectionSpec, metadata: Mapping[str, Any]) -> None: ...
    def update_metadata(self, collection: str, metadata: Mapping[str, Any]) -> None: ...
    def switch_alias(self, alias: str, collection: str) -> None: ...
    def drop_collection(self, collection: str) -> None: ...
    def upsert(self, collection: str, points: Sequence[PointData]) -> None: ...
    def delete(self, collection: str, ids: Sequence[str]) -> None: ...
    def read_payload(self, collection: str, fields: Sequence[str]) -> dict[str, dict[str, Any]]: ...
    def count(self, collection: str) -> int: ...
    def retrieve(
        self, collection: str, ids: Sequence[str], fields: Sequence[str] | bool, *, with_vectors: bool
    ) -> list[StoredPoint]: ...
    def query_batch(self, collection: str, plans: Sequence[QueryPlan]) -> list[list[Hit]]: ...
    def finish_build(self, collection: str) -> None: ...
    def close(self) -> None: ...
