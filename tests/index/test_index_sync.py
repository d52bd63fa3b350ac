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
    point_id,
    sync_occupations,
    sync_skills,
)
from jobmatch.server.index.documents import occupation_documents, occupations_layout

DATA_SCIENTIST = "http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30"


async def stored_hashes(store: QdrantStore, collection: str) -> dict[str, str]:
    return {pid: p["content_hash"] for pid, p in (await store.read_payload(collection, ["content_hash"])).items()}


def source_hashes(dataset: EscoDataset) -> dict[str, str]:
    return {d.id: d.content_hash for d in occupation_documents(dataset, occupations_layout(dataset))}


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
    document = next(d for d in occupation_documents(changed, occupations_layout(changed)) if d.uri == DATA_SCIENTIST)
    # its labels (the new one included) and its skill list: nothing of the 39 others
    assert report.texts_embedded == embedder.texts == len(document.labels["en"]) + 1
    assert await stored_hashes(store, OCCUPATIONS_ALIAS) == source_hashes(changed)

    index = await OccupationIndex.open(store, jobbert)
    record = await index.get(DATA_SCIENTIST)
    assert record is not None
    assert record.label() == "chief data wrangler"
    (best,) = await index.match("chief data wrangler", top_k=1)
    assert (best.uri, best.vector) == (DATA_SCIENTIST, "labels_en")
    assert best.score == pytest.approx(1.0, abs=1e-5)


async def test_removed_occupations_are_reported_and_deleted_only_with_prune(
    store: QdrantStore, small: EscoDataset, jobbert: EngineEmbedder, make_subset, counting
) -> None:
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
    store: QdrantStore, small: EscoDataset, jobbert: EngineEmbedder, counting
) -> None:
    failing = counting(jobbert, fail_after=6)  # 2 calls (anchor + positive) per chunk of 4 occupations
    with pytest.raises(RuntimeError, match="interrupted after 6 calls"):
        await sync_occupations(small, failing, store, batch_size=4)

    (collection,) = await store.collection_names()
    partial = await stored_hashes(store, collection)
    source = source_hashes(small)
    assert 0 < len(partial) < 40
    assert all(source[pid] == digest for pid, digest in partial.items())
    records = await store.call(lambda c: c.retrieve(collection, list(partial), with_vectors=True))
    assert all(set(r.vector) == {"title_en", "labels_en", "skills"} for r in records)  # only complete points
    with pytest.raises(IndexNotFound, match="started but not finished"):  # readers never see it
        await OccupationIndex.open(store, jobbert)

    resumed = counting(jobbert)
    report = await sync_occupations(small, resumed, store, batch_size=4)
    assert (report.added, report.unchanged, report.collection) == (40 - len(partial), len(partial), collection)
    assert await stored_hashes(store, OCCUPATIONS_ALIAS) == source
    assert await store.count(OCCUPATIONS_ALIAS) == 40
    documents = occupation_documents(small, occupations_layout(small))
    missing = [d for d in documents if d.id not in partial]
    expected = 0  # each distinct text once per chunk and side
    for start in range(0, len(missing), 4):
        chunk = missing[start : start + 4]
        labels = {label for d in chunk for label in d.labels["en"]}
        skill_lists = {d.skills_text for d in chunk if d.skills_text}
        expected += len(labels) + len(skill_lists)
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
    (record,) = await store.call(lambda c: c.retrieve(OCCUPATIONS_ALIAS, [point_id(DATA_SCIENTIST)], with_vectors=True))
    assert report.written == 40
    assert np.asarray(record.vector["labels_en"]).shape[1] == careerbert.dimension
