"""ExtractSkills on real stores and models: the ESCO fixture (5 occupations, 238 skills with their
alternative labels) synced with all-MiniLM-L6-v2 for meaning, and with the tiny asymmetric JobBERT
to check which head embeds the text."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import AsyncIterator

import grpc
import numpy as np
import pytest

from jobmatch.server.esco import EscoDataset, load_bundles
from jobmatch.server.index import (
    DEFAULT_EXTRACT_MIN_SCORE,
    MAX_EXTRACT_TOP_K,
    SCHEMA_VERSION,
    SKILLS_ALIAS,
    EngineEmbedder,
    ExtractionStrategy,
    IncompatibleIndex,
    InvalidQuery,
    OccupationIndex,
    OccupationNotFound,
    identity,
    open_store,
    point_id,
    sync_esco,
    sync_skills,
)
from jobmatch.server.index.documents import skills_layout
from jobmatch.server.index.extraction import DEFAULT_EXTRACTION, SkillScores, extraction_units, rank_skills
from jobmatch.server.index.lexical import query_vector
from jobmatch.server.index.schema import MANIFEST_KEY, Manifest, collection_name
from jobmatch.server.index.store import CollectionSpec, DenseSpec, PointData
from tests.index.scoring import STORED_ATOL, unit
from tests.support.esco_bundle import ESCO_FIXTURE

RADIOGRAPHER = "http://data.europa.eu/esco/occupation/7639a601-6db0-41ed-9fb0-813d9b8beb05"
AD = (
    "Radiographer wanted for our imaging department.\n"
    "Your tasks:\n"
    "- operate the MRI and CT scanners and keep the imaging equipment running\n"
    "- prepare patients for their imaging procedures and look after their safety\n"
    "- interpret the medical images with the radiologists\n"
    "We offer a friendly team and flexible hours."
)


@pytest.fixture(scope="module")
def fixture_esco() -> EscoDataset:
    """The ESCO fixture's v1.1.1 bundle: skills with preferred and alternative labels."""
    return load_bundles([ESCO_FIXTURE / "v1.1.1"])


@pytest.fixture(scope="module")
async def minilm_index(
    tmp_path_factory: pytest.TempPathFactory, fixture_esco: EscoDataset, minilm_embedder: EngineEmbedder
) -> AsyncIterator[OccupationIndex]:
    async with await open_store(tmp_path_factory.mktemp("extract-minilm") / "qdrant") as store:
        await sync_esco(fixture_esco, minilm_embedder, store, descriptions=False)
        yield await OccupationIndex.open(store, minilm_embedder)


@pytest.fixture(scope="module")
async def jobbert_index(
    tmp_path_factory: pytest.TempPathFactory, fixture_esco: EscoDataset, jobbert: EngineEmbedder
) -> AsyncIterator[OccupationIndex]:
    async with await open_store(tmp_path_factory.mktemp("extract-jobbert") / "qdrant") as store:
        await sync_skills(fixture_esco, jobbert, store)
        yield OccupationIndex(store, jobbert)


def labels_of(skills) -> list[str]:
    return [s.label for s in skills]


async def test_the_skills_collection_holds_every_label_and_bm25(
    minilm_index: OccupationIndex, fixture_esco: EscoDataset
) -> None:
    manifest = (await minilm_index.store.metadata(SKILLS_ALIAS))[MANIFEST_KEY]
    assert manifest["schema_version"] == SCHEMA_VERSION == 6
    assert manifest["vectors"] == {
        "label": {"side": "positive", "multi": False, "sparse": False},
        "labels": {"side": "positive", "multi": True, "sparse": False},
        "bm25": {"side": None, "multi": False, "sparse": True},
    }
    skill = next(s for s in fixture_esco.skills.values() if len(s.alt_labels.get("en", ())) >= 3)
    (record,) = await minilm_index.store.retrieve(SKILLS_ALIAS, [point_id(skill.uri)], with_vectors=True)
    labels = {skill.preferred_label["en"], *skill.alt_labels["en"]}
    assert record.vectors["labels"].shape == (len(labels), 384)
    np.testing.assert_allclose(record.vectors["labels"][0], record.vectors["label"], atol=1e-6)  # preferred first
    assert record.payload["label"] == skill.preferred_label["en"]


