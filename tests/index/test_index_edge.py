"""Qdrant Edge, the embedded store: one process at a time, everything kept across a reopen, and a
directory it cannot use (qdrant-client's local mode, an unknown catalog version, a damaged shard)
refused with the path named: never a crash, never a silent rebuild."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from jobmatch.server.index import (
    IncompatibleIndex,
    IndexNotFound,
    PointData,
    QdrantStore,
    StoreLocked,
    StoreUnavailable,
    open_store,
)
from jobmatch.server.index import point_id as pid
from jobmatch.server.index.plan import FamilyWeight, Hit, Probe, QueryPlan, SparseVector
from jobmatch.server.index.store import CollectionSpec, DenseSpec, edge
from jobmatch.server.index.store.edge import CATALOG_FILE

DIM = 8
SPEC = CollectionSpec(
    dense={"title": DenseSpec(DIM), "labels": DenseSpec(DIM, multi=True)},
    sparse=("terms",),
    keyword_indexes=("uri", "tags"),
)
POINTS = 40
Tree = dict[str, str]  # relative path -> sha256 of the file


def tree(root: Path) -> Tree:
    """Every file under ``root`` and a hash of its bytes."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
            found[str(path.relative_to(root))] = digest.hexdigest()
    return found


def entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def points(seed: int = 0, count: int = POINTS) -> list[PointData]:
    rng = np.random.default_rng(seed)
    return [
        PointData(
            pid(f"p{i}"),
            {
                "title": rng.standard_normal(DIM).astype(np.float32),
                "labels": rng.standard_normal((1 + i % 3, DIM)).astype(np.float32),
                "terms": SparseVector((i % 5, 10 + i % 2), (1.0, 0.5)),
            },
            {"uri": f"p{i}", "tags": ["even" if i % 2 == 0 else "odd", f"t{i % 3}"]},
        )
        for i in range(count)
    ]


def plans() -> list[QueryPlan]:
    query = np.random.default_rng(99).standard_normal(DIM).astype(np.float32)
    return [
        QueryPlan((Probe("title", "title", query),), (FamilyWeight("title", 1.0),), 5, 5, fields=("uri",)),
        QueryPlan(
            (Probe("labels", "labels", query, multi=True), Probe("terms", "terms", SparseVector((1, 10), (1.0, 1.0)))),
            (FamilyWeight("labels", 1.0), FamilyWeight("terms", 0.5, saturation=2.0)),
            8,
            40,
        ),
    ]


async def build(path: Path, collection: str = "c") -> list[list[Hit]]:
    """A closed Edge store at ``path`` with one collection of POINTS points; its answers to plans()."""
    async with await open_store(path) as store:
        await store.create_collection(collection, SPEC, {"owner": "tests"})
        await store.upsert(collection, points())
        await store.finish_build(collection)
        return await store.query_batch(collection, plans())


# -- one process at a time --------------------------------------------------------------------

HOLD = """
import asyncio, sys
from jobmatch.server.index import open_store

async def main():
    store = await open_store(sys.argv[1])
    print("holding", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""

TRY = """
import asyncio, sys
from jobmatch.server.index import StoreLocked, open_store

async def main():
    try:
        await open_store(sys.argv[1])
    except StoreLocked as error:
        print(f"StoreLocked path={error.path} {error}")
        sys.exit(3)
    print("opened")

