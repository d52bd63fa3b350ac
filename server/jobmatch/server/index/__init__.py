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

The names above are imported when first used (`lazy_loader`, from ``__init__.pyi``, where type checkers
read them): the store's own process imports :mod:`.store.edge` and what it needs, never the embedder,
the sync or the search, and with them grpc (~25 MiB resident in that process).

This service uses the ESCO classification of the European Commission.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
