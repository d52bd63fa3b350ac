"""Every benchmark in one command: JSON results and a PNG chart in one folder.

    HF_HUB_OFFLINE=1 python benchmarks/run_all.py            # full run
    HF_HUB_OFFLINE=1 python benchmarks/run_all.py --quick    # smoke run of every step
    python benchmarks/run_all.py --only serving-titles,sync  # some steps

Steps, one subprocess each, one after another (each needs the whole machine):

- `serving-titles`: benchmarks/serving.py on ESCO titles: in-process ceiling, the jobmatch server
  (unary and streaming, 1/16/64/256 clients), Infinity under the same load, server memory;
- `serving-descriptions`: the same on ESCO occupation descriptions;
- `sync`: benchmarks/sync.py: a full sync against pure encoding, no-op re-syncs (in-process, and
  `jobmatch sync` as a whole process);
- `matching`: benchmarks/matching.py: MatchOccupations against Embed on one server (1 and 64
  clients, interleaved), server memory, and Qdrant Edge exact vs HNSW search at 100,000 points.

Writes `benchmarks/results/run-<timestamp>/`: each step's JSON and log, `summary.json` (the
headline figures and ratios of every step) and `chart.png`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
STEP_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Step:
    name: str
    script: str
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ("--quick",)


STEPS = (
    Step("serving-titles", "serving.py", ("--texts", "titles")),
    # descriptions are ~15x longer: no B=512, a longer warm-up (256 clients wait seconds for their
    # first answer), and the sustained memory run is done once, on titles
    Step(
        "serving-descriptions",
        "serving.py",
        ("--texts", "descriptions", "--batch-sizes", "1,8,32,64,128", "--warmup", "4", "--sustained", "0"),
    ),
    Step("sync", "sync.py"),
    Step("matching", "matching.py"),
)


def run_step(step: Step, out_dir: Path, quick: bool, extra: Sequence[str]) -> dict[str, Any]:
    """Run one script with `--output` into `out_dir`; its output goes to a log next to it."""
    script = HERE / step.script
    output, log = out_dir / f"{step.name}.json", out_dir / f"{step.name}.log"
    command = [sys.executable, str(script), *step.args, *(step.quick_args if quick else ()), *extra]
    command += ["--output", str(output)]
    print(f"== {step.name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with log.open("wb") as handle:
        try:
            done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env, timeout=STEP_TIMEOUT_S)
            code: int | str = done.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    seconds = time.perf_counter() - started
    tail = log.read_text(errors="replace").splitlines()[-40:]
    print("\n".join(tail), flush=True)
    print(f"== {step.name}: exit {code} after {seconds:.0f} s", flush=True)
    return {
        "step": step.name,
        "command": command,
        "exit_code": code,
        "seconds": seconds,
        "json": str(output) if output.exists() else None,
        "log": str(log),
    }


def serving_headline(report: dict[str, Any]) -> dict[str, Any]:
    """Texts/s, latency and ratios of one serving.py report, keyed as in the README table."""
    ceiling = (report.get("in_process") or {}).get("ceiling_texts_per_s")
    rows: dict[str, Any] = {}
    infinity: dict[int, float] = {
        row["concurrency"]: row["texts_per_s"] for row in report["summary"] if row["mode"] == "http"
    }
    for row in report["summary"]:
        key = f"{row['mode']} x{row['concurrency']}"
        if row["config"] and row["mode"] != "http":
            key = f"{row['config']} {key}"
        entry = {k: row[k] for k in ("texts_per_s", "p50_ms", "p99_ms", "ratio_to_ceiling", "rss_mb_peak")}
        if row["mode"] in ("unary", "stream") and infinity.get(row["concurrency"]):
            entry["ratio_to_infinity"] = row["texts_per_s"] / infinity[row["concurrency"]]
        rows[key] = entry
    in_process = report.get("in_process") or {}
    return {
        "texts": report.get("texts"),
        "ceiling_texts_per_s": ceiling,
        "ceiling_batch_size": in_process.get("best_batch_size"),
        "in_process_one_text_p50_ms": in_process.get("single_p50_ms"),
        "cases": rows,
        "memory": report.get("memory"),
        "targets": targets(report),
    }


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 7's goals for one serving report (defaults server): the measured value, the goal, met or not."""
    rows = {(r["mode"], r["concurrency"]): r for r in report["summary"] if not r["config"] or r["mode"] == "http"}
    checks = []

    def check(name: str, value: float | None, goal: float, above: bool = True) -> None:
        met = None if value is None else (value >= goal if above else value <= goal)
        checks.append({"target": name, "value": value, "goal": goal, "met": met})

    unary, stream, peer = rows.get(("unary", 64)), rows.get(("stream", 64)), rows.get(("http", 64))
    check("unary x64 / in-process ceiling", unary and unary.get("ratio_to_ceiling"), 0.8)
    check(
        "unary x64 / Infinity x64",
        unary["texts_per_s"] / peer["texts_per_s"] if unary and peer and peer["texts_per_s"] else None,
        3.0,
    )
    check("stream x64 / in-process ceiling", stream and stream.get("ratio_to_ceiling"), 0.9)
    single = rows.get(("unary", 1))
    check("unary x1 p50 - in-process 1-text p50 (ms)", single and single.get("p50_minus_in_process_ms"), 2.0, False)
    return checks