asyncio.run(main())
"""


async def test_a_store_open_in_another_process_is_locked_until_it_dies(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    await build(path)
    holder = await asyncio.create_subprocess_exec(sys.executable, "-c", HOLD, str(path), stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert (await asyncio.wait_for(holder.stdout.readline(), 120)).strip() == b"holding"
        with pytest.raises(StoreLocked) as caught:
            await open_store(path)
        assert caught.value.path == str(path)
        assert f"the Qdrant store at {path} is locked" in str(caught.value)
        holder.kill()  # SIGKILL: no cleanup; the kernel drops the lock with the process
        await asyncio.wait_for(holder.wait(), 30)
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
    async with await open_store(path) as store:
        assert await store.count("c") == POINTS


async def test_a_store_open_here_is_locked_for_another_process(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"

    async def attempt() -> tuple[int | None, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", TRY, str(path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        out, _ = await asyncio.wait_for(process.communicate(), 120)
        return process.returncode, out.decode().strip()

    async with await open_store(path):
        code, out = await attempt()
    assert code == 3, out
    assert out.startswith(f"StoreLocked path={path} the Qdrant store at {path} is locked")
    assert await attempt() == (0, "opened")  # closed here: free again


# -- a reopen keeps everything ----------------------------------------------------------------


async def test_a_reopened_store_keeps_catalog_aliases_metadata_points_and_answers(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    given = points()
    async with await open_store(path) as store:
        await store.create_collection("old", SPEC, {"v": 1})
        await store.create_collection("new", SPEC, {"v": 2, "manifest": {"state": "building"}})
        await store.upsert("new", given)
        await store.delete("new", [given[0].id])
        await store.finish_build("new")  # as a sync's publish does (BM25's IDF then counts the deletion)
        await store.update_metadata("new", {"manifest": {"state": "ready"}})
        await store.switch_alias("live", "old")
        await store.switch_alias("live", "new")
        await store.create_collection("dropped", SPEC, {})
        await store.drop_collection("dropped")
        before = await store.query_batch("live", plans())
        (stored,) = await store.retrieve("new", [given[1].id], with_vectors=True)

    catalog = json.loads((path / CATALOG_FILE).read_text())
    assert (catalog["format"], catalog["version"]) == ("jobmatch-qdrant-edge", 1)
    assert catalog["aliases"] == {"live": "new"}
    assert entries(path / "collections") == ["new", "old"]  # the dropped one is gone

    async with await open_store(path) as store:
        assert await store.collection_names() == ["new", "old"]
        assert await store.aliases() == {"live": "new"}
        assert await store.metadata("live") == {"v": 2, "manifest": {"state": "ready"}}
        assert await store.metadata("old") == {"v": 1}
        assert (await store.count("live"), await store.count("old")) == (POINTS - 1, 0)
        assert await store.retrieve("new", [given[0].id]) == []
        (again,) = await store.retrieve("live", [given[1].id], with_vectors=True)
        assert again.payload == stored.payload == given[1].payload
        for name in ("title", "labels"):
            np.testing.assert_array_equal(again.vectors[name], stored.vectors[name])
        after = await store.query_batch("live", plans())
        for found, expected in zip(after, before, strict=True):
            assert [(h.id, h.payload) for h in found] == [(h.id, h.payload) for h in expected]
            assert [h.score for h in found] == pytest.approx([h.score for h in expected], abs=1e-6)
        await store.upsert("live", points(seed=1, count=1))  # and it takes writes again
        assert await store.count("new") == POINTS


# -- directories it cannot use ----------------------------------------------------------------


def local_mode_store(path: Path) -> None:
    """What jobmatch before Qdrant Edge wrote: qdrant-client's local mode."""
    client = QdrantClient(path=str(path))
    try:
        client.create_collection("esco_occupations", {"title_en": qm.VectorParams(size=4, distance=qm.Distance.COSINE)})
        client.upsert("esco_occupations", [qm.PointStruct(id=1, vector={"title_en": [1.0, 2.0, 3.0, 4.0]})])
    finally:
        client.close()


