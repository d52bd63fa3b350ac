"""Bulk matching benchmark (issue 15): 10,000 job titles through MatchOccupationsBatch against 64 concurrent
unary MatchOccupations calls, side by side on one server.

    HF_HUB_OFFLINE=1 python benchmarks/bulk.py                        # 10,000 titles each way (~6 min idle)
    HF_HUB_OFFLINE=1 python benchmarks/bulk.py --quick                # 1,000 titles each way
    python benchmarks/bulk.py --index-dir /tmp/jm-index               # keep (or reuse) the synced index

The index: ESCO v1.2.0 English + German occupations (``--esco-dir``, default ``../shared/esco/v1.2.0/{en,de}``;
the bundled v1.1.1 snapshot when those are missing), synced in-process with the packaged all-MiniLM-L6-v2
(``sync_occupations``: a no-op when ``--index-dir`` is up to date). The server: ``python -m jobmatch.cli serve
--no-auto-sync`` over it (``matching.ServerProcess``), defaults otherwise (``--batch-concurrency`` 64).

The titles: the job-ad titles of ``benchmarks/data/job_ad_titles.csv`` and ESCO alternative labels, cycled up
to ``--titles``. They are cut into ``--slices`` slices; each slice goes through both paths, one after the other
(which goes first alternates), so the machine's drift weighs on both alike:

- **unary**: 64 closed loops (``--clients``) on 4 channels, each sending the next title of the slice as one
  ``MatchOccupations`` call (top 10), until the slice is done;
- **batch**: the slice through ``AsyncJobMatchClient.match_occupations_batch`` (what ``jobmatch match
  --input`` uses): ``--batch-size`` (100) titles per ``MatchOccupationsBatch`` call, the client's
  ``max_in_flight`` (4) calls at once.

Reported: queries/s of each path over all slices (and per slice), the batch / unary ratio against the 0.8
goal, server and client CPU per query, errors. Every loop is bounded by its count and by ``--budget`` seconds.
Results: a table, and JSON in ``benchmarks/results/bulk-<timestamp>.json``. This benchmark uses the ESCO
classification of the European Commission.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling helpers, however this file is loaded
from matching import ESCO_ROOT, WORKERS_PER_CHANNEL, ServerProcess, job_titles, load_dataset
from measure import process_cpu_s, system_busy_s
from sync_matching_common import minilm_path, table, write_results

from jobmatch.client import AsyncJobMatchClient
from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.index import EngineEmbedder, open_store, sync_occupations
from jobmatch.v1 import match_pb2 as mpb
from jobmatch.v1 import match_pb2_grpc as mpb_grpc

MODEL_NAME = "minilm"
TOP_K = 10
GOAL = 0.8  # batch queries/s over 64-client unary queries/s
JOB_AD_TITLES = Path(__file__).resolve().parent / "data" / "job_ad_titles.csv"
CALL_TIMEOUT_S = 120.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 titles, 2 slices")
    parser.add_argument("--titles", type=int, default=None, help="titles through each path (10000; quick 1000)")
    parser.add_argument("--slices", type=int, default=None, help="interleaved slices (5; quick 2)")
    parser.add_argument("--clients", type=int, default=64, help="concurrent unary calls (64)")
    parser.add_argument("--batch-size", type=int, default=100, help="titles per MatchOccupationsBatch call (100)")
    parser.add_argument("--in-flight", type=int, default=4, help="batch calls at once (the client's default, 4)")
    parser.add_argument("--budget", type=float, default=1800.0, help="max seconds of load in all (then stop)")
    parser.add_argument("--esco-dir", type=Path, action="append", default=None, help="ESCO bundle, repeatable")
    parser.add_argument("--index-dir", type=Path, default=None, help="keep the synced index here (reused)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, default=None, help="JSON path (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    args.titles = min(args.titles or (1000 if args.quick else 10_000), 100_000)
    args.slices = max(1, min(args.slices or (2 if args.quick else 5), 50))
    if args.esco_dir is None:
        default = [ESCO_ROOT / "en", ESCO_ROOT / "de"]
        args.esco_dir = [d for d in default if (d / f"occupations_{d.name}.csv").exists()]
    return args


def bulk_titles(esco_dirs: Sequence[Path], count: int, seed: int) -> list[str]:
    """The job-ad titles and ESCO alternative labels, interleaved, cycled to `count`."""
    with JOB_AD_TITLES.open(newline="", encoding="utf-8") as handle:
        ads = [row["query"] for row in csv.DictReader(handle)]
    labels = job_titles(load_dataset(esco_dirs), 2000, seed)
    mixed = [title for pair in itertools.zip_longest(ads, labels) for title in pair if title]
    return list(itertools.islice(itertools.cycle(mixed), count))


async def build_index(esco_dirs: Sequence[Path], model: Path, index_dir: Path) -> dict[str, Any]:
    """Sync the occupations into `index_dir` in-process (nothing to embed when it is up to date)."""
    engine = EmbeddingEngine(ServerSettings(models=[f"{MODEL_NAME}={model}"], max_batch_wait_ms=0))
    await engine.start()
    started = time.perf_counter()
    try:
        async with await open_store(index_dir) as store:
            report = await sync_occupations(load_dataset(esco_dirs), EngineEmbedder(engine, MODEL_NAME), store)
    finally:
        await engine.close()
    return {"written": report.written, "seconds": time.perf_counter() - started}


class Meter:
    """Wall time, server CPU and this process's CPU of one pass."""

    def __init__(self, server_pid: int) -> None:
        self._pid = server_pid

    def __enter__(self) -> Meter:
        self._start = (time.perf_counter(), process_cpu_s(self._pid) or 0.0, time.process_time(), system_busy_s())
        return self

    def __exit__(self, *exc: object) -> None:
        wall0, server0, own0, busy0 = self._start
        self.seconds = time.perf_counter() - wall0
        self.server_cpu_s = (process_cpu_s(self._pid) or 0.0) - server0
        self.client_cpu_s = time.process_time() - own0
        busy1 = system_busy_s()
        used = self.server_cpu_s + self.client_cpu_s
        self.other_cores = None if busy0 is None or busy1 is None else max(0.0, (busy1 - busy0 - used) / self.seconds)


