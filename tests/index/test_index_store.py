"""Opening a store: where it lives, which adapter, locking, unreachable servers, a closed store,
and the payload indexes a sync creates. The store's operations are in test_index_store_contract.py,
Edge's own guarantees in test_index_edge.py."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
import qdrant_edge as qe

from jobmatch.server.esco import EscoDataset
from jobmatch.server.index import (
    OCCUPATIONS_ALIAS,
    EngineEmbedder,
    IndexNotFound,
    StoreLocked,
    StoreUnavailable,
    default_store_path,
    open_store,
    sync_occupations,
)
from jobmatch.server.index.schema import INTEGER_INDEXES, KEYWORD_INDEXES
from jobmatch.server.index.store.edge import CATALOG_FILE


async def test_a_directory_opens_qdrant_edge_and_a_url_or_memory_qdrant_client(tmp_path: Path) -> None:
    async with await open_store(tmp_path / "edge") as edge:
        assert (edge.embedded, edge.location) == (True, str(tmp_path / "edge"))
        assert (tmp_path / "edge").is_dir()
    async with await open_store(str(tmp_path / "as-str")) as edge:
        assert edge.embedded
    async with await open_store(":memory:") as memory:
        assert (memory.embedded, memory.location) == (False, ":memory:")
    assert not (Path.cwd() / ":memory:").exists()  # not a directory named ":memory:"


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
    assert "--qdrant-url" in str(error)  # the way to share an index between processes
    async with await open_store(path) as reopened:  # closing released the lock
        assert await reopened.collection_names() == []


async def test_a_server_is_not_contacted_until_the_first_call_and_unreachable_is_unavailable() -> None:
    async with await open_store("http://127.0.0.1:9", timeout=2) as store:  # nothing listens on port 9
        assert not store.embedded
        assert store.location == "http://127.0.0.1:9"
        with pytest.raises(StoreUnavailable, match=r"http://127.0.0.1:9 cannot be reached") as caught:
            await store.aliases()
    assert caught.value.status_code == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("adapter", ["edge", ":memory:"])
async def test_a_closed_store_refuses_calls_and_closes_once(tmp_path: Path, adapter: str) -> None:
    store = await open_store(tmp_path / "q" if adapter == "edge" else adapter)
    with pytest.raises(IndexNotFound, match="'nope'"):
        await store.count("nope")
    await store.close()
    await store.close()  # a second close is a no-op
    with pytest.raises(StoreUnavailable, match="closed"):
        await store.count("nope")


def test_the_default_store_lives_in_the_user_data_dir() -> None:
    assert default_store_path().parts[-2:] == ("jobmatch", "qdrant")


async def test_a_sync_indexes_every_filtered_field_and_every_field_a_bonus_reads(
    tmp_path: Path, small: EscoDataset, jobbert: EngineEmbedder
) -> None:
    path = tmp_path / "q"
    async with await open_store(path) as store:
        report = await sync_occupations(small, jobbert, store)
        assert (await store.aliases())[OCCUPATIONS_ALIAS] == report.collection
    assert (path / CATALOG_FILE).is_file()
    shard = qe.EdgeShard.load(str(path / "collections" / report.collection))  # Edge's own view of the shard
    try:
        info = shard.info()
    finally:
        shard.close()
    assert info.points_count == len(small.occupations)
    schema = {name: index.data_type for name, index in info.payload_schema.items()}
    assert schema == {
        **dict.fromkeys(KEYWORD_INDEXES["occupations"], qe.PayloadSchemaType.Keyword),
        **dict.fromkeys(INTEGER_INDEXES["occupations"], qe.PayloadSchemaType.Integer),
    }
    assert set(schema) == {"isco_prefixes", "languages", "esco_depth"}  # the filter fields, the bonus's field