def chart(reports: dict[str, dict[str, Any]], path: Path) -> bool:
    """Throughput and p50 latency against clients for each text set, and the sustained run's memory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    serving = [(name, r) for name, r in reports.items() if name.startswith("serving-")]
    if not serving:
        return False
    fig, axes = plt.subplots(len(serving), 4, figsize=(21, 4.6 * len(serving)), squeeze=False)
    for (name, report), (ax_tps, ax_lat, ax_mem, ax_run) in zip(serving, axes, strict=True):
        series: dict[str, list[tuple[int, float, float | None, float | None]]] = {}
        for row in report["summary"]:
            if row["mode"] == "sustained":
                continue
            label = "Infinity (HTTP)" if row["mode"] == "http" else f"jobmatch {row['mode']}"
            if row["config"] and row["mode"] != "http":
                label += f" [{row['config']}]"
            series.setdefault(label, []).append(
                (row["concurrency"], row["texts_per_s"], row["p50_ms"], row.get("rss_mb_peak"))
            )
        for label, points in series.items():
            points.sort()
            clients = [p[0] for p in points]
            ax_tps.plot(clients, [p[1] for p in points], marker="o", label=label)
            ax_lat.plot(clients, [p[2] or float("nan") for p in points], marker="o", label=label)
            ax_mem.plot(clients, [p[3] or float("nan") for p in points], marker="o", label=label)
        in_process = report.get("in_process") or {}
        if in_process.get("ceiling_texts_per_s"):
            ax_tps.axhline(
                in_process["ceiling_texts_per_s"],
                color="black",
                linestyle="--",
                label=f"in-process encode, B={in_process['best_batch_size']}",
            )
        if in_process.get("single_p50_ms"):
            ax_lat.axhline(in_process["single_p50_ms"], color="black", linestyle="--", label="in-process, 1 text")
        kind = (report.get("texts") or {}).get("kind", name)
        ticks = sorted({p[0] for points in series.values() for p in points})
        panels = ((ax_tps, "throughput", "texts/s"), (ax_lat, "p50 latency", "ms"), (ax_mem, "peak RSS", "MiB"))
        for ax, title, unit in panels:
            ax.set_xscale("log", base=2)
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.set_xlabel("concurrent clients")
            ax.set_ylabel(unit)
            ax.set_title(f"ESCO {kind}: {title}")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7)
        ax_lat.set_yscale("log")
        sustained = [row for row in report["summary"] if row["mode"] == "sustained" and row.get("rss_samples")]
        for row in sustained:
            ax_run.plot([t for t, _ in row["rss_samples"]], [mb for _, mb in row["rss_samples"]])
            ax_run.set_title(f"ESCO {kind}: jobmatch RSS, {row['concurrency']} clients sustained")
            ax_run.set_xlabel("seconds since the warm-up began")
            ax_run.set_ylabel("MiB")
            ax_run.grid(True, alpha=0.3)
        if not sustained:
            ax_run.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every step's --quick (a smoke run)")
    parser.add_argument(
        "--only", default=",".join(s.name for s in STEPS), help="steps to run, comma-separated (default: all)"
    )
    parser.add_argument(
        "--serving-arg",
        action="append",
        default=[],
        metavar="ARGS",
        help="extra serving.py arguments for both serving steps, e.g. --serving-arg=--no-infinity (repeatable)",
    )
    parser.add_argument("--output-dir", type=Path, help="default benchmarks/results/run-<timestamp>")
    parser.add_argument(
        "--summarize-only",
        action="store_true",
        help="run nothing: rebuild summary.json and chart.png from the step JSON files in --output-dir",
    )
    args = parser.parse_args(argv)
    if args.summarize_only and not args.output_dir:
        parser.error("--summarize-only needs --output-dir")
    names = {s.name for s in STEPS}
    args.only = [n.strip() for n in args.only.split(",") if n.strip()]
    if unknown := set(args.only) - names:
        parser.error(f"unknown steps {sorted(unknown)}; steps are {sorted(names)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.output_dir or RESULTS_DIR / f"run-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    steps, reports, failed = [], {}, False
    for step in STEPS:
        if step.name not in args.only:
            continue
        if not (HERE / step.script).exists():
            steps.append({"step": step.name, "skipped": f"{step.script} not found"})
            continue
        extra = [a for s in args.serving_arg for a in s.split()] if step.script == "serving.py" else []
        if args.summarize_only:
            found = out_dir / f"{step.name}.json"
            outcome = {"step": step.name, "exit_code": 0, "json": str(found) if found.exists() else None}
        else:
            outcome = run_step(step, out_dir, args.quick, extra)
        steps.append(outcome)
        failed |= outcome["exit_code"] != 0
        if outcome["json"]:
            reports[step.name] = json.loads(Path(outcome["json"]).read_text())
    summary = {
        "timestamp": stamp,
        "quick": args.quick,
        "steps": steps,
        "serving": {name: serving_headline(r) for name, r in reports.items() if name.startswith("serving-")},
        # the other steps' own tables and goals (sync: `goals`, matching: issue 13's `targets`); their
        # full results are in their JSON files
        "tables": {name: r.get("table") for name, r in reports.items() if not name.startswith("serving-")},
        "targets": {
            name: r.get("targets") or r.get("goals") for name, r in reports.items() if not name.startswith("serving-")
        },
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    drawn = chart(reports, out_dir / "chart.png")
    print(f"\nresults: {out_dir}/ (summary.json{', chart.png' if drawn else ''})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
