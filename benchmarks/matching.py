"""Matching benchmark (issue 13): MatchOccupations on Qdrant Edge against Embed, and HNSW at 100,000 points.

    HF_HUB_OFFLINE=1 python benchmarks/matching.py            # full (~12 min on 2 idle cores)
    HF_HUB_OFFLINE=1 python benchmarks/matching.py --quick    # smoke run (~3 min)
    python benchmarks/matching.py --parts esco --index-dir /tmp/jm-index    # keep the synced index
    python benchmarks/matching.py --parts synthetic --dims 1024 --hnsw-configs 32:200

Part ``esco`` (ESCO v1.2.0 English + German from ``--esco-dir``, default ``../shared/esco/v1.2.0/{en,de}``;
the bundled v1.1.1 snapshot when those are missing; packaged all-MiniLM-L6-v2):

1. ``jobmatch sync --esco-dir ... --esco-dir ...`` as a whole CLI process into a private Edge
   directory (``--index-dir`` keeps it; then this first run is a no-op too), then ``--noop-runs``
   more runs of the same command, each timed as a whole process (wall, CPU, peak RSS), as
   ``time jobmatch sync`` would;
2. in-process, ``OccupationIndex.match`` over ESCO job titles (alternative labels, English and
   German; the default strategy, one query plan fused in the engine: the table names its
   prefetches), one at a time, split into embedding the query and the engine search
   (``QdrantStore.query_batch``, the winners' payloads come with it); then 64 matches at once (how
   the search batcher groups them), and the engine alone, replaying the plans the index sent: one
   ``query_batch`` per plan vs one ``query_batch`` of 64;
3. a real server (``python -m jobmatch.cli serve --no-auto-sync --qdrant-path DIR``) loaded by
   closed-loop gRPC clients with unary ``Embed`` (one title, anchor head) and unary
   ``MatchOccupations`` (the same titles, top 10), interleaved: every round runs both at each of
   ``--clients`` (1 and 64), alternating which goes first; calls/s, p50/p99, server CPU (also per
   thread group: event loop, Python threads, Edge's search pool, gRPC's own) and RSS. Then
   ``--memory-clients`` (256) clients of each for the memory under load. RSS at rest is read once
   the server is SERVING, before any call, and again after all loads; the same server over an empty
   store directory (started first, briefly) gives the index's share of it.

Part ``synthetic`` (search only): ``--points`` unit vectors per width in ``--dims`` (100,000 x 384 and
x 1024), clustered around random centres as embeddings are, with an occupation-like payload (uri,
ISCO group and its prefixes, keyword-indexed); exact top 10 from numpy as the truth. Through the
project's store (``open_store(dir)``, ``QdrantStore.upsert`` / ``finish_build`` / ``query_batch`` with a
one-probe ``QueryPlan``): write time, search before ``finish_build()`` (Edge's ``optimize()``: the
HNSW graph; its build time), then reopened as a server opens it: search, with an ISCO filter
(``isco_prefixes`` any of ``2``, ~11% of the points), and 64 plans in one batch. Then the same
shard opened with raw qdrant-edge-py: the store's own request run on the calling thread (no store
thread, no asyncio), ``SearchParams(exact=True)``, the default HNSW search and an ``hnsw_ef`` sweep
(``--hnsw-ef-sweep``), each without and with the filter, and optionally shards rebuilt with other
``m:ef_construct`` (``--hnsw-configs``). numpy brute force is the baseline. recall@10 against the
exact top 10 (of the filtered points for filtered searches) everywhere; ``cpu ms`` is this
process's CPU per query, every thread (Edge's search pool too): steadier than wall time on a busy
machine.

Every loop is bounded by a count and by time. Results: tables, and JSON in
``benchmarks/results/matching-<timestamp>.json``. This benchmark uses the ESCO classification of
the European Commission.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling helpers, however this file is loaded
from logged_process import LoggedProcess
from measure import (
    process_cpu_s,
    process_tree,
    system_busy_s,
    thread_cpu_s,
    tree_cpu_s,
    tree_rss_mb,
    wait_for_quiet,
)
from sync_matching_common import (
    REPO,
    cli_command,
    minilm_path,
    percentiles_ms,
    run_timed_process,
    table,
    timed,
    write_results,
)

from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.esco import EscoDataset, load_bundles, load_snapshot
from jobmatch.server.index import EngineEmbedder, OccupationIndex, open_store
from jobmatch.server.index.plan import FamilyWeight, PayloadFilter, Probe, QueryPlan
from jobmatch.server.index.store import CollectionSpec, DenseSpec, PointData, QdrantStore
from jobmatch.v1 import embedding_pb2 as epb
from jobmatch.v1 import embedding_pb2_grpc as epb_grpc
from jobmatch.v1 import match_pb2 as mpb
from jobmatch.v1 import match_pb2_grpc as mpb_grpc

MODEL_NAME = "minilm"
TOP_K = 10
ESCO_ROOT = REPO.parent / "shared" / "esco" / "v1.2.0"
SERVER_START_TIMEOUT_S = 240.0
CALL_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 65.0
WORKERS_PER_CHANNEL = 16
MAX_CALLS_PER_CASE = 200_000
ERROR_BACKOFF_S = 0.01
# issue 13's goals
MATCH_VS_EMBED_GOAL = 0.6  # MatchOccupations calls/s over Embed calls/s, 64 clients
P50_GAP_GOAL_MS = 5.0  # MatchOccupations p50 minus Embed p50, one client
HNSW_P50_GOAL_MS = 5.0  # one search at 100k points after optimize()
RECALL_GOAL = 0.98
NOOP_SYNC_GOAL_S = 3.0  # a no-op `jobmatch sync`, the whole process


def int_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if min(values, default=-1) < 0:
        raise argparse.ArgumentTypeError(f"expected non-negative integers separated by commas, not {text!r}")
    return values


def hnsw_configs(text: str) -> list[tuple[int, int]]:
    try:
        return [(int(m), int(ef)) for m, ef in (item.split(":") for item in text.split(",") if item.strip())]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected M:EF_CONSTRUCT pairs separated by commas, not {text!r}") from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short loads, 1 round, 20k x 384 points")
    parser.add_argument("--parts", default="esco,synthetic", help="esco and/or synthetic (comma-separated)")
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: packaged MiniLM)")
    parser.add_argument(
        "--esco-dir",
        type=Path,
        action="append",
        default=None,
        help=f"ESCO CSV bundle, repeatable (default {ESCO_ROOT}/en and /de; else the bundled snapshot)",
    )
    parser.add_argument("--index-dir", type=Path, default=None, help="keep the synced ESCO index here (reused)")
    parser.add_argument("--noop-runs", type=int, default=None, help="no-op `jobmatch sync` processes timed (3)")
    parser.add_argument("--queries", type=int, default=None, help="in-process queries (200; quick 40)")
    parser.add_argument("--titles", type=int, default=2000, help="distinct job titles the loads cycle through")
    parser.add_argument("--clients", type=int_list, default=[1, 64], help="client counts of the Embed/Match loads")
    parser.add_argument("--memory-clients", type=int, default=256, help="clients of the memory loads (0: none)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved Embed/Match rounds (3; quick 1)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of load before each window (2; quick 1)")
    parser.add_argument("--duration", type=float, default=None, help="seconds measured per load case (10; quick 3)")
    parser.add_argument("--memory-duration", type=float, default=None, help="seconds per memory load (15; quick 4)")
    parser.add_argument("--quiet-wait", type=float, default=10.0, help="max seconds to wait for an idle machine")
    parser.add_argument("--quiet-threshold", type=float, default=0.3, help="cores others may use when 'idle'")
    parser.add_argument("--budget", type=float, default=None, help="max seconds per in-process loop (30; quick 8)")
    parser.add_argument("--points", type=int, default=None, help="synthetic points (100000; quick 20000)")
    parser.add_argument("--dims", type=int_list, default=None, help="synthetic widths (384,1024; quick 384)")
    parser.add_argument("--synthetic-queries", type=int, default=None, help="synthetic queries (200; quick 50)")
    parser.add_argument(
        "--hnsw-ef-sweep", type=int_list, default=[16, 32, 64, 128, 256], help="raw Edge hnsw_ef values to try"
    )
    parser.add_argument(
        "--hnsw-configs", type=hnsw_configs, default=[], help="raw Edge rebuilds with other M:EF_CONSTRUCT, e.g. 32:200"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, default=None, help="JSON path (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    quick = args.quick
    if args.esco_dir is None:
        default = [ESCO_ROOT / "en", ESCO_ROOT / "de"]
        args.esco_dir = [d for d in default if (d / f"occupations_{d.name}.csv").exists()]
    args.noop_runs = min(max(args.noop_runs if args.noop_runs is not None else (1 if quick else 3), 0), 20)
    args.queries = min(args.queries or (40 if quick else 200), 10_000)
    args.rounds = min(max(args.rounds or (1 if quick else 3), 1), 10)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 2.0)
    args.duration = min(args.duration or (3.0 if quick else 10.0), 600.0)
    args.memory_duration = min(args.memory_duration or (4.0 if quick else 15.0), 600.0)
    args.budget = args.budget or (8.0 if quick else 30.0)
    args.points = args.points or (20_000 if quick else 100_000)
    args.dims = args.dims or ([384] if quick else [384, 1024])
    args.synthetic_queries = min(args.synthetic_queries or (50 if quick else 200), 10_000)
    args.clients = [c for c in args.clients if c > 0] or [1]
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    return args


async def bounded(calls: Sequence[Callable[[], Awaitable[Any]]], budget_s: float) -> tuple[list[float], dict[str, Any]]:
    """Run ``calls`` one after another until done or ``budget_s``; their latencies and the window
    (seconds, cores other processes used, and this process's CPU per call: every thread, Edge's too)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + budget_s
    cpu0 = time.process_time()
    with timed() as w:
        for call in calls:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)
            if started > deadline:
                break
    cpu_ms = (time.process_time() - cpu0) * 1000 / len(latencies) if latencies else None
    return latencies, {"seconds": w.seconds, "other_cores": w.other_cores, "cpu_ms_per_call": cpu_ms}