async def test_a_job_ad_yields_its_skills_best_first_with_evidence_in_the_text(minilm_index: OccupationIndex) -> None:
    found = await minilm_index.extract_skills(AD, top_k=10)
    assert found.min_score == DEFAULT_EXTRACT_MIN_SCORE
    assert found.gap is None
    top = labels_of(found.skills[:6])
    for expected in ("operate medical imaging equipment", "prepare patients for imaging procedures"):
        assert expected in top, top
    assert "interpret medical images" in labels_of(found.skills)
    assert [s.score for s in found.skills] == sorted((s.score for s in found.skills), reverse=True)
    for skill in found.skills:
        assert skill.score >= DEFAULT_EXTRACT_MIN_SCORE
        assert skill.skill_type in ("skill/competence", "knowledge")
        assert skill.relation == ""
        assert 1 <= len(skill.evidence) <= 3
        for evidence in skill.evidence:
            assert AD[evidence.start : evidence.end] == evidence.text
    by_label = {s.label: s for s in found.skills}
    assert "imaging procedures" in by_label["prepare patients for imaging procedures"].evidence[0].text
    assert "medical images" in by_label["interpret medical images"].evidence[0].text


async def test_skills_named_in_a_list_are_each_found(minilm_index: OccupationIndex) -> None:
    text = "Requirements: first aid, pharmacology and radiation protection."
    found = await minilm_index.extract_skills(text, top_k=5)
    assert {"first aid", "pharmacology", "radiation protection"} <= set(labels_of(found.skills))


async def test_the_threshold_default_explicit_and_off(minilm_index: OccupationIndex) -> None:
    ranking = await minilm_index.extract_skills(AD, top_k=MAX_EXTRACT_TOP_K, min_score=-1)
    assert ranking.min_score == 0.0  # none applied
    assert len(ranking.skills) > 40  # every recalled skill, however weak
    assert min(s.score for s in ranking.skills) < DEFAULT_EXTRACT_MIN_SCORE
    default = await minilm_index.extract_skills(AD, top_k=MAX_EXTRACT_TOP_K)
    kept = [s for s in ranking.skills if s.score >= DEFAULT_EXTRACT_MIN_SCORE]
    # the same skills, scores and evidence: the engine leaves out only (unit, skill) scores below the threshold
    assert default.skills == tuple(kept)
    strict = await minilm_index.extract_skills(AD, top_k=MAX_EXTRACT_TOP_K, min_score=0.75)
    assert strict.min_score == 0.75
    assert [s.uri for s in strict.skills] == [s.uri for s in ranking.skills if s.score >= 0.75]
    assert 0 < len(strict.skills) < len(default.skills)
    assert (await minilm_index.extract_skills(AD, min_score=math.inf)).skills == ()


async def test_top_k_cuts_the_same_ranking(minilm_index: OccupationIndex) -> None:
    ten = await minilm_index.extract_skills(AD, top_k=10, min_score=-1)
    three = await minilm_index.extract_skills(AD, top_k=3, min_score=-1)
    assert len(ten.skills) == 10
    assert three.skills == ten.skills[:3]
    assert len((await minilm_index.extract_skills(AD, min_score=-1)).skills) == 20  # the default top_k


async def test_an_occupation_sets_relations_and_the_gap_over_all_its_essential_skills(
    minilm_index: OccupationIndex, fixture_esco: EscoDataset
) -> None:
    occupation = fixture_esco.occupations[RADIOGRAPHER]
    essential, optional = set(occupation.essential_skills), set(occupation.optional_skills)
    found = await minilm_index.extract_skills(AD, top_k=MAX_EXTRACT_TOP_K, min_score=-1, occupation_uri=RADIOGRAPHER)
    for skill in found.skills:
        expected = "essential" if skill.uri in essential else "optional" if skill.uri in optional else ""
        assert skill.relation == expected, skill
    assert {s.relation for s in found.skills} == {"essential", "optional", ""}

    gap = found.gap
    assert gap is not None
    assert (gap.occupation_uri, gap.occupation_label) == (RADIOGRAPHER, "radiographer")
    shown = {s.uri for s in gap.shown}
    assert {"operate medical imaging equipment", "prepare patients for imaging procedures"} <= set(labels_of(gap.shown))
    assert shown <= essential
    assert all(s.score >= DEFAULT_EXTRACT_MIN_SCORE and s.relation == "essential" for s in gap.shown)
    assert [s.score for s in gap.shown] == sorted((s.score for s in gap.shown), reverse=True)
    assert all(AD[e.start : e.end] == e.text for s in gap.shown for e in s.evidence)
    # missing: every other essential skill, in ESCO's order, with its label
    assert [s.uri for s in gap.missing] == [uri for uri in occupation.essential_skills if uri not in shown]
    labels = {uri: fixture_esco.skills[uri].preferred_label["en"] for uri in essential}
    assert all(s.label == labels[s.uri] for s in gap.missing)
    assert gap.coverage == pytest.approx(len(shown) / len(essential))

    # The gap judges every essential skill, not the top_k: one skill asked for, the same gap.
    one = await minilm_index.extract_skills(AD, top_k=1, occupation_uri=RADIOGRAPHER)
    assert len(one.skills) == 1
    assert one.gap == gap
    # The ranking itself does not depend on the occupation (only the relations do).
    plain = await minilm_index.extract_skills(AD, top_k=MAX_EXTRACT_TOP_K, min_score=-1)
    assert [(s.uri, s.score) for s in plain.skills] == [(s.uri, s.score) for s in found.skills]
    # With no threshold (above) the default one judged the gap, as when it is applied; a higher one shows fewer.
    assert (await minilm_index.extract_skills(AD, occupation_uri=RADIOGRAPHER)).gap == gap
    strict = await minilm_index.extract_skills(AD, min_score=0.75, occupation_uri=RADIOGRAPHER)
    assert strict.gap is not None
    assert {s.uri for s in strict.gap.shown} < shown


