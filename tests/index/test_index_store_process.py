"""The embedded store in a process of its own (``open_store(path, own_process=True)``, as the server opens it).

The store contract runs on it too (``edge-process`` in ``test_index_store_contract``); here, what only a
child process can do: give its lock back when it is closed or when the server dies, send the index's
errors back with their kind and fields, and fail calls clearly, never hang, once it has died.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jobmatch.server.errors import ErrorKind
from jobmatch.server.index import IndexNotFound, PointData, StoreLocked, StoreUnavailable, open_store, point_id
from jobmatch.server.index.plan import FamilyWeight, Probe, QueryPlan
from jobmatch.server.index.store import CollectionSpec, DenseSpec
from jobmatch.server.index.store.process import _reply

SPEC = CollectionSpec(dense={"v": DenseSpec(4)}, keyword_indexes=("uri",))
STORE_MODULE = "jobmatch.server.index.store.process"


def store_processes(path: Path) -> list[int]:
    """Pids of the store processes serving ``path`` (their command line names the module and the path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if STORE_MODULE.encode() in command and str(path).encode() in command:
            found.append(int(entry.name))
    return found


async def gone(path: Path, within_s: float = 30) -> bool:
    deadline = time.monotonic() + within_s
    while store_processes(path):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_a_store_process_keeps_what_it_wrote_and_gives_the_directory_back_on_close(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    vector = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    async with await open_store(path, own_process=True) as store:
        assert store.embedded
        assert len(store_processes(path)) == 1
        await store.create_collection("c", SPEC, {"owner": "tests"})
        await store.upsert("c", [PointData(point_id("a"), {"v": vector}, {"uri": "a"})])
        plan = QueryPlan((Probe("v", "v", vector),), (FamilyWeight("v", 1.0),), limit=1, depth=1, fields=("uri",))
        (hits,) = await store.query_batch("c", [plan])
        assert [h.payload["uri"] for h in hits] == ["a"]
    assert await gone(path)
    async with await open_store(path) as again:  # in this process: the lock is free, the point is there
        assert await again.count("c") == 1
        assert await again.metadata("c") == {"owner": "tests"}


async def test_a_store_process_maps_neither_grpc_nor_a_model_runtime_nor_ssl(tmp_path: Path) -> None:
    """The child holds Edge and the index's own types only (``jobmatch.server.index`` and its ``store``
    load their parts when first used): grpc alone would keep ~16 MiB resident in it, the embedder, sync
    and search ~9 more, asyncio (which loads ssl) ~7."""
    path = tmp_path / "qdrant"
    vector = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    async with await open_store(path, own_process=True) as store:
        await store.create_collection("c", SPEC, {})
        await store.upsert("c", [PointData(point_id("a"), {"v": vector}, {"uri": "a"})])
        plan = QueryPlan((Probe("v", "v", vector),), (FamilyWeight("v", 1.0),), limit=1, depth=1)
        await store.query_batch("c", [plan])
        with pytest.raises(IndexNotFound):  # an index error, raised and pickled there
            await store.count("nothing")
        (pid,) = store_processes(path)
        mapped = await asyncio.to_thread(Path(f"/proc/{pid}/maps").read_text)
    assert "qdrant_edge" in mapped  # what the check can see: the child's shared libraries
    for library in ("cygrpc", "libtorch", "onnxruntime", "tokenizers", "/_ssl."):
        assert library not in mapped


async def test_the_index_errors_come_back_with_their_kind_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    async with await open_store(path, own_process=True) as store:
        with pytest.raises(IndexNotFound) as missing:
            await store.count("nothing")
        assert missing.value.kind is ErrorKind.INDEX_NOT_FOUND
        assert f"no collection or alias 'nothing' in {path}" in str(missing.value)
    async with await open_store(path):  # held here: a store process cannot take it
        with pytest.raises(StoreLocked) as locked:
            await open_store(path, own_process=True)
    assert locked.value.path == str(path)
    assert locked.value.kind is ErrorKind.STORE_LOCKED
    assert await gone(path)  # the refused store process exited


async def test_signals_for_the_server_leave_the_store_process_serving(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    async with await open_store(path, own_process=True) as store:
        await store.create_collection("c", SPEC, {})
        (pid,) = store_processes(path)
        for signum in (signal.SIGINT, signal.SIGTERM):  # as a terminal or systemd sends them to the group
            os.kill(pid, signum)
        await asyncio.sleep(0.2)
        assert await store.count("c") == 0  # still there: the server decides when it closes
    assert await gone(path)


async def test_a_dead_store_process_fails_every_call_as_unavailable_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    store = await open_store(path, own_process=True)
    try:
        await store.create_collection("c", SPEC, {})
        (pid,) = store_processes(path)
        os.kill(pid, signal.SIGKILL)  # killed from outside (the OOM killer, an operator)
        for _ in range(2):
            with pytest.raises(StoreUnavailable, match=r"store process for .* exited \(code -9\)"):
                await asyncio.wait_for(store.count("c"), 30)
    finally:
        await asyncio.wait_for(store.close(), 60)
    async with await open_store(path) as again:  # the kernel released its lock: nothing is lost
        assert await again.count("c") == 0


HOLD = """
import asyncio, sys
from jobmatch.server.index import open_store

async def main():
    store = await open_store(sys.argv[1], own_process=True)
    print("holding", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_a_store_process_exits_and_unlocks_when_its_server_dies(tmp_path: Path) -> None:
    path = tmp_path / "qdrant"
    server = await asyncio.create_subprocess_exec(sys.executable, "-c", HOLD, str(path), stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        assert (await asyncio.wait_for(server.stdout.readline(), 120)).strip() == b"holding"
        assert len(store_processes(path)) == 1
        with pytest.raises(StoreLocked):
            await open_store(path)
        server.kill()  # SIGKILL: the server cannot close its store; the store process sees its pipe close
        await asyncio.wait_for(server.wait(), 30)
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    assert await gone(path)
    async with await open_store(path) as store:
        assert await store.collection_names() == []


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("cannot pickle this error")


def test_an_error_that_cannot_cross_the_pipe_comes_back_as_a_runtime_error() -> None:
    ours, theirs = multiprocessing.Pipe()
    _reply(theirs, True, _Unpicklable("a handle"))  # the store process's side
    failed, error = ours.recv()
    assert failed is True
    assert isinstance(error, RuntimeError)
    assert "not picklable" in str(error)
