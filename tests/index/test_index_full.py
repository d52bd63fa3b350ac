"""The bundled ESCO v1.1.1 snapshot synced in full (tiny JobBERT): contents, no-op re-sync, queries."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import grpc
import numpy as np
import pytest

from jobmatch.server.esco import EscoDataset
from jobmatch.server.index import (
    MAX_TOP_K,
    OCCUPATIONS_ALIAS,
    SKILLS_ALIAS,
    EngineEmbedder,
    EscoSyncReport,
    InvalidFilter,
    InvalidQuery,
    OccupationIndex,
    QdrantStore,
    open_store,
    point_id,
    sync_esco,
    sync_occupations,
)
from jobmatch.server.index.documents import occupation_documents, occupations_layout
from jobmatch.server.index.schema import MANIFEST_KEY, SCHEMA_VERSION
from jobmatch.server.index.strategies import GENERAL_OCCUPATION_BONUS, STRATEGIES, plan_search
from tests.index.scoring import STORED_ATOL, family_scores, query_vectors, scored_as_planned

DATA_SCIENTIST = "http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30"
CLEANED = replace(STRATEGIES["hybrid"]["job_title"], query_forms="cleaned")


@pytest.fixture(scope="module")
async def full(
    tmp_path_factory: pytest.TempPathFactory, snapshot: EscoDataset, jobbert: EngineEmbedder
) -> AsyncIterator[tuple[QdrantStore, EscoSyncReport]]:
    store = await open_store(tmp_path_factory.mktemp("full") / "qdrant")
    report = await sync_esco(snapshot, jobbert, store)
    yield store, report
    await store.close()


@pytest.fixture(scope="module")
async def index(full: tuple[QdrantStore, EscoSyncReport], jobbert: EngineEmbedder) -> OccupationIndex:
    return await OccupationIndex.open(full[0], jobbert)


async def test_full_sync_writes_one_complete_point_per_occupation_and_skill(
    full: tuple[QdrantStore, EscoSyncReport], snapshot: EscoDataset
) -> None:
    store, report = full
    occupations, skills = report.occupations, report.skills
    assert skills is not None
    print(f"\nfull sync (tiny JobBERT): occupations {occupations.seconds:.1f} s, skills {skills.seconds:.1f} s")
    assert (occupations.total, occupations.added, occupations.unchanged, occupations.rebuilt) == (3007, 3007, 0, True)
    assert await store.count(OCCUPATIONS_ALIAS) == 3007
    assert skills.added == len(snapshot.skills) == await store.count(SKILLS_ALIAS)
    aliases = await store.aliases()
    assert aliases[OCCUPATIONS_ALIAS] == occupations.collection
    assert occupations.collection.startswith(f"{OCCUPATIONS_ALIAS}__jobbert__")

    manifest = (await store.metadata(OCCUPATIONS_ALIAS))[MANIFEST_KEY]
    assert manifest["model"]["name"] == "jobbert"
    assert manifest["model"]["dimension"] == 48
    assert manifest["model"]["asymmetric"] is True
    assert manifest["model"]["source"]
    assert manifest["vectors"] == {
        "title_en": {"side": "anchor", "multi": False, "sparse": False},
        "labels_en": {"side": "anchor", "multi": True, "sparse": False},
        "bm25_en": {"side": None, "multi": False, "sparse": True},
        "description_en": {"side": "positive", "multi": False, "sparse": False},
        "skills": {"side": "positive", "multi": False, "sparse": False},
    }
    assert (manifest["schema_version"], manifest["state"], manifest["points"]) == (SCHEMA_VERSION, "ready", 3007)
    assert manifest["esco_version"] == "v1.1.1"

    (record,) = await store.retrieve(OCCUPATIONS_ALIAS, [point_id(DATA_SCIENTIST)], with_vectors=True)
    payload, vectors = record.payload, record.vectors
    assert payload["isco_prefixes"] == ["2", "25", "251", "2511"]
    assert payload["preferred_label"] == {"en": "data scientist"}
    assert payload["languages"] == ["en"]
    assert "data engineer" in payload["alt_labels"]["en"]
    assert payload["description"]["en"].startswith("Data sci")
    assert len(payload["essential_skills"]) == len(payload["essential_skill_uris"]) == 54
    assert "statistics" in payload["essential_skills"]
    assert payload["esco_version"] == "v1.1.1"
    documents = {d.uri: d for d in occupation_documents(snapshot, occupations_layout(snapshot))}
    assert payload["content_hash"] == documents[DATA_SCIENTIST].content_hash
    labels = vectors["labels_en"]
    assert labels.shape == (len(documents[DATA_SCIENTIST].labels["en"]), 48)  # deduplicated labels
    np.testing.assert_allclose(vectors["title_en"], labels[0], atol=1e-6)  # the preferred label comes first
    assert vectors["skills"].shape == (48,)


async def test_a_re_sync_of_unchanged_data_embeds_nothing_and_is_fast(
    full: tuple[QdrantStore, EscoSyncReport], snapshot: EscoDataset, jobbert: EngineEmbedder, counting
) -> None:
    store, _ = full
    embedder = counting(jobbert)
    started = time.perf_counter()
    report = await sync_occupations(snapshot, embedder, store)
    seconds = time.perf_counter() - started
    print(f"\nno-op re-sync of 3007 occupations: {seconds:.2f} s")
    assert embedder.calls == 0
    assert report.texts_embedded == 0
    assert (report.unchanged, report.written, report.removed, report.stale, report.rebuilt) == (3007, 0, 0, (), False)
    assert seconds < 3.0 * 2  # goal 3 s; headroom for a loaded CI machine


async def test_a_reopened_store_serves_the_same_index(
    full: tuple[QdrantStore, EscoSyncReport], tmp_path: Path, index: OccupationIndex
) -> None:
    matches = await index.match("data scientist", top_k=3)
    assert matches[0].uri == DATA_SCIENTIST
    labelled = await index.match("data scientist", top_k=3, strategy="labels")
    exact = {m.uri for m in labelled if m.score == pytest.approx(1.0, abs=STORED_ATOL)}  # embedded the same way
    assert DATA_SCIENTIST in exact  # with "bioinformatics scientist": ESCO gives it the label too, a tie


@pytest.mark.parametrize(
    ("prefixes", "expected"),
    [(["25"], ("25",)), (["2511", "2512"], ("2511", "2512")), ("2", ("2",)), (["9", "25"], ("9", "25"))],
)
async def test_isco_prefixes_filter_the_matches(
    index: OccupationIndex, prefixes: list[str] | str, expected: tuple[str, ...]
) -> None:
    matches = await index.match("data scientist", top_k=20, isco_prefixes=prefixes)
    assert len(matches) == 20
    assert all(m.isco_group.startswith(expected) for m in matches)
    if "25" in expected or "2511" in expected:
        assert DATA_SCIENTIST in [m.uri for m in matches]


async def test_a_prefix_outside_the_query_s_group_excludes_the_exact_match(index: OccupationIndex) -> None:
    matches = await index.match("data scientist", top_k=10, isco_prefixes=["9"])
    assert matches
    assert all(m.isco_group.startswith("9") for m in matches)
    assert DATA_SCIENTIST not in [m.uri for m in matches]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"isco_prefixes": ["25a"]}, InvalidFilter, "1 to 4 digits"),
        ({"isco_prefixes": ["25111"]}, InvalidFilter, "1 to 4 digits"),
        ({"isco_prefixes": [""]}, InvalidFilter, "1 to 4 digits"),
        ({"isco_prefixes": [25]}, InvalidFilter, "1 to 4 digits"),
        ({"language": "xx"}, InvalidFilter, "not indexed; indexed: en"),
        ({"top_k": 0}, InvalidQuery, "top_k"),
        ({"top_k": MAX_TOP_K + 1}, InvalidQuery, "top_k"),
        ({"query": "   "}, InvalidQuery, "empty"),
        ({"kind": "resume"}, InvalidQuery, "kind must be one of job_title, skills, text"),
        ({"strategy": "nearest"}, InvalidQuery, "strategy must be one of"),
    ],
)
async def test_invalid_queries_and_filters_raise_typed_errors(
    index: OccupationIndex, kwargs: dict, error: type[Exception], message: str
) -> None:
    query = kwargs.pop("query", "data scientist")
    with pytest.raises(error, match=message) as caught:
        await index.match(query, **kwargs)
    assert caught.value.status_code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("kind", "strategy", "families", "sides"),
    [
        ("job_title", "labels", {"labels"}, {"anchor"}),
        ("job_title", "title", {"title"}, {"anchor"}),
        ("job_title", "skills", {"skills"}, {"anchor"}),  # a title against skill lists: the title head
        ("skills", "labels", {"labels"}, {"positive"}),
        ("skills", "fused", {"labels", "skills", "description"}, {"positive"}),
        ("text", "fused", {"labels", "skills", "description"}, {"anchor", "positive"}),  # each through its own head
        ("text", "labels", {"labels"}, {"anchor"}),
    ],
)
async def test_kinds_and_strategies_score_their_vectors_through_their_heads(
    index: OccupationIndex, kind: str, strategy: str, families: set[str], sides: set[str]
) -> None:
    query = "data scientist"
    matches = await index.match(query, kind=kind, top_k=5, strategy=strategy)
    assert len(matches) == 5
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert all(m.preferred_label and m.language == "en" and m.isco_group for m in matches)

    manifest = index.manifest
    assert manifest is not None
    search = plan_search(manifest.layout, kind, strategy, ("en",))
    assert ({p.family for p in search.probes}, search.sides) == (families, sides)
    queries = await query_vectors(index.embedder, query, {"anchor", "positive"})
    ids = [point_id(m.uri) for m in matches]
    by_hand = await family_scores(index.store, OCCUPATIONS_ALIAS, ids, search, queries)
    for match, point in zip(matches, ids, strict=True):
        assert set(by_hand[point]) == families
        assert scored_as_planned(match.score, by_hand[point], search.weights), (match, by_hand[point])
    if len(families) == 1:  # one family: its best cosine, exactly
        (family,) = families
        assert [m.score for m in matches] == pytest.approx([by_hand[p][family] for p in ids], abs=STORED_ATOL)
    # through the other head, the same vectors score otherwise: the head is part of what is checked
    other = {side: queries["positive" if side == "anchor" else "anchor"] for side in queries}
    crossed = await family_scores(index.store, OCCUPATIONS_ALIAS, ids, search, other)
    assert any(not scored_as_planned(m.score, crossed[p], search.weights) for m, p in zip(matches, ids, strict=True))


async def test_get_returns_the_stored_record(index: OccupationIndex, snapshot: EscoDataset) -> None:
    record = await index.get(DATA_SCIENTIST)
    assert record is not None
    assert (record.uri, record.code, record.isco_group, record.label("de")) == (
        DATA_SCIENTIST,
        "2511.4",
        "2511",
        "data scientist",
    )
    assert [s.uri for s in record.essential_skills] == list(snapshot.occupations[DATA_SCIENTIST].essential_skills)
    assert record.optional_skills
    assert record.esco_version == "v1.1.1"
    assert len(record.content_hash) == 64
    assert await index.get("http://data.europa.eu/esco/occupation/not-there") is None
    with pytest.raises(InvalidQuery):
        await index.get(" ")


async def test_match_skills_searches_skill_labels_with_the_title_head(
    index: OccupationIndex, snapshot: EscoDataset
) -> None:
    skills = await index.match_skills("data scientist", top_k=7)
    assert len(skills) == 7
    assert all(s.uri in snapshot.skills and s.label and s.skill_type and s.reuse_level for s in skills)
    assert [s.score for s in skills] == sorted((s.score for s in skills), reverse=True)


async def test_job_titles_add_the_general_occupation_bonus_to_occupations_under_an_isco_group(
    index: OccupationIndex, snapshot: EscoDataset
) -> None:
    default = STRATEGIES["hybrid"]["job_title"]
    assert default.bonuses == (GENERAL_OCCUPATION_BONUS,)
    assert STRATEGIES["hybrid"]["skills"].bonuses == ()  # measured on job titles only
    plain = replace(default, bonuses=())
    bonus = GENERAL_OCCUPATION_BONUS.weight
    depths = set()
    for query in ("welder", "electrician - nights", "data scientist"):
        with_bonus = {m.uri: m.score for m in await index.match(query, top_k=30)}
        without = {m.uri: m.score for m in await index.match(query, top_k=30, strategy=plain)}
        both = with_bonus.keys() & without.keys()
        assert len(both) >= 10
        for uri in both:
            depth = snapshot.occupations[uri].depth
            depths.add(depth)
            expected = without[uri] + (bonus if depth == 1 else 0.0)
            assert with_bonus[uri] == pytest.approx(expected, abs=1e-5), (query, uri, depth)
    assert depths >= {1, 2}  # both kinds of occupation were compared
    stored = await index.store.read_payload(OCCUPATIONS_ALIAS, ["uri", "esco_depth"])
    assert {p["uri"]: p["esco_depth"] for p in stored.values()} == {
        uri: o.code.count(".") for uri, o in snapshot.occupations.items()
    }
    assert snapshot.occupations[DATA_SCIENTIST].depth == 1  # code 2511.4


async def test_a_job_title_is_searched_as_sent_and_cleaned_of_noise_and_typos(index: OccupationIndex) -> None:
    assert await index.job_title_forms("Acountant (m/w/d) - Nights") == ("Acountant (m/w/d) - Nights", "accountant")
    assert await index.job_title_forms("Warehouse Opperative - Goods In") == (
        "Warehouse Opperative - Goods In",
        "Warehouse operative",  # a word of the labels' 'operative'
    )
    assert await index.job_title_forms("accountant") == ("accountant",)  # nothing to clean: one form
    assert await index.job_title_forms("Acountant (m/w/d) Audit - Vollzeit") == (  # a qualifier after the marker
        "Acountant (m/w/d) Audit - Vollzeit",
        "accountant Audit",
        "accountant",  # the job named before the marker
    )
    cleaned_only = await index.job_title_forms("Acountant (m/w/d) Audit", strategy=CLEANED)
    assert cleaned_only == ("accountant Audit", "accountant")
    assert await index.job_title_forms("Acountant", strategy="labels") == ("Acountant",)  # the raw form only
    with pytest.raises(InvalidQuery, match="names no job"):
        await index.job_title_forms("Senior (m/w/d)")
    typo = await index.match("Acountant - Practice", top_k=3)
    assert typo[0].preferred_label == "accountant"
