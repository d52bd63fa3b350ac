"""First run with a model of JobBERT-v3's size: time to Embed SERVING, the full index, memory and disk.

    HF_HUB_OFFLINE=1 python benchmarks/first_run.py                   # float32 and int8 (~15 min on 2 cores)
    HF_HUB_OFFLINE=1 python benchmarks/first_run.py --dtype int8 --fraction 0.05

JobBERT-v3 is not on this machine, so a random model of its exact architecture and size is built
once (``tests/support/tiny_models.build_jobbert_v3_sized``: XLM-RoBERTa base, 250,002 vocabulary
rows, two 768 -> 1024 heads; whole-word pieces for the ESCO snapshot's words so texts cut into
realistic token counts). For each ``--dtype``:

1. ``jobmatch serve --no-auto-sync`` started as a user would, twice: with a fresh ONNX cache (the
   first start: loading, the ONNX export, int8 quantization, warm-up), then with the export cached
   (every later start): seconds from the process start to ``jobmatch.v1.EmbeddingService``
   SERVING, peak RSS of each, and the disk of the model and the export;
2. the full index, in-process through the same engine and ``sync_esco`` as ``jobmatch sync``: a
   ``--fraction`` of the bundled snapshot's occupations and skills (every k-th by URI) is synced
   into an empty embedded store, and the time of the whole snapshot is extrapolated by texts
   embedded (the sync's cost is its embeddings: linear in texts at a fixed batch shape). With
   ``--fraction 1`` it is measured, not extrapolated. Also the store's disk per point.

Results: a table, and JSON in ``benchmarks/results/first-run-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support
from measure import fmt
from sync_matching_common import table, write_results

from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.esco import EscoDataset, load_snapshot
from jobmatch.server.index import EngineEmbedder, open_store, sync_esco
from tests.support.server_process import free_port
from tests.support.tiny_models import build_jobbert_v3_sized

EMBED_SERVICE = "jobmatch.v1.EmbeddingService"
SERVING_GOAL_S = 60.0  # issue 16: Embed SERVING after the weights are on disk
INDEX_GOAL_S = 15 * 60.0  # issue 16: the full index on this 2-core machine
_WORD = re.compile(r"[^\W\d_]{2,}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtype", nargs="+", default=["float32", "int8"], choices=["float32", "int8"])
    parser.add_argument("--model-dir", type=Path, default=None, help="reuse or build the model here")
    parser.add_argument("--fraction", type=float, default=0.1, help="share of the snapshot synced (0.1)")
    parser.add_argument("--start-timeout-s", type=float, default=600.0)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if not 0 < args.fraction <= 1:
        parser.error("--fraction must be in (0, 1]")
    return args


def snapshot_words(dataset: EscoDataset, most: int = 60_000) -> list[str]:
    """Distinct words of the snapshot's labels and descriptions, most frequent first (tokenizer pieces)."""
    counts: dict[str, int] = {}
    for concept in (*dataset.occupations.values(), *dataset.skills.values()):
        for text in (*concept.preferred_label.values(), *concept.description.values()):
            for word in _WORD.findall(text.lower()):
                counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], w))[:most]


def model_dir(args: argparse.Namespace, dataset: EscoDataset, scratch: Path) -> Path:
    path = args.model_dir or scratch / "jobbert-v3-sized"
    if not (path / "modules.json").is_file():
        started = time.perf_counter()
        build_jobbert_v3_sized(path, snapshot_words(dataset))
        print(f"built the JobBERT-v3-sized model in {time.perf_counter() - started:.0f} s at {path}")
    return path


def disk_mib(path: Path) -> float:
    """Disk blocks in use under ``path`` (not file sizes: the store's files are sparse)."""
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file()) / 2**20


def rss_mib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmHWM:\s+(\d+) kB", status)  # the peak resident set, kept by the kernel
    return int(found.group(1)) / 1024 if found else None