async def unary_pass(target: str, titles: Sequence[str], clients: int, deadline: float) -> dict[str, Any]:
    """`clients` closed loops of unary MatchOccupations over `titles`, each title once."""
    options = [("grpc.use_local_subchannel_pool", 1), ("grpc.enable_retries", 0)]
    channels = [grpc.aio.insecure_channel(target, options=options) for _ in range(-(-clients // WORKERS_PER_CHANNEL))]
    pending: Iterator[str] = iter(titles)
    done, errors = 0, 0

    async def loop(stub: mpb_grpc.MatchServiceStub) -> None:
        nonlocal done, errors
        for title in pending:  # one shared iterator: each loop takes the next title
            if time.perf_counter() > deadline:
                return
            try:
                await stub.MatchOccupations(
                    mpb.MatchOccupationsRequest(query=title, top_k=TOP_K), timeout=CALL_TIMEOUT_S
                )
                done += 1
            except grpc.aio.AioRpcError:
                errors += 1

    try:
        stubs = [mpb_grpc.MatchServiceStub(c) for c in channels]
        await asyncio.gather(*(loop(stubs[i % len(stubs)]) for i in range(clients)))
    finally:
        await asyncio.gather(*(c.close() for c in channels))
    return {"answered": done, "errors": errors}


async def batch_pass(target: str, titles: Sequence[str], batch_size: int, in_flight: int) -> dict[str, Any]:
    """`titles` through MatchOccupationsBatch with the asyncio client."""
    async with AsyncJobMatchClient(target, timeout=CALL_TIMEOUT_S, max_in_flight=in_flight, max_attempts=1) as client:
        results = await client.match_occupations_batch(titles, top_k=TOP_K, batch_size=batch_size)
    errors = sum(1 for r in results if not r.ok)
    return {"answered": len(results) - errors, "errors": errors}


async def run_pass(
    mode: str, server: ServerProcess, titles: Sequence[str], args: argparse.Namespace, deadline: float
) -> dict[str, Any]:
    with Meter(server.pid) as meter:
        if mode == "unary":
            counts = await unary_pass(server.target, titles, args.clients, deadline)
        else:
            counts = await batch_pass(server.target, titles, args.batch_size, args.in_flight)
    answered = counts["answered"]
    return {
        "mode": mode,
        "titles": len(titles),
        **counts,
        "seconds": meter.seconds,
        "queries_per_s": answered / meter.seconds if meter.seconds else None,
        "server_cpu_ms_per_query": meter.server_cpu_s * 1000 / answered if answered else None,
        "client_cpu_ms_per_query": meter.client_cpu_s * 1000 / answered if answered else None,
        "other_cores": meter.other_cores,
    }


async def load(args: argparse.Namespace, server: ServerProcess, titles: list[str]) -> list[dict[str, Any]]:
    """Each slice through both paths, which one first alternating; bounded by --budget."""
    await run_pass("unary", server, titles[:64], args, float("inf"))  # first-call costs outside the figures
    await run_pass("batch", server, titles[:64], args, float("inf"))
    size = -(-len(titles) // args.slices)
    deadline = time.perf_counter() + args.budget
    passes = []
    for n, start in enumerate(range(0, len(titles), size)):
        chunk = titles[start : start + size]
        for mode in ("unary", "batch") if n % 2 == 0 else ("batch", "unary"):
            result = await run_pass(mode, server, chunk, args, deadline)
            result["slice"] = n + 1
            passes.append(result)
            print(
                f"  slice {n + 1} {mode}: {result['queries_per_s'] or 0:.1f} queries/s "
                f"({result['answered']} in {result['seconds']:.1f} s, {result['errors']} errors, "
                f"other cores {result['other_cores'] or 0:.2f})",
                flush=True,
            )
        if time.perf_counter() > deadline:
            print("  budget spent: stopping", flush=True)
            break
    return passes


def summarize(passes: list[dict[str, Any]]) -> dict[str, Any]:
    """Queries/s of each path over every slice, and the ratio, overall and per slice."""
    totals = {}
    for mode in ("unary", "batch"):
        mine = [p for p in passes if p["mode"] == mode]
        answered, seconds = sum(p["answered"] for p in mine), sum(p["seconds"] for p in mine)
        totals[mode] = {
            "answered": answered,
            "errors": sum(p["errors"] for p in mine),
            "seconds": seconds,
            "queries_per_s": answered / seconds if seconds else None,
            "server_cpu_ms_per_query": statistics.median(p["server_cpu_ms_per_query"] or 0 for p in mine),
            "client_cpu_ms_per_query": statistics.median(p["client_cpu_ms_per_query"] or 0 for p in mine),
        }
    slices = sorted({p["slice"] for p in passes})
    per_slice = []
    for n in slices:
        by = {p["mode"]: p for p in passes if p["slice"] == n}
        if by.get("unary", {}).get("queries_per_s") and by.get("batch", {}).get("queries_per_s"):
            per_slice.append(by["batch"]["queries_per_s"] / by["unary"]["queries_per_s"])
    unary, batch = totals["unary"]["queries_per_s"], totals["batch"]["queries_per_s"]
    ratio = batch / unary if unary and batch else None
    return {
        **totals,
        "ratio": ratio,
        "ratio_per_slice": per_slice,
        "goal": f">= {GOAL}",
        "met": None if ratio is None else ratio >= GOAL,
    }


def report(result: dict[str, Any]) -> list[str]:
    rows = [
        [
            f"slice {p['slice']} {p['mode']}",
            p["answered"],
            p["errors"],
            p["queries_per_s"],
            p["server_cpu_ms_per_query"],
            p["client_cpu_ms_per_query"],
            p["other_cores"],
        ]
        for p in result["passes"]
    ]
    header = ["pass", "answered", "err", "queries/s", "srv cpu ms/q", "client cpu ms/q", "other cores"]
    summary = result["summary"]
    lines = table(header, rows)
    lines += [
        "",
        f"unary x{result['clients']}: {summary['unary']['queries_per_s'] or 0:.1f} queries/s; "
        f"batch ({result['batch_size']} per call, {result['in_flight']} in flight): "
        f"{summary['batch']['queries_per_s'] or 0:.1f} queries/s",
        f"batch / unary: {summary['ratio'] or 0:.2f} (goal {summary['goal']}: "
        f"{'met' if summary['met'] else 'NOT met'}); "
        f"per slice {', '.join(f'{r:.2f}' for r in summary['ratio_per_slice'])}",
    ]
    return lines


async def main(args: argparse.Namespace) -> None:
    model = minilm_path()
    workdir = Path(tempfile.mkdtemp(prefix="jobmatch-bulk-"))
    index_dir = args.index_dir or workdir / "esco"
    titles = bulk_titles(args.esco_dir, args.titles, args.seed)
    print(f"{len(titles)} titles; syncing ESCO occupations into {index_dir}", flush=True)
    index = await build_index(args.esco_dir, model, index_dir)
    print(f"  {index['written']} occupations written in {index['seconds']:.0f} s", flush=True)
    server = ServerProcess(model, index_dir, workdir / "server.log")
    try:
        start_s = await server.wait_serving()
        passes = await load(args, server, titles)
    finally:
        server.stop()
    result = {
        "esco_dirs": [str(d) for d in args.esco_dir] or ["bundled snapshot"],
        "index": index,
        "server_command": server.command,
        "server_start_s": start_s,
        "titles": len(titles),
        "slices": args.slices,
        "clients": args.clients,
        "batch_size": args.batch_size,
        "in_flight": args.in_flight,
        "passes": passes,
        "summary": summarize(passes),
    }
    print("\n".join(report(result)))
    print(write_results("bulk", result, args.output))


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    asyncio.run(main(parse_args(None)))
