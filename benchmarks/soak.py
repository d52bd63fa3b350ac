"""Long soak: many concurrent callers against a `jobmatch serve` subprocess, every vector verified.

The same load and checks as tests/reliability/test_reliability_soak.py (tests/support/load.py), for
as long as you like: by default 256 callers for 10 minutes on three tiny test models (two JobBERT-like
with both sides, one symmetric), with a queue small enough that unary calls meet RESOURCE_EXHAUSTED
and retry. SIGTERM reaches the server `--sigterm-before-end` seconds before the end, under full load:
callers must then be refused cleanly (UNAVAILABLE) and no response may be lost in the drain. Prints one
JSON summary (p50/p99 latencies, errors, wrong vectors, server RSS) and exits non-zero if any vector
went to the wrong caller, any error other than RESOURCE_EXHAUSTED occurred, or the server did not
exit 0.

    python benchmarks/soak.py --duration 600
    python benchmarks/soak.py --model minilm=/path/to/model:none --callers 64 --duration 120
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import signal
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests.support is the shared load core

from tests.support.load import LoadShape, build_lanes, run_load  # noqa: E402
from tests.support.server_process import ServerProcess  # noqa: E402
from tests.support.tiny_models import build_tiny_jobbert, build_tiny_symmetric  # noqa: E402


def parse_model(text: str) -> tuple[str, Path, list[str | None]]:
    """NAME=PATH[:SIDES], SIDES being anchor,positive (default) or none (a symmetric model)."""
    name, _, rest = text.partition("=")
    path, _, sides = rest.partition(":")
    parsed = [None if s == "none" else s for s in (sides or "anchor,positive").split(",")]
    return name, Path(path), parsed


def tiny_models(folder: Path) -> list[tuple[str, Path, list[str | None]]]:
    return [
        ("jobbert", build_tiny_jobbert(folder / "jobbert"), ["anchor", "positive"]),
        ("jobbert2", build_tiny_jobbert(folder / "jobbert2", seed=1), ["anchor", "positive"]),
        ("careerbert", build_tiny_symmetric(folder / "careerbert"), [None]),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", type=parse_model, help="NAME=PATH[:anchor,positive|none]")
    parser.add_argument("--callers", type=int, default=256)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--texts-per-caller", type=int, default=4)
    parser.add_argument("--stream-share", type=float, default=0.4, help="share of calls that are streams")
    parser.add_argument("--max-queued-inputs", type=int, default=256, help="server queue (small: overload)")
    parser.add_argument("--sigterm-before-end", type=float, default=3.0, help="seconds; 0: no SIGTERM under load")
    parser.add_argument("--server-arg", action="append", default=[], help="extra `jobmatch serve` flag, repeatable")
    parser.add_argument("--out", type=Path, help="also write the JSON summary here")
    args = parser.parse_args()

    models = args.model or tiny_models(Path(tempfile.mkdtemp(prefix="jobmatch-soak-")))
    arguments = [arg for name, path, _ in models for arg in ("--model", f"{name}={path}")]
    arguments += ["--max-queued-inputs", str(args.max_queued_inputs), "--max-inputs-per-request", "8"]
    arguments += ["--log-level", "WARNING", *args.server_arg]
    targets = [(name, side) for name, _, sides in models for side in sides]
    server = ServerProcess(arguments).start()
    try:
        lanes = build_lanes({name: path for name, path, _ in models}, targets, args.callers, args.texts_per_caller)
        shape = LoadShape(duration_s=args.duration, stream_share=args.stream_share)
        with server:
            stop = functools.partial(server.process.send_signal, signal.SIGTERM) if args.sigterm_before_end else None
            stop_after = args.duration - args.sigterm_before_end
            report = asyncio.run(
                run_load(server.target, lanes, shape, server_pid=server.pid, stop_server=stop, stop_after_s=stop_after)
            )
            exit_code = server.process.wait(60) if stop else server.terminate()
    finally:
        server.kill()
    summary = {**report.summary(), "server_exit_code": exit_code, "targets": [f"{m}:{s}" for m, s in targets]}
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    failed = report.errors or report.wrong_vectors or report.out_of_order or exit_code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
