"""Incremental sync on a 40-occupation subset: changes, prune, interruption and resume, validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jobmatch.server.esco import EscoDataset
from jobmatch.server.index import (
    OCCUPATIONS_ALIAS,
    SKILLS_ALIAS,
    EngineEmbedder,
    IndexNotFound,
    InvalidDataset,
    OccupationIndex,
    QdrantStore,
    SyncProgress,
    point_id,
    sync_esco,
    sync_occupations,
    sync_skills,
)
from jobmatch.server.index.documents import OccupationDocument, occupation_documents, occupations_layout
from jobmatch.server.index.schema import Layout
from tests.index.scoring import STORED_ATOL

# qdrant-client's in-memory mode (the adapter_store tests) says payload indexes do nothing there
pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")

DATA_SCIENTIST = "http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30"


async def stored_hashes(store: QdrantStore, collection: str) -> dict[str, str]:
    return {pid: p["content_hash"] for pid, p in (await store.read_payload(collection, ["content_hash"])).items()}


def source_hashes(dataset: EscoDataset) -> dict[str, str]:
    return {d.id: d.content_hash for d in occupation_documents(dataset, occupations_layout(dataset))}


def distinct_texts(documents: list[OccupationDocument], layout: Layout) -> int:
    """What a chunk of ``documents`` embeds: each distinct text once per head (BM25 vectors need no model)."""
    wanted = {
        (spec.side, text) for d in documents for spec in layout.vectors if not spec.sparse for text in d.texts(spec)
    }
    return len(wanted)


def dense_vectors(document: OccupationDocument, layout: Layout) -> set[str]:
    """The model-made vectors a complete point of ``document`` has: one per vector with texts."""
    return {spec.name for spec in layout.vectors if not spec.sparse and document.texts(spec)}


def renamed(dataset: EscoDataset, uri: str, label: str) -> EscoDataset:
    occupation = dataset.occupations[uri]
    changed = dataclasses.replace(occupation, preferred_label={**occupation.preferred_label, "en": label})
    return dataclasses.replace(dataset, occupations={**dataset.occupations, uri: changed})


async def test_a_changed_occupation_alone_is_re_embedded(
    store: QdrantStore, small: EscoDataset, jobbert: EngineEmbedder, counting
) -> None:
    first = await sync_occupations(small, jobbert, store)
    assert (first.added, first.total) == (40, 40)

    changed = renamed(small, DATA_SCIENTIST, "chief data wrangler")
    embedder = counting(jobbert)
    report = await sync_occupations(changed, embedder, store)
    assert (report.updated, report.added, report.unchanged, report.rebuilt) == (1, 0, 39, False)
    layout = occupations_layout(changed, descriptions=True)
    document = next(d for d in occupation_documents(changed, layout) if d.uri == DATA_SCIENTIST)
    # its labels (the new one included), skill list and description: nothing of the 39 others
    assert report.texts_embedded == embedder.texts == distinct_texts([document], layout)
    assert embedder.texts >= len(document.labels["en"]) + 1
    assert await stored_hashes(store, OCCUPATIONS_ALIAS) == source_hashes(changed)

    index = await OccupationIndex.open(store, jobbert)
    record = await index.get(DATA_SCIENTIST)
    assert record is not None
    assert record.label() == "chief data wrangler"
    for strategy in ("labels", "title"):  # the new label is among its labels, and its title vector now
        (best,) = await index.match("chief data wrangler", top_k=1, strategy=strategy)
        assert best.uri == DATA_SCIENTIST
        assert best.score == pytest.approx(1.0, abs=STORED_ATOL)


async def test_removed_occupations_are_reported_and_deleted_only_with_prune(
    adapter_store: QdrantStore, small: EscoDataset, jobbert: EngineEmbedder, make_subset, counting
) -> None:
    store = adapter_store  # on Qdrant Edge and on qdrant-client
    await sync_occupations(small, jobbert, store)
    gone = sorted(small.occupations)[:3]
    fewer = make_subset(small, [uri for uri in small.occupations if uri not in gone])

    embedder = counting(jobbert)
    kept = await sync_occupations(fewer, embedder, store)
    assert (kept.stale, kept.removed, kept.unchanged, embedder.calls) == (tuple(gone), 0, 37, 0)
    assert await store.count(OCCUPATIONS_ALIAS) == 40

    pruned = await sync_occupations(fewer, embedder, store, prune=True)
    assert (pruned.stale, pruned.removed, embedder.calls) == ((), 3, 0)
    assert await stored_hashes(store, OCCUPATIONS_ALIAS) == source_hashes(fewer)


async def test_an_interrupted_sync_leaves_complete_points_and_the_next_run_finishes_it(
    adapter_store: QdrantStore, small: EscoDataset, jobbert: EngineEmbedder, counting
) -> None:
    store = adapter_store  # on Qdrant Edge and on qdrant-client
    failing = counting(jobbert, fail_after=6)  # 2 calls (anchor + positive) per chunk of 4 occupations
    with pytest.raises(RuntimeError, match="interrupted after 6 calls"):
        await sync_occupations(small, failing, store, batch_size=4)

    (collection,) = await store.collection_names()
    partial = await stored_hashes(store, collection)
    source = source_hashes(small)
    assert 0 < len(partial) < 40
    assert all(source[pid] == digest for pid, digest in partial.items())
    layout = occupations_layout(small, descriptions=True)
    documents = {d.id: d for d in occupation_documents(small, layout)}
    records = await store.retrieve(collection, list(partial), with_vectors=True)
    assert len(records) == len(partial)
    assert {"title_en", "labels_en", "skills"} <= set(records[0].vectors)
    assert all(set(r.vectors) == dense_vectors(documents[r.id], layout) for r in records)  # only complete points
    with pytest.raises(IndexNotFound, match="started but not finished"):  # readers never see it
        await OccupationIndex.open(store, jobbert)

    resumed = counting(jobbert)
    report = await sync_occupations(small, resumed, store, batch_size=4)
    assert (report.added, report.unchanged, report.collection) == (40 - len(partial), len(partial), collection)
    assert await stored_hashes(store, OCCUPATIONS_ALIAS) == source
    assert await store.count(OCCUPATIONS_ALIAS) == 40
    missing = [d for d in documents.values() if d.id not in partial]
    expected = sum(distinct_texts(missing[start : start + 4], layout) for start in range(0, len(missing), 4))
    assert resumed.texts == report.texts_embedded == expected


async def test_nothing_is_written_when_the_dataset_is_invalid(
    store: QdrantStore, small: EscoDataset, jobbert: EngineEmbedder, counting
) -> None:
    occupation = small.occupations[DATA_SCIENTIST]
    unlabelled = dataclasses.replace(occupation, preferred_label={"en": " "})
    broken = dataclasses.replace(small, occupations={**small.occupations, DATA_SCIENTIST: unlabelled})
    embedder = counting(jobbert)
    with pytest.raises(InvalidDataset, match=f"1 occupation.*no preferred label in en, e.g. {DATA_SCIENTIST}"):
        await sync_occupations(broken, embedder, store)
    with pytest.raises(InvalidDataset, match="no occupations"):
        await sync_occupations(dataclasses.replace(small, occupations={}), embedder, store)
    with pytest.raises(InvalidDataset, match="batch_size"):
        await sync_occupations(small, embedder, store, batch_size=0)
    assert embedder.calls == 0
    assert await store.collection_names() == []
    assert await store.aliases() == {}


async def test_skills_sync_is_incremental_too(
    store: QdrantStore, small: EscoDataset, jobbert: EngineEmbedder, counting
) -> None:
    first = await sync_skills(small, jobbert, store)
    assert first is not None
    assert first.added == len(small.skills) == await store.count(SKILLS_ALIAS)
    embedder = counting(jobbert)
    again = await sync_skills(small, embedder, store)
    assert again is not None
    assert (again.unchanged, embedder.calls) == (len(small.skills), 0)
    (record,) = await store.retrieve(SKILLS_ALIAS, [point_id(next(iter(small.skills)))])
    assert set(record.payload) >= {"uri", "label", "skill_type", "reuse_level", "content_hash"}
    assert await sync_skills(dataclasses.replace(small, skills={}), jobbert, store) is None


async def test_the_skill_list_puts_the_most_specific_skills_first(small: EscoDataset) -> None:
    ranks = {"occupation-specific": 0, "sector-specific": 1, "cross-sector": 2, "transversal": 3, "": 4}
    document = next(d for d in occupation_documents(small, occupations_layout(small)) if d.uri == DATA_SCIENTIST)
    by_label = {s.preferred_label["en"]: s.reuse_level for s in small.skills.values()}
    order = [ranks[by_label[label]] for label in document.skills_text.split(", ")]
    assert order == sorted(order)
    assert len(order) == 54


async def test_symmetric_models_embed_each_distinct_text_once(
    store: QdrantStore, small: EscoDataset, careerbert: EngineEmbedder, counting
) -> None:
    embedder = counting(careerbert)
    report = await sync_occupations(small, embedder, store, batch_size=100)
    assert embedder.calls == 1  # one chunk, one side: titles, labels and skill lists together
    (record,) = await store.retrieve(OCCUPATIONS_ALIAS, [point_id(DATA_SCIENTIST)], with_vectors=True)
    assert report.written == 40
    assert record.vectors["labels_en"].shape[1] == careerbert.dimension
    # one head: the title and the first label are the same text, so the same vector
    np.testing.assert_array_equal(record.vectors["title_en"], record.vectors["labels_en"][0])


async def test_a_tracker_follows_the_documents_written_chunk_by_chunk(
    store: QdrantStore, small: EscoDataset, jobbert: EngineEmbedder, counting
) -> None:
    """What the server reports while its first sync runs (match calls get it in their NOT_READY reason)."""
    assert str(SyncProgress("occupations", 1536, 3039)) == "1,536 of 3,039 occupations embedded"
    tracker = SyncProgress()
    assert tracker.kind is None  # nothing written yet: the server says "loading" instead
    seen: list[str] = []
    embedder = counting(jobbert)
    embedder.on_call = lambda: seen.append(str(tracker))
    await sync_occupations(small, embedder, store, batch_size=16, tracker=tracker)
    # chunks of 16, 16 and 8: counted as each is written, not only at the end
    assert seen[0] == "0 of 40 occupations embedded"
    assert "16 of 40 occupations embedded" in seen
    assert set(seen) <= {f"{n} of 40 occupations embedded" for n in (0, 16, 32)}
    assert str(tracker) == "40 of 40 occupations embedded"

    skills = len(small.skills)
    await sync_esco(small, jobbert, store, tracker=tracker)  # occupations unchanged: none to embed
    assert str(tracker) == f"occupations done, {skills:,} of {skills:,} skills embedded"