def serving_seconds(model: Path, dtype: str, scratch: Path, timeout_s: float) -> dict[str, Any]:
    """Start ``jobmatch serve`` and time it to EmbeddingService SERVING; then its peak RSS and disk."""
    port, cache = free_port(), scratch / f"cache-{dtype}"
    command = [
        sys.executable, "-m", "jobmatch.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--model", f"jobbert={model}", "--dtype", dtype, "--cache-dir", str(cache),
        "--qdrant-path", str(scratch / f"store-serve-{dtype}"), "--no-auto-sync",
    ]  # fmt: skip
    log = (scratch / f"serve-{dtype}.log").open("w")
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.perf_counter() - started < timeout_s and process.poll() is None:
                try:
                    reply = health.Check(health_pb2.HealthCheckRequest(service=EMBED_SERVICE), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    pass
                time.sleep(0.25)
            else:
                raise RuntimeError(f"no Embed SERVING within {timeout_s:.0f} s: see {log.name}")
        seconds = time.perf_counter() - started
        return {"serving_s": seconds, "peak_rss_mib": rss_mib(process.pid), "export_mib": disk_mib(cache)}
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def every_kth(dataset: EscoDataset, fraction: float) -> EscoDataset:
    """Every k-th occupation and skill by URI (k = 1/fraction); the occupations keep all their skill links."""
    if fraction >= 1:
        return dataset
    step = round(1 / fraction)
    occupations = sorted(dataset.occupations)[::step]
    skills = sorted(dataset.skills)[::step]
    return dataclasses.replace(
        dataset,
        occupations={uri: dataset.occupations[uri] for uri in occupations},
        skills={uri: dataset.skills[uri] for uri in skills},
    )


async def index_seconds(model: Path, dtype: str, dataset: EscoDataset, fraction: float, scratch: Path) -> dict:
    """Sync a fraction of the snapshot into an empty store; the whole one's time, extrapolated by texts."""
    settings = ServerSettings(models=[f"jobbert={model}"], dtype=dtype, cache_dir=scratch / f"cache-{dtype}")
    engine = EmbeddingEngine(settings)
    await engine.start()
    try:
        embedder = EngineEmbedder(engine)
        await embedder.prepare()
        part = every_kth(dataset, fraction)
        store_path = scratch / f"store-{dtype}"
        started = time.perf_counter()
        async with await open_store(store_path) as store:
            report = await sync_esco(part, embedder, store)
        seconds = time.perf_counter() - started
    finally:
        await engine.close()
    texts = report.occupations.texts_embedded + report.skills.texts_embedded
    points = report.occupations.total + report.skills.total
    share = points / (len(dataset.occupations) + len(dataset.skills))
    return {
        "fraction_points": share,
        "seconds": seconds,
        "texts_embedded": texts,
        "texts_per_s": texts / seconds,
        "full_index_s": seconds / share,
        "extrapolated": share < 1,
        "store_mib": disk_mib(store_path),  # of the fraction synced: a fixed part does not scale
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    dataset = load_snapshot(None)
    results: dict[str, Any] = {"fraction": args.fraction, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="jobmatch-first-run-") as tmp:
        scratch = Path(tmp)
        model = model_dir(args, dataset, scratch)
        results["model_mib"] = disk_mib(model)
        for dtype in args.dtype:
            run = {
                "first_start": serving_seconds(model, dtype, scratch, args.start_timeout_s),  # exports to ONNX
                "cached_start": serving_seconds(model, dtype, scratch, args.start_timeout_s),
            }
            run["index"] = asyncio.run(index_seconds(model, dtype, dataset, args.fraction, scratch))
            results["runs"][dtype] = run
            print(f"{dtype}: {run}")
    rows = [
        [
            dtype,
            fmt(run["first_start"]["serving_s"]),
            fmt(run["first_start"]["peak_rss_mib"], 0),
            fmt(run["cached_start"]["serving_s"]),
            fmt(run["cached_start"]["peak_rss_mib"], 0),
            fmt(run["first_start"]["export_mib"], 0),
            fmt(run["index"]["texts_per_s"]),
            fmt(run["index"]["full_index_s"] / 60),
            fmt(run["index"]["store_mib"], 0),
        ]
        for dtype, run in results["runs"].items()
    ]
    print(f"\nmodel on disk: {results['model_mib']:.0f} MiB; index from {args.fraction:.0%} of the snapshot")
    print(
        "\n".join(
            table(
                [
                    "dtype",
                    "1st start s",
                    "1st peak RSS MiB",
                    "cached start s",
                    "cached peak RSS MiB",
                    "export MiB",
                    "sync texts/s",
                    "full index min",
                    f"store MiB ({args.fraction:.0%})",
                ],
                rows,
            )
        )
    )
    print(f"goals: Embed SERVING <= {SERVING_GOAL_S:.0f} s; full index <= {INDEX_GOAL_S / 60:.0f} min")
    write_results("first-run", results, args.output)


if __name__ == "__main__":
    main()
