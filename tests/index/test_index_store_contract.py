"""The store contract, held by both adapters: Qdrant Edge in a directory, and qdrant-client.

Every test here runs twice (the ``adapter_store`` fixture): on Qdrant Edge under tmp_path, and on
``open_store(":memory:")``, the qdrant-client adapter (:class:`ServerBackend`) over qdrant-client's
in-memory mode. No Qdrant server binary runs on the build machines; the in-memory mode speaks the
same client API as a server (collections, aliases, metadata, the Query API with prefetches and
formulas), so the adapter's requests are the ones a server gets. The last test runs the same data
and plans on both and asks for the same hits.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from jobmatch.server.index import IndexNotFound, PointData, QdrantStore, point_id
from jobmatch.server.index.plan import FamilyWeight, Hit, PayloadBonus, PayloadFilter, Probe, QueryPlan, SparseVector
from jobmatch.server.index.store import CollectionSpec, DenseSpec
from tests.index.conftest import open_adapter
from tests.index.scoring import STORED_ATOL

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")

DIM = 8
SPEC = CollectionSpec(
    dense={
        "title_en": DenseSpec(DIM),
        "labels_en": DenseSpec(DIM, multi=True),
        "labels_de": DenseSpec(DIM, multi=True),
        "skills": DenseSpec(DIM),
    },
    sparse=("terms",),
    keyword_indexes=("uri", "isco_prefixes", "languages"),
    integer_indexes=("depth",),  # what PayloadBonus reads
)
FLOAT32 = CollectionSpec(
    dense={name: DenseSpec(d.size, d.multi, float16=False) for name, d in SPEC.dense.items()},
    sparse=SPEC.sparse,
    keyword_indexes=SPEC.keyword_indexes,
    integer_indexes=SPEC.integer_indexes,
)
"""SPEC in full precision: adapters compared score for score (SPEC's float16 rounds each adapter its own way)."""
METADATA = {"jobmatch_index": {"schema_version": 1, "vectors": ["title_en"]}, "owner": "tests"}


def point(name: str, rng: np.random.Generator, *, rows: int = 2, **payload: object) -> PointData:
    vectors: dict[str, np.ndarray | SparseVector] = {
        "title_en": rng.standard_normal(DIM).astype(np.float32),
        "labels_en": rng.standard_normal((rows, DIM)).astype(np.float32),
        "skills": rng.standard_normal(DIM).astype(np.float32),
    }
    return PointData(point_id(name), vectors, {"uri": name, **payload})


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def title_plan(query: np.ndarray, limit: int = 10, **kwargs: object) -> QueryPlan:
    return QueryPlan((Probe("title_en", "title", query),), (FamilyWeight("title", 1.0),), limit, limit, **kwargs)


@pytest.fixture
async def created(adapter_store: QdrantStore) -> QdrantStore:
    await adapter_store.create_collection("c", SPEC, METADATA)
    return adapter_store


async def test_a_created_collection_is_listed_with_its_metadata_and_empty(created: QdrantStore) -> None:
    assert await created.collection_names() == ["c"]
    assert await created.metadata("c") == METADATA
    assert await created.count("c") == 0
    assert await created.read_payload("c", ["uri"]) == {}
    assert await created.aliases() == {}
    await created.create_collection("b", CollectionSpec({"v": DenseSpec(4)}), {})
    assert await created.collection_names() == ["b", "c"]  # sorted
    assert await created.metadata("b") == {}


async def test_upsert_overwrites_whole_points_and_delete_removes_them(created: QdrantStore) -> None:
    rng = np.random.default_rng(0)
    a, b, c = (point(n, rng, isco_prefixes=["2", "25"]) for n in ("a", "b", "c"))
    await created.upsert("c", [a, b, c])
    assert await created.count("c") == 3
    newer = PointData(a.id, {"title_en": -np.asarray(a.vectors["title_en"])}, {"uri": "a", "version": 2})
    await created.upsert("c", [newer])  # a whole point: vectors and payload replaced, not merged
    (stored,) = await created.retrieve("c", [a.id], with_vectors=True)
    assert stored.payload == {"uri": "a", "version": 2}
    assert set(stored.vectors) == {"title_en"}
    # float16 storage (SPEC's default): each component within half a float16 step of the unit vector's
    np.testing.assert_allclose(stored.vectors["title_en"], unit(-np.asarray(a.vectors["title_en"])), atol=5e-4)
    await created.delete("c", [b.id, point_id("never there")])
    assert await created.count("c") == 2
    assert await created.read_payload("c", ["uri", "version"]) == {
        a.id: {"uri": "a", "version": 2},
        c.id: {"uri": "c"},
    }
    assert await created.read_payload("c", []) == {a.id: {}, c.id: {}}
    assert await created.retrieve("c", [b.id]) == []
    await created.upsert("c", [])  # nothing to do: no call
    await created.delete("c", [])
    assert await created.count("c") == 2


async def test_retrieve_returns_payload_fields_and_vectors_as_stored(created: QdrantStore) -> None:
    rng = np.random.default_rng(1)
    given = point("a", rng, rows=3, isco_prefixes=["2"], languages=["en"])
    sent = {name: np.array(v, copy=True) for name, v in given.vectors.items() if isinstance(v, np.ndarray)}
    missing_skills = PointData(point_id("b"), {"title_en": sent["title_en"]}, {"uri": "b"})
    await created.upsert("c", [given, missing_skills])
    for name, vector in sent.items():  # the caller's arrays are not normalized in place
        np.testing.assert_array_equal(given.vectors[name], vector)

    (plain,) = await created.retrieve("c", [given.id])
    assert plain.id == given.id
    assert plain.payload == {"uri": "a", "isco_prefixes": ["2"], "languages": ["en"]}
    assert plain.vectors == {}
    (some,) = await created.retrieve("c", [given.id], ["uri", "languages"])
    assert some.payload == {"uri": "a", "languages": ["en"]}
    (bare,) = await created.retrieve("c", [given.id], False)
    assert bare.payload == {}

    (full,) = await created.retrieve("c", [given.id], with_vectors=True)
    assert set(full.vectors) == {"title_en", "labels_en", "skills"}
    assert full.vectors["labels_en"].shape == (3, DIM)  # a multivector: its rows, in order
    for name, vector in sent.items():  # cosine vectors are stored unit-length (row by row), in float16
        assert full.vectors[name].dtype == np.float32
        np.testing.assert_allclose(full.vectors[name], unit(vector), atol=5e-4)
    (partial,) = await created.retrieve("c", [point_id("b")], with_vectors=True)
    assert set(partial.vectors) == {"title_en"}  # a point holds the vectors it was given
    found = await created.retrieve("c", [point_id("b"), point_id("nope"), given.id])
    assert {p.id for p in found} == {point_id("b"), given.id}


async def test_aliases_switch_atomically_and_resolve_everywhere(created: QdrantStore) -> None:
    rng = np.random.default_rng(2)
    await created.create_collection("d", SPEC, {"owner": "d"})
    await created.upsert("c", [point("in-c", rng)])
    await created.upsert("d", [point("in-d", rng), point("also-in-d", rng)])

    await created.switch_alias("live", "c")
    assert await created.aliases() == {"live": "c"}
    assert (await created.count("live"), await created.metadata("live")) == (1, METADATA)
    assert [p.payload["uri"] for p in await created.retrieve("live", [point_id("in-c")])] == ["in-c"]

    await created.switch_alias("live", "d")  # one step: the alias never points nowhere
    assert await created.aliases() == {"live": "d"}
    assert await created.count("live") == 2
    assert await created.retrieve("live", [point_id("in-c")]) == []
    assert set(await created.read_payload("live", ["uri"])) == {point_id("in-d"), point_id("also-in-d")}
    await created.update_metadata("live", {"state": "ready"})  # writes through the alias too
    assert (await created.metadata("d"))["state"] == "ready"
    query = np.asarray((await created.retrieve("d", [point_id("in-d")], with_vectors=True))[0].vectors["title_en"])
    (hits,) = await created.query_batch("live", [title_plan(query, 1, fields=("uri",))])
    assert [(h.payload["uri"], round(h.score, 3)) for h in hits] == [("in-d", 1.0)]  # float16 storage
    await created.upsert("live", [point("written-through-alias", rng)])
    assert await created.count("d") == 3

    async def switch_and_count(target: str) -> int:
        await created.switch_alias("live", target)
        return await created.count("live")

    async def count_live() -> int:
        return await created.count("live")

    # readers during switches see one collection or the other, never none
    seen = await asyncio.gather(*(switch_and_count("cd"[i % 2]) for i in range(10)), *(count_live() for _ in range(10)))
    assert set(seen) <= {1, 3}
    assert await created.aliases() == {"live": "d"}  # the last switch

    await created.drop_collection("d")  # its alias goes with it
    assert await created.aliases() == {}
    with pytest.raises(IndexNotFound, match="'live'"):
        await created.count("live")
    with pytest.raises(IndexNotFound):
        await created.switch_alias("live", "never-created")


async def test_metadata_updates_replace_the_given_top_level_keys(created: QdrantStore) -> None:
    await created.update_metadata("c", {"owner": "sync", "state": "ready"})
    assert await created.metadata("c") == {**METADATA, "owner": "sync", "state": "ready"}
    manifest = {"schema_version": 1, "points": 3}
    await created.update_metadata("c", {"jobmatch_index": manifest})
    assert (await created.metadata("c"))["jobmatch_index"] == manifest  # replaced whole, not merged


async def test_a_dropped_collection_is_gone(created: QdrantStore) -> None:
    await created.upsert("c", [point("a", np.random.default_rng(3))])
    await created.drop_collection("c")
    assert await created.collection_names() == []
    with pytest.raises(IndexNotFound):
        await created.count("c")
    await created.drop_collection("c")  # dropping what is not there is no error
    await created.create_collection("c", SPEC, {"again": True})  # the name can be used again, empty
    assert (await created.count("c"), await created.metadata("c")) == (0, {"again": True})


@pytest.mark.parametrize(
    "operation",
    ["count", "metadata", "update_metadata", "retrieve", "read_payload", "upsert", "delete", "query_batch"],
)
async def test_an_unknown_name_is_index_not_found(created: QdrantStore, operation: str) -> None:
    rng = np.random.default_rng(4)
    calls = {
        "count": lambda: created.count("nope"),
        "metadata": lambda: created.metadata("nope"),
        "update_metadata": lambda: created.update_metadata("nope", {"a": 1}),
        "retrieve": lambda: created.retrieve("nope", [point_id("a")]),
        "read_payload": lambda: created.read_payload("nope", ["uri"]),
        "upsert": lambda: created.upsert("nope", [point("a", rng)]),
        "delete": lambda: created.delete("nope", [point_id("a")]),
        "query_batch": lambda: created.query_batch("nope", [title_plan(np.ones(DIM, dtype=np.float32))]),
    }
    with pytest.raises(IndexNotFound, match="'nope'"):
        await calls[operation]()
    assert await created.collection_names() == ["c"]  # nothing was created on the way


async def test_filters_match_any_value_of_a_list_payload_and_every_condition(created: QdrantStore) -> None:
    rng = np.random.default_rng(5)
    points = [
        point("nurse", rng, isco_prefixes=["2", "22", "222", "2221"], languages=["en", "de"]),
        point("analyst", rng, isco_prefixes=["2", "25", "251", "2511"], languages=["en"]),
        point("cook", rng, isco_prefixes=["5", "51", "512", "5120"], languages=["en", "de"]),
        point("driver", rng, isco_prefixes=["8", "83", "833", "8332"], languages=["de"]),
    ]
    await created.upsert("c", points)
    query = rng.standard_normal(DIM).astype(np.float32)

    async def found(ids: tuple[str, ...] = (), **any_of: tuple[str, ...]) -> set[str]:
        plan = title_plan(query, filter=PayloadFilter(any_of, ids), fields=("uri",))
        (hits,) = await created.query_batch("c", [plan])
        return {str(h.payload["uri"]) for h in hits}

    assert await found() == {"nurse", "analyst", "cook", "driver"}
    assert await found(isco_prefixes=("25",)) == {"analyst"}
    assert await found(isco_prefixes=("22", "5")) == {"nurse", "cook"}  # any of the values
    assert await found(languages=("de",)) == {"nurse", "cook", "driver"}  # one value of a list
    assert await found(isco_prefixes=("2", "8"), languages=("de",)) == {"nurse", "driver"}  # both conditions
    named = tuple(point_id(n) for n in ("nurse", "analyst", "never written"))
    assert await found(named) == {"nurse", "analyst"}  # only these points
    assert await found(named, languages=("de",)) == {"nurse"}  # and the keyword conditions
    assert await found(isco_prefixes=("25",), languages=("de",)) == set()
    assert await found(isco_prefixes=("9",)) == set()


async def test_a_query_batch_answers_each_plan_in_order(created: QdrantStore) -> None:
    rng = np.random.default_rng(6)
    points = [point(f"p{i}", rng) for i in range(20)]
    await created.upsert("c", points)
    plans = [title_plan(np.asarray(p.vectors["title_en"]), limit=3, fields=("uri",)) for p in points[:5]]
    results = await created.query_batch("c", plans)
    assert [hits[0].payload["uri"] for hits in results] == [f"p{i}" for i in range(5)]
    assert all(len(hits) == 3 and hits[0].score == pytest.approx(1.0, abs=STORED_ATOL) for hits in results)
    assert all([h.score for h in hits] == sorted((h.score for h in hits), reverse=True) for hits in results)
    assert await created.query_batch("c", []) == []


async def test_min_score_keeps_the_hits_whose_fused_score_reaches_it(created: QdrantStore) -> None:
    rng = np.random.default_rng(8)
    points = [point(f"p{i}", rng) for i in range(12)]
    await created.upsert("c", points)
    query = unit(rng.standard_normal(DIM).astype(np.float32))
    probes = (Probe("title_en", "title", query), Probe("skills", "skills", query))
    weights = (FamilyWeight("title", 1.0), FamilyWeight("skills", 3.0))

    async def ranked(min_score: float | None) -> list[Hit]:
        plan = QueryPlan(probes, weights, 12, 12, fields=("uri",), min_score=min_score)
        (hits,) = await created.query_batch("c", [plan])
        return hits

    every = await ranked(None)
    assert len(every) == 12
    gaps = [a.score - b.score for a, b in itertools.pairwise(every)]
    cut = max(range(2, 9), key=lambda i: gaps[i])  # between two hits far apart: no rounding decides
    threshold = (every[cut].score + every[cut + 1].score) / 2
    assert [h.id for h in await ranked(threshold)] == [h.id for h in every[: cut + 1]]  # the fused score
    assert await ranked(every[0].score + 0.01) == []
    assert [h.id for h in await ranked(-1.0)] == [h.id for h in every]


async def test_a_payload_bonus_adds_its_weight_where_the_field_holds_its_value(created: QdrantStore) -> None:
    rng = np.random.default_rng(9)
    depths = [1, 2, None, 1, 3, None, 2, 1]  # None: a point without the field
    points = []
    for i, depth in enumerate(depths):
        given = point(f"p{i}", rng, **({} if depth is None else {"depth": depth}))
        points.append(given)
    await created.upsert("c", points)
    query = unit(rng.standard_normal(DIM).astype(np.float32))

    async def scores(*bonuses: PayloadBonus) -> dict[str, float]:
        (hits,) = await created.query_batch("c", [title_plan(query, 8, fields=("uri",), bonuses=bonuses)])
        return {str(h.payload["uri"]): h.score for h in hits}

    plain = await scores()
    boosted = await scores(PayloadBonus("depth", 1, 0.5))
    assert set(plain) == set(boosted) == {f"p{i}" for i in range(len(depths))}
    for i, depth in enumerate(depths):
        expected = plain[f"p{i}"] + (0.5 if depth == 1 else 0.0)
        assert boosted[f"p{i}"] == pytest.approx(expected, abs=1e-5), (i, depth)
    two = await scores(PayloadBonus("depth", 1, 0.5), PayloadBonus("depth", 3, 0.25))
    assert two["p4"] == pytest.approx(plain["p4"] + 0.25, abs=1e-5)
    assert two["p0"] == pytest.approx(plain["p0"] + 0.5, abs=1e-5)


async def test_sparse_vectors_are_weighted_by_idf(created: QdrantStore) -> None:
    rng = np.random.default_rng(7)
    common, rare = 1, 2
    points = []
    for i in range(4):
        terms = SparseVector((common, rare), (1.0, 1.0)) if i == 0 else SparseVector((common,), (1.0,))
        given = point(f"p{i}", rng)
        points.append(PointData(given.id, {**given.vectors, "terms": terms}, given.payload))
    await created.upsert("c", points)
    probe = Probe("terms", "terms", SparseVector((common, rare), (1.0, 1.0)))
    plan = QueryPlan((probe,), (FamilyWeight("terms", 1.0),), 4, 4, fields=("uri",))
    (hits,) = await created.query_batch("c", [plan])
    assert hits[0].payload["uri"] == "p0"  # the only point with the rare term
    assert hits[0].score > 2 * hits[1].score  # the rare term weighs more than the common one
    assert len(hits) == 4
    assert len({round(h.score, 6) for h in hits[1:]}) == 1
    saturated = QueryPlan((probe,), (FamilyWeight("terms", 1.0, saturation=2.0),), 4, 4, fields=("uri",))
    (squashed,) = await created.query_batch("c", [saturated])  # s / (s + 2): in [0, 1) like a cosine
    assert squashed[0].id == hits[0].id  # the others tie
    assert {h.id: h.score for h in squashed} == pytest.approx({h.id: h.score / (h.score + 2.0) for h in hits}, abs=1e-6)


# -- the same answers on both adapters ----------------------------------------------------------

POINTS = 300


def random_points(seed: int) -> list[PointData]:
    """300 occupations: a title, 1-4 English labels; German labels, a skill list, BM25 terms on some; payloads."""
    rng = np.random.default_rng(seed)
    made = []
    for i in range(POINTS):
        vectors: dict[str, np.ndarray | SparseVector] = {
            "title_en": rng.standard_normal(DIM).astype(np.float32),
            "labels_en": rng.standard_normal((1 + i % 4, DIM)).astype(np.float32),
        }
        if i % 2:
            vectors["labels_de"] = rng.standard_normal((1 + i % 3, DIM)).astype(np.float32)
        if i % 3:
            vectors["skills"] = rng.standard_normal(DIM).astype(np.float32)
        terms = sorted({int(t) for t in rng.zipf(1.5, size=1 + i % 6) if t < 40})  # a few common terms, many rare
        # (real-valued weights: no two points tie, so no tie at a prefetch's cut picks either)
        if terms:
            vectors["terms"] = SparseVector(tuple(terms), tuple(float(rng.uniform(0.5, 3.0)) for _ in terms))
        group = f"{1 + i % 9}{i % 7}{i % 5}{i % 3}"
        payload = {
            "uri": f"o{i}",
            "isco_prefixes": [group[:n] for n in range(1, 5)],
            "languages": ["en", "de"] if i % 2 else ["en"],
            **({"depth": 1 + i % 3} if i % 4 else {}),  # some points lack the field a bonus reads
        }
        made.append(PointData(point_id(f"o{i}"), vectors, payload))
    return made


def comparison_plans(rng: np.random.Generator) -> list[QueryPlan]:
    query = rng.standard_normal(DIM).astype(np.float32)
    other = rng.standard_normal(DIM).astype(np.float32)
    labels = (Probe("labels_en", "labels", query, True), Probe("labels_de", "labels", query, True))
    skills = Probe("skills", "skills", other)
    fused = (FamilyWeight("labels", 1.0), FamilyWeight("skills", 0.25))
    fields = ("uri", "isco_prefixes")
    lexical = Probe("terms", "terms", SparseVector((1, 2, 7, 23), (1.0, 1.0, 1.0, 1.0)))
    bm25 = FamilyWeight("terms", 0.5, saturation=8.0)
    bonus = PayloadBonus("depth", 1, 0.05)
    some = tuple(point_id(f"o{i}") for i in range(0, POINTS, 7))  # by point id, as extraction scores candidates
    return [
        QueryPlan((lexical,), (FamilyWeight("terms", 1.0),), 10, 10, fields=fields),
        QueryPlan((*labels, lexical), (FamilyWeight("labels", 1.0), bm25), 10, 50, fields=fields),
        title_plan(query, 10),
        QueryPlan(labels[:1], (FamilyWeight("labels", 1.0),), 10, 10),
        QueryPlan(labels, (FamilyWeight("labels", 1.0),), 15, 15, fields=fields),
        QueryPlan((skills,), (FamilyWeight("skills", 1.0),), 250, 250),  # more than the points with skills
        QueryPlan((*labels, skills), fused, 10, 50, fields=fields),
        QueryPlan((*labels, skills), (FamilyWeight("labels", 0.25), FamilyWeight("skills", 1.0)), 20, 20),
        QueryPlan((*labels, skills), fused, 10, 50, PayloadFilter({"isco_prefixes": ("2", "31", "455")}), fields),
        QueryPlan(
            (*labels, skills), fused, 10, 50, PayloadFilter({"isco_prefixes": ("3", "4"), "languages": ("de",)}), fields
        ),
        title_plan(query, 5, filter=PayloadFilter({"languages": ("de",)}), fields=("languages",)),
        QueryPlan((*labels, lexical), (FamilyWeight("labels", 1.0), bm25), 10, 10, PayloadFilter(ids=some), fields),
        QueryPlan((*labels, lexical), (FamilyWeight("labels", 1.0), bm25), 10, 50, fields=fields, bonuses=(bonus,)),
    ]


@pytest.fixture(params=["edge", "edge-process"])
async def both(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[tuple[QdrantStore, QdrantStore]]:
    edge = await open_adapter(request.param, tmp_path / "edge")
    memory = await open_adapter(":memory:", tmp_path)
    try:
        yield edge, memory
    finally:
        await edge.close()
        await memory.close()


def same_hits(found: list[Hit], expected: list[Hit]) -> None:
    """The same ranking: equal scores in order, the same point (and payload) for each score; points
    that tie may come in either order, and a tie at the cut may keep either point."""
    assert [h.score for h in found] == pytest.approx([h.score for h in expected], abs=1e-5)
    mine, theirs = {h.id: h for h in found}, {h.id: h for h in expected}
    for hit in found:
        other = theirs.get(hit.id)
        if other is None:  # only in a tie at the cut
            assert hit.score == pytest.approx(expected[-1].score, abs=1e-5), hit
            continue
        assert hit.score == pytest.approx(other.score, abs=1e-5)
        assert dict(hit.payload) == dict(other.payload)
    assert all(h.score == pytest.approx(found[-1].score, abs=1e-5) for h in expected if h.id not in mine)
    untied = [h.id for h in expected if sum(abs(o.score - h.score) < 1e-5 for o in expected) == 1]
    assert [h.id for h in found if h.id in untied] == untied  # no tie: the same order


async def test_both_adapters_rank_the_same_points_with_the_same_scores(
    both: tuple[QdrantStore, QdrantStore],
) -> None:
    edge, memory = both
    assert (edge.embedded, memory.embedded) == (True, False)
    points = random_points(seed=13)
    deleted = [p.id for p in points[::17]]
    for store in both:
        await store.create_collection("c", FLOAT32, {})
        for start in range(0, POINTS, 64):
            await store.upsert("c", points[start : start + 64])
        await store.delete("c", deleted)
        await store.finish_build("c")
    assert await edge.count("c") == await memory.count("c") == POINTS - len(deleted)
    rng = np.random.default_rng(14)
    for _ in range(4):
        plans = comparison_plans(rng)
        on_edge, in_memory = await edge.query_batch("c", plans), await memory.query_batch("c", plans)
        for plan, found, expected in zip(plans, on_edge, in_memory, strict=True):
            assert expected, plan  # every plan finds something: a comparison of empty lists proves nothing
            same_hits(found, expected)
            assert not set(deleted) & {h.id for h in found}
            assert len(found) <= plan.limit
            if not plan.filter and plan.probes[0].vector not in ("skills", "terms"):
                assert len(found) == plan.limit
    with_skills = sum(1 for p in points if "skills" in p.vectors and p.id not in deleted)
    (skills_only,) = await edge.query_batch("c", [comparison_plans(rng)[5]])
    assert len(skills_only) == with_skills < 250  # points without the vector are no hits
