"""What a match searches and how the engine fuses it.

Planning (pure): the probes of each strategy and query kind, the head that embeds the query for each
probe, and the typed family weights (:func:`plan_search`, :meth:`QueryPlan.fusion_terms`).

Fusion (in Qdrant's engine, on both store adapters): on a tiny hand-made collection, a one-family
plan scores a point's best cosine over the family's languages, and a two-family plan the weighted
mean of the families' best cosines, as computed here with numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from jobmatch.server.index import InvalidQuery, Layout, PointData, QdrantStore, point_id
from jobmatch.server.index.plan import FamilyWeight, FusionTerm, PayloadFilter, Probe, QueryPlan, SparseVector
from jobmatch.server.index.schema import INTEGER_INDEXES
from jobmatch.server.index.search import forms_probe
from jobmatch.server.index.store import CollectionSpec, DenseSpec
from jobmatch.server.index.strategies import (
    DEFAULT_STRATEGIES,
    STRATEGIES,
    ProbeSpec,
    Ranking,
    SearchSpec,
    plan_search,
)
from tests.index.scoring import STORED_ATOL

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")

LAYOUT = Layout(kind="occupations", languages=("en", "de"), skills_language="en")
DESCRIBED = Layout(kind="occupations", languages=("en",), skills_language="en", descriptions=True)
LABELS_ONLY = Layout(kind="occupations", languages=("en", "de"))
KINDS = ("job_title", "skills", "text")

Planned = set[tuple[str, str, str | None]]  # (vector, family, side)


def planned(spec: SearchSpec) -> Planned:
    return {(p.vector, p.family, p.side) for p in spec.probes}


def weights(spec: SearchSpec) -> dict[str, float]:
    assert all(isinstance(w, FamilyWeight) for w in spec.weights)
    assert len({w.family for w in spec.weights}) == len(spec.weights)  # one weight per family
    return {w.family: w.weight for w in spec.weights}


def ranking_weights(strategy: str, kind: str, layout: Layout) -> dict[str, float]:
    """A named strategy's weights for ``kind``, restricted to the families ``layout`` has."""
    return {w.family: w.weight for w in STRATEGIES[strategy][kind].families if w.family in layout.families()}


# -- planning ---------------------------------------------------------------------------------


def test_job_titles_search_through_the_anchor_head() -> None:
    spec = plan_search(LAYOUT, "job_title", "labels", LAYOUT.languages)
    assert planned(spec) == {("labels_en", "labels", "anchor"), ("labels_de", "labels", "anchor")}
    assert weights(spec) == {"labels": 1.0}
    assert all(p.multi for p in spec.probes)  # label sets are MAX_SIM multivectors
    for strategy in ("title", "labels", "skills", "fused", "hybrid", None):
        assert plan_search(DESCRIBED, "job_title", strategy, ("en",)).sides <= {"anchor"}, strategy
    # A title against the skill lists and descriptions: the title head (JobBERT's cross-head direction).
    assert planned(plan_search(LAYOUT, "job_title", "skills", ("en",))) == {("skills", "skills", "anchor")}
    assert planned(plan_search(DESCRIBED, "job_title", "description", ("en",))) == {
        ("description_en", "description", "anchor")
    }
    assert planned(plan_search(LAYOUT, "job_title", "title", ("de",))) == {("title_de", "title", "anchor")}


def test_a_skill_list_query_probes_every_dense_vector_through_the_positive_head() -> None:
    for strategy in (None, "fused", "hybrid", "labels", "title", "skills"):
        spec = plan_search(LAYOUT, "skills", strategy, LAYOUT.languages)
        # never a label vector with the anchor head (BM25 probes have no head at all)
        assert {p.side for p in spec.probes} <= {"positive", None}, strategy
        assert all(p.side == "positive" for p in spec.probes if p.family != "bm25")
    spec = plan_search(LAYOUT, "skills", None, LAYOUT.languages)
    assert DEFAULT_STRATEGIES["skills"] == "fused"
    assert planned(spec) == {
        ("labels_en", "labels", "positive"),
        ("labels_de", "labels", "positive"),
        ("skills", "skills", "positive"),
    }
    assert weights(spec) == ranking_weights("fused", "skills", LAYOUT)
    assert max(weights(spec), key=weights(spec).__getitem__) == "skills"  # led by the skill lists


