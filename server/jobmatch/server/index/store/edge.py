"""The embedded store: Qdrant Edge (Qdrant's engine in this process) in a directory.

Layout of ``<path>``::

    jobmatch-store.json      the catalog: format version, aliases, each collection's metadata
    collections/<name>/      one Edge shard per collection (segments, payload indexes)
    .lock                    held (flock) by the one process that has the store open

Edge has no aliases or collection metadata of its own; the catalog gives them the semantics of a
Qdrant server's: it is replaced atomically (written aside, fsynced, renamed), so an alias switch
or a new manifest is all-or-nothing, and a collection exists once the catalog names it. A shard
directory the catalog does not name (a crash between the two steps of a create or a drop) is
removed on the next create or drop of that name, never read.

A directory that is not this layout is refused with the path named, never rebuilt over: one
written by qdrant-client's local mode (jobmatch before Qdrant Edge) is recognised and the message
names the one command that rebuilds it (:func:`move_aside_local_mode`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import qdrant_edge as qe

from jobmatch.server.heap import return_freed_heap
from jobmatch.server.index.errors import IncompatibleIndex, IndexNotFound, StoreLocked, StoreUnavailable
from jobmatch.server.index.plan import FusionTerm, Hit, PayloadBonus, PayloadFilter, Probe, QueryPlan, SparseVector
from jobmatch.server.index.store.base import CollectionSpec, PointData, StoredPoint

__all__ = ["CATALOG_FILE", "DISK_HEADROOM", "EdgeBackend", "is_local_mode_dir", "move_aside_local_mode"]

CATALOG_FILE = "jobmatch-store.json"
CATALOG_FORMAT = "jobmatch-qdrant-edge"
CATALOG_VERSION = 1
_LOCK_FILE = ".lock"
_COLLECTIONS = "collections"
_SCROLL_PAGE = 1000
_DISK_FULL = ("No space left", "os error 28", "File too large", "os error 27", "Disk quota")
_STORAGE_ERROR = "Service runtime error"  # how Edge reports a storage failure (vs a bad request)
DISK_HEADROOM = 32 << 20
"""Free disk space (bytes) a write leaves beyond its own estimate. Edge maps its (sparse) files into
memory: a write into a block the full disk cannot give kills the process (SIGBUS) instead of failing,
so a write that might not fit is refused as StoreUnavailable before Edge sees it."""
T = TypeVar("T")


def is_local_mode_dir(path: Path) -> bool:
    """True for a directory written by qdrant-client's local mode (``meta.json`` + ``collection/``)."""
    return (path / "meta.json").is_file() and (path / "collection").is_dir() and not (path / CATALOG_FILE).exists()


def move_aside_local_mode(path: Path) -> Path:
    """Move a local-mode store's files into ``<path>.local-mode-<time>`` (kept, not deleted); return it."""
    backup = path.with_name(f"{path.name}.local-mode-{time.strftime('%Y%m%d-%H%M%S')}")
    backup.mkdir()
    for entry in path.iterdir():
        entry.rename(backup / entry.name)
    return backup


def _local_mode_error(path: Path) -> IncompatibleIndex:
    return IncompatibleIndex(
        f"{path} was written by qdrant-client's local mode (jobmatch before Qdrant Edge), which this jobmatch "
        f"no longer reads. Rebuild it with `jobmatch sync --reindex --qdrant-path {path}` (the old files are "
        f"kept in {path.name}.local-mode-<time> beside it), or point --qdrant-path at another directory"
    )