def _latency(latencies: Sequence[float]) -> dict[str, Any]:
    return {"queries": len(latencies), **percentiles_ms(latencies)}


# -- part esco: the data and the CLI sync -----------------------------------------------------------


def load_dataset(esco_dirs: Sequence[Path]) -> EscoDataset:
    return load_bundles(list(esco_dirs)) if esco_dirs else load_snapshot()


def job_titles(dataset: EscoDataset, count: int, seed: int) -> list[str]:
    """Alternative labels (as job ads word titles), every language in equal shares, shuffled, deterministic."""
    rng = random.Random(seed)
    occupations = [dataset.occupations[uri] for uri in sorted(dataset.occupations)]
    languages = sorted({lang for o in occupations for lang in o.alt_labels})
    per_language = max(1, count // max(1, len(languages)))
    titles: list[str] = []
    for lang in languages:
        pool = sorted({label for o in occupations for label in o.alt_labels.get(lang, ()) if label.strip()})
        titles += rng.sample(pool, min(per_language, len(pool)))
    rng.shuffle(titles)
    return titles


def cli_sync(args: argparse.Namespace, model: Path, index_dir: Path, logs: Path) -> dict[str, Any]:
    """The first ``jobmatch sync`` (full, unless ``index_dir`` was synced before), then the no-op runs."""
    esco = [a for d in args.esco_dir for a in ("--esco-dir", str(d))]
    command = cli_command("sync", model, MODEL_NAME, "--qdrant-path", str(index_dir), *esco)
    existed = (index_dir / "jobmatch-store.json").exists()
    runs = []
    for n in range(1 + args.noop_runs):
        run = run_timed_process(command, logs / f"sync-{n}.log")
        if run["exit_code"] != 0:
            tail = "\n".join(run["log_tail"])
            raise RuntimeError(f"jobmatch sync failed ({run['exit_code']}):\n{tail}")
        run["noop"] = n > 0  # the first run syncs (or finds --index-dir up to date); the others find nothing to do
        runs.append(run)
        print(f"  jobmatch sync run {n + 1}: {run['wall_s']:.2f} s wall ({'no-op' if run['noop'] else 'first'})")
    noops = [r["wall_s"] for r in runs if r["noop"]]
    return {
        "command": command,
        "runs": runs,
        "index_existed": existed,
        "first_s": runs[0]["wall_s"],
        "noop_s_median": statistics.median(noops) if noops else None,
    }


# -- part esco: in-process split ------------------------------------------------------------------


class TimedStore:
    """Passes everything to ``store``; records each ``query_batch`` (plans, seconds) and the plans."""

    def __init__(self, store: QdrantStore) -> None:
        self._store = store
        self.batches: list[tuple[int, float]] = []
        self.plans: list[QueryPlan] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def query_batch(self, collection: str, plans: Sequence[QueryPlan]) -> Any:
        self.plans.extend(plans)
        started = time.perf_counter()
        try:
            return await self._store.query_batch(collection, plans)
        finally:
            self.batches.append((len(plans), time.perf_counter() - started))


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


async def in_process(args: argparse.Namespace, model: Path, index_dir: Path, titles: list[str]) -> dict[str, Any]:
    """OccupationIndex.match split into embedding and engine search; concurrency; the engine alone."""
    queries = titles[: args.queries]
    engine = EmbeddingEngine(ServerSettings(models=[f"{MODEL_NAME}={model}"]))
    await engine.start()
    result: dict[str, Any] = {}
    try:
        embedder = TimedEmbedder(EngineEmbedder(engine))
        async with await open_store(index_dir) as raw:
            store = TimedStore(raw)
            index = await OccupationIndex.open(store, embedder)  # type: ignore[arg-type]
            for query in queries[:3]:  # warm-up: first-query costs
                await index.match(query, top_k=TOP_K)
            store.batches.clear()
            embedder.times.clear()

            def call(query: str) -> Callable[[], Awaitable[None]]:
                async def run() -> None:
                    await index.match(query, top_k=TOP_K)

                return run

            latencies, window = await bounded([call(q) for q in queries], args.budget)
            result["one_at_a_time"] = {
                "total": _latency(latencies),
                "embed": percentiles_ms(embedder.times),
                "search": percentiles_ms([s for _, s in store.batches]),
                "window": window,
            }

            # 64 at once: the batcher's rounds (plans per query_batch) and the wall per round of 64
            store.batches.clear()
            embedder.times.clear()
            walls: list[float] = []
            deadline = time.perf_counter() + args.budget
            with timed() as w:
                for start in range(0, len(queries), 64):
                    group = queries[start : start + 64]
                    started = time.perf_counter()
                    await asyncio.gather(*(index.match(q, top_k=TOP_K) for q in group))
                    walls.append((time.perf_counter() - started) / len(group))
                    if time.perf_counter() > deadline:
                        break
            sizes = [n for n, _ in store.batches]
            result["concurrent_64"] = {
                "matches": len(embedder.times),
                "wall_ms_per_match": float(np.mean(walls) * 1000) if walls else None,
                "matches_per_s": 1 / float(np.mean(walls)) if walls else None,
                "search_batches": len(sizes),
                "plans_per_batch_mean": float(np.mean(sizes)) if sizes else None,
                "plans_per_batch_max": max(sizes, default=None),
                "batch_ms": percentiles_ms([s for _, s in store.batches]),
                "embed": percentiles_ms(embedder.times),
                "window": {"seconds": w.seconds, "other_cores": w.other_cores},
            }

            # the engine alone: the plans the index sent, replayed one query_batch each, and 64 in one
            plans = store.plans[:64]
            collection = (await raw.aliases()).get(index.alias, index.alias)
            singles: list[float] = []
            batched: list[float] = []
            deadline = time.perf_counter() + args.budget
            for _ in range(10):
                for plan in plans:
                    started = time.perf_counter()
                    await raw.query_batch(collection, [plan])
                    singles.append(time.perf_counter() - started)
                started = time.perf_counter()
                await raw.query_batch(collection, plans)
                batched.append((time.perf_counter() - started) / len(plans))
                if time.perf_counter() > deadline:
                    break
            result["engine"] = {
                "plans": len(plans),
                "probes": [f"{p.vector} ({p.family})" for p in plans[0].probes] if plans else [],
                "depth": plans[0].depth if plans else None,
                "one_plan_per_batch": percentiles_ms(singles),
                "per_plan_in_batch": percentiles_ms(batched),
                "points": await raw.count(collection),
            }
    finally:
        await engine.close()
    return result


# -- part esco: the server under Embed and Match load ------------------------------------------------


def thread_groups(
    pid: int, before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], seconds: float
) -> dict[str, float]:
    """Cores per group of the server's threads: ``main`` (the event loop: gRPC handlers, batching),
    ``edge-search`` (Qdrant Edge's search pool), ``python threads`` (the unnamed ones: the device
    workers running ONNX Runtime, the tokenizer, the store's thread that calls into Edge) and
    ``native`` (gRPC core's pollers and timers)."""
    process_name = after.get(pid, ("", 0.0))[0]
    groups: dict[str, float] = {}
    for tid, (name, cpu) in after.items():
        used = (cpu - before.get(tid, (name, 0.0))[1]) / seconds
        if tid == pid:
            group = "main"
        elif name.startswith("edge-search"):
            group = "edge-search"
        elif name == process_name:
            group = "python threads"
        else:
            group = "native"
        groups[group] = groups.get(group, 0.0) + used
    return groups