def test_free_text_meets_each_family_with_that_family_s_own_head() -> None:
    spec = plan_search(DESCRIBED, "text", "fused", ("en",))
    assert planned(spec) == {
        ("labels_en", "labels", "anchor"),
        ("skills", "skills", "positive"),
        ("description_en", "description", "positive"),
    }
    assert spec.sides == {"anchor", "positive"}
    assert weights(spec) == ranking_weights("fused", "text", DESCRIBED)
    assert max(weights(spec), key=weights(spec).__getitem__) == "labels"  # led by the labels


@pytest.mark.parametrize("kind", KINDS)
def test_each_named_strategy_plans_its_families_with_typed_weights(kind: str) -> None:
    for strategy, rankings in STRATEGIES.items():
        ranking = rankings[kind]
        assert isinstance(ranking, Ranking)
        assert all(isinstance(w, FamilyWeight) and w.weight > 0 for w in ranking.families)
        for layout in (LAYOUT, DESCRIBED, LABELS_ONLY):
            expected = ranking_weights(strategy, kind, layout)
            if not expected:  # none of its families indexed
                with pytest.raises(InvalidQuery, match=f"strategy '{strategy}' needs"):
                    plan_search(layout, kind, strategy, layout.languages)
                continue
            spec = plan_search(layout, kind, strategy, layout.languages)
            assert weights(spec) == expected, (strategy, layout)
            assert {p.family for p in spec.probes} == set(expected)
            for w in spec.weights:  # BM25's unbounded score is saturated; cosines are not
                assert (w.saturation is not None) == (w.family == "bm25")


def test_bm25_probes_have_no_head_and_search_each_language_s_terms() -> None:
    spec = plan_search(LAYOUT, "job_title", "hybrid", LAYOUT.languages)
    lexical = [p for p in spec.probes if p.family == "bm25"]
    assert {(p.vector, p.side, p.language) for p in lexical} == {("bm25_en", None, "en"), ("bm25_de", None, "de")}
    assert spec.sides == {"anchor"}  # the dense labels' head only
    assert spec.query_forms == STRATEGIES["hybrid"]["job_title"].query_forms
    assert plan_search(LAYOUT, "skills", "hybrid", LAYOUT.languages).query_forms == "raw"  # cleaning: titles only


def test_languages_restrict_the_probes_the_skill_lists_included() -> None:
    english = plan_search(LAYOUT, "text", "fused", ("en",))
    assert {p.vector for p in english.probes} == {"labels_en", "skills"}
    german = plan_search(LAYOUT, "text", "fused", ("de",))  # the skill lists are English labels
    assert ({p.vector for p in german.probes}, weights(german)) == ({"labels_de"}, {"labels": 1.0})
    assert {p.vector for p in plan_search(LAYOUT, "job_title", "hybrid", ("de",)).probes} == {"labels_de", "bm25_de"}


def test_a_strategy_the_index_cannot_serve_is_an_invalid_query() -> None:
    with pytest.raises(InvalidQuery, match="needs skills vectors; this index has: bm25, labels, title"):
        plan_search(LABELS_ONLY, "skills", "skills", ("en",))
    with pytest.raises(InvalidQuery, match="needs description vectors"):
        plan_search(LAYOUT, "text", "description", ("en",))
    with pytest.raises(InvalidQuery, match="kind must be one of job_title, skills, text"):
        plan_search(LAYOUT, "resume", None, ("en",))
    with pytest.raises(InvalidQuery, match="strategy must be one of"):
        plan_search(LAYOUT, "text", "nearest", ("en",))
    fused = plan_search(LABELS_ONLY, "skills", None, ("en",))  # fused: the tie-break family stands in
    assert (planned(fused), weights(fused)) == ({("labels_en", "labels", "positive")}, {"labels": 0.01})


def test_every_payload_bonus_reads_an_indexed_integer_field() -> None:
    bonuses = {b for rankings in STRATEGIES.values() for ranking in rankings.values() for b in ranking.bonuses}
    assert bonuses  # the job-title default has one
    assert {(b.key, type(b.value)) for b in bonuses} <= {(key, int) for key in INTEGER_INDEXES["occupations"]}


def test_a_ranking_can_be_given_instead_of_a_name() -> None:
    ranking = Ranking.of({"labels": 2.0, "bm25": 1.0, "skills": 0.0}, bm25_saturation=4.0)  # weight 0: left out
    spec = plan_search(LAYOUT, "job_title", ranking, ("en",))
    assert {(w.family, w.weight, w.saturation) for w in spec.weights} == {("labels", 2.0, None), ("bm25", 1.0, 4.0)}
    assert {p.vector for p in spec.probes} == {"labels_en", "bm25_en"}


