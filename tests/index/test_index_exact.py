"""Local-mode searches answered in numpy (server/index/exact.py): the same hits as qdrant-client's own search."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import models as qm

from jobmatch.server.index import PointData, QdrantStore, exact, open_store, point_id

DIM = 16
MAX_SIM = qm.MultiVectorConfig(comparator=qm.MultiVectorComparator.MAX_SIM)
VECTORS = {
    "title": qm.VectorParams(size=DIM, distance=qm.Distance.COSINE),
    "labels": qm.VectorParams(size=DIM, distance=qm.Distance.COSINE, multivector_config=MAX_SIM),
    "skills": qm.VectorParams(size=DIM, distance=qm.Distance.COSINE),
}


def points(rng: np.random.Generator, count: int) -> list[PointData]:
    """Points with a title, 1-5 labels, a skills vector on two of three, and keyword payloads."""
    made = []
    for i in range(count):
        vectors = {"title": rng.standard_normal(DIM), "labels": rng.standard_normal((1 + i % 5, DIM))}
        if i % 3:
            vectors["skills"] = rng.standard_normal(DIM)
        payload = {"uri": f"u{i}", "isco_prefixes": ["2", f"2{i % 4}"], "languages": ["en"] if i % 2 else ["de", "en"]}
        made.append(PointData(point_id(f"u{i}"), vectors, payload))
    return made


async def qdrant_client_search(store: QdrantStore, requests: Sequence[qm.QueryRequest]) -> list[list[qm.ScoredPoint]]:
    responses = await store.call(lambda c: c.query_batch_points("c", requests=list(requests)))
    return [r.points for r in responses]


def same_hits(found: list[list[qm.ScoredPoint]], expected: list[list[qm.ScoredPoint]]) -> None:
    assert [[str(p.id) for p in hits] for hits in found] == [[str(p.id) for p in hits] for hits in expected]
    for hits, wanted in zip(found, expected, strict=True):
        assert [p.score for p in hits] == pytest.approx([p.score for p in wanted], abs=1e-5)
        assert [p.payload or None for p in hits] == [p.payload or None for p in wanted]


@pytest.fixture
async def store(tmp_path: Path) -> QdrantStore:
    opened = await open_store(tmp_path / "qdrant")
    await opened.create_collection("c", VECTORS, {}, ["isco_prefixes", "languages"])
    await opened.upsert("c", points(np.random.default_rng(1), 60))
    yield opened
    await opened.close()


@pytest.mark.parametrize("read", ["arrays", "scroll"])
async def test_dense_multivector_and_filtered_searches_match_qdrant_client(
    store: QdrantStore, read: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if read == "scroll":  # the fallback when local mode's arrays are not laid out as expected
        monkeypatch.setattr(exact, "_internal", lambda client, collection: None)
    else:  # this qdrant-client's arrays are read directly
        assert await store.call(lambda client: exact._internal(client, "c")) is not None
    await store.delete("c", [point_id("u7")])  # a deleted point is no hit
    rng = np.random.default_rng(2)
    prefixes = qm.Filter(must=[qm.FieldCondition(key="isco_prefixes", match=qm.MatchAny(any=["21", "23"]))])
    german = qm.Filter(must=[qm.FieldCondition(key="languages", match=qm.MatchValue(value="de")), *prefixes.must])
    for _ in range(5):
        query = rng.standard_normal(DIM).tolist()
        requests = [
            qm.QueryRequest(query=query, using="title", limit=7),
            qm.QueryRequest(query=[query], using="labels", limit=10),
            qm.QueryRequest(query=query, using="skills", limit=50),  # more than the points with skills
            qm.QueryRequest(query=[query], using="labels", limit=5, filter=prefixes),
            qm.QueryRequest(query=query, using="title", limit=5, filter=german, with_payload=["uri", "languages"]),
        ]
        found = await store.query("c", requests)
        same_hits(found, await qdrant_client_search(store, requests))
    assert len(found[2]) == 39  # points without a skills vector are not hits (nor u7)
    assert point_id("u7") not in {str(p.id) for hits in found for p in hits}


async def test_a_write_is_seen_by_the_next_search(store: QdrantStore) -> None:
    query = np.random.default_rng(3).standard_normal(DIM)
    request = qm.QueryRequest(query=query.tolist(), using="title", limit=3)
    (before,) = await store.query("c", [request])  # loads the matrices
    await store.upsert("c", [PointData(point_id("new"), {"title": query, "labels": query[None, :]}, {"uri": "new"})])
    (after,) = await store.query("c", [request])
    assert str(after[0].id) == point_id("new")
    assert after[0].score == pytest.approx(1.0, abs=1e-6)
    await store.delete("c", [point_id("new")])
    (deleted,) = await store.query("c", [request])
    assert [p.id for p in deleted] == [p.id for p in before]


async def test_requests_it_does_not_cover_go_to_qdrant_client(store: QdrantStore) -> None:
    query = np.random.default_rng(4).standard_normal(DIM).tolist()
    either = qm.Filter(should=[qm.FieldCondition(key="isco_prefixes", match=qm.MatchValue(value="20"))])
    requests = [
        qm.QueryRequest(query=query, using="title", limit=4, filter=either),
        qm.QueryRequest(query=query, using="title", limit=4, score_threshold=0.1),
    ]
    same_hits(await store.query("c", requests), await qdrant_client_search(store, requests))
