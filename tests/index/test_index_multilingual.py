"""ESCO v1.2.0 English + German (labels only, no skills): the records cut into tests/data/esco
(data scientist, technical director and ~30 others), synced in full with the tiny JobBERT."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jobmatch.server.esco import EscoDataset
from jobmatch.server.index import (
    OCCUPATIONS_ALIAS,
    EngineEmbedder,
    IndexNotFound,
    InvalidQuery,
    OccupationIndex,
    SyncReport,
    open_store,
    point_id,
    sync_esco,
)
from jobmatch.server.index.strategies import plan_search
from tests.index.scoring import STORED_ATOL, family_scores, query_vectors, scored_as_planned

DATA_SCIENTIST = "http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30"
GERMAN_TITLE = "Datenwissenschaftlerin"


@pytest.fixture(scope="module")
async def synced(
    tmp_path_factory: pytest.TempPathFactory, v120_en_de: EscoDataset, jobbert: EngineEmbedder
) -> AsyncIterator[tuple[OccupationIndex, SyncReport]]:
    path: Path = tmp_path_factory.mktemp("v120") / "qdrant"
    async with await open_store(path) as store:
        report = await sync_esco(v120_en_de, jobbert, store)
        assert report.skills is None  # no skills in these bundles: no skills index
        yield await OccupationIndex.open(store, jobbert), report.occupations


def owners(dataset: EscoDataset, label: str) -> set[str]:
    return {
        o.uri
        for o in dataset.occupations.values()
        for lang in dataset.languages
        if label in (o.preferred_label.get(lang), *o.alt_labels.get(lang, ()), *o.hidden_labels.get(lang, ()))
    }


async def test_every_occupation_is_indexed_in_both_languages(
    synced: tuple[OccupationIndex, SyncReport], v120_en_de: EscoDataset
) -> None:
    index, report = synced
    print(f"\nv1.2.0 en+de sync (tiny JobBERT): {report.total} occupations, {report.seconds:.1f} s")
    assert report.total == report.added == len(v120_en_de.occupations) > 30
    assert index.manifest is not None
    assert index.manifest.layout.languages == ("en", "de")
    assert index.manifest.layout.skills_language is None
    dense = {v.name for v in index.manifest.layout.vectors if not v.sparse}
    assert dense == {"title_en", "labels_en", "description_en", "title_de", "labels_de", "description_de"}
    assert {v.name for v in index.manifest.layout.vectors if v.sparse} == {"bm25_en", "bm25_de"}
    record = await index.get(DATA_SCIENTIST)
    assert record is not None
    assert record.languages == ("de", "en")
    assert record.label("de") == "Datenwissenschaftler/Datenwissenschaftlerin"
    assert record.esco_version == "v1.2.0"


async def test_a_german_title_finds_its_occupation_through_the_german_labels(
    synced: tuple[OccupationIndex, SyncReport], v120_en_de: EscoDataset
) -> None:
    index, _ = synced
    assert owners(v120_en_de, GERMAN_TITLE) == {DATA_SCIENTIST}  # a German-only label of one occupation
    best = (await index.match(GERMAN_TITLE, top_k=3))[0]  # the default strategy, every synced language
    assert best.uri == DATA_SCIENTIST
    assert (best.preferred_label, best.language) == ("data scientist", "en")  # no language asked: English
    labelled = (await index.match(GERMAN_TITLE, top_k=3, strategy="labels"))[0]  # the best label, any language
    assert labelled.uri == DATA_SCIENTIST
    assert labelled.score == pytest.approx(1.0, abs=STORED_ATOL)

    german = (await index.match(GERMAN_TITLE, top_k=3, language="de"))[0]
    assert (german.uri, german.preferred_label, german.language) == (
        DATA_SCIENTIST,
        "Datenwissenschaftler/Datenwissenschaftlerin",
        "de",
    )
    assert (await index.match(GERMAN_TITLE, top_k=1, language="de", strategy="labels"))[0].score == pytest.approx(
        1.0, abs=STORED_ATOL
    )
    # English labels only: nothing scores the exact German label's 1, so it came from labels_de above
    english_only = await index.match(GERMAN_TITLE, top_k=3, language="en", strategy="labels")
    assert len(english_only) == 3
    assert all(m.score < 0.99999 for m in english_only)
    assert all(m.language == "en" for m in english_only)


async def test_labels_only_indexes_have_no_skills_to_search(
    synced: tuple[OccupationIndex, SyncReport], jobbert: EngineEmbedder
) -> None:
    index, _ = synced
    query = "Python, SQL"
    matches = await index.match(query, kind="skills", top_k=3)  # default fused: no skills family here
    assert len(matches) == 3
    assert index.manifest is not None
    search = plan_search(index.manifest.layout, "skills", None, index.manifest.layout.languages)
    assert "skills" not in {w.family for w in search.weights}
    assert {p.vector for p in search.probes} >= {"labels_en", "labels_de"}
    queries = await query_vectors(jobbert, query, {"anchor", "positive"})
    ids = [point_id(m.uri) for m in matches]
    by_hand = await family_scores(index.store, OCCUPATIONS_ALIAS, ids, search, queries)
    for match, point in zip(matches, ids, strict=True):  # scored by the families there are, positive head
        assert scored_as_planned(match.score, by_hand[point], search.weights), (match, by_hand[point])
    with pytest.raises(InvalidQuery, match="needs skills vectors"):
        await index.match("Python, SQL", kind="skills", strategy="skills")
    with pytest.raises(IndexNotFound, match="skills index"):
        await index.match_skills("data scientist")


async def test_bm25_reads_german_compounds_through_their_parts(
    synced: tuple[OccupationIndex, SyncReport], v120_en_de: EscoDataset
) -> None:
    index, _ = synced
    (information_manager,) = owners(v120_en_de, "Informationswissenschaftler")
    # A compound no label holds meets the label it ends with: the query's parts.
    assert not owners(v120_en_de, "Klimadatenwissenschaftler")
    coined = await index.match("Klimadatenwissenschaftler (m/w/d)", top_k=3, strategy="bm25")
    assert coined[0].uri == DATA_SCIENTIST
    # A word that is only the head of labels meets them: the labels' parts.
    assert not owners(v120_en_de, "Wissenschaftler")
    heads = await index.match("Wissenschaftler", top_k=3, strategy="bm25")
    assert {DATA_SCIENTIST, information_manager} <= {m.uri for m in heads}
