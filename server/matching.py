"""Wire the ESCO index into the server and the CLI: the configured store, data and index."""

from __future__ import annotations

import asyncio
import logging

from jobmatch.server.config import ServerSettings
from jobmatch.server.esco import EscoDataset, load_bundles, load_snapshot
from jobmatch.server.index import (
    Embedder,
    EmptyIndex,
    EscoSyncReport,
    IndexNotFound,
    OccupationIndex,
    QdrantStore,
    open_store,
    sync_esco,
)

logger = logging.getLogger(__name__)


async def open_configured_store(settings: ServerSettings) -> QdrantStore:
    """The Qdrant server at `qdrant_url`, else embedded Qdrant in `qdrant_path` (or the default dir)."""
    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    return await open_store(
        settings.qdrant_url or settings.qdrant_path,
        api_key=api_key,
        shard_number=settings.qdrant_shard_number,
        replication_factor=settings.qdrant_replication_factor,
    )


def load_configured_dataset(settings: ServerSettings) -> EscoDataset:
    """The ESCO bundles of `esco_dirs`, else the bundled v1.1.1 English snapshot."""
    return load_bundles(settings.esco_dirs) if settings.esco_dirs else load_snapshot()


async def sync_configured(
    settings: ServerSettings, embedder: Embedder, store: QdrantStore, *, prune: bool = False, reindex: bool = False
) -> EscoSyncReport:
    dataset = await asyncio.to_thread(load_configured_dataset, settings)
    await embedder.prepare()  # a remote embedder learns its model name from the server
    logger.info(
        "syncing ESCO %s (%s; %d occupations) into %s with model %s",
        dataset.version,
        ", ".join(dataset.languages),
        len(dataset.occupations),
        store.location,
        embedder.model,
    )
    report = await sync_esco(
        dataset,
        embedder,
        store,
        prune=prune,
        reindex=reindex,
        progress=True,
        occupations_alias=settings.occupations_collection,
        skills_alias=settings.skills_collection,
    )
    for part in (report.occupations, report.skills):
        if part is not None:
            logger.info(
                "%s: %d added, %d updated, %d unchanged, %d removed, %d stale kept, %d texts embedded in %.1f s",
                part.alias,
                part.added,
                part.updated,
                part.unchanged,
                part.removed,
                len(part.stale),
                part.texts_embedded,
                part.seconds,
            )
    return report


async def prepare_index(settings: ServerSettings, embedder: Embedder, store: QdrantStore) -> OccupationIndex:
    """Open the occupation index; sync the configured ESCO data first when it is missing or empty
    and `auto_sync` is on. Without auto_sync an unsynced index is returned unopened: its calls fail
    with FAILED_PRECONDITION until a sync fills it."""
    aliases = {"alias": settings.occupations_collection, "skills_alias": settings.skills_collection}
    try:
        return await OccupationIndex.open(store, embedder, **aliases)
    except (IndexNotFound, EmptyIndex) as err:
        if not settings.auto_sync:
            logger.warning("%s; match calls fail until `jobmatch sync` fills it", err.message)
            return OccupationIndex(store, embedder, **aliases)
    await sync_configured(settings, embedder, store)
    return await OccupationIndex.open(store, embedder, **aliases)