class _Catalog:
    """The catalog file: aliases and collection metadata, replaced atomically on every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.aliases: dict[str, str] = {}
        self.collections: dict[str, dict[str, Any]] = {}
        if path.exists():
            self._read()

    def _read(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IncompatibleIndex(f"{self.path} cannot be read ({exc}): the store is damaged") from None
        if not isinstance(data, dict) or data.get("format") != CATALOG_FORMAT:
            raise IncompatibleIndex(f"{self.path} is not a jobmatch Qdrant Edge catalog")
        if data.get("version") != CATALOG_VERSION:
            raise IncompatibleIndex(
                f"{self.path} has store format version {data.get('version')!r}; this jobmatch reads "
                f"version {CATALOG_VERSION}: use the jobmatch that wrote it, or another --qdrant-path"
            )
        self.aliases = dict(data.get("aliases", {}))
        self.collections = {name: dict(entry) for name, entry in data.get("collections", {}).items()}

    def save(self) -> None:
        data = {
            "format": CATALOG_FORMAT,
            "version": CATALOG_VERSION,
            "aliases": self.aliases,
            "collections": self.collections,
        }
        temporary = self.path.with_suffix(".tmp")
        with _written(self.path.parent), temporary.open("w", encoding="utf-8") as handle:
            json.dump(data, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        with _written(self.path.parent):
            temporary.replace(self.path)
            _fsync_dir(self.path.parent)

    def resolve(self, name: str) -> str:
        collection = self.aliases.get(name, name)
        if collection not in self.collections:
            raise IndexNotFound(f"no collection or alias {name!r} in {self.path.parent}")
        return collection


class EdgeBackend:
    """Collections of Qdrant Edge shards in one directory, locked to this process."""

    threads = 1  # Edge parallelizes a query batch itself; one thread keeps writes and reads ordered

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        with _written(path):
            path.mkdir(parents=True, exist_ok=True)
        if is_local_mode_dir(path):
            raise _local_mode_error(path)
        self._lock = _acquire_lock(path)
        try:
            self._catalog = _Catalog(path / CATALOG_FILE)
        except BaseException:
            self._lock.close()
            raise
        self._shards: dict[str, qe.EdgeShard] = {}

    # -- catalog --------------------------------------------------------------------------

    def collection_names(self) -> list[str]:
        return list(self._catalog.collections)

    def aliases(self) -> dict[str, str]:
        return dict(self._catalog.aliases)

    def metadata(self, collection: str) -> dict[str, Any]:
        return dict(self._catalog.collections[self._catalog.resolve(collection)]["metadata"])

    def create_collection(self, collection: str, spec: CollectionSpec, metadata: Mapping[str, Any]) -> None:
        if collection in self._catalog.collections:
            raise IncompatibleIndex(f"collection {collection!r} already exists in {self.path}")
        directory = self._directory(collection)
        _check_room(self.path, 0)
        with _written(self.path):
            shutil.rmtree(directory, ignore_errors=True)  # an orphan of an interrupted create or drop
            shard = self._edge(lambda: qe.EdgeShard.create(str(directory), _edge_config(spec)), directory, opening=True)
            for name in spec.keyword_indexes:
                shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
            for name in spec.integer_indexes:
                shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Integer))
            shard.flush()  # no WAL (_edge_config): a write is durable once flushed
        self._shards[collection] = shard
        self._catalog.collections[collection] = {"metadata": dict(metadata)}
        self._catalog.save()

    def update_metadata(self, collection: str, metadata: Mapping[str, Any]) -> None:
        entry = self._catalog.collections[self._catalog.resolve(collection)]
        entry["metadata"] = {**entry["metadata"], **metadata}
        self._catalog.save()

    def switch_alias(self, alias: str, collection: str) -> None:
        if alias in self._catalog.collections:
            raise IncompatibleIndex(f"{self.path} has a collection named {alias!r}; an alias cannot take its name")
        self._catalog.aliases[alias] = self._catalog.resolve(collection)
        self._catalog.save()

    def drop_collection(self, collection: str) -> None:
        self._catalog.collections.pop(collection, None)
        self._catalog.aliases = {a: c for a, c in self._catalog.aliases.items() if c != collection}
        self._catalog.save()  # first: a crash after this leaves an orphan directory, never a half collection
        shard = self._shards.pop(collection, None)
        if shard is not None:
            shard.close()
        shutil.rmtree(self._directory(collection), ignore_errors=True)

    # -- points ---------------------------------------------------------------------------

    def upsert(self, collection: str, points: Sequence[PointData]) -> None:
        shard, where = self._shard(collection)
        edge_points = [qe.Point(p.id, {n: _edge_vector(v) for n, v in p.vectors.items()}, p.payload) for p in points]
        _check_room(where, _write_size(points))
        self._write(shard, qe.UpdateOperation.upsert_points(edge_points), where)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        shard, where = self._shard(collection)
        _check_room(where, 0)
        self._write(shard, qe.UpdateOperation.delete_points(list(ids)), where)

    def _write(self, shard: qe.EdgeShard, operation: qe.UpdateOperation, where: Path) -> None:
        """Apply ``operation`` and flush it: durable when this returns (the shards keep no WAL)."""
        with _written(where):
            self._edge(lambda: shard.update(operation), where)
            self._edge(shard.flush, where)

    def read_payload(self, collection: str, fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        shard, where = self._shard(collection)
        found: dict[str, dict[str, Any]] = {}
        offset = None
        while True:
            request = qe.ScrollRequest(offset=offset, limit=_SCROLL_PAGE, with_payload=list(fields), with_vector=False)
            records, offset = self._edge(lambda r=request: shard.scroll(r), where)
            found.update((str(r.id), dict(r.payload or {})) for r in records)
            if offset is None:
                return found

    def count(self, collection: str) -> int:
        shard, where = self._shard(collection)
        return self._edge(lambda: shard.count(qe.CountRequest(exact=True)), where)

    def retrieve(
        self, collection: str, ids: Sequence[str], fields: Sequence[str] | bool, *, with_vectors: bool
    ) -> list[StoredPoint]:
        shard, where = self._shard(collection)
        with_payload = fields if isinstance(fields, bool) else list(fields)
        records = self._edge(lambda: shard.retrieve(list(ids), with_payload, with_vectors), where)
        return [StoredPoint(str(r.id), dict(r.payload or {}), _vectors(r.vector)) for r in records]

    def query_batch(self, collection: str, plans: Sequence[QueryPlan]) -> list[list[Hit]]:
        shard, where = self._shard(collection)
        request = qe.QueryBatchRequest([_edge_query(plan) for plan in plans])
        results = self._edge(lambda: shard.query_batch(request), where)
        return [[Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in points] for points in results]

    def finish_build(self, collection: str) -> None:
        shard, where = self._shard(collection)
        _check_room(where, _allocated(where / "segments"))  # an optimization may rewrite every segment
        with _written(where):
            self._edge(shard.optimize, where)  # HNSW for collections above Edge's indexing threshold
            self._edge(shard.flush, where)
        # Edge's BM25 IDF still counts the points deleted since the shard was loaded (a prune): loaded
        # again, it counts the points there are, as a Qdrant server and the next start do.
        self._shards.pop(self._catalog.resolve(collection)).close()
        self._shard(collection)

    def close(self) -> None:
        try:
            for shard in self._shards.values():
                shard.flush()
                shard.close()
            self._shards.clear()
        finally:
            self._lock.close()

    # -- helpers --------------------------------------------------------------------------

    def _directory(self, collection: str) -> Path:
        return self.path / _COLLECTIONS / collection

    def _shard(self, name: str) -> tuple[qe.EdgeShard, Path]:
        collection = self._catalog.resolve(name)
        directory = self._directory(collection)
        if collection not in self._shards:
            segments = directory / "segments"
            if directory.is_dir() and not (segments.is_dir() and any(segments.iterdir())):
                # Edge would start the shard afresh from what its WAL still holds: a silent partial rebuild
                raise _damaged(directory, "it has no segments", opening=True)
            self._shards[collection] = self._edge(lambda: qe.EdgeShard.load(str(directory)), directory, opening=True)
            return_freed_heap()  # the load's transient allocations
        return self._shards[collection], directory

    @staticmethod
    def _edge(call: Callable[[], T], where: Path, *, opening: bool = False) -> T:
        """Run an Edge call; its errors (plain ``Exception`` with a message) as index errors naming ``where``.

        A full disk is StoreUnavailable; a shard that cannot be opened, or whose files fail to read once
        open (Edge's "Service runtime error", e.g. a truncated vector file), is IncompatibleIndex (damaged,
        or another Edge version); anything else is a bug and propagates as it is.
        """
        try:
            return call()
        except (OSError, IncompatibleIndex, StoreUnavailable):
            raise
        except Exception as exc:
            message = str(exc)
            if any(sign in message for sign in _DISK_FULL):
                raise StoreUnavailable(
                    f"the embedded Qdrant store at {where} cannot be written: {message} (the disk is full)"
                ) from exc
            if not opening and not message.startswith(_STORAGE_ERROR):
                raise
            raise _damaged(where, message, opening=opening) from exc


def _damaged(where: Path, reason: str, *, opening: bool) -> IncompatibleIndex:
    rebuild = "Nothing was changed; rebuild it" if opening else "Rebuild it"
    return IncompatibleIndex(
        f"the Qdrant Edge data at {where} cannot be used ({reason}): it is damaged or was written by an "
        f"unknown Qdrant Edge version. {rebuild} with `jobmatch sync --reindex`"
    )


@contextlib.contextmanager
def _written(where: Path) -> Iterator[None]:
    """Turn a failed write (a full disk, a read-only directory) into StoreUnavailable naming ``where``."""
    try:
        yield
    except OSError as exc:
        reason = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) else "not writable?"
        raise StoreUnavailable(f"the embedded Qdrant store at {where} cannot be written: {exc} ({reason})") from exc


def _check_room(where: Path, needed: int) -> None:
    """StoreUnavailable unless the disk under ``where`` has ``needed`` bytes free and DISK_HEADROOM more."""
    free = shutil.disk_usage(where).free
    if free < needed + DISK_HEADROOM:
        raise StoreUnavailable(
            f"the embedded Qdrant store at {where} cannot be written: {free / 2**20:.1f} MiB free, about "
            f"{(needed + DISK_HEADROOM) / 2**20:.0f} MiB needed (the disk is full)"
        )


def _write_size(points: Sequence[PointData]) -> int:
    """Bytes an upsert may take: its vectors and payloads, in Edge's WAL and in a segment, twice over."""
    size = 0
    for point in points:
        for vector in point.vectors.values():
            size += 8 * len(vector.indices) if isinstance(vector, SparseVector) else 4 * int(np.size(vector))
        size += len(json.dumps(point.payload, default=str))
    return 4 * size


