"""ESCO occupations and skills in Qdrant: sync (incremental, resumable) and matching.

    store = await open_store()                       # Qdrant Edge in a local directory, or open_store("http://qdrant:6333")
    embedder = EngineEmbedder(engine, "jobbert-v3")  # or RemoteEmbedder(AsyncJobMatchClient(...))
    await sync_esco(load_snapshot(), embedder, store, progress=True)
    index = await OccupationIndex.open(store, embedder)
    await index.match("Datenwissenschaftlerin", kind="job_title", top_k=5)
    await index.match("Python, SQL, statistics", kind="skills", isco_prefixes=["25"])
    await index.match_skills("data scientist", top_k=10)
    await index.extract_skills(job_ad_text, occupation_uri=DATA_SCIENTIST_URI)  # skills, evidence, gap

Modules: embedder (where vectors come from), store (Qdrant Edge embedded, or a Qdrant server: one
interface), schema (vectors, manifest), documents (ESCO -> texts, payload, hash), catalog (aliases,
rebuilds), pipeline (embed + write), sync, strategies (what a query searches, with which head and
weight), plan (the one engine request of a match), search_batches (concurrent searches together),
segments and extraction (skills in a text), search (OccupationIndex), errors.

This service uses the ESCO classification of the European Commission.
"""

from jobmatch.server.index.embedder import Embedder, EngineEmbedder, ModelIdentity, RemoteEmbedder, Side, identity
from jobmatch.server.index.errors import (
    EmptyIndex,
    EscoIndexError,
    IncompatibleIndex,
    IndexNotFound,
    InvalidDataset,
    InvalidFilter,
    InvalidQuery,
    ModelMismatch,
    OccupationNotFound,
    StoreLocked,
    StoreUnavailable,
)
from jobmatch.server.index.extraction import (
    DEFAULT_EXTRACT_MIN_SCORE,
    DEFAULT_EXTRACT_TOP_K,
    MAX_EXTRACT_TOP_K,
    Evidence,
    ExtractedSkill,
    ExtractionStrategy,
    SkillExtraction,
    SkillGap,
)
from jobmatch.server.index.schema import OCCUPATIONS_ALIAS, SCHEMA_VERSION, SKILLS_ALIAS, Layout, Manifest, point_id
from jobmatch.server.index.search import (
    MAX_TOP_K,
    OccupationIndex,
    OccupationMatch,
    OccupationRecord,
    SkillMatch,
    SkillRef,
)
from jobmatch.server.index.store import PointData, QdrantStore, StoredPoint, default_store_path, open_store
from jobmatch.server.index.strategies import DEFAULT_STRATEGIES, Kind, Strategy
from jobmatch.server.index.sync import (
    EscoSyncReport,
    SyncProgress,
    SyncReport,
    esco_up_to_date,
    sync_esco,
    sync_occupations,
    sync_skills,
)

__all__ = [
    "DEFAULT_EXTRACT_MIN_SCORE",
    "DEFAULT_EXTRACT_TOP_K",
    "DEFAULT_STRATEGIES",
    "MAX_EXTRACT_TOP_K",
    "MAX_TOP_K",
    "OCCUPATIONS_ALIAS",
    "SCHEMA_VERSION",
    "SKILLS_ALIAS",
    "Embedder",
    "EmptyIndex",
    "EngineEmbedder",
    "EscoIndexError",
    "EscoSyncReport",
    "Evidence",
    "ExtractedSkill",
    "ExtractionStrategy",
    "IncompatibleIndex",
    "IndexNotFound",
    "InvalidDataset",
    "InvalidFilter",
    "InvalidQuery",
    "Kind",
    "Layout",
    "Manifest",
    "ModelIdentity",
    "ModelMismatch",
    "OccupationIndex",
    "OccupationMatch",
    "OccupationNotFound",
    "OccupationRecord",
    "PointData",
    "QdrantStore",
    "RemoteEmbedder",
    "Side",
    "SkillExtraction",
    "SkillGap",
    "SkillMatch",
    "SkillRef",
    "StoreLocked",
    "StoreUnavailable",
    "StoredPoint",
    "Strategy",
    "SyncProgress",
    "SyncReport",
    "default_store_path",
    "esco_up_to_date",
    "identity",
    "open_store",
    "point_id",
    "sync_esco",
    "sync_occupations",
    "sync_skills",
]