def _store_process_cores(
    tree0: float | None, tree1: float | None, main0: float | None, main1: float | None, seconds: float
) -> float | None:
    """Cores the server's child processes (the embedded store's, :mod:`jobmatch.server.index.store.process`) used."""
    if None in (tree0, tree1, main0, main1) or not seconds:
        return None
    return ((tree1 - tree0) - (main1 - main0)) / seconds  # type: ignore[operator]


class ServerProcess(LoggedProcess):
    """``python -m jobmatch.cli serve`` on 127.0.0.1 over a synced Edge directory, no sync at start-up."""

    def __init__(self, model: Path, index_dir: Path, log: Path) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.target = f"127.0.0.1:{self.port}"
        command = cli_command(
            "serve",
            model,
            MODEL_NAME,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--qdrant-path",
            str(index_dir),
            "--no-auto-sync",
            "--log-level",
            "WARNING",
        )
        super().__init__(command, log, {**os.environ, "HF_HUB_OFFLINE": "1"})

    async def wait_serving(self) -> float:
        """Poll grpc.health.v1 (bounded) until SERVING; the seconds it took."""
        started = time.perf_counter()
        async with grpc.aio.insecure_channel(self.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.perf_counter() - started < SERVER_START_TIMEOUT_S:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=2.0)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return time.perf_counter() - started
                except grpc.aio.AioRpcError:
                    pass  # not listening yet
                await asyncio.sleep(0.2)
        raise RuntimeError(f"the server was not SERVING after {SERVER_START_TIMEOUT_S:.0f} s:\n{self.log_tail()}")


@dataclass
class Recorder:
    """Calls that finish inside the window [start, end), bounded in count."""

    start: float = float("inf")
    end: float = float("inf")
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    stop: bool = False

    def done(self, sent: float, finished: float, error: str | None) -> None:
        self.calls += 1
        if self.calls >= MAX_CALLS_PER_CASE:
            self.stop = True
        if self.start <= finished < self.end:
            if error is None:
                self.latencies.append(finished - sent)
            else:
                self.errors[error] = self.errors.get(error, 0) + 1