def test_fusion_terms_group_the_probes_by_family_with_normalized_weights() -> None:
    query = np.ones(4, dtype=np.float32)
    plan = QueryPlan(
        probes=(
            Probe("labels_en", "labels", query, True),
            Probe("skills", "skills", query),
            Probe("labels_de", "labels", query, True),
        ),
        weights=(FamilyWeight("skills", 1.0), FamilyWeight("labels", 0.25)),
        limit=5,
        depth=50,
    )
    terms = [(t.weight, t.prefetches, t.saturation) for t in plan.fusion_terms()]
    assert terms == [(pytest.approx(0.8), [1], None), (pytest.approx(0.2), [0, 2], None)]
    assert sum(t.weight for t in plan.fusion_terms()) == pytest.approx(1.0)
    alone = QueryPlan((Probe("skills", "skills", query),), (FamilyWeight("skills", 0.25),), limit=1, depth=1)
    assert alone.fusion_terms() == [FusionTerm(1.0, [0], [1.0], None)]  # one family: its own score, whatever its weight
    lexical = QueryPlan(
        (Probe("bm25_en", "bm25", SparseVector((1,), (1.0,))), Probe("labels_en", "labels", query, True)),
        (FamilyWeight("labels", 1.0), FamilyWeight("bm25", 1.0, saturation=8.0)),
        limit=1,
        depth=1,
    )
    assert [(t.weight, t.prefetches, t.saturation) for t in lexical.fusion_terms()] == [
        (0.5, [1], None),
        (0.5, [0], 8.0),
    ]


def test_plans_and_weights_are_checked() -> None:
    query = np.ones(4, dtype=np.float32)
    for weight in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="must be positive"):
            FamilyWeight("labels", weight)
        with pytest.raises(ValueError, match="saturation must be positive"):
            FamilyWeight("bm25", 1.0, saturation=weight)
    with pytest.raises(ValueError, match="every probed family needs one weight"):
        QueryPlan((Probe("skills", "skills", query),), (FamilyWeight("labels", 1.0),), limit=1, depth=1)
    with pytest.raises(ValueError, match="every probed family needs one weight"):
        QueryPlan(
            (Probe("skills", "skills", query),),
            (FamilyWeight("skills", 1.0), FamilyWeight("labels", 1.0)),
            limit=1,
            depth=1,
        )
    with pytest.raises(ValueError, match="every probed family needs one weight"):
        QueryPlan((), (), limit=1, depth=1)


# -- fusion in the engine ---------------------------------------------------------------------

DIM = 6
COLLECTION = "tiny"


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector, axis=-1, keepdims=True)


def cosines(query: np.ndarray, vectors: np.ndarray) -> float:
    """Cosine of a query with a vector, or the best over a multivector's rows (MAX_SIM)."""
    return float(np.max(np.atleast_2d(unit(vectors)) @ unit(query)))


class Tiny:
    """Eight occupations: labels in English and German (1-3 rows), a skill list on all but one, BM25 terms."""

    def __init__(self) -> None:
        rng = np.random.default_rng(13)
        self.points: list[PointData] = []
        for i in range(8):
            vectors: dict[str, np.ndarray | SparseVector] = {
                "labels_en": rng.standard_normal((1 + i % 3, DIM)).astype(np.float32),
                "labels_de": rng.standard_normal((1 + (i + 1) % 3, DIM)).astype(np.float32),
                "bm25_en": SparseVector((i % 3, 10 + i), (1.0 + i / 10, 1.0)),  # a shared term, an own term
            }
            if i != 5:
                vectors["skills"] = rng.standard_normal(DIM).astype(np.float32)
            payload = {"uri": f"o{i}", "languages": ["en", "de"] if i % 2 else ["en"]}
            self.points.append(PointData(point_id(f"o{i}"), vectors, payload))
        self.by_id = {p.id: p for p in self.points}

    def family_score(self, point: PointData, vectors: Sequence[str], query: np.ndarray) -> float | None:
        """The best cosine over the point's vectors of a family; None if it has none."""
        found = [cosines(query, np.asarray(point.vectors[name])) for name in vectors if name in point.vectors]
        return max(found) if found else None


SPEC = CollectionSpec(
    dense={"labels_en": DenseSpec(DIM, multi=True), "labels_de": DenseSpec(DIM, multi=True), "skills": DenseSpec(DIM)},
    sparse=("bm25_en",),
    keyword_indexes=("languages",),
)