async def test_a_local_mode_directory_is_refused_naming_the_path_and_the_command(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    local_mode_store(path)
    before = tree(path)
    assert "meta.json" in before
    for _ in range(2):  # and again: the refusal held no lock
        with pytest.raises(IncompatibleIndex) as caught:
            await open_store(path)
        message = str(caught.value)
        assert str(path) in message
        assert "local mode" in message
        assert f"jobmatch sync --reindex --qdrant-path {path}" in message
    assert tree(path) == before  # nothing written, moved or locked
    assert entries(tmp_path) == ["qdrant"]


async def test_replace_local_mode_moves_the_old_files_aside_and_opens_an_empty_edge_store(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    local_mode_store(path)
    before = tree(path)
    async with await open_store(path, replace_local_mode=True) as store:
        assert store.embedded
        assert await store.collection_names() == []
        await store.create_collection("c", SPEC, {})
        await store.upsert("c", points(count=3))
    (aside,) = (name for name in entries(tmp_path) if name != "qdrant")
    assert aside.startswith("qdrant.local-mode-")
    backup = tmp_path / aside
    assert tree(backup) == before  # every old file kept, unchanged
    old = QdrantClient(path=str(backup))  # and still readable by what wrote it
    try:
        assert old.count("esco_occupations").count == 1
    finally:
        old.close()
    assert not (path / "meta.json").exists()
    async with await open_store(path, replace_local_mode=True) as store:  # an Edge store: nothing to move
        assert await store.count("c") == 3
    assert entries(tmp_path) == sorted(["qdrant", aside])


@pytest.mark.parametrize(
    ("catalog", "words"),
    [
        (
            {"format": "jobmatch-qdrant-edge", "version": 99},
            "has store format version 99; this jobmatch reads version 1",
        ),
        ({"format": "something-else", "version": 1}, "is not a jobmatch Qdrant Edge catalog"),
        ("{not json", "cannot be read"),
    ],
    ids=["unknown-version", "foreign-format", "garbage"],
)
async def test_a_catalog_it_cannot_read_is_refused_naming_it_and_left_untouched(
    tmp_path: Path, catalog: dict | str, words: str
) -> None:
    path = tmp_path / "qdrant"
    await build(path)
    text = catalog if isinstance(catalog, str) else json.dumps({**catalog, "aliases": {}, "collections": {"c": {}}})
    (path / CATALOG_FILE).write_text(text)
    before = tree(path)
    for _ in range(2):  # the same answer again: not StoreLocked, the refusal released the lock
        with pytest.raises(IncompatibleIndex, match=words) as caught:
            await open_store(path)
        assert str(path / CATALOG_FILE) in str(caught.value)
    assert tree(path) == before


def _segments(shard: Path) -> list[Path]:
    found = sorted((shard / "segments").iterdir())
    assert found
    return found


def _garbage_config(shard: Path) -> None:
    (shard / "edge_config.json").write_text("{garbage")


def _garbage_segment_state(shard: Path) -> None:
    for segment in _segments(shard):
        (segment / "segment.json").write_text("garbage")


def _newer_segment_version(shard: Path) -> None:
    for segment in _segments(shard):
        (segment / "version.info").write_text("99.0.0")


def _corrupt_id_tracker(shard: Path) -> None:
    trackers = [p for s in _segments(shard) for p in s.glob("*id_tracker*") if p.is_file()]
    assert trackers
    for tracker in trackers:
        tracker.write_bytes(b"\xff" * max(64, tracker.stat().st_size))


def _no_segments(shard: Path) -> None:
    shutil.rmtree(shard / "segments")


def _empty_segments(shard: Path) -> None:
    for segment in _segments(shard):
        shutil.rmtree(segment)


def _garbage_everywhere(shard: Path) -> None:
    for path in (shard / "segments").rglob("*"):
        if path.is_file():
            path.write_bytes(b"garbage")


def _truncated_vectors(shard: Path) -> None:
    chunks = list((shard / "segments").rglob("vector_storage-title/vectors/chunk_*.mmap"))
    assert chunks
    for chunk in chunks:
        with chunk.open("r+b") as handle:
            handle.truncate(10)


def _truncated_payloads(shard: Path) -> None:
    pages = [p for p in (shard / "segments").glob("*/payload_storage/page_*.dat")]
    assert pages
    for page in pages:
        with page.open("r+b") as handle:
            handle.truncate(10)


DAMAGES: dict[str, Callable[[Path], None]] = {
    "garbage-edge-config": _garbage_config,
    "garbage-segment-state": _garbage_segment_state,
    "newer-segment-version": _newer_segment_version,
    "corrupt-id-tracker": _corrupt_id_tracker,
    "no-segments-dir": _no_segments,
    "no-segment": _empty_segments,
    "garbage-everywhere": _garbage_everywhere,
    "truncated-vectors": _truncated_vectors,
    "truncated-payloads": _truncated_payloads,
}
# Damage found when Edge opens the shard: every operation refuses. The others are found by the
# first operation that reads the damaged file (the plans return a payload field).
FOUND_BY_READING = {
    "truncated-vectors": {"search", "retrieve"},
    "truncated-payloads": {"search", "retrieve", "read_payload"},
}


async def uses(store: QdrantStore) -> dict[str, object]:
    """Each operation on the damaged collection: its result, or the IncompatibleIndex it raised."""
    operations = {
        "count": lambda: store.count("c"),
        "search": lambda: store.query_batch("c", plans()),
        "retrieve": lambda: store.retrieve("c", [pid("p1"), pid("p2")], with_vectors=True),
        "read_payload": lambda: store.read_payload("c", ["uri"]),
    }
    results: dict[str, object] = {}
    for name, operation in operations.items():
        try:
            results[name] = await operation()
        except IncompatibleIndex as error:
            results[name] = error
    return results


@pytest.mark.parametrize("damage", list(DAMAGES))
async def test_a_damaged_shard_is_refused_on_first_use_naming_its_path(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "qdrant"
    answers = await build(path)
    shard = path / "collections" / "c"
    DAMAGES[damage](shard)
    damaged = tree(path)

    async with await open_store(path) as store:  # the catalog is fine: the store opens
        assert await store.collection_names() == ["c"]
        results = await uses(store)
        again = await uses(store)  # the same answers: nothing was repaired or rebuilt in between
    refused = {name for name, result in results.items() if isinstance(result, IncompatibleIndex)}
    assert refused == {name for name, result in again.items() if isinstance(result, IncompatibleIndex)}
    assert refused == FOUND_BY_READING.get(damage, set(results))
    if damage not in FOUND_BY_READING:  # a shard Edge refused to open: no file created or rewritten
        now = tree(path)  # (a failed open may have folded a payload journal, tracker_journal.dat, away)
        assert set(now) <= set(damaged)
        assert {name: damaged[name] for name in now} == now
        assert all(name.endswith("tracker_journal.dat") for name in set(damaged) - set(now))
    for name, result in results.items():
        if isinstance(result, IncompatibleIndex):
            assert f"the Qdrant Edge data at {shard} cannot be used" in str(result)
            assert "jobmatch sync --reindex" in str(result)
        elif name == "count":  # what still answers, answers right: no silent partial rebuild
            assert result == POINTS
        elif name == "search":
            assert [[h.id for h in hits] for hits in result] == [[h.id for h in hits] for hits in answers]  # type: ignore[attr-defined]
        elif name == "read_payload":
            assert len(result) == POINTS  # type: ignore[arg-type]


async def test_a_missing_edge_config_is_restored_by_edge_from_its_segments(tmp_path: Path) -> None:
    """Edge keeps each segment's vector configuration beside it; without ``edge_config.json`` it reads
    them and writes the file again: the same points and answers, no data lost (so not an error)."""
    path = tmp_path / "qdrant"
    answers = await build(path)
    (path / "collections" / "c" / "edge_config.json").unlink()
    async with await open_store(path) as store:
        assert await store.count("c") == POINTS
        found = await store.query_batch("c", plans())
    for hits, expected in zip(found, answers, strict=True):
        assert {h.id: h.score for h in hits} == pytest.approx({h.id: h.score for h in expected}, abs=1e-6)
    config = json.loads((path / "collections" / "c" / "edge_config.json").read_text())
    assert config["vectors"]["labels"]["multivector_config"] == {"comparator": "max_sim"}
    assert config["sparse_vectors"]["terms"]["modifier"] == "idf"


async def test_a_new_shard_maps_its_vectors_cold_keeps_no_wal_and_graphs_no_multivector(tmp_path: Path) -> None:
    """What ``_edge_config`` asks for, as Edge keeps it beside the shard: vectors read as searched, not
    all at load; no WAL (each write flushed); no HNSW graph over MAX_SIM multivectors (``DenseSpec.graph``)."""
    path = tmp_path / "qdrant"
    await build(path)
    config = json.loads((path / "collections" / "c" / "edge_config.json").read_text())
    assert {name: v.get("memory") for name, v in config["vectors"].items()} == {"labels": "cold", "title": "cold"}
    assert config["wal_enabled"] is False
    assert not (path / "collections" / "c" / "wal").exists()
    assert config["vectors"]["labels"]["hnsw_config"]["m"] == 0
    assert config["vectors"]["title"].get("hnsw_config") is None
    assert (SPEC.dense["labels"].graph, SPEC.dense["title"].graph) == (False, True)


async def test_an_orphan_shard_is_never_read_and_a_create_of_its_name_replaces_it(tmp_path: Path) -> None:
    """A shard directory the catalog does not name: a crash between a create's or a drop's two steps."""
    path = tmp_path / "qdrant"
    await build(path)
    shutil.copytree(path / "collections" / "c", path / "collections" / "orphan")
    async with await open_store(path) as store:
        assert await store.collection_names() == ["c"]
        with pytest.raises(IndexNotFound, match="'orphan'"):
            await store.count("orphan")
        with pytest.raises(IndexNotFound, match="'orphan'"):
            await store.switch_alias("live", "orphan")
        other = CollectionSpec(dense={"small": DenseSpec(3)})
        await store.create_collection("orphan", other, {"fresh": True})
        assert await store.count("orphan") == 0  # none of the orphan's points
        await store.upsert("orphan", [PointData(pid("x"), {"small": np.ones(3, dtype=np.float32)}, {"uri": "x"})])
    assert not list((path / "collections" / "orphan").rglob("vector_storage-title"))  # the old files are gone
    async with await open_store(path) as store:
        assert await store.collection_names() == ["c", "orphan"]
        assert (await store.count("orphan"), await store.count("c")) == (1, POINTS)
        assert await store.metadata("orphan") == {"fresh": True}


# -- a disk too full for a write ----------------------------------------------------------------


async def test_a_write_that_might_not_fit_is_refused_before_edge_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Edge maps its files: a write into a full disk would be SIGBUS. The store refuses it first (the
    real full disk is in tests/reliability/test_reliability_faults.py; here the headroom is raised
    above what is free, which needs no root)."""
    path = tmp_path / "qdrant"
    await build(path)
    async with await open_store(path) as store:
        # more than is free (by a margin: other processes write to this disk too)
        monkeypatch.setattr(edge, "DISK_HEADROOM", shutil.disk_usage(path).free + (256 << 20))
        for write in (
            lambda: store.upsert("c", points(seed=2, count=20)),
            lambda: store.delete("c", [pid("p1")]),
            lambda: store.finish_build("c"),  # may rewrite every segment
            lambda: store.create_collection("d", SPEC, {}),
        ):
            with pytest.raises(
                StoreUnavailable, match=r"cannot be written: .* MiB free, about .* MiB needed"
            ) as caught:
                await write()
            assert f"the embedded Qdrant store at {path}" in str(caught.value)
            assert "(the disk is full)" in str(caught.value)
        await store.delete("c", [])  # nothing to delete: no write, no refusal
        assert await store.count("c") == POINTS
        assert await store.collection_names() == ["c"]
        monkeypatch.undo()
        await store.upsert("c", points(seed=2, count=1))  # room again: the store was left usable
        assert await store.count("c") == POINTS  # p0 overwritten
    assert entries(path / "collections") == ["c"]  # the refused create left no shard directory
