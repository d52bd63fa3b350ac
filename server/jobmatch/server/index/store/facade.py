"""The async facade of a store: every :class:`~.base.Backend` call awaited, on the store's own thread(s).

A backend is synchronous (Qdrant Edge and qdrant-client's sync API); :class:`QdrantStore` runs its
calls off the event loop, as many at once as the backend allows.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from jobmatch.server.index.errors import StoreUnavailable
from jobmatch.server.index.plan import Hit, QueryPlan
from jobmatch.server.index.store.base import Backend, CollectionSpec, PointData, StoredPoint

__all__ = ["QdrantStore"]

T = TypeVar("T")


class QdrantStore:
    """The index's store: every :class:`Backend` operation, awaited, on the store's thread(s)."""

    def __init__(self, backend: Backend, *, embedded: bool) -> None:
        self._backend = backend
        self._executor = concurrent.futures.ThreadPoolExecutor(backend.threads, thread_name_prefix="qdrant")
        self.location = backend.location
        self.embedded = embedded  # Qdrant Edge in this process (else a Qdrant server)
        self._closed = False

    async def __aenter__(self) -> QdrantStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Flush and close the backend (an embedded store releases its lock), then its threads."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._backend.close)
        finally:
            self._executor.shutdown(wait=True)

    async def _run(self, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._closed:
            raise StoreUnavailable(f"the Qdrant store at {self.location} is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: operation(*args, **kwargs))

    async def collection_names(self) -> list[str]:
        return sorted(await self._run(self._backend.collection_names))

    async def aliases(self) -> dict[str, str]:
        """Every alias and the collection it points to."""
        return await self._run(self._backend.aliases)

    async def metadata(self, collection: str) -> dict[str, Any]:
        """The collection's metadata (IndexNotFound if it does not exist)."""
        return await self._run(self._backend.metadata, collection)

    async def create_collection(self, collection: str, spec: CollectionSpec, metadata: Mapping[str, Any]) -> None:
        await self._run(self._backend.create_collection, collection, spec, metadata)

    async def update_metadata(self, collection: str, metadata: Mapping[str, Any]) -> None:
        """Replace the given top-level metadata keys."""
        await self._run(self._backend.update_metadata, collection, metadata)

    async def switch_alias(self, alias: str, collection: str) -> None:
        """Point ``alias`` at ``collection`` atomically (readers see the old or the new one)."""
        await self._run(self._backend.switch_alias, alias, collection)

    async def drop_collection(self, collection: str) -> None:
        await self._run(self._backend.drop_collection, collection)

    async def upsert(self, collection: str, points: Sequence[PointData]) -> None:
        """Write complete points (vectors and payload together); applied when this returns."""
        if points:
            await self._run(self._backend.upsert, collection, points)

    async def delete(self, collection: str, ids: Sequence[str]) -> None:
        if ids:
            await self._run(self._backend.delete, collection, ids)

    async def read_payload(self, collection: str, fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Point id -> the given payload fields, for every point (no vectors are read)."""
        return await self._run(self._backend.read_payload, collection, fields)

    async def count(self, collection: str) -> int:
        return await self._run(self._backend.count, collection)

    async def retrieve(
        self, collection: str, ids: Sequence[str], fields: Sequence[str] | bool = True, *, with_vectors: bool = False
    ) -> list[StoredPoint]:
        """The points with these ids that exist, with the given payload fields."""
        return await self._run(self._backend.retrieve, collection, ids, fields, with_vectors=with_vectors)

    async def query_batch(self, collection: str, plans: Sequence[QueryPlan]) -> list[list[Hit]]:
        """Several query plans as one engine batch; one ranked list of hits per plan."""
        return await self._run(self._backend.query_batch, collection, plans)

    async def finish_build(self, collection: str) -> None:
        """Make a freshly synced collection durable and fast to search (flush, build indexes)."""
        await self._run(self._backend.finish_build, collection)