@pytest.fixture
async def tiny(adapter_store: QdrantStore) -> tuple[QdrantStore, Tiny]:
    data = Tiny()
    await adapter_store.create_collection(COLLECTION, SPEC, {})
    await adapter_store.upsert(COLLECTION, data.points)
    return adapter_store, data


def labels_probes(query: np.ndarray) -> tuple[Probe, ...]:
    return (Probe("labels_en", "labels", query, multi=True), Probe("labels_de", "labels", query, multi=True))


def ranked(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    return sorted(scores.items(), key=lambda item: -item[1])


async def test_one_family_scores_the_best_cosine_over_its_languages(tiny: tuple[QdrantStore, Tiny]) -> None:
    store, data = tiny
    rng = np.random.default_rng(1)
    for _ in range(3):
        query = rng.standard_normal(DIM).astype(np.float32)
        plan = QueryPlan(labels_probes(query), (FamilyWeight("labels", 1.0),), limit=8, depth=8, fields=("uri",))
        (hits,) = await store.query_batch(COLLECTION, [plan])
        expected = {p.id: data.family_score(p, ("labels_en", "labels_de"), query) for p in data.points}
        assert [h.id for h in hits] == [pid for pid, _ in ranked(expected)]
        assert [h.score for h in hits] == pytest.approx([s for _, s in ranked(expected)], abs=STORED_ATOL)
        assert [h.payload for h in hits] == [{"uri": data.by_id[h.id].payload["uri"]} for h in hits]
        english = QueryPlan(labels_probes(query)[:1], (FamilyWeight("labels", 1.0),), limit=8, depth=8)
        (only_en,) = await store.query_batch(COLLECTION, [english])
        assert {h.id: h.score for h in only_en} == pytest.approx(
            {p.id: cosines(query, p.vectors["labels_en"]) for p in data.points}, abs=STORED_ATOL
        )


async def test_two_families_score_the_weighted_mean_of_their_best_cosines(tiny: tuple[QdrantStore, Tiny]) -> None:
    store, data = tiny
    # A query close to o3's second German label: MAX_SIM must find that row, not the first.
    query = data.by_id[point_id("o3")].vectors["labels_de"][1] + np.float32(0.05)
    plan = QueryPlan(
        (*labels_probes(query), Probe("skills", "skills", query)),
        (FamilyWeight("skills", 1.0), FamilyWeight("labels", 0.25)),
        limit=8,
        depth=8,  # every point reaches the fusion from every prefetch
    )
    (hits,) = await store.query_batch(COLLECTION, [plan])
    expected: dict[str, float] = {}
    for point in data.points:
        labels = data.family_score(point, ("labels_en", "labels_de"), query)
        skills = data.family_score(point, ("skills",), query)
        assert labels is not None
        expected[point.id] = (1.0 * (skills if skills is not None else 0.0) + 0.25 * labels) / 1.25
    assert [h.id for h in hits] == [pid for pid, _ in ranked(expected)]
    assert [h.score for h in hits] == pytest.approx([s for _, s in ranked(expected)], abs=STORED_ATOL)
    o3 = data.by_id[point_id("o3")]
    assert data.family_score(o3, ("labels_de",), query) > 0.99  # its second German label...
    assert cosines(query, o3.vectors["labels_de"][0]) < 0.9  # ...not the first: MAX_SIM took the best row
    o5 = data.points[5]  # no skills vector: that family counts 0
    o5_labels = data.family_score(o5, ("labels_en", "labels_de"), query)
    assert o5_labels is not None
    assert next(h.score for h in hits if h.id == o5.id) == pytest.approx(0.25 * o5_labels / 1.25, abs=STORED_ATOL)


async def test_a_point_a_prefetch_did_not_return_counts_zero_there(tiny: tuple[QdrantStore, Tiny]) -> None:
    store, data = tiny
    query = np.random.default_rng(2).standard_normal(DIM).astype(np.float32)
    depth = 3
    plan = QueryPlan(
        (Probe("labels_en", "labels", query, multi=True), Probe("skills", "skills", query)),
        (FamilyWeight("labels", 1.0), FamilyWeight("skills", 1.0)),
        limit=8,
        depth=depth,
    )
    (hits,) = await store.query_batch(COLLECTION, [plan])
    per_probe: list[dict[str, float]] = []
    for name in ("labels_en", "skills"):
        scores = {p.id: cosines(query, p.vectors[name]) for p in data.points if name in p.vectors}
        per_probe.append(dict(ranked(scores)[:depth]))  # what the prefetch returns
    candidates = set(per_probe[0]) | set(per_probe[1])
    expected = {pid: sum(probe.get(pid, 0.0) for probe in per_probe) / 2 for pid in candidates}
    assert len(hits) == len(candidates) < len(data.points)  # only prefetched points are ranked
    assert {h.id: h.score for h in hits} == pytest.approx(expected, abs=STORED_ATOL)


async def test_the_filter_holds_in_every_prefetch(tiny: tuple[QdrantStore, Tiny]) -> None:
    store, data = tiny
    query = np.random.default_rng(3).standard_normal(DIM).astype(np.float32)
    german = PayloadFilter({"languages": ("de",)})
    plan = QueryPlan(
        (*labels_probes(query), Probe("skills", "skills", query)),
        (FamilyWeight("labels", 1.0), FamilyWeight("skills", 0.25)),
        limit=8,
        depth=2,
        filter=german,
        fields=("languages",),
    )
    (hits,) = await store.query_batch(COLLECTION, [plan])
    assert hits
    assert all("de" in h.payload["languages"] for h in hits)
    assert {h.id for h in hits} <= {p.id for p in data.points if "de" in p.payload["languages"]}


async def test_a_saturated_bm25_family_mixes_with_cosines(tiny: tuple[QdrantStore, Tiny]) -> None:
    store, data = tiny
    query = np.random.default_rng(4).standard_normal(DIM).astype(np.float32)
    terms = Probe("bm25_en", "bm25", SparseVector((1, 13), (1.0, 1.0)))  # o1, o4, o7 share term 1; o3 has 13
    (raw,) = await store.query_batch(COLLECTION, [QueryPlan((terms,), (FamilyWeight("bm25", 1.0),), 8, 8)])
    bm25 = {h.id: h.score for h in raw}
    assert set(bm25) == {point_id(f"o{i}") for i in (1, 3, 4, 7)}  # only points with a query term
    assert max(bm25.values()) > 1.0  # unbounded: not a cosine
    saturation = 2.0
    plan = QueryPlan(
        (*labels_probes(query), terms),
        (FamilyWeight("labels", 1.0), FamilyWeight("bm25", 0.5, saturation=saturation)),
        limit=8,
        depth=8,
    )
    (hits,) = await store.query_batch(COLLECTION, [plan])
    expected = {}
    for point in data.points:
        labels = data.family_score(point, ("labels_en", "labels_de"), query)
        assert labels is not None
        lexical = bm25.get(point.id, 0.0)
        expected[point.id] = (1.0 * labels + 0.5 * lexical / (lexical + saturation)) / 1.5
    assert {h.id: h.score for h in hits} == pytest.approx(expected, abs=STORED_ATOL)
    assert [h.id for h in hits] == [pid for pid, _ in ranked(expected)]


async def test_query_forms_in_one_probe_score_the_mean_of_their_cosines(tiny: tuple[QdrantStore, Tiny]) -> None:
    """``forms_probe``: a title as sent, as cleaned and its named job, searched together: a skill-list point
    scores its mean cosine with the three forms; a label multivector its best label by that mean."""
    store, data = tiny
    rng = np.random.default_rng(4)
    forms = unit(rng.standard_normal((3, DIM))).astype(np.float32)  # the three forms' unit embeddings
    specs = {
        "skills": ProbeSpec("skills", "skills", "anchor", multi=False, language=None),
        "labels": ProbeSpec("labels_en", "labels", "anchor", multi=True, language="en"),
    }
    for family, spec in specs.items():
        probe = forms_probe(spec, ("sent", "cleaned", "named"), {"anchor": forms})
        plan = QueryPlan((probe,), (FamilyWeight(family, 1.0),), limit=8, depth=8)
        (hits,) = await store.query_batch(COLLECTION, [plan])
        expected = {}
        for point in data.points:
            if spec.vector in point.vectors:
                rows = np.atleast_2d(unit(np.asarray(point.vectors[spec.vector])))
                expected[point.id] = float(np.max((rows @ forms.T).mean(axis=1)))  # best row by the mean
        assert {h.id: h.score for h in hits} == pytest.approx(expected, abs=STORED_ATOL), family
    one = forms_probe(specs["skills"], ("sent",), {"anchor": forms[:1]})
    assert one.scale == pytest.approx(1.0)  # one form: itself
    np.testing.assert_allclose(one.query, forms[0], atol=1e-6)