def _allocated(directory: Path) -> int:
    """Bytes the files under ``directory`` occupy on disk (their blocks: Edge's files are sparse)."""
    return sum(path.stat().st_blocks * 512 for path in directory.rglob("*") if path.is_file())


def _acquire_lock(path: Path) -> Any:
    handle = (path / _LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StoreLocked(
            f"the Qdrant store at {path} is locked: a jobmatch server or another sync has it open (an embedded "
            "store allows one process at a time); stop it, or use a Qdrant server (--qdrant-url) for shared access",
            path=str(path),
        ) from None
    return handle


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


_NO_GRAPH = qe.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000)
"""m=0: no HNSW graph (the other two, required, are Qdrant's defaults)."""


def _edge_config(spec: CollectionSpec) -> qe.EdgeConfig:
    """A new shard's configuration. For the memory of the process that searches it (issue 13; ESCO
    v1.2.0 en + de loaded and queried: 231 -> 55 MiB of the shard's files resident):

    * dense vectors ``Cold``: mapped, read as searched. Edge's default (``Cached``) reads every file in
      at load, the label multivectors' 32 MiB chunk and offset files whole (128 MiB where the vectors
      are 40 MB); searches run as fast once the pages are in (the first one faults them in).
    * no WAL: Edge reads all of it at every load (48 MiB resident after a sync) and never trims it.
      Each write is flushed instead (:meth:`EdgeBackend._write`): durable when the call returns, as
      with the WAL; a SIGKILLed sync keeps every batch it wrote (tests/reliability).
    """
    maxsim = qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim)
    dense = {
        name: qe.EdgeVectorParams(
            d.size,
            qe.Distance.Cosine,
            multivector_config=maxsim if d.multi else None,
            datatype=qe.VectorStorageDatatype.Float16 if d.float16 else None,
            hnsw_config=None if d.graph else _NO_GRAPH,
            memory=qe.Memory.Cold,
        )
        for name, d in spec.dense.items()
    }
    sparse = {name: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf) for name in spec.sparse}
    return qe.EdgeConfig(vectors=dense, sparse_vectors=sparse or None, wal_enabled=False)


