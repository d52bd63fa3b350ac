"""The Qdrant store: locking, unreachable servers, numpy vectors in local mode, payload indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import grpc
import numpy as np
import pytest
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from jobmatch.server.esco import EscoDataset
from jobmatch.server.index import (
    EngineEmbedder,
    IndexNotFound,
    PointData,
    StoreLocked,
    StoreUnavailable,
    default_store_path,
    open_store,
    point_id,
    sync_occupations,
)
from jobmatch.server.index.store import _point_struct


async def test_a_locked_store_fails_with_a_clear_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    async with await open_store(path):
        with pytest.raises(StoreLocked) as caught:
            await open_store(path)
    error = caught.value
    assert error.path == str(path)
    assert error.status_code == grpc.StatusCode.UNAVAILABLE
    assert str(path) in str(error)
    assert "a jobmatch server or another sync" in str(error)
    async with await open_store(path) as reopened:  # closing released the lock
        assert await reopened.collection_names() == []


async def test_an_unreachable_server_is_unavailable() -> None:
    async with await open_store("http://127.0.0.1:9", timeout=2) as store:
        assert not store.is_local
        with pytest.raises(StoreUnavailable, match=r"http://127.0.0.1:9 cannot be reached"):
            await store.aliases()


async def test_unknown_collections_are_not_found(tmp_path: Path) -> None:
    async with await open_store(tmp_path / "q") as store:
        with pytest.raises(IndexNotFound, match="'nope'"):
            await store.count("nope")
        await store.close()
        with pytest.raises(StoreUnavailable, match="closed"):
            await store.count("nope")


def test_the_default_store_lives_in_the_user_data_dir() -> None:
    assert default_store_path().parts[-2:] == ("jobmatch", "qdrant")


async def test_local_mode_keeps_numpy_vectors_and_reopens_them(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    rng = np.random.default_rng(0)
    single, multi = rng.standard_normal(8).astype(np.float32), rng.standard_normal((3, 8)).astype(np.float32)
    vectors = {
        "one": qm.VectorParams(size=8, distance=qm.Distance.COSINE),
        "many": qm.VectorParams(
            size=8,
            distance=qm.Distance.COSINE,
            multivector_config=qm.MultiVectorConfig(comparator=qm.MultiVectorComparator.MAX_SIM),
        ),
    }
    async with await open_store(path) as store:
        await store.create_collection("c", vectors, {"k": 1}, ["uri"])
        await store.upsert("c", [PointData(point_id("a"), {"one": single, "many": multi}, {"uri": "a"})])
        await store.upsert("c", [PointData(point_id("a"), {"one": -single, "many": multi}, {"uri": "a2"})])
    async with await open_store(path) as store:
        (record,) = await store.call(lambda c: c.retrieve("c", [point_id("a")], with_vectors=True))
        np.testing.assert_allclose(record.vector["one"], -single, rtol=1e-6)  # the update, reloaded
        np.testing.assert_allclose(record.vector["many"], multi, rtol=1e-6)  # not normalized in place
        assert record.payload == {"uri": "a2"}
        assert await store.metadata("c") == {"k": 1}
        (hits,) = await store.query("c", [qm.QueryRequest(query=[multi[1].tolist()], using="many", limit=1)])
        assert hits[0].score == pytest.approx(1.0, abs=1e-6)
    journal = sqlite3.connect(path / "collection" / "c" / "storage.sqlite").execute("PRAGMA journal_mode").fetchone()
    assert journal == ("wal",)


def test_server_points_carry_plain_lists() -> None:
    point = _point_struct(PointData("x", {"v": np.ones((2, 3), dtype=np.float32)}, {"a": 1}), local=False)
    assert point.vector == {"v": [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]}


async def test_payload_indexes_are_created_for_every_filtered_field(
    tmp_path: Path, small: EscoDataset, jobbert: EngineEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[tuple[str, str]] = []
    real = QdrantClient.create_payload_index

    def spy(self: QdrantClient, collection_name: str, field_name: str, *args, **kwargs):
        created.append((field_name, str(args[0] if args else kwargs.get("field_schema"))))
        return real(self, collection_name, field_name, *args, **kwargs)

    monkeypatch.setattr(QdrantClient, "create_payload_index", spy)
    async with await open_store(tmp_path / "q") as store:
        await sync_occupations(small, jobbert, store)
    assert sorted(created) == sorted(
        (field, str(qm.PayloadSchemaType.KEYWORD)) for field in ("uri", "isco_group", "isco_prefixes", "languages")
    )
