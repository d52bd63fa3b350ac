"""Sync an ESCO dataset into the index: embed and write only what changed.

Every run: validate the whole dataset and resolve the model (nothing written yet); pick the target
collection (:mod:`catalog`); read the stored ``content_hash`` of every point (a payload-only
scroll); embed and upsert, chunk by chunk, only the new or changed documents; delete points no
longer in the dataset only with ``prune``; then publish (manifest, alias switch for a rebuild).

A point is written once its vectors are all computed, vectors and payload in one upsert, so an
interrupted run leaves complete points only and the next run embeds just what is still missing.
Chunks are pipelined (:mod:`pipeline`): the next ones are embedded while one is written.

:func:`esco_up_to_date` answers, without a model, whether a sync would write nothing: the CLI asks
it first, so a no-op ``jobmatch sync`` neither imports torch nor loads the model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from jobmatch.server.esco import EscoDataset
from jobmatch.server.index.catalog import prepare_target, publish
from jobmatch.server.index.compounds import NONE_BY_LANGUAGE, Compounds, compounds_by_language
from jobmatch.server.index.documents import occupation_documents, occupations_layout, skill_documents, skills_layout
from jobmatch.server.index.embedder import Embedder, identity
from jobmatch.server.index.errors import InvalidDataset
from jobmatch.server.index.pipeline import Document, write_points
from jobmatch.server.index.schema import (
    OCCUPATIONS_ALIAS,
    SCHEMA_VERSION,
    SKILLS_ALIAS,
    IndexKind,
    Layout,
    Manifest,
)
from jobmatch.server.index.store import QdrantStore

__all__ = [
    "EscoSyncReport",
    "SyncProgress",
    "SyncReport",
    "esco_up_to_date",
    "sync_esco",
    "sync_occupations",
    "sync_skills",
]


@dataclass
class SyncProgress:
    """How far a running sync is, updated as it writes (the server's NOT_READY reason reads it).

    ``kind`` is None until the first kind's documents are being written; ``total`` counts the
    documents of that kind to embed (the new or changed ones: all of them into an empty index).
    """

    kind: IndexKind | None = None
    written: int = 0
    total: int = 0

    def start(self, kind: IndexKind, total: int) -> None:
        self.kind, self.written, self.total = kind, 0, total

    def record(self, written: int) -> None:
        self.written = written

    def __str__(self) -> str:
        if self.kind is None:
            return "reading the ESCO data"
        done = "occupations done, " if self.kind == "skills" else ""
        return f"{done}{self.written:,} of {self.total:,} {self.kind} embedded"


@dataclass(frozen=True)
class SyncReport:
    """What a sync did. ``stale`` lists URIs in the index but not in the dataset, kept (no prune)."""

    kind: str
    alias: str
    collection: str
    model: str
    esco_version: str
    total: int  # documents in the dataset
    added: int
    updated: int
    unchanged: int
    removed: int
    stale: tuple[str, ...]
    texts_embedded: int
    rebuilt: bool  # a new collection was built and the alias switched to it
    seconds: float

    @property
    def written(self) -> int:
        return self.added + self.updated


@dataclass(frozen=True)
class EscoSyncReport:
    occupations: SyncReport
    skills: SyncReport | None  # None: the dataset has no skills


class _Document(Document, Protocol):
    @property
    def content_hash(self) -> str: ...


D = TypeVar("D", bound=_Document)


async def sync_occupations(
    dataset: EscoDataset,
    embedder: Embedder,
    store: QdrantStore,
    *,
    alias: str = OCCUPATIONS_ALIAS,
    prune: bool = False,
    batch_size: int = 512,
    progress: bool = False,
    reindex: bool = False,
    descriptions: bool = True,
    tracker: SyncProgress | None = None,
) -> SyncReport:
    """Sync the dataset's occupations into ``alias`` (see the module doc).

    ``reindex`` allows replacing an index built with another model (else ModelMismatch);
    ``descriptions`` embeds the ``description_<lang>`` vectors (on by default: they lift job-title
    ranking; off halves the texts to embed; a change of layout rebuilds); ``tracker`` follows the
    documents written. BM25 reads the labels with the parts of their compound words, split against
    the words of the dataset's labels and descriptions in each language (:mod:`compounds`).
    """
    layout = occupations_layout(dataset, descriptions=descriptions)
    compounds = await asyncio.to_thread(compounds_by_language, dataset.occupations.values())  # ~0.25 s of CPU
    return await _sync(
        dataset,
        embedder,
        store,
        layout,
        partial(occupation_documents, dataset, layout),
        alias=alias,
        prune=prune,
        batch_size=batch_size,
        progress=progress,
        reindex=reindex,
        tracker=tracker,
        compounds=compounds,
    )


async def sync_skills(
    dataset: EscoDataset,
    embedder: Embedder,
    store: QdrantStore,
    *,
    alias: str = SKILLS_ALIAS,
    prune: bool = False,
    batch_size: int = 512,
    progress: bool = False,
    reindex: bool = False,
    tracker: SyncProgress | None = None,
) -> SyncReport | None:
    """Sync the dataset's skills into ``alias``; None (nothing done) when it has no skills."""
    layout = skills_layout(dataset)
    if layout is None:
        return None
    return await _sync(
        dataset,
        embedder,
        store,
        layout,
        partial(skill_documents, dataset, layout),
        alias=alias,
        prune=prune,
        batch_size=batch_size,
        progress=progress,
        reindex=reindex,
        tracker=tracker,
    )


async def sync_esco(
    dataset: EscoDataset,
    embedder: Embedder,
    store: QdrantStore,
    *,
    prune: bool = False,
    progress: bool = False,
    reindex: bool = False,
    descriptions: bool = True,
    occupations_alias: str = OCCUPATIONS_ALIAS,
    skills_alias: str = SKILLS_ALIAS,
    tracker: SyncProgress | None = None,
) -> EscoSyncReport:
    """Occupations, then skills; ``tracker`` (optional) follows how many of each are written."""
    occupations = await sync_occupations(
        dataset,
        embedder,
        store,
        alias=occupations_alias,
        prune=prune,
        progress=progress,
        reindex=reindex,
        descriptions=descriptions,
        tracker=tracker,
    )
    skills = await sync_skills(
        dataset,
        embedder,
        store,
        alias=skills_alias,
        prune=prune,
        progress=progress,
        reindex=reindex,
        tracker=tracker,
    )
    return EscoSyncReport(occupations, skills)


async def _sync(
    dataset: EscoDataset,
    embedder: Embedder,
    store: QdrantStore,
    layout: Layout,
    build_documents: Callable[[], list[D]],
    *,
    alias: str,
    prune: bool,
    batch_size: int,
    progress: bool,
    reindex: bool,
    tracker: SyncProgress | None,
    compounds: Mapping[str, Compounds] = NONE_BY_LANGUAGE,
) -> SyncReport:
    started = time.perf_counter()
    if batch_size < 1:
        raise InvalidDataset(f"batch_size must be at least 1, not {batch_size}")
    # Validate everything before writing anything: documents (off the event loop: ~1 s for ESCO), model.
    documents = await asyncio.to_thread(build_documents)
    await embedder.prepare()
    manifest = Manifest(layout=layout, model=identity(embedder), esco_version=dataset.version)

    target = await prepare_target(store, alias, manifest, reindex=reindex)
    stored, changed, stale = await _difference(store, target.collection, documents)

    if tracker is not None:
        tracker.start(layout.kind, len(changed))
    embedded = await write_points(
        store,
        target.collection,
        embedder,
        changed,
        layout.vectors,
        batch_size=batch_size,
        progress=progress,
        label=f"{alias} ({embedder.model})",
        on_written=None if tracker is None else tracker.record,
        compounds=compounds,
    )
    if prune and stale:
        await store.delete(target.collection, list(stale))
    await publish(store, target, manifest, points=await store.count(target.collection))

    added = sum(1 for d in changed if d.id not in stored)
    return SyncReport(
        kind=layout.kind,
        alias=alias,
        collection=target.collection,
        model=embedder.model,
        esco_version=dataset.version,
        total=len(documents),
        added=added,
        updated=len(changed) - added,
        unchanged=len(documents) - len(changed),
        removed=len(stale) if prune else 0,
        stale=() if prune else tuple(sorted(stale.values())),
        texts_embedded=embedded,
        rebuilt=target.rebuild,
        seconds=time.perf_counter() - started,
    )


async def _difference(
    store: QdrantStore, collection: str, documents: list[D]
) -> tuple[dict[str, dict[str, Any]], list[D], dict[str, str]]:
    """(stored payloads by id, documents new or changed, stale point id -> URI) of ``collection``."""
    stored = await store.read_payload(collection, ["content_hash", "uri"])
    changed = [d for d in documents if stored.get(d.id, {}).get("content_hash") != d.content_hash]
    wanted = {d.id for d in documents}
    stale = {pid: str(payload.get("uri", pid)) for pid, payload in stored.items() if pid not in wanted}
    return stored, changed, stale


async def esco_up_to_date(
    dataset: EscoDataset,
    model: str,
    source: str,
    store: QdrantStore,
    *,
    prune: bool = False,
    descriptions: bool = True,
    occupations_alias: str = OCCUPATIONS_ALIAS,
    skills_alias: str = SKILLS_ALIAS,
) -> bool:
    """True when :func:`sync_esco` with this model (name and source) would write nothing.

    Needs no model: the live indexes must be complete, of this layout, schema, ESCO version and
    model, and hold every document's content hash (and, with ``prune``, nothing else).
    """
    layout = occupations_layout(dataset, descriptions=descriptions)
    parts: list[tuple[str, Layout, Callable[[], list[Any]]]] = [
        (occupations_alias, layout, partial(occupation_documents, dataset, layout))
    ]
    skills = skills_layout(dataset)
    if skills is not None:
        parts.append((skills_alias, skills, partial(skill_documents, dataset, skills)))
    aliases = await store.aliases()
    for alias, part_layout, build_documents in parts:
        live = aliases.get(alias)
        if live is None:
            return False
        manifest = Manifest.from_metadata(await store.metadata(live), f"the index {alias!r} in {store.location}")
        same = (manifest.layout, manifest.schema_version, manifest.esco_version, manifest.state) == (
            part_layout,
            SCHEMA_VERSION,
            dataset.version,
            "ready",
        )
        if not same or (manifest.model.name, manifest.model.source) != (model, source):
            return False
        _, changed, stale = await _difference(store, live, await asyncio.to_thread(build_documents))
        if changed or (prune and stale):
            return False
    return True
