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
    SyncProgress,
    esco_up_to_date,
    open_store,
    sync_esco,
)

logger = logging.getLogger(__name__)


async def open_configured_store(
    settings: ServerSettings, *, replace_local_mode: bool = False, own_process: bool = False
) -> QdrantStore:
    """The Qdrant server at `qdrant_url`, else embedded Qdrant (Edge) in `qdrant_path` (or the default dir).

    `replace_local_mode` (a sync with --reindex) moves a store of qdrant-client's local mode aside first;
    `own_process` (the server) runs an embedded store in a process of its own (`store.process`).
    """
    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    return await open_store(
        settings.qdrant_url or settings.qdrant_path,
        api_key=api_key,
        shard_number=settings.qdrant_shard_number,
        replication_factor=settings.qdrant_replication_factor,
        replace_local_mode=replace_local_mode,
        own_process=own_process,
    )


def load_configured_dataset(settings: ServerSettings) -> EscoDataset:
    """The ESCO bundles of `esco_dirs`, else the bundled v1.1.1 English snapshot."""
    return load_bundles(settings.esco_dirs) if settings.esco_dirs else load_snapshot()


async def configured_index_up_to_date(
    settings: ServerSettings, store: QdrantStore, dataset: EscoDataset, *, prune: bool = False
) -> bool:
    """True when a sync of `dataset` with the configured index model would write nothing (no model loaded)."""
    spec = next(m for m in settings.models if m.name == settings.index_model)
    return await esco_up_to_date(
        dataset,
        spec.name,
        spec.source,
        store,
        prune=prune,
        descriptions=settings.index_descriptions,
        occupations_alias=settings.occupations_collection,
        skills_alias=settings.skills_collection,
    )


async def sync_configured(
    settings: ServerSettings,
    embedder: Embedder,
    store: QdrantStore,
    *,
    prune: bool = False,
    reindex: bool = False,
    dataset: EscoDataset | None = None,
    tracker: SyncProgress | None = None,
) -> EscoSyncReport:
    """Sync `dataset` (default: the configured ESCO data) into the store, logging what it did;
    `tracker` follows how far it is."""
    if dataset is None:
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
        descriptions=settings.index_descriptions,
        progress=True,
        occupations_alias=settings.occupations_collection,
        skills_alias=settings.skills_collection,
        tracker=tracker,
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


async def prepare_index(
    settings: ServerSettings, embedder: Embedder, store: QdrantStore, *, tracker: SyncProgress | None = None
) -> OccupationIndex:
    """Open the occupation index; sync the configured ESCO data first when it is missing or empty
    and `auto_sync` is on (`tracker` follows that sync). Without auto_sync an unsynced index is
    returned unopened: its calls fail with FAILED_PRECONDITION until a sync fills it."""
    aliases = {"alias": settings.occupations_collection, "skills_alias": settings.skills_collection}
    try:
        return await OccupationIndex.open(store, embedder, **aliases)
    except (IndexNotFound, EmptyIndex) as err:
        if not settings.auto_sync:
            logger.warning("%s; match calls fail until `jobmatch sync` fills it", err.message)
            return OccupationIndex(store, embedder, **aliases)
    await sync_configured(settings, embedder, store, tracker=tracker)
    return await OccupationIndex.open(store, embedder, **aliases)