async def test_a_text_unrelated_to_the_occupation_shows_none_of_it(minilm_index: OccupationIndex) -> None:
    found = await minilm_index.extract_skills("I bake bread and cakes.", occupation_uri=RADIOGRAPHER)
    assert found.gap is not None
    assert (found.gap.shown, found.gap.coverage) == ((), 0.0)
    assert len(found.gap.missing) == 51


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": " \n\t "}, "text"),
        ({"text": "12 345 -- !!"}, "text"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": MAX_EXTRACT_TOP_K + 1}, "top_k"),
        ({"top_k": True}, "top_k"),
        ({"min_score": math.nan}, "min_score"),
        ({"occupation_uri": "  "}, "occupation_uri"),
    ],
)
async def test_bad_requests_are_invalid_arguments_naming_the_field(
    minilm_index: OccupationIndex, arguments: dict, field: str
) -> None:
    request = {"text": AD} | arguments
    with pytest.raises(InvalidQuery) as caught:
        await minilm_index.extract_skills(**request)
    assert (caught.value.field, caught.value.status_code) == (field, grpc.StatusCode.INVALID_ARGUMENT)


async def test_an_unknown_occupation_is_not_found(minilm_index: OccupationIndex) -> None:
    unknown = "http://data.europa.eu/esco/occupation/not-there"
    with pytest.raises(OccupationNotFound, match="not-there") as caught:
        await minilm_index.extract_skills(AD, occupation_uri=unknown)
    assert (caught.value.field, caught.value.status_code) == ("occupation_uri", grpc.StatusCode.NOT_FOUND)
    assert caught.value.kind.value == "OCCUPATION_NOT_FOUND"


def test_units_and_their_mentions() -> None:
    text = "Skills:\n- Python, SQL and the cloud\nWe are a team of 5.\nWe are"
    units = extraction_units(text, DEFAULT_EXTRACTION, "en")
    assert [u.span.text for u in units] == ["Skills", "Python, SQL and the cloud", "We are a team of 5", "We are"]
    assert all(text[u.span.start : u.span.end] == u.span.text for u in units)
    assert units[0].mentions == (("Skills",),)  # fewer words than a mention: all of them
    # word pairs trimmed of their stop words ("SQL and" -> "SQL", "and the" -> nothing), then the list's items
    assert units[1].mentions == (("Python", "SQL"), ("SQL",), ("cloud",), ("Python",))
    assert units[2].mentions == (("team",),)  # digits alone name nothing either
    assert units[3].mentions == ()  # stop words only: the unit is its own mention
    assert not query_vector("and the", "en").indices

    untrimmed = dataclasses.replace(DEFAULT_EXTRACTION, trim_stop_words=False)  # only stop-word runs go
    found = extraction_units(text, untrimmed, "en")
    assert found[1].mentions == (("Python", "SQL"), ("SQL", "and"), ("the", "cloud"), ("Python",), ("SQL",))
    assert found[2].mentions == (("a", "team"), ("team", "of"))
    no_items = dataclasses.replace(DEFAULT_EXTRACTION, item_words=0)
    assert extraction_units(text, no_items, "en")[1].mentions == (("Python", "SQL"), ("SQL",), ("cloud",))
    # the text's language picks the stop words: German "und" is one, not in English
    german = "Kenntnisse in Python und SQL"
    assert extraction_units(german, DEFAULT_EXTRACTION, "de")[0].mentions == (
        ("Kenntnisse",),
        ("Python",),
        ("SQL",),
        ("Kenntnisse", "in", "Python"),
    )
    assert ("Python", "und") in extraction_units(german, DEFAULT_EXTRACTION, "en")[0].mentions
    long_items = "Analysing large data sets with modern tools, presenting our results to the management"
    assert max(len(m) for m in extraction_units(long_items, DEFAULT_EXTRACTION, "en")[0].mentions) == 2  # no item


