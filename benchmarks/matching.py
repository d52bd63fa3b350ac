"""Matching benchmark: MatchOccupations end to end over ESCO, and search alone at 100,000 synthetic points.

    HF_HUB_OFFLINE=1 python benchmarks/matching.py            # full (~10-15 min on 2 idle cores)
    HF_HUB_OFFLINE=1 python benchmarks/matching.py --quick    # smoke run (~2-3 min)
    python benchmarks/matching.py --parts synthetic --points 100000 --dim 1024   # JobBERT-v3's width

Part ``esco`` (3,007 occupations with the packaged all-MiniLM-L6-v2):

1. syncs the occupations into a private embedded Qdrant folder (``--index-dir`` keeps it for the
   next run, whose sync is then a no-op), as ``jobmatch sync`` does;
2. split, in-process through ``OccupationIndex.match``: embedding the query, the Qdrant searches
   (``store.query``) and reading the winners' payloads (``store.retrieve``), searched by
   qdrant-client's local mode itself (``qdrant-client``: brute force, Python loops for multivectors)
   and by the project's ``QdrantStore`` as shipped (``store``: exact numpy search in local mode,
   ``server/index/exact.py``); the top-10 agreement of the two is reported;
3. starts ``python -m jobmatch.cli serve`` on 127.0.0.1 with that folder and loads it with
   ``AsyncJobMatchClient.match_occupations`` from N closed-loop workers (N in ``--concurrency``):
   requests/s, p50/p99 latency. Queries: ESCO alternative labels as job titles (default strategy
   ``labels``: a MAX_SIM multivector search) and essential-skill lists (``fused``: labels + skills).
   ``--compare-pythonpath DIR`` loads, round-robin, a second server importing jobmatch from DIR
   (an older commit, ``pip install --no-deps --target DIR <checkout>``).

Part ``synthetic`` (search only, ``--points`` x ``--dim``, one ``title_en``-like cosine vector per
point, clustered like real embeddings): query latency of embedded Qdrant (the project's
``QdrantStore`` over local mode), of numpy brute force, and of qdrant-edge-py (Qdrant's Rust engine
in-process; ``pip install -e ".[bench]"``) unindexed and after ``optimize()`` built its HNSW graph,
with recall@10 of each against the exact top 10; write and index-build times too.

Every loop is bounded by a count and by ``--budget`` seconds. Results: tables, and JSON in
``benchmarks/results/matching-<timestamp>.json``. This benchmark uses the ESCO classification of
the European Commission.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc
from qdrant_client import models as qm

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling helpers, however this file is loaded
from sync_matching_common import minilm_path, percentiles_ms, table, timed, write_results

from jobmatch.client import AsyncJobMatchClient
from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.esco import EscoDataset, load_snapshot
from jobmatch.server.index import EngineEmbedder, OccupationIndex, PointData, open_store, sync_occupations

MODEL_NAME = "minilm"
TOP_K = 10
SERVER_START_TIMEOUT_S = 180.0


def int_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, not {text!r}")
    return values


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 occupations, 20k points, short loads")
    parser.add_argument("--parts", default="esco,synthetic", help="esco and/or synthetic (comma-separated)")
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: packaged MiniLM)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N ESCO occupations (by URI)")
    parser.add_argument("--index-dir", type=Path, default=None, help="keep the synced ESCO index here (reused)")
    parser.add_argument("--queries", type=int, default=None, help="queries per kind and case (200; quick 40)")
    parser.add_argument("--concurrency", type=int_list, default=[1, 4, 16], help="client workers per load level")
    parser.add_argument("--rounds", type=int, default=1, help="load rounds (each starts its servers again)")
    parser.add_argument(
        "--compare-pythonpath",
        type=Path,
        default=None,
        help="also load a server that imports jobmatch from this folder (e.g. an older commit installed with "
        "`pip install --no-deps --target DIR`), round-robin with the current one",
    )
    parser.add_argument("--budget", type=float, default=None, help="max seconds per measured loop (30; quick 8)")
    parser.add_argument("--points", type=int, default=None, help="synthetic points (100000; quick 20000)")
    parser.add_argument("--dim", type=int, default=384, help="synthetic vector width (MiniLM 384, JobBERT 1024)")
    parser.add_argument("--backends", default="numpy,local,edge", help="synthetic backends (comma-separated)")
    parser.add_argument("--hnsw-m", type=int, default=16, help="edge HNSW edges per node")
    parser.add_argument("--ef-construct", type=int, default=100, help="edge HNSW build beam")
    parser.add_argument("--hnsw-ef", type=int, default=None, help="edge HNSW search beam (Qdrant's default)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, default=None, help="JSON path (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.limit = args.limit or (500 if quick else None)
    args.queries = min(args.queries or (40 if quick else 200), 10_000)
    args.budget = args.budget or (8.0 if quick else 30.0)
    args.points = args.points or (20_000 if quick else 100_000)
    args.rounds = min(max(args.rounds, 1), 10)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    return args


async def bounded(
    calls: Sequence[Callable[[], Awaitable[Any]]], budget_s: float, own_pids: Sequence[int] = ()
) -> tuple[list[float], dict[str, Any]]:
    """Run ``calls`` one after another until done or ``budget_s``; their latencies and the window."""
    latencies: list[float] = []
    deadline = time.perf_counter() + budget_s
    with timed(own_pids) as w:
        for call in calls:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)
            if started > deadline:
                break
    return latencies, {"seconds": w.seconds, "other_cores": w.other_cores}


# -- part esco ------------------------------------------------------------------------------------


def esco_queries(dataset: EscoDataset, count: int, seed: int) -> dict[str, list[str]]:
    """Job titles (alternative labels, as job ads word them) and essential-skill lists, deterministic."""
    rng = random.Random(seed)
    occupations = [dataset.occupations[uri] for uri in sorted(dataset.occupations)]
    titles = sorted({label for o in occupations for label in o.alt_labels.get("en", ())})
    skill_lists = []
    for occupation in occupations:
        skills = [dataset.skills.get(uri) for uri in occupation.essential_skills]
        labels = [s.preferred_label.get("en", "") for s in skills if s is not None]
        labels = [label for label in labels if label]
        if len(labels) >= 3:
            skill_lists.append(", ".join(rng.sample(labels, min(6, len(labels)))))
    return {
        "job_title": rng.sample(titles, min(count, len(titles))),
        "skills": rng.sample(skill_lists, min(count, len(skill_lists))),
    }


class TimedStore:
    """Passes everything to ``store``; records how long ``query`` and ``retrieve`` took."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.times: dict[str, list[float]] = {"query": [], "retrieve": []}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def query(self, collection: str, requests: Sequence[qm.QueryRequest]) -> Any:
        started = time.perf_counter()
        try:
            return await self._store.query(collection, requests)
        finally:
            self.times["query"].append(time.perf_counter() - started)

    async def retrieve(self, collection: str, ids: Sequence[str], fields: Any = True) -> Any:
        started = time.perf_counter()
        try:
            return await self._store.retrieve(collection, ids, fields)
        finally:
            self.times["retrieve"].append(time.perf_counter() - started)


