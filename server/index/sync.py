"""Sync an ESCO dataset into the index: embed and write only what changed.

Every run: validate the whole dataset and resolve the model (nothing written yet); pick the target
collection (:mod:`catalog`); read the stored ``content_hash`` of every point (a payload-only
scroll); embed and upsert, chunk by chunk, only the new or changed documents; delete points no
longer in the dataset only with ``prune``; then publish (manifest, alias switch for a rebuild).

A point is written once its vectors are all computed, vectors and payload in one upsert, so an
interrupted run leaves complete points only and the next run embeds just what is still missing.
Chunks are pipelined (:mod:`pipeline`): the next ones are embedded while one is written.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol, TypeVar

from jobmatch.server.esco import EscoDataset
from jobmatch.server.index.catalog import prepare_target, publish
from jobmatch.server.index.documents import occupation_documents, occupations_layout, skill_documents, skills_layout
from jobmatch.server.index.embedder import Embedder, identity
from jobmatch.server.index.errors import InvalidDataset
from jobmatch.server.index.pipeline import Document, write_points
from jobmatch.server.index.schema import OCCUPATIONS_ALIAS, SKILLS_ALIAS, Layout, Manifest
from jobmatch.server.index.store import QdrantStore

__all__ = ["EscoSyncReport", "SyncReport", "sync_esco", "sync_occupations", "sync_skills"]


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
    descriptions: bool = False,
) -> SyncReport:
    """Sync the dataset's occupations into ``alias`` (see the module doc).

    ``reindex`` allows replacing an index built with another model (else ModelMismatch);
    ``descriptions`` adds the ``description_<lang>`` vectors (a new layout: a rebuild).
    """
    layout = occupations_layout(dataset, descriptions=descriptions)
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
    )


async def sync_esco(
    dataset: EscoDataset,
    embedder: Embedder,
    store: QdrantStore,
    *,
    prune: bool = False,
    progress: bool = False,
    reindex: bool = False,
    descriptions: bool = False,
    occupations_alias: str = OCCUPATIONS_ALIAS,
    skills_alias: str = SKILLS_ALIAS,
) -> EscoSyncReport:
    """Occupations, then skills."""
    occupations = await sync_occupations(
        dataset,
        embedder,
        store,
        alias=occupations_alias,
        prune=prune,
        progress=progress,
        reindex=reindex,
        descriptions=descriptions,
    )
    skills = await sync_skills(
        dataset, embedder, store, alias=skills_alias, prune=prune, progress=progress, reindex=reindex
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
) -> SyncReport:
    started = time.perf_counter()
    if batch_size < 1:
        raise InvalidDataset(f"batch_size must be at least 1, not {batch_size}")
    # Validate everything before writing anything: documents (off the event loop: ~1 s for ESCO), model.
    documents = await asyncio.to_thread(build_documents)
    await embedder.prepare()
    manifest = Manifest(layout=layout, model=identity(embedder), esco_version=dataset.version)

    target = await prepare_target(store, alias, manifest, reindex=reindex)
    stored = await store.read_payload(target.collection, ["content_hash", "uri"])
    changed = [d for d in documents if stored.get(d.id, {}).get("content_hash") != d.content_hash]
    wanted = {d.id for d in documents}
    stale = {pid: str(payload.get("uri", pid)) for pid, payload in stored.items() if pid not in wanted}

    embedded = await write_points(
        store,
        target.collection,
        embedder,
        changed,
        layout.vectors,
        batch_size=batch_size,
        progress=progress,
        label=f"{alias} ({embedder.model})",
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