async def test_the_text_is_embedded_through_the_positive_head(jobbert_index: OccupationIndex) -> None:
    """With the tiny JobBERT (two random heads), the scores are what the positive head's vectors
    give, and not what the anchor head's would: the head that embeds the text is part of the test.

    The text shares no term with any skill label, so BM25 adds 0: a skill's score is
    ``(0.5 * context + 0.5 * best mention) / 1.3``, the cosines of its closest label.
    """
    text = "qwertz plonkish zingaroo"
    found = await jobbert_index.extract_skills(text, top_k=8, min_score=-1)
    assert len(found.skills) == 8
    ids = [point_id(s.uri) for s in found.skills]
    records = {r.id: r for r in await jobbert_index.store.retrieve(SKILLS_ALIAS, ids, with_vectors=True)}

    async def expected(side: str) -> list[float]:
        words = text.split()
        vectors = unit(await jobbert_index.embedder.embed([text, *words], side))  # type: ignore[arg-type]
        mentions = unit(np.stack([vectors[1] + vectors[2], vectors[2] + vectors[3]]))
        scores = []
        for point in ids:
            labels = unit(records[point].vectors["labels"])
            context, mention = float(np.max(labels @ vectors[0])), float(np.max(mentions @ labels.T))
            scores.append((0.5 * context + 0.5 * mention) / 1.3)
        return scores

    assert [s.score for s in found.skills] == pytest.approx(await expected("positive"), abs=STORED_ATOL)
    assert [s.score for s in found.skills] != pytest.approx(await expected("anchor"), abs=1e-3)
    anchor = await jobbert_index.extract_skills(
        text, top_k=8, min_score=-1, strategy=dataclasses.replace(DEFAULT_EXTRACTION, side="anchor")
    )
    assert [s.score for s in anchor.skills] != pytest.approx([s.score for s in found.skills], abs=1e-3)


async def test_an_index_of_the_previous_schema_is_refused_then_rebuilt_by_a_sync(
    tmp_path_factory: pytest.TempPathFactory, fixture_esco: EscoDataset, jobbert: EngineEmbedder
) -> None:
    """A skills index as schema 2 wrote it (one ``label`` vector, named by its own fingerprint)."""
    layout = skills_layout(fixture_esco)
    assert layout is not None
    old = Manifest(layout, identity(jobbert), schema_version=2, esco_version="v1.1.1", points=1, state="ready")
    name = collection_name(SKILLS_ALIAS, old)
    skill = next(iter(fixture_esco.skills.values()))
    async with await open_store(tmp_path_factory.mktemp("old-schema") / "qdrant") as store:
        metadata = old.to_metadata()
        metadata[MANIFEST_KEY]["vectors"] = {"label": {"side": "positive", "multi": False, "sparse": False}}
        await store.create_collection(name, CollectionSpec({"label": DenseSpec(jobbert.dimension)}), metadata)
        vector = (await jobbert.embed([skill.preferred_label["en"]], "positive"))[0]
        await store.upsert(name, [PointData(point_id(skill.uri), {"label": vector}, {"uri": skill.uri})])
        await store.switch_alias(SKILLS_ALIAS, name)

        with pytest.raises(IncompatibleIndex, match=f"schema version 2, this jobmatch needs {SCHEMA_VERSION}.*sync"):
            await OccupationIndex(store, jobbert).extract_skills(AD)
        report = await sync_skills(fixture_esco, jobbert, store)
        assert report is not None
        assert (report.rebuilt, report.written) == (True, len(fixture_esco.skills))
        assert await store.collection_names() == [report.collection]  # the old one dropped
        assert len((await OccupationIndex(store, jobbert).extract_skills(AD, min_score=-1)).skills) == 20


def test_a_strategy_must_weigh_a_dense_family() -> None:
    with pytest.raises(ValueError, match="dense family"):
        ExtractionStrategy(context=0.0, mention=0.0)
    with pytest.raises(ValueError, match="at least 1"):
        ExtractionStrategy(candidates=0)


def test_a_skill_removed_between_its_scoring_and_its_description_is_left_out() -> None:
    """A concurrent sync may prune a skill after the engine scored it: the answer names only skills it can describe."""
    units = extraction_units("Operate MRI scanners. Prepare patients.", DEFAULT_EXTRACTION, "en")
    found = {"kept": SkillScores(), "pruned": SkillScores()}
    found["kept"].add(0.8, 0)
    found["pruned"].add(0.9, 1)
    described = {"kept": {"uri": "u:kept", "label": "operate MRI scanner", "skill_type": "skill/competence"}}
    skills = rank_skills(found, described, units, 0.5, 10, {"u:kept": "essential"})
    assert [(s.uri, s.label, s.relation) for s in skills] == [("u:kept", "operate MRI scanner", "essential")]
    assert skills[0].evidence[0].text == units[0].span.text