class LocalModeStore:
    """Passes everything to a local-mode ``store`` but answers ``query`` with qdrant-client's own search."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def query(self, collection: str, requests: Sequence[qm.QueryRequest]) -> list[list[qm.ScoredPoint]]:
        responses = await self._store.call(lambda c: c.query_batch_points(collection, requests=list(requests)))
        return [response.points for response in responses]


class TimedEmbedder:
    """Passes everything to ``embedder``; records how long ``embed`` took."""

    def __init__(self, embedder: EngineEmbedder) -> None:
        self._embedder = embedder
        self.times: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)

    async def embed(self, texts: Sequence[str], side: Any) -> np.ndarray:
        started = time.perf_counter()
        try:
            return await self._embedder.embed(texts, side)
        finally:
            self.times.append(time.perf_counter() - started)


async def split_case(
    store: Any, embedder: EngineEmbedder, kind: str, queries: list[str], budget_s: float
) -> tuple[dict[str, Any], list[list[str]]]:
    """Latency of ``OccupationIndex.match`` and its parts over ``store``; also each query's top-k URIs."""
    timed_store, timed_embedder = TimedStore(store), TimedEmbedder(embedder)
    index = await OccupationIndex.open(timed_store, timed_embedder)  # type: ignore[arg-type]
    await index.match(queries[0], kind=kind, top_k=TOP_K)  # warm-up: caches, first-query costs
    for times in (*timed_store.times.values(), timed_embedder.times):
        times.clear()
    rankings: list[list[str]] = []

    def call(query: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            rankings.append([m.uri for m in await index.match(query, kind=kind, top_k=TOP_K)])

        return run

    latencies, window = await bounded([call(q) for q in queries], budget_s)
    return {
        "queries": len(latencies),
        "total": percentiles_ms(latencies),
        "embed": percentiles_ms(timed_embedder.times),
        "search": percentiles_ms(timed_store.times["query"]),
        "payloads": percentiles_ms(timed_store.times["retrieve"]),
        "window": window,
    }, rankings


def agreement(a: list[list[str]], b: list[list[str]]) -> float | None:
    """Mean overlap of the top-k sets of two runs over the same queries."""
    pairs = list(zip(a, b, strict=False))
    if not pairs:
        return None
    return float(np.mean([len(set(x) & set(y)) / max(1, len(x)) for x, y in pairs]))


class ServerProcess:
    """``python -m jobmatch.cli serve`` on 127.0.0.1 with a synced index, ready when health says SERVING."""

    def __init__(self, model: Path, index_dir: Path, log: Path, pythonpath: Path | None = None) -> None:
        self.port = _free_port()
        self.log = log
        command = [
            sys.executable,
            "-m",
            "jobmatch.cli",
            "serve",
            "--model",
            f"{MODEL_NAME}={model}",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--qdrant-path",
            str(index_dir),
            "--no-auto-sync",
        ]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        if pythonpath is not None:  # another jobmatch (e.g. `pip install --target DIR` of an older commit)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.command = command

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def wait_ready(self) -> None:
        """Poll ``grpc.health.v1`` (bounded) until SERVING; raise with the log's tail if it never is."""
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        async with grpc.aio.insecure_channel(self.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    response = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
                    if response.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.aio.AioRpcError:
                    pass  # not listening yet
                await asyncio.sleep(0.5)
        tail = self.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the server did not become SERVING (exit code {self.process.poll()}):\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def load_case(
    target: str, kind: str, queries: list[str], workers: int, budget_s: float, server_pid: int
) -> dict[str, Any]:
    """``workers`` closed loops of MatchOccupations over ``queries`` (each query once), within ``budget_s``."""
    pending = list(reversed(queries))
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + budget_s
    async with AsyncJobMatchClient(target, timeout=60) as client:
        await client.match_occupations(queries[0], kind=kind, top_k=TOP_K)  # warm-up

        async def worker() -> None:
            nonlocal errors
            while pending and time.perf_counter() < deadline:
                query = pending.pop()
                started = time.perf_counter()
                try:
                    await client.match_occupations(query, kind=kind, top_k=TOP_K)
                except Exception:
                    errors += 1
                latencies.append(time.perf_counter() - started)

        with timed([server_pid]) as w:
            await asyncio.gather(*(worker() for _ in range(workers)))
    return {
        "workers": workers,
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": len(latencies) / w.seconds if w.seconds else None,
        **percentiles_ms(latencies),
        "window": {"seconds": w.seconds, "other_cores": w.other_cores},
    }


async def part_esco(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    dataset = load_snapshot()
    if args.limit:
        keep = sorted(dataset.occupations)[: args.limit]
        dataset = dataclasses.replace(dataset, occupations={uri: dataset.occupations[uri] for uri in keep})
    model = args.model or minilm_path()
    index_dir = args.index_dir or workdir / "qdrant"
    queries = esco_queries(dataset, args.queries, args.seed)
    result: dict[str, Any] = {"occupations": len(dataset.occupations), "index_dir": str(index_dir), "split": {}}

    engine = EmbeddingEngine(ServerSettings(models=[f"{MODEL_NAME}={model}"]))
    await engine.start()
    try:
        embedder = EngineEmbedder(engine)
        async with await open_store(index_dir) as store:
            with timed() as sync_window:
                report = await sync_occupations(dataset, embedder, store)
            result["sync"] = {"seconds": sync_window.seconds, "written": report.written, "total": report.total}
            for kind, texts in queries.items():
                local, local_top = await split_case(LocalModeStore(store), embedder, kind, texts, args.budget)
                shipped, shipped_top = await split_case(store, embedder, kind, texts, args.budget)
                result["split"][kind] = {
                    "qdrant-client": local,
                    "store": shipped,
                    "top10_agreement": agreement(local_top, shipped_top),
                }
    finally:
        await engine.close()

    result["load"] = {}
    variants = {
        "": None,
        **({f"[{args.compare_pythonpath.name}] ": args.compare_pythonpath} if args.compare_pythonpath else {}),
    }
    for _ in range(args.rounds):
        for label, pythonpath in variants.items():  # round-robin: drift hits every variant alike
            server = ServerProcess(model, index_dir, workdir / "server.log", pythonpath)
            result["server_command"] = server.command
            try:
                await server.wait_ready()
                for kind, texts in queries.items():
                    cases = result["load"].setdefault(f"{label}{kind}", [])
                    for n in args.concurrency:
                        cases.append(await load_case(server.target, kind, texts, n, args.budget, server.process.pid))
            finally:
                server.stop()
    return result


def esco_tables(result: dict[str, Any]) -> list[str]:
    lines = [f"ESCO: {result['occupations']} occupations, sync {result['sync']['seconds']:.1f} s"]
    rows = []
    for kind, split in result["split"].items():
        for backend in ("qdrant-client", "store"):
            case = split[backend]
            rows.append(
                [
                    f"{kind} / {backend}",
                    case["queries"],
                    case["total"]["p50_ms"],
                    case["total"]["p99_ms"],
                    case["embed"]["p50_ms"],
                    case["search"]["p50_ms"],
                    case["payloads"]["p50_ms"],
                    split["top10_agreement"] if backend == "store" else None,
                    case["window"]["other_cores"],
                ]
            )
    header = ["in-process match", "n", "p50 ms", "p99 ms", "embed p50", "search p50", "payload p50", "top10 =", "oth"]
    lines += table(header, rows)
    rows = [
        [
            f"{kind} x{c['workers']}",
            c["requests"],
            c["errors"],
            c["requests_per_s"],
            c["p50_ms"],
            c["p99_ms"],
            c["window"]["other_cores"],
        ]
        for kind, cases in result.get("load", {}).items()
        for c in cases
    ]
    lines += ["", *table(["gRPC MatchOccupations", "n", "err", "req/s", "p50 ms", "p99 ms", "oth"], rows)]
    return lines


# -- part synthetic -------------------------------------------------------------------------------


def synthetic(points: int, dim: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around ``points // 50`` random centres (embeddings cluster), and queries near them."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, points // 50), dim), dtype=np.float32)
    data = centres[rng.integers(0, len(centres), points)] + 0.6 * rng.standard_normal((points, dim), dtype=np.float32)
    asked = centres[rng.integers(0, len(centres), queries)] + 0.6 * rng.standard_normal(
        (queries, dim), dtype=np.float32
    )
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    asked /= np.linalg.norm(asked, axis=1, keepdims=True)
    return data, asked


def exact_top(data: np.ndarray, query: np.ndarray, k: int = TOP_K) -> list[int]:
    scores = data @ query
    top = np.argpartition(-scores, k - 1)[:k]
    return [int(i) for i in top[np.argsort(-scores[top])]]


def recall(found: list[list[int]], truth: list[list[int]]) -> float | None:
    pairs = list(zip(found, truth, strict=False))
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in pairs])) if pairs else None


def _ids(count: int) -> list[str]:
    return [str(uuid.UUID(int=i + 1)) for i in range(count)]


async def synthetic_local(data: np.ndarray, asked: np.ndarray, workdir: Path, budget_s: float) -> dict[str, Any]:
    """Embedded Qdrant (local mode) through the project's store: write the points, then search them
    with qdrant-client's own search and with the store's (numpy, loaded on its first query)."""
    ids = _ids(len(data))
    position = {pid: i for i, pid in enumerate(ids)}
    results: dict[str, Any] = {}
    async with await open_store(workdir / "local") as store:
        params = {"title_en": qm.VectorParams(size=data.shape[1], distance=qm.Distance.COSINE)}
        await store.create_collection("synthetic", params, {})
        with timed() as write:
            for start in range(0, len(data), 1000):
                chunk = range(start, min(len(data), start + 1000))
                await store.upsert("synthetic", [PointData(ids[i], {"title_en": data[i]}) for i in chunk])
        for name, searcher in (("qdrant-client local", LocalModeStore(store)), ("store (local, numpy)", store)):
            found: list[list[int]] = []

            def call(
                query: np.ndarray, searcher: Any = searcher, found: list[list[int]] = found
            ) -> Callable[[], Awaitable[None]]:
                async def run() -> None:
                    request = qm.QueryRequest(query=query.tolist(), using="title_en", limit=TOP_K, with_payload=False)
                    (points,) = await searcher.query("synthetic", [request])
                    found.append([position[str(p.id)] for p in points])

                return run

            with timed() as first:
                await call(asked[0])()  # the store loads its matrices here
            found.clear()
            latencies, window = await bounded([call(q) for q in asked], budget_s)
            results[name] = {"first_query_s": first.seconds, "found": found, "other_cores": window["other_cores"]}
            results[name].update(_latency(latencies))
    results["qdrant-client local"]["write_s"] = write.seconds
    return results


async def synthetic_numpy(data: np.ndarray, asked: np.ndarray, budget_s: float) -> dict[str, Any]:
    found: list[list[int]] = []

    def call(query: np.ndarray) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            found.append(exact_top(data, query))

        return run

    latencies, window = await bounded([call(q) for q in asked], budget_s)
    return {"found": found, **_latency(latencies), "other_cores": window["other_cores"]}


async def synthetic_edge(
    args: argparse.Namespace, data: np.ndarray, asked: np.ndarray, workdir: Path
) -> dict[str, Any]:
    """qdrant-edge-py: write, search unindexed, ``optimize()`` (HNSW build), search indexed."""
    import qdrant_edge as qe

    config = qe.EdgeConfig(
        vectors={"title_en": qe.EdgeVectorParams(size=data.shape[1], distance=qe.Distance.Cosine)},
        hnsw_config=qe.HnswIndexConfig(m=args.hnsw_m, ef_construct=args.ef_construct, full_scan_threshold=10_000),
    )
    shard = qe.EdgeShard.create(str(workdir / "edge"), config)
    params = qe.SearchParams(hnsw_ef=args.hnsw_ef) if args.hnsw_ef else None
    try:
        with timed() as write:
            for start in range(0, len(data), 1000):
                chunk = range(start, min(len(data), start + 1000))
                shard.update(qe.UpdateOperation.upsert_points([qe.Point(i, {"title_en": data[i]}) for i in chunk]))

        async def search(count: int) -> dict[str, Any]:
            found: list[list[int]] = []

            def call(query: np.ndarray) -> Callable[[], Awaitable[None]]:
                async def run() -> None:
                    request = qe.QueryRequest(
                        limit=TOP_K, query=qe.Query.Nearest(query, using="title_en"), with_payload=False, params=params
                    )
                    found.append([int(p.id) for p in shard.query(request)])

                return run

            latencies, _ = await bounded([call(q) for q in asked[:count]], args.budget)
            return {"found": found, **_latency(latencies)}

        unindexed = await search(min(len(asked), 20))
        with timed() as build:
            shard.optimize()
        indexed = await search(len(asked))
    finally:
        shard.close()
    return {
        "write_s": write.seconds,
        "build_s": build.seconds,
        "build_other_cores": build.other_cores,
        "unindexed": unindexed,
        "indexed": indexed,
    }


def _latency(latencies: list[float]) -> dict[str, Any]:
    return {"queries": len(latencies), **percentiles_ms(latencies)}


async def part_synthetic(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    data, asked = synthetic(args.points, args.dim, args.queries, args.seed)
    truth = [exact_top(data, q) for q in asked]
    result: dict[str, Any] = {"points": args.points, "dim": args.dim, "backends": {}}
    backends = result["backends"]
    if "numpy" in args.backends:
        backends["numpy"] = await synthetic_numpy(data, asked, args.budget)
    if "local" in args.backends:
        backends.update(await synthetic_local(data, asked, workdir, args.budget))
    if "edge" in args.backends:
        try:
            edge = await synthetic_edge(args, data, asked, workdir)
        except ImportError:
            print('qdrant-edge-py is not installed (pip install -e ".[bench]"): skipping edge')
        else:
            backends["edge (unindexed)"] = {"write_s": edge["write_s"], **edge["unindexed"]}
            backends["edge (HNSW)"] = {"build_s": edge["build_s"], **edge["indexed"]}
            backends["edge (HNSW)"]["build_other_cores"] = edge["build_other_cores"]
    for case in backends.values():
        case["recall_at_10"] = recall(case.pop("found"), truth)
    return result


def synthetic_table(result: dict[str, Any]) -> list[str]:
    columns = ("queries", "p50_ms", "p99_ms", "recall_at_10", "write_s", "build_s", "first_query_s", "other_cores")
    rows = [[name, *(c.get(column) for column in columns)] for name, c in result["backends"].items()]
    header = ["search", "n", "p50 ms", "p99 ms", "recall@10", "write s", "build s", "1st query s", "oth"]
    return [f"synthetic: {result['points']} points x {result['dim']} dims, top {TOP_K}", *table(header, rows)]


# -- main -----------------------------------------------------------------------------------------


async def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if "esco" in args.parts:
        results["esco"] = await part_esco(args, workdir)
    if "synthetic" in args.parts:
        results["synthetic"] = await part_synthetic(args, workdir)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="jobmatch-bench-matching-"))
    try:
        results = asyncio.run(measure(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines: list[str] = []
    if "esco" in results:
        lines += [*esco_tables(results["esco"]), ""]
    if "synthetic" in results:
        lines += synthetic_table(results["synthetic"])
    print("\n".join(lines))
    output = write_results("matching", {"args": vars(args), **results, "table": lines}, args.output)
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