def _edge_vector(vector: np.ndarray | SparseVector) -> Any:
    if isinstance(vector, SparseVector):
        return qe.SparseVector(list(vector.indices), list(vector.values))
    return np.asarray(vector, dtype=np.float32).tolist()


def _probe_query(probe: Probe) -> Any:
    vector = _edge_vector(probe.query)
    return qe.Query.Nearest([vector] if probe.multi else vector, using=probe.vector)


def _edge_filter(payload_filter: PayloadFilter) -> qe.Filter | None:
    if not payload_filter:
        return None
    must: list[Any] = [qe.FieldCondition(k, match=qe.MatchAny(list(v))) for k, v in payload_filter.any_of.items()]
    if payload_filter.ids:
        must.append(qe.HasIdCondition(set(payload_filter.ids)))
    return qe.Filter(must=must)


def _edge_query(plan: QueryPlan) -> qe.QueryRequest:
    where = _edge_filter(plan.filter)
    params = qe.SearchParams(exact=True) if plan.exact else None
    prefetches = [qe.Prefetch(plan.depth, query=_probe_query(p), filter=where, params=params) for p in plan.probes]
    terms = [_edge_term(term) for term in plan.fusion_terms()] + [_edge_bonus(b) for b in plan.bonuses]
    formula = qe.Formula(
        terms[0] if len(terms) == 1 else qe.Expression.Sum(terms),
        defaults={f"$score[{i}]": 0.0 for i in range(len(plan.probes))},
    )
    return qe.QueryRequest(
        plan.limit,
        query=formula,
        prefetches=prefetches,
        filter=where,
        score_threshold=plan.min_score,
        with_payload=list(plan.fields) if plan.fields else False,
        with_vector=False,
    )