def requests_for(op: str, titles: Sequence[str]) -> list[Any]:
    if op == "embed":
        return [
            epb.EmbedRequest(inputs=[t], side=epb.SIDE_ANCHOR, encoding=epb.ENCODING_PACKED_FLOAT32) for t in titles
        ]
    return [mpb.MatchOccupationsRequest(query=t, kind=mpb.QUERY_KIND_JOB_TITLE, top_k=TOP_K) for t in titles]


def unary_call(op: str, channel: grpc.aio.Channel) -> Callable[[Any], Awaitable[Any]]:
    """The unary call of ``op`` on ``channel``: Embed or MatchOccupations."""
    if op == "embed":
        embed = epb_grpc.EmbeddingServiceStub(channel).Embed
        return lambda request: embed(request, timeout=CALL_TIMEOUT_S)
    match = mpb_grpc.MatchServiceStub(channel).MatchOccupations
    return lambda request: match(request, timeout=CALL_TIMEOUT_S)


async def worker(call: Callable[[Any], Awaitable[Any]], requests: Sequence[Any], first: int, rec: Recorder) -> None:
    index = first
    while not rec.stop:
        request = requests[index % len(requests)]
        index += 1
        sent = time.perf_counter()
        try:
            await call(request)
        except grpc.aio.AioRpcError as err:
            rec.done(sent, time.perf_counter(), err.code().name)
            await asyncio.sleep(ERROR_BACKOFF_S)
            continue
        rec.done(sent, time.perf_counter(), None)


