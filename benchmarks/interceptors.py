"""What the server's interceptors add to every call: microseconds of event-loop time per call.

Each variant runs grpc's interception step and then the wrapped behavior, as a server does per
call, on a behavior that does nothing, so the figure is the interceptors' own cost. Variants are
interleaved round by round; the result is the median of the rounds.

    python benchmarks/interceptors.py --calls 50000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import grpc

from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.drain import CallTracker
from jobmatch.server.observability.metrics import RpcMetricsInterceptor, ServerMetrics

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_matching_common import write_results


class _Details:
    method = "/jobmatch.v1.EmbeddingService/Embed"


class _Context:
    """What the metrics hook reads of a finished call's context."""

    def code(self) -> None:
        return None

    def time_remaining(self) -> None:
        return None


async def _nothing(request: Any, context: Any) -> Any:
    return request


async def _per_call_us(interceptors: list[grpc.aio.ServerInterceptor], calls: int) -> float:
    handler = grpc.unary_unary_rpc_method_handler(_nothing)

    async def innermost(details: Any) -> grpc.RpcMethodHandler:
        return handler

    def chain(index: int) -> Any:
        if index == len(interceptors):
            return innermost
        return lambda details: interceptors[index].intercept_service(chain(index + 1), details)

    outermost, context = chain(0), _Context()
    started = time.perf_counter()
    for _ in range(calls):
        wrapped = await outermost(_Details)
        await wrapped.unary_unary(None, context)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000, help="calls per variant and round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, variants interleaved")
    parser.add_argument("--output", type=Path, help="JSON path (default benchmarks/results/interceptors-*.json)")
    args = parser.parse_args()

    settings = ServerSettings(models=["unused=/nonexistent"], metrics_port=0)
    metrics = ServerMetrics(EmbeddingEngine(settings), settings, lambda: True)  # the engine is never started
    variants = {
        "none": lambda: [],
        "call tracker": lambda: [CallTracker()],
        "metrics": lambda: [RpcMetricsInterceptor(metrics)],
        "call tracker + metrics": lambda: [CallTracker(), RpcMetricsInterceptor(metrics)],
    }
    rounds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, make in variants.items():
            rounds[name].append(asyncio.run(_per_call_us(make(), args.calls)))
    medians = {name: statistics.median(values) for name, values in rounds.items()}
    for name, value in medians.items():
        print(f"{name:24s} {value:6.2f} us per call  (+{value - medians['none']:.2f} over none)")
    path = write_results("interceptors", {"calls": args.calls, "rounds": rounds, "median_us": medians}, args.output)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
