"""One Qdrant target behind one async API: an embedded directory (local mode) or a Qdrant server.

Both are opened by :func:`open_store` and driven the same way: a synchronous ``QdrantClient`` on
the store's own thread(s), never on the event loop. ``AsyncQdrantClient`` is no better in local
mode: its methods are plain synchronous code that would block the event loop, and so the gRPC
server sharing it.

Local mode locks its directory (one client, one process at a time); opening a held directory
raises :class:`StoreLocked`. Local mode commits and fsyncs every point on its own and stores
vectors as pickled Python floats; :func:`_tune_local` and :func:`_point_struct` work around both
(see there): measured here for 3,000 points with ~14 vectors each, writing took ~1 s instead of
9-35 s, and reopening the store ~0.3 s instead of 2.4-10 s. Local mode's searches loop over points
in Python; :mod:`~jobmatch.server.index.exact` answers them in numpy with the same exact results.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import sqlite3
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import platformdirs
from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from jobmatch.server.index.errors import IndexNotFound, StoreLocked, StoreUnavailable
from jobmatch.server.index.exact import ExactSearch

__all__ = ["PointData", "QdrantStore", "default_store_path", "open_store"]

T = TypeVar("T")
_NOT_FOUND = re.compile(r"Collection `?(?P<name>[^`\s]+)`? (?:not found|doesn't exist)")
_SCROLL_PAGE = 1000


def default_store_path() -> Path:
    """``<user data dir>/jobmatch/qdrant``, e.g. ``~/.local/share/jobmatch/qdrant`` on Linux."""
    return Path(platformdirs.user_data_dir("jobmatch")) / "qdrant"


@dataclass(frozen=True, slots=True)
class PointData:
    """A point to write: id, named vectors (1-d, or 2-d for a multivector) and payload."""

    id: str
    vectors: Mapping[str, np.ndarray]
    payload: dict[str, Any] = field(default_factory=dict)


async def open_store(
    location: str | Path | None = None,
    *,
    api_key: str | None = None,
    timeout: int = 30,
    shard_number: int | None = None,
    replication_factor: int | None = None,
) -> QdrantStore:
    """Open ``location``: an ``http(s)://`` URL (a Qdrant server), else a directory (local mode).

    ``None`` opens :func:`default_store_path`. Raises :class:`StoreLocked` when another client
    holds the directory; a server is not contacted until the first call. ``shard_number`` and
    ``replication_factor`` apply to collections created on a (distributed) Qdrant server.
    """
    url, path = _parse_location(location)
    where = url or str(path)
    # Local mode: one thread owns the client (its sqlite connections stay on the thread that made them).
    executor = concurrent.futures.ThreadPoolExecutor(1 if url is None else 4, thread_name_prefix="qdrant")

    def connect() -> QdrantClient:
        if url is not None:
            return QdrantClient(url=url, api_key=api_key, timeout=timeout, check_compatibility=False)
        try:
            client = QdrantClient(path=str(path))
        except RuntimeError as exc:
            if "already accessed" not in str(exc):
                raise
            raise StoreLocked(
                f"the Qdrant store at {path} is locked: a jobmatch server or another sync has it open "
                "(local mode allows one client at a time); stop it, or use a Qdrant server (url) for shared access",
                path=str(path),
            ) from None
        _tune_local(client)
        return client

    try:
        client = await asyncio.get_running_loop().run_in_executor(executor, connect)
    except BaseException:
        executor.shutdown(wait=False)
        raise
    store = QdrantStore(client, executor, where, local=url is None)
    if url is not None:
        store.collection_options = {"shard_number": shard_number, "replication_factor": replication_factor}
    return store


def _parse_location(location: str | Path | None) -> tuple[str | None, Path | None]:
    """(url, None) for a server, (None, directory) for local mode."""
    if isinstance(location, str) and re.match(r"https?://", location):
        return location, None
    return None, Path(location).expanduser() if location is not None else default_store_path()


class QdrantStore:
    """The operations the index needs, each run off the event loop, errors mapped to index errors."""

    def __init__(
        self, client: QdrantClient, executor: concurrent.futures.ThreadPoolExecutor, location: str, *, local: bool
    ) -> None:
        self._client = client
        self._executor = executor
        self.location = location
        self.is_local = local
        # local mode: searches answered in numpy (see exact.py), on the store's thread like everything else
        self._exact = ExactSearch() if local else None
        self.collection_options: dict[str, Any] = {}  # extra create_collection arguments (sharding)
        self._closed = False

    async def __aenter__(self) -> QdrantStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the client (a local store releases its lock) and its thread."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._client.close)
        finally:
            self._executor.shutdown(wait=True)

    async def call(self, operation: Callable[[QdrantClient], T]) -> T:
        """Run ``operation(client)`` on the store's thread; map not-found and connection errors."""
        if self._closed:
            raise StoreUnavailable(f"the Qdrant store at {self.location} is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, operation, self._client)
        except UnexpectedResponse as exc:
            if exc.status_code == 404:
                raise IndexNotFound(f"{self.location}: {_reason(exc)}") from None
            if exc.status_code is None or exc.status_code >= 500:
                raise StoreUnavailable(f"the Qdrant server at {self.location} failed: {_reason(exc)}") from exc
            raise
        except ResponseHandlingException as exc:
            raise StoreUnavailable(f"the Qdrant server at {self.location} cannot be reached: {exc}") from exc
        except ValueError as exc:
            match = _NOT_FOUND.search(str(exc))
            if match is None:
                raise
            raise IndexNotFound(f"no collection or alias {match['name']!r} in {self.location}") from None
        except (sqlite3.Error, OSError) as exc:
            if not self.is_local:
                raise
            # A full disk or a file-size limit surfaces as "disk I/O error" from sqlite, or EFBIG/ENOSPC.
            raise StoreUnavailable(
                f"the embedded Qdrant store at {self.location} cannot be written or read: {exc} "
                "(disk full or not writable?)"
            ) from exc

    # -- collections and aliases ------------------------------------------------------------

    async def aliases(self) -> dict[str, str]:
        """Every alias and the collection it points to."""
        response = await self.call(lambda c: c.get_aliases())
        return {a.alias_name: a.collection_name for a in response.aliases}

    async def collection_names(self) -> list[str]:
        response = await self.call(lambda c: c.get_collections())
        return sorted(c.name for c in response.collections)

    async def metadata(self, collection: str) -> dict[str, Any]:
        """The collection's ``metadata`` (IndexNotFound if it does not exist)."""
        info = await self.call(lambda c: c.get_collection(collection))
        return dict(info.config.metadata or {})

    async def create_collection(
        self,
        collection: str,
        vectors: Mapping[str, qm.VectorParams],
        metadata: Mapping[str, Any],
        keyword_indexes: Sequence[str] = (),
    ) -> None:
        """Create a collection with named vectors, metadata and keyword payload indexes.

        Local mode records payload indexes but does not use them (exact search); created all the
        same, so both targets take the same path.
        """

        def create(client: QdrantClient) -> None:
            client.create_collection(
                collection, vectors_config=dict(vectors), metadata=dict(metadata), **self.collection_options
            )
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Payload indexes have no effect")
                for name in keyword_indexes:
                    client.create_payload_index(collection, name, qm.PayloadSchemaType.KEYWORD, wait=True)
            _tune_local(client)

        await self._write(create)

    async def update_metadata(self, collection: str, metadata: Mapping[str, Any]) -> None:
        """Replace the given top-level metadata keys."""
        await self.call(lambda c: c.update_collection(collection, metadata=dict(metadata)))

    async def switch_alias(self, alias: str, collection: str) -> None:
        """Point ``alias`` at ``collection`` in one request (readers see the old or the new one)."""
        operations: list[qm.AliasOperations] = []
        if alias in await self.aliases():
            operations.append(qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=alias)))
        operations.append(
            qm.CreateAliasOperation(create_alias=qm.CreateAlias(collection_name=collection, alias_name=alias))
        )
        await self._write(lambda c: c.update_collection_aliases(change_aliases_operations=operations))

    async def drop_collection(self, collection: str) -> None:
        await self._write(lambda c: c.delete_collection(collection))

    # -- points -----------------------------------------------------------------------------

    async def upsert(self, collection: str, points: Sequence[PointData]) -> None:
        """Write complete points (vectors and payload together); waits until applied."""
        if not points:
            return
        structs = [_point_struct(point, self.is_local) for point in points]
        await self._write(lambda c: c.upsert(collection, structs, wait=True))

    async def delete(self, collection: str, ids: Sequence[str]) -> None:
        if ids:
            selector = qm.PointIdsList(points=list(ids))
            await self._write(lambda c: c.delete(collection, points_selector=selector, wait=True))

    async def read_payload(self, collection: str, fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Point id -> the given payload fields, for every point (no vectors are read)."""

        def scroll(client: QdrantClient) -> dict[str, dict[str, Any]]:
            found: dict[str, dict[str, Any]] = {}
            offset = None
            while True:
                records, offset = client.scroll(
                    collection, limit=_SCROLL_PAGE, offset=offset, with_payload=list(fields), with_vectors=False
                )
                found.update((str(r.id), r.payload or {}) for r in records)
                if offset is None:
                    return found

        return await self.call(scroll)

    async def count(self, collection: str) -> int:
        return (await self.call(lambda c: c.count(collection, exact=True))).count

    async def retrieve(self, collection: str, ids: Sequence[str], fields: Sequence[str] | bool = True) -> list[Any]:
        with_payload = fields if isinstance(fields, bool) else list(fields)
        return await self.call(lambda c: c.retrieve(collection, list(ids), with_payload=with_payload))

    async def query(self, collection: str, requests: Sequence[qm.QueryRequest]) -> list[list[qm.ScoredPoint]]:
        """Several searches in one round trip; one list of hits per request."""
        exact = self._exact

        def search(client: QdrantClient) -> list[list[qm.ScoredPoint]]:
            found = exact.query(client, collection, requests) if exact is not None else None
            if found is not None:
                return found
            return [r.points for r in client.query_batch_points(collection, requests=list(requests))]

        return await self.call(search)

    async def _write(self, operation: Callable[[QdrantClient], T]) -> T:
        """Run a write; in local mode, the exact-search matrices are dropped after it (on the same thread)."""

        def write(client: QdrantClient) -> T:
            try:
                return operation(client)
            finally:
                if self._exact is not None:
                    self._exact.forget()

        return await self.call(write)


def _reason(exc: UnexpectedResponse) -> str:
    text = exc.content.decode("utf-8", "replace") if exc.content else ""
    return f"HTTP {exc.status_code} {exc.reason_phrase} {text}".strip()


def _point_struct(point: PointData, local: bool) -> qm.PointStruct:
    """A PointStruct; in local mode its vectors stay numpy arrays.

    Validation would turn them into lists of Python floats, which local mode pickles as such:
    ~10x slower to write and to load when the store is reopened, and ~2x the disk. Local mode
    itself accepts numpy vectors (``upload_collection`` takes them); the tests pin this.
    """
    if local:  # copies: local mode normalizes cosine vectors in place
        vectors = {name: np.array(v, dtype=np.float32) for name, v in point.vectors.items()}
        return qm.PointStruct.model_construct(id=point.id, vector=vectors, payload=point.payload)
    vectors = {name: np.asarray(v, dtype=np.float32).tolist() for name, v in point.vectors.items()}
    return qm.PointStruct(id=point.id, vector=vectors, payload=point.payload)


def _tune_local(client: QdrantClient) -> None:
    """Put local mode's per-collection sqlite files in WAL mode with ``synchronous=NORMAL``.

    Local mode commits every point in its own transaction; with sqlite's default rollback journal
    each commit fsyncs (~1.5 ms here: 4 s for ESCO). WAL + NORMAL does not fsync on commit and still
    survives a killed process (a power loss may lose the last commits, which the next sync redoes).
    Best effort: private attributes, skipped if a future qdrant-client lays them out differently.
    """
    collections = getattr(getattr(client, "_client", None), "collections", None)
    if not isinstance(collections, dict):
        return
    for collection in collections.values():
        connection = getattr(getattr(collection, "storage", None), "storage", None)
        if isinstance(connection, sqlite3.Connection):
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