async def load_case(
    server: ServerProcess, op: str, clients: int, titles: Sequence[str], warmup_s: float, duration_s: float
) -> dict[str, Any]:
    """``clients`` closed loops of one unary call each (``op``: embed or match) over ``titles``."""
    options = [("grpc.use_local_subchannel_pool", 1), ("grpc.enable_retries", 0)]
    channel_count = max(1, -(-clients // WORKERS_PER_CHANNEL))
    channels = [grpc.aio.insecure_channel(server.target, options=options) for _ in range(channel_count)]
    rss_samples: list[float] = []
    try:
        await asyncio.gather(*(asyncio.wait_for(c.channel_ready(), 10) for c in channels))
        calls = [unary_call(op, c) for c in channels]
        requests = requests_for(op, titles)
        stride = max(1, len(requests) // clients)
        rec = Recorder()
        tasks = [
            asyncio.create_task(worker(calls[i % channel_count], requests, i * stride, rec)) for i in range(clients)
        ]

        async def sample_rss() -> None:
            while True:
                rss = tree_rss_mb(server.pid)
                if rss is not None:
                    rss_samples.append(rss)
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample_rss())
        try:
            await asyncio.sleep(warmup_s)
            threads0 = thread_cpu_s(server.pid)
            main0 = process_cpu_s(server.pid)
            server0, own0, busy0 = tree_cpu_s(server.pid), time.process_time(), system_busy_s()
            rec.start = time.perf_counter()
            await asyncio.sleep(duration_s)
            rec.end = time.perf_counter()
            server1, own1, busy1 = tree_cpu_s(server.pid), time.process_time(), system_busy_s()
            main1 = process_cpu_s(server.pid)
            threads1 = thread_cpu_s(server.pid)
            rec.stop = True
            _, pending = await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            sampler.cancel()
    finally:
        await asyncio.gather(*(c.close() for c in channels))
    seconds = rec.end - rec.start
    server_cores = None if server0 is None or server1 is None else (server1 - server0) / seconds
    client_cores = (own1 - own0) / seconds
    other = None
    if busy0 is not None and busy1 is not None and server_cores is not None:
        other = max(0.0, (busy1 - busy0) / seconds - server_cores - client_cores)
    ok = len(rec.latencies)
    return {
        "op": op,
        "clients": clients,
        "calls": ok,
        "errors": rec.errors,
        "calls_per_s": ok / seconds if seconds else None,
        **percentiles_ms(rec.latencies),
        "seconds": seconds,
        "server_cores": server_cores,
        "client_cores": client_cores,
        "other_cores": other,
        "server_cpu_ms_per_call": server_cores * 1000 / (ok / seconds) if server_cores and ok else None,
        "rss_mb_peak": max(rss_samples, default=None),
        "server_threads_cores": {
            **(thread_groups(server.pid, threads0, threads1, seconds) if seconds else {}),
            "store process": _store_process_cores(server0, server1, main0, main1, seconds),
        },
    }


async def server_without_index(model: Path, titles: list[str], workdir: Path) -> dict[str, Any]:
    """The same server over an empty store directory (no index to open): its RSS at rest and under
    a short Embed load, to tell the index's share of the memory from the model's."""
    empty = workdir / "empty-store"
    empty.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(model, empty, workdir / "server-no-index.log")
    try:
        start_s = await server.wait_serving()
        await asyncio.sleep(1.0)
        ready = tree_rss_mb(server.pid)
        case = await load_case(server, "embed", 64, titles, 1.0, 3.0)
    finally:
        server.stop()
    return {"start_s": start_s, "rss_mb_ready": ready, "rss_mb_peak_embed_x64": case["rss_mb_peak"]}


async def server_load(
    args: argparse.Namespace, model: Path, index_dir: Path, titles: list[str], workdir: Path
) -> dict[str, Any]:
    no_index = await server_without_index(model, titles, workdir)
    server = ServerProcess(model, index_dir, workdir / "server.log")
    result: dict[str, Any] = {"command": server.command, "cases": [], "memory": [], "no_index": no_index}
    try:
        result["start_s"] = await server.wait_serving()
        await asyncio.sleep(1.0)
        result["rss_mb_ready"] = tree_rss_mb(server.pid)
        for op in ("embed", "match"):  # first-call costs outside every window
            await load_case(server, op, 1, titles[:20], 0.0, 1.0)
        for n in range(args.rounds):
            for clients in args.clients:
                ops = ("embed", "match") if n % 2 == 0 else ("match", "embed")
                for op in ops:
                    wait_for_quiet(args.quiet_wait, args.quiet_threshold, exclude=process_tree(server.pid))
                    case = await load_case(server, op, clients, titles, args.warmup, args.duration)
                    case["round"] = n + 1
                    result["cases"].append(case)
                    print(
                        f"  round {n + 1} {op} x{clients}: {case['calls_per_s']:.1f} calls/s, "
                        f"p50 {case['p50_ms'] or 0:.1f} ms, other cores {case['other_cores'] or 0:.2f}",
                        flush=True,
                    )
        if args.memory_clients:
            for op in ("match", "embed"):
                wait_for_quiet(args.quiet_wait, args.quiet_threshold, exclude=process_tree(server.pid))
                case = await load_case(server, op, args.memory_clients, titles, args.warmup, args.memory_duration)
                case["round"] = "mem"
                result["memory"].append(case)
                print(f"  memory {op} x{args.memory_clients}: peak RSS {case['rss_mb_peak']:.0f} MiB", flush=True)
        await asyncio.sleep(2.0)
        result["rss_mb_after"] = tree_rss_mb(server.pid)
        result["log_tail"] = server.log_tail(20)
    finally:
        server.stop()
    return result


def summarize_load(load: dict[str, Any], clients: Sequence[int]) -> dict[str, Any]:
    """Medians over rounds per (op, clients), and the per-round ratios the goals are about."""
    cases = load["cases"]

    def median(values: Sequence[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return statistics.median(present) if present else None

    medians = {}
    for op in ("embed", "match"):
        for n in clients:
            group = [c for c in cases if c["op"] == op and c["clients"] == n]
            keys = ("calls_per_s", "p50_ms", "p99_ms", "server_cores", "server_cpu_ms_per_call", "other_cores")
            medians[f"{op} x{n}"] = {k: median([c[k] for c in group]) for k in keys}
            medians[f"{op} x{n}"]["rss_mb_peak"] = max((c["rss_mb_peak"] or 0 for c in group), default=None)
    ratios: dict[str, list[float]] = {"throughput": [], "p50_gap_ms": []}
    rounds = sorted({c["round"] for c in cases})
    top = max(clients)
    for r in rounds:
        by = {(c["op"], c["clients"]): c for c in cases if c["round"] == r}
        embed, match = by.get(("embed", top)), by.get(("match", top))
        if embed and match and embed["calls_per_s"]:
            ratios["throughput"].append(match["calls_per_s"] / embed["calls_per_s"])
        embed, match = by.get(("embed", 1)), by.get(("match", 1))
        if embed and match and embed["p50_ms"] is not None and match["p50_ms"] is not None:
            ratios["p50_gap_ms"].append(match["p50_ms"] - embed["p50_ms"])
    return {
        "medians": medians,
        "match_vs_embed_per_round": ratios["throughput"],
        "match_vs_embed": median(ratios["throughput"]),
        "match_vs_embed_clients": top,
        "p50_gap_ms_per_round": ratios["p50_gap_ms"],
        "p50_gap_ms": median(ratios["p50_gap_ms"]),
    }


async def part_esco(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    model = args.model or minilm_path()
    index_dir = args.index_dir or workdir / "esco"
    dataset = load_dataset(args.esco_dir)
    titles = job_titles(dataset, args.titles, args.seed)
    result: dict[str, Any] = {
        "esco_dirs": [str(d) for d in args.esco_dir] or ["bundled snapshot"],
        "esco_version": dataset.version,
        "languages": list(dataset.languages),
        "occupations": len(dataset.occupations),
        "titles": len(titles),
        "index_dir": str(index_dir),
    }
    print(f"esco: {len(dataset.occupations)} occupations ({', '.join(dataset.languages)}), {len(titles)} titles")
    result["sync"] = cli_sync(args, model, index_dir, workdir / "logs")
    result["in_process"] = await in_process(args, model, index_dir, titles)
    result["load"] = await server_load(args, model, index_dir, titles, workdir)
    result["load"]["summary"] = summarize_load(result["load"], args.clients)
    return result


def esco_tables(result: dict[str, Any]) -> list[str]:
    sync = result["sync"]
    lines = [
        f"ESCO {result['esco_version']} ({', '.join(result['languages'])}): {result['occupations']} occupations, "
        f"{result['titles']} job titles",
        "",
    ]
    rows = [
        [f"run {n + 1} ({'no-op' if r['noop'] else 'first'})", r["wall_s"], r["cpu_s"], r["max_rss_mb"]]
        for n, r in enumerate(sync["runs"])
    ]
    lines += table(["jobmatch sync (whole process)", "wall s", "cpu s", "max RSS MiB"], rows)
    split = result["in_process"]
    one, many, engine = split["one_at_a_time"], split["concurrent_64"], split["engine"]
    lines += [
        "",
        *table(
            ["in-process match, 1 at a time", "n", "p50 ms", "p99 ms", "embed p50", "search p50", "cpu ms", "oth"],
            [
                [
                    "job titles",
                    one["total"]["queries"],
                    one["total"]["p50_ms"],
                    one["total"]["p99_ms"],
                    one["embed"]["p50_ms"],
                    one["search"]["p50_ms"],
                    one["window"]["cpu_ms_per_call"],
                    one["window"]["other_cores"],
                ]
            ],
        ),
        "",
        f"in-process, 64 matches at once: {many['matches_per_s'] or 0:.1f} matches/s; "
        f"{many['search_batches']} engine batches, {many['plans_per_batch_mean'] or 0:.1f} plans each on average "
        f"(max {many['plans_per_batch_max']}), batch p50 {many['batch_ms']['p50_ms'] or 0:.1f} ms; "
        f"embed p50 {many['embed']['p50_ms'] or 0:.1f} ms",
        f"engine alone ({engine['points']} points; default plan: {', '.join(engine['probes'])}, depth "
        f"{engine['depth']}): one plan per query_batch p50 {engine['one_plan_per_batch']['p50_ms'] or 0:.2f} ms; "
        f"in one batch of {engine['plans']}, {engine['per_plan_in_batch']['p50_ms'] or 0:.2f} ms per plan",
        "",
    ]
    load = result["load"]
    rows = [
        [
            f"r{c['round']} {c['op']} x{c['clients']}",
            c["calls"],
            sum(c["errors"].values()),
            c["calls_per_s"],
            c["p50_ms"],
            c["p99_ms"],
            c["server_cores"],
            c["server_cpu_ms_per_call"],
            c["rss_mb_peak"],
            c["other_cores"],
        ]
        for c in [*load["cases"], *load["memory"]]
    ]
    header = ["gRPC unary", "n", "err", "calls/s", "p50 ms", "p99 ms", "srv cores", "srv ms/call", "RSS MiB", "oth"]
    lines += table(header, rows)
    groups = ("main", "python threads", "edge-search", "native", "store process")
    rows = [
        [f"r{c['round']} {c['op']} x{c['clients']}", *(c["server_threads_cores"].get(g) for g in groups)]
        for c in [*load["cases"], *load["memory"]]
    ]
    lines += ["", *table(["server cores by thread", *groups], rows)]
    summary = load["summary"]
    medians = summary["medians"]
    rows = [
        [name, m["calls_per_s"], m["p50_ms"], m["p99_ms"], m["server_cpu_ms_per_call"], m["rss_mb_peak"]]
        for name, m in medians.items()
    ]
    lines += ["", *table(["median over rounds", "calls/s", "p50 ms", "p99 ms", "srv ms/call", "RSS MiB"], rows)]
    lines += [
        "",
        f"server RSS: {load.get('rss_mb_ready') or 0:.0f} MiB at rest (SERVING, before any call), "
        f"{load.get('rss_mb_after') or 0:.0f} MiB after the loads; started in {load.get('start_s') or 0:.1f} s",
        f"the same server over an empty store (no index): {load['no_index']['rss_mb_ready'] or 0:.0f} MiB at rest, "
        f"{load['no_index']['rss_mb_peak_embed_x64'] or 0:.0f} MiB peak under Embed x64",
    ]
    return lines


def esco_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    summary = result["load"]["summary"]
    memory = {c["op"]: c["rss_mb_peak"] for c in result["load"]["memory"]}
    targets = [
        {
            "target": f"MatchOccupations / Embed calls/s, {summary['match_vs_embed_clients']} clients",
            "value": summary["match_vs_embed"],
            "per_round": summary["match_vs_embed_per_round"],
            "goal": f">= {MATCH_VS_EMBED_GOAL}",
            "met": None if summary["match_vs_embed"] is None else summary["match_vs_embed"] >= MATCH_VS_EMBED_GOAL,
        },
        {
            "target": "MatchOccupations p50 - Embed p50, 1 client (ms)",
            "value": summary["p50_gap_ms"],
            "per_round": summary["p50_gap_ms_per_round"],
            "goal": f"<= {P50_GAP_GOAL_MS}",
            "met": None if summary["p50_gap_ms"] is None else summary["p50_gap_ms"] <= P50_GAP_GOAL_MS,
        },
        {
            "target": "no-op `jobmatch sync`, whole process (s)",
            "value": result["sync"]["noop_s_median"],
            "goal": f"< {NOOP_SYNC_GOAL_S}",
            "met": None if result["sync"]["noop_s_median"] is None else result["sync"]["noop_s_median"] < 3.0,
        },
        {
            "target": "server RSS at rest / under load, MiB (before: 674 / 683)",
            "value": [result["load"].get("rss_mb_ready"), max(memory.values(), default=None)],
            "per_op": memory,
            "goal": "report",
            "met": None,
        },
    ]
    return targets


# -- part synthetic -------------------------------------------------------------------------------


def synthetic(points: int, dim: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Unit vectors around ``points // 50`` random centres (embeddings cluster), queries near them, and
    each point's 4-digit ISCO group (one per centre, as occupations of one group sit together)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, points // 50), dim), dtype=np.float32)
    groups = [f"{g:04d}" for g in rng.integers(1000, 10_000, len(centres))]
    owner = rng.integers(0, len(centres), points)
    data = centres[owner] + 0.6 * rng.standard_normal((points, dim), dtype=np.float32)
    asked = centres[rng.integers(0, len(centres), queries)] + 0.6 * rng.standard_normal(
        (queries, dim), dtype=np.float32
    )
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    asked /= np.linalg.norm(asked, axis=1, keepdims=True)
    return data, asked, [groups[o] for o in owner]


def exact_tops(data: np.ndarray, asked: np.ndarray, mask: np.ndarray | None = None, k: int = TOP_K) -> list[list[int]]:
    """The exact top ``k`` rows of ``data`` per query (cosine of unit vectors), optionally among ``mask``."""
    tops = []
    for start in range(0, len(asked), 64):
        scores = asked[start : start + 64] @ data.T
        if mask is not None:
            scores[:, ~mask] = -np.inf
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        for row, candidates in zip(scores, part, strict=True):
            tops.append([int(i) for i in candidates[np.argsort(-row[candidates])]])
    return tops


def recall(found: Sequence[Sequence[int]], truth: Sequence[Sequence[int]]) -> float | None:
    pairs = list(zip(found, truth, strict=False))
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in pairs])) if pairs else None


def _ids(count: int) -> list[str]:
    return [str(uuid.UUID(int=i + 1)) for i in range(count)]


FILTER_PREFIX = "2"  # ~1/9 of the synthetic points: ISCO groups start with 1-9


def one_probe_plan(vector: np.ndarray, payload_filter: PayloadFilter | None = None) -> QueryPlan:
    """A one-probe plan on ``title_en``, as a ``title`` match: top 10 and their uri."""
    return QueryPlan(
        (Probe("title_en", "title", vector),),
        (FamilyWeight("title", 1.0),),
        limit=TOP_K,
        depth=TOP_K,
        filter=payload_filter or PayloadFilter(),
        fields=("uri",),
    )


async def synthetic_store(
    args: argparse.Namespace, data: np.ndarray, asked: np.ndarray, groups: list[str], directory: Path
) -> tuple[dict[str, Any], dict[str, list[list[int]]]]:
    """The project's store: write, search unindexed, finish_build (HNSW); then, reopened as a server
    would open it, search, filtered, and 64 plans in one batch."""
    ids = _ids(len(data))
    position = {pid: i for i, pid in enumerate(ids)}
    found: dict[str, list[list[int]]] = {}
    result: dict[str, Any] = {}

    async def search(store: QdrantStore, name: str, count: int, payload_filter: PayloadFilter | None = None) -> None:
        hits: list[list[int]] = []

        def call(query: np.ndarray) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                (ranked,) = await store.query_batch("synthetic", [one_probe_plan(query, payload_filter)])
                hits.append([position[h.id] for h in ranked])

            return run

        await call(asked[0])()  # first-query costs (segments loaded, caches)
        hits.clear()
        latencies, window = await bounded([call(q) for q in asked[:count]], args.budget)
        found[name] = hits
        result[name] = {**_latency(latencies), **window}

    async with await open_store(directory) as store:
        spec = CollectionSpec(dense={"title_en": DenseSpec(data.shape[1])}, keyword_indexes=("isco_prefixes",))
        await store.create_collection("synthetic", spec, {})
        with timed() as write:
            for start in range(0, len(data), 1000):
                await store.upsert(
                    "synthetic",
                    [
                        PointData(
                            ids[i],
                            {"title_en": data[i]},
                            {
                                "uri": f"synthetic:{i}",
                                "isco_group": groups[i],
                                "isco_prefixes": [groups[i][:n] for n in range(1, 5)],
                            },
                        )
                        for i in range(start, min(len(data), start + 1000))
                    ],
                )
        result["write_s"] = write.seconds
        await search(store, "store, unindexed", min(20, len(asked)))
        with timed() as build:
            await store.finish_build("synthetic")
        result["build_s"] = build.seconds
        result["build_other_cores"] = build.other_cores

    with timed() as opening:
        store = await open_store(directory)
    result["open_s"] = opening.seconds
    async with store:
        await search(store, "store, HNSW", len(asked))
        prefix = PayloadFilter({"isco_prefixes": (FILTER_PREFIX,)})
        await search(store, f"store, HNSW, ISCO {FILTER_PREFIX}*", len(asked), prefix)
        plans = [one_probe_plan(q) for q in asked[:64]]
        per_plan: list[float] = []
        deadline = time.perf_counter() + args.budget
        for _ in range(20):
            started = time.perf_counter()
            await store.query_batch("synthetic", plans)
            per_plan.append((time.perf_counter() - started) / len(plans))
            if time.perf_counter() > deadline:
                break
        result["batch_of_64_ms_per_plan"] = percentiles_ms(per_plan)
    return result, found


async def synthetic_raw_edge(
    args: argparse.Namespace,
    shard_dir: Path,
    asked: np.ndarray,
    truths: tuple[list[list[int]], list[list[int]]],
    ids: list[str],
) -> dict[str, Any]:
    """The store's shard opened with raw qdrant-edge-py: the store's own request on this thread (no
    store thread, no asyncio), exact search, default HNSW and an hnsw_ef sweep, unfiltered and with
    the ISCO filter."""
    import qdrant_edge as qe

    truth, filtered_truth = truths
    position = {pid: i for i, pid in enumerate(ids)}
    shard = qe.EdgeShard.load(str(shard_dir))
    rows: dict[str, Any] = {}
    try:
        info = shard.info()
        print(
            f"  shard: {info.points_count} points, {info.indexed_vectors_count} vectors in HNSW, "
            f"{info.segments_count} segments",
            flush=True,
        )
        try:  # the adapter's translation of a plan (internal: skipped if it moves)
            from jobmatch.server.index.store.edge import _edge_query
        except ImportError:
            pass
        else:
            rows["edge, the store's request"] = await raw_queries(
                shard, asked, truth, position, lambda q: _edge_query(one_probe_plan(q)), args.budget
            )
        where = qe.Filter(must=[qe.FieldCondition("isco_prefixes", match=qe.MatchAny([FILTER_PREFIX]))])
        variants: list[tuple[str, Any]] = [("exact=True", qe.SearchParams(exact=True)), ("HNSW default", None)]
        variants += [(f"HNSW ef={ef}", qe.SearchParams(hnsw_ef=ef)) for ef in args.hnsw_ef_sweep]
        for name, params in variants:
            rows[f"edge {name}"] = await raw_queries(shard, asked, truth, position, nearest(params), args.budget)
        for name, params in variants:
            rows[f"edge {name}, ISCO {FILTER_PREFIX}*"] = await raw_queries(
                shard, asked, filtered_truth, position, nearest(params, where), args.budget
            )
    finally:
        shard.close()
    return rows


def nearest(params: Any, where: Any = None) -> Callable[[np.ndarray], Any]:
    """A raw Edge request for a query vector: nearest on ``title_en``, top 10, no payload."""
    import qdrant_edge as qe

    def request(query: np.ndarray) -> Any:
        return qe.QueryRequest(
            TOP_K,
            query=qe.Query.Nearest(query.tolist(), using="title_en"),
            filter=where,
            with_payload=False,
            params=params,
        )

    return request


async def raw_queries(
    shard: Any,
    asked: np.ndarray,
    truth: list[list[int]],
    position: dict[str, int],
    make_request: Callable[[np.ndarray], Any],
    budget: float,
) -> dict[str, Any]:
    found: list[list[int]] = []

    def call(query: np.ndarray) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            found.append([position[str(p.id)] for p in shard.query(make_request(query))])

        return run

    await call(asked[0])()
    found.clear()
    latencies, window = await bounded([call(q) for q in asked], budget)
    return {**_latency(latencies), "recall_at_10": recall(found, truth), **window}


async def synthetic_rebuilt(
    args: argparse.Namespace, data: np.ndarray, asked: np.ndarray, truth: list[list[int]], workdir: Path
) -> dict[str, Any]:
    """Raw Edge shards built with other HNSW settings (``--hnsw-configs M:EF_CONSTRUCT``)."""
    import qdrant_edge as qe

    ids = _ids(len(data))
    position = {pid: i for i, pid in enumerate(ids)}
    rows: dict[str, Any] = {}
    for m, ef_construct in args.hnsw_configs:
        config = qe.EdgeConfig(
            vectors={"title_en": qe.EdgeVectorParams(data.shape[1], qe.Distance.Cosine)},
            hnsw_config=qe.HnswIndexConfig(m=m, ef_construct=ef_construct, full_scan_threshold=10_000),
        )
        directory = workdir / f"edge-m{m}-ef{ef_construct}-{data.shape[1]}"
        shard = qe.EdgeShard.create(str(directory), config)
        try:
            for start in range(0, len(data), 1000):
                chunk = range(start, min(len(data), start + 1000))
                shard.update(
                    qe.UpdateOperation.upsert_points([qe.Point(ids[i], {"title_en": data[i].tolist()}) for i in chunk])
                )
            with timed() as build:
                shard.optimize()
            for ef in [None, *args.hnsw_ef_sweep]:
                params = qe.SearchParams(hnsw_ef=ef) if ef else None
                name = f"edge m={m} ef_construct={ef_construct} " + (f"ef={ef}" if ef else "default")
                rows[name] = await raw_queries(shard, asked, truth, position, nearest(params), args.budget)
                rows[name]["build_s"] = build.seconds
        finally:
            shard.close()
            shutil.rmtree(directory, ignore_errors=True)
    return rows


async def synthetic_numpy(data: np.ndarray, asked: np.ndarray, budget: float) -> tuple[dict[str, Any], list[list[int]]]:
    found: list[list[int]] = []

    def call(query: np.ndarray) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            found.append(exact_tops(data, query[None, :])[0])

        return run

    latencies, window = await bounded([call(q) for q in asked], budget)
    return {**_latency(latencies), **window}, found


async def synthetic_width(args: argparse.Namespace, dim: int, workdir: Path) -> dict[str, Any]:
    print(f"synthetic: {args.points} x {dim}", flush=True)
    data, asked, groups = synthetic(args.points, dim, args.synthetic_queries, args.seed)
    truth = exact_tops(data, asked)
    mask = np.array([g.startswith(FILTER_PREFIX) for g in groups])
    filtered_truth = exact_tops(data, asked, mask)
    rows: dict[str, Any] = {}
    rows["numpy brute force"], found = await synthetic_numpy(data, asked, args.budget)
    rows["numpy brute force"]["recall_at_10"] = recall(found, truth)
    directory = workdir / f"synthetic-{dim}"
    store_rows, store_found = await synthetic_store(args, data, asked, groups, directory)
    for name, hits in store_found.items():
        store_rows[name]["recall_at_10"] = recall(hits, filtered_truth if "ISCO" in name else truth)
        rows[name] = store_rows.pop(name)
    rows["store, HNSW"]["build_s"] = store_rows["build_s"]
    rows["store, unindexed"]["write_s"] = store_rows["write_s"]
    print(
        f"  store: write {store_rows['write_s']:.1f} s, build {store_rows['build_s']:.1f} s, "
        f"reopen {store_rows['open_s']:.2f} s, "
        f"HNSW p50 {rows['store, HNSW']['p50_ms']:.2f} ms, recall {rows['store, HNSW']['recall_at_10']:.3f}",
        flush=True,
    )
    try:
        shard_dir = directory / "collections" / "synthetic"
        rows.update(await synthetic_raw_edge(args, shard_dir, asked, (truth, filtered_truth), _ids(len(data))))
        rows.update(await synthetic_rebuilt(args, data, asked, truth, workdir))
    except ImportError:
        print("qdrant-edge-py is not importable: raw Edge rows skipped")
    shutil.rmtree(directory, ignore_errors=True)
    return {
        "points": args.points,
        "dim": dim,
        "queries": len(asked),
        "filter_share": float(mask.mean()),
        "rows": rows,
        "write_s": store_rows["write_s"],
        "build_s": store_rows["build_s"],
        "build_other_cores": store_rows["build_other_cores"],
        "open_s": store_rows["open_s"],
        "batch_of_64_ms_per_plan": store_rows["batch_of_64_ms_per_plan"],
    }


async def part_synthetic(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    return {"widths": [await synthetic_width(args, dim, workdir) for dim in args.dims]}


def synthetic_tables(result: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    columns = ("queries", "p50_ms", "p99_ms", "cpu_ms_per_call", "recall_at_10", "write_s", "build_s", "other_cores")
    header = ["search", "n", "p50 ms", "p99 ms", "cpu ms", "recall@10", "write s", "build s", "oth"]
    for width in result["widths"]:
        rows = [[name, *(case.get(c) for c in columns)] for name, case in width["rows"].items()]
        batch = width["batch_of_64_ms_per_plan"]["p50_ms"]
        lines += [
            f"synthetic: {width['points']} points x {width['dim']} dims, top {TOP_K}, {width['queries']} queries "
            f"(ISCO filter keeps {width['filter_share']:.1%}); store reopened in {width.get('open_s') or 0:.2f} s; "
            f"store batch of 64 plans: {batch or 0:.2f} ms per plan",
            *table(header, rows),
            "",
        ]
    return lines


def lowest_reaching(rows: dict[str, Any], filtered: bool = False) -> str | None:
    """The default HNSW search if it reaches the recall goal, else the swept or rebuilt setting that
    does with the lowest p50; None when none does. ``filtered``: among the ISCO-filtered rows."""
    suffix = f", ISCO {FILTER_PREFIX}*" if filtered else ""
    default = rows.get(f"edge HNSW default{suffix}", {})
    if (default.get("recall_at_10") or 0) >= RECALL_GOAL:
        return f"edge HNSW default{suffix}"
    reaching = [
        (case["p50_ms"], name)
        for name, case in rows.items()
        if name.startswith("edge ")
        and "exact" not in name
        and "request" not in name
        and ("ISCO" in name) == filtered
        and (case.get("recall_at_10") or 0) >= RECALL_GOAL
    ]
    return min(reaching)[1] if reaching else None


def synthetic_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    targets = []
    for width in result["widths"]:
        rows = width["rows"]
        hnsw = rows.get("store, HNSW", {})
        targets.append(
            {
                "target": f"store HNSW p50 at {width['points']} x {width['dim']} (ms)",
                "value": hnsw.get("p50_ms"),
                "goal": f"<= {HNSW_P50_GOAL_MS}",
                "met": None if hnsw.get("p50_ms") is None else hnsw["p50_ms"] <= HNSW_P50_GOAL_MS,
            }
        )
        targets.append(
            {
                "target": f"store HNSW recall@10 at {width['points']} x {width['dim']}",
                "value": hnsw.get("recall_at_10"),
                "goal": f">= {RECALL_GOAL}",
                "met": None if hnsw.get("recall_at_10") is None else hnsw["recall_at_10"] >= RECALL_GOAL,
            }
        )
        for filtered in (False, True):
            where = f", ISCO filter ({width['filter_share']:.0%})" if filtered else ""
            targets.append(
                {
                    "target": f"raw Edge search reaching recall@10 {RECALL_GOAL} at {width['dim']} dims{where}",
                    "value": lowest_reaching(rows, filtered),
                    "goal": "report",
                    "met": None,
                }
            )
    return targets


# -- main -----------------------------------------------------------------------------------------


def targets_table(targets: list[dict[str, Any]]) -> list[str]:
    def verdict(met: bool | None) -> str:
        return "-" if met is None else "met" if met else "NOT met"

    def shown(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        if isinstance(value, list):
            return " / ".join(shown(v) for v in value)
        return "-" if value is None else str(value)

    rows = [[t["target"], shown(t["value"]), t["goal"], verdict(t["met"])] for t in targets]
    return table(["issue 13 target", "measured", "goal", ""], rows)


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
    targets: list[dict[str, Any]] = []
    if "esco" in results:
        lines += [*esco_tables(results["esco"]), ""]
        targets += esco_targets(results["esco"])
    if "synthetic" in results:
        lines += synthetic_tables(results["synthetic"])
        targets += synthetic_targets(results["synthetic"])
    lines += targets_table(targets)
    print("\n" + "\n".join(lines))
    output = write_results("matching", {"args": vars(args), **results, "targets": targets, "table": lines}, args.output)
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
