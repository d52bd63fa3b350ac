"""The in-process ceiling: `SentenceTransformer.encode` in a plain Python process, as a user runs it.

Run by `serving.py` as a subprocess, so that nothing of jobmatch (which sets OMP_WAIT_POLICY=PASSIVE
on import) and no server shares the process: library defaults, the whole machine. It prints its
result as one JSON object.

    python benchmarks/in_process.py job.json    # {"model_path": ..., "texts": [...], "plan": {...}}
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from measure import Quiet, fmt, other_cores, percentile_ms, system_busy_s, wait_for_quiet


@dataclass
class InProcessBatch:
    batch_size: int
    texts_per_repetition: int
    repetitions: int
    texts_per_s: float  # median over repetitions
    runs_texts_per_s: list[float]
    cpu_cores: float  # CPU this process used while encoding
    other_cpu_cores: float | None  # CPU used by other processes meanwhile: should be ~0


@dataclass
class InProcessResult:
    batches: list[InProcessBatch]
    best_batch_size: int
    ceiling_texts_per_s: float
    single_calls: int
    single_p50_ms: float | None
    single_p99_ms: float | None
    single_other_cpu_cores: float | None
    omp_wait_policy: str | None  # unset: the OpenMP default (jobmatch's servers set PASSIVE)


@dataclass(frozen=True)
class InProcessPlan:
    """What to measure: batch sizes, texts and repetitions per size, a time budget per size (s), calls
    of one text, and how to wait for an idle machine."""

    batch_sizes: list[int]
    texts_per_repetition: int
    repetitions: int
    budget_s: float
    single_calls: int
    quiet: Quiet


def _time_batch_size(
    model: Any, titles: Sequence[str], batch_size: int, texts_per_repetition: int, repetitions: int, budget_s: float
) -> InProcessBatch:
    # batch 1 is slow: fewer texts per repetition keep its time in line with the others
    wanted = texts_per_repetition // 8 if batch_size == 1 else texts_per_repetition
    count = min(len(titles), max(batch_size, wanted))
    runs: list[float] = []
    started, busy0, own0 = time.perf_counter(), system_busy_s(), time.process_time()
    for repetition in range(repetitions):
        offset = (repetition * count) % len(titles)
        texts = list((titles[offset:] + titles[:offset])[:count])
        t0 = time.perf_counter()
        model.encode(texts, batch_size=batch_size, show_progress_bar=False)
        runs.append(count / (time.perf_counter() - t0))
        if time.perf_counter() - started > budget_s and len(runs) >= 2:
            break
    own_cores = (time.process_time() - own0) / (time.perf_counter() - started)
    other = other_cores(busy0, own0, started)
    return InProcessBatch(batch_size, count, len(runs), statistics.median(runs), runs, own_cores, other)


def measure_in_process(model_path: str, titles: Sequence[str], plan: InProcessPlan) -> InProcessResult:
    """encode() throughput per batch size (median of the repetitions, cut short past the budget per
    batch size) and the latency of encoding one text per call, all on this (the main) thread."""
    from sentence_transformers import SentenceTransformer

    quiet, budget_s = plan.quiet, plan.budget_s

    model = SentenceTransformer(model_path, device="cpu")
    model.eval()
    model.encode(list(titles[:256]), batch_size=64, show_progress_bar=False)  # warm-up
    results: list[InProcessBatch] = []
    for batch_size in plan.batch_sizes:
        attempts: list[InProcessBatch] = []
        while len(attempts) <= quiet.retries:
            wait_for_quiet(quiet.wait_s, quiet.threshold_cores)
            batch = _time_batch_size(model, titles, batch_size, plan.texts_per_repetition, plan.repetitions, budget_s)
            attempts.append(batch)
            print(
                f"  in-process batch {batch_size:4d}: {batch.texts_per_s:7.1f} texts/s ({batch.repetitions} runs, "
                f"other processes {fmt(batch.other_cpu_cores, 2)} cores)"
            )
            if (batch.other_cpu_cores or 0.0) < quiet.threshold_cores:
                break
        results.append(min(attempts, key=lambda b: b.other_cpu_cores or 0.0))
    latencies: list[float] = []
    wait_for_quiet(quiet.wait_s, quiet.threshold_cores)
    started, busy0, own0 = time.perf_counter(), system_busy_s(), time.process_time()
    for title in titles[: plan.single_calls]:
        t0 = time.perf_counter()
        model.encode([title], batch_size=1, show_progress_bar=False)
        latencies.append(time.perf_counter() - t0)
        if time.perf_counter() - started > budget_s:
            break
    single_other = other_cores(busy0, own0, started)
    best = max(results, key=lambda r: r.texts_per_s)
    result = InProcessResult(
        batches=results,
        best_batch_size=best.batch_size,
        ceiling_texts_per_s=best.texts_per_s,
        single_calls=len(latencies),
        single_p50_ms=percentile_ms(latencies, 50),
        single_p99_ms=percentile_ms(latencies, 99),
        single_other_cpu_cores=single_other,
        omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"),
    )
    print(
        f"  in-process one text per call: p50 {fmt(result.single_p50_ms, 2)} ms over {len(latencies)} calls "
        f"(other processes {fmt(single_other, 2)} cores)"
    )
    return result


def run_clean(model_path: str, texts: Sequence[str], plan: InProcessPlan, scratch_dir: Path) -> InProcessResult:
    """`measure_in_process` in a fresh Python process without the OMP_WAIT_POLICY jobmatch sets."""
    job = scratch_dir / "in-process-job.json"
    job.write_text(json.dumps({"model_path": model_path, "texts": list(texts), "plan": asdict(plan)}))
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    command = [sys.executable, str(Path(__file__).resolve()), str(job)]
    done = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, text=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["batches"] = [InProcessBatch(**batch) for batch in report["batches"]]
    return InProcessResult(**report)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", type=Path, help="JSON: model_path, texts and plan (InProcessPlan's fields)")
    job = json.loads(parser.parse_args(argv).job.read_text())
    plan = {**job["plan"], "quiet": Quiet(**job["plan"]["quiet"])}
    with contextlib.redirect_stdout(sys.stderr):  # progress on stderr, the result alone on stdout
        result = measure_in_process(job["model_path"], job["texts"], InProcessPlan(**plan))
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