def _edge_term(term: FusionTerm) -> qe.Expression:
    scores = [
        _scaled(qe.Expression.Variable(f"$score[{i}]"), s) for i, s in zip(term.prefetches, term.scales, strict=True)
    ]
    best = scores[0] if len(scores) == 1 else qe.Expression.Max(scores)
    if term.saturation is not None:
        saturated = qe.Expression.Sum([best, qe.Expression.Constant(term.saturation)])
        best = qe.Expression.Div(best, saturated, by_zero_default=0.0)
    return qe.Expression.Mult([qe.Expression.Constant(term.weight), best])


def _edge_bonus(bonus: PayloadBonus) -> qe.Expression:
    matches = qe.Expression.Condition(qe.FieldCondition(bonus.key, match=qe.MatchValue(bonus.value)))
    return qe.Expression.Mult([qe.Expression.Constant(bonus.weight), matches])


def _scaled(score: qe.Expression, scale: float) -> qe.Expression:
    return score if scale == 1.0 else qe.Expression.Mult([qe.Expression.Constant(scale), score])


def _vectors(vector: Any) -> dict[str, np.ndarray]:
    if not isinstance(vector, dict):
        return {}
    return {name: np.asarray(v, dtype=np.float32) for name, v in vector.items() if not isinstance(v, qe.SparseVector)}
