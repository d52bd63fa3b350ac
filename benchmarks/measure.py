"""Measurement helpers the benchmarks share, importing nothing of jobmatch: CPU use from /proc,
waiting for an idle machine, percentiles."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def percentile_ms(latencies_s: Sequence[float], q: float) -> float | None:
    if not latencies_s:
        return None
    return float(np.percentile(np.asarray(latencies_s), q) * 1000)


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (all threads), from /proc; None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def system_busy_s() -> float | None:
    """CPU seconds all processes spent busy (not idle or iowait) since boot, from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLOCK_TICKS  # guest time is already counted in user


def wait_for_quiet(max_wait_s: float, threshold_cores: float, exclude: Sequence[int] = ()) -> float | None:
    """Wait (at most `max_wait_s`) until the machine is idle: other processes (all but this one and
    `exclude`) used under `threshold_cores` over one second. Returns their last usage in cores."""
    give_up_at = time.monotonic() + max_wait_s
    usage = None
    while True:
        busy0, own0 = system_busy_s(), time.process_time()
        excluded0 = [process_cpu_s(pid) or 0.0 for pid in exclude]
        time.sleep(1.0)
        busy1, own1 = system_busy_s(), time.process_time()
        excluded1 = [process_cpu_s(pid) or 0.0 for pid in exclude]
        if busy0 is None or busy1 is None:
            return None
        usage = max(0.0, busy1 - busy0 - (own1 - own0) - (sum(excluded1) - sum(excluded0)))
        if usage < threshold_cores or time.monotonic() >= give_up_at:
            break
    if usage >= threshold_cores:
        print(f"  warning: other processes use {usage:.2f} cores; measuring anyway (numbers will be noisy)")
    return usage


@dataclass(frozen=True)
class Quiet:
    """How to wait for an idle machine before a measurement, and when to measure again."""

    wait_s: float
    threshold_cores: float
    retries: int


def other_cores(busy0: float | None, own0: float, started: float) -> float | None:
    """Cores other processes used since (busy0, own0, started)."""
    busy1, own1, elapsed = system_busy_s(), time.process_time(), time.perf_counter() - started
    if busy0 is None or busy1 is None:
        return None
    return max(0.0, (busy1 - busy0 - (own1 - own0)) / elapsed)


def process_rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MiB (VmRSS), or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (the server's embedded store runs in a child), from /proc."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                pending.extend(int(child) for child in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def _tree_sum(pid: int, measure: Callable[[int], float | None]) -> float | None:
    """``measure`` summed over :func:`process_tree`; None once ``pid`` is gone."""
    own = measure(pid)
    if own is None:
        return None
    return own + sum(measure(child) or 0.0 for child in process_tree(pid)[1:])


def tree_cpu_s(pid: int) -> float | None:
    """:func:`process_cpu_s` of ``pid`` and the processes below it."""
    return _tree_sum(pid, process_cpu_s)


def tree_rss_mb(pid: int) -> float | None:
    """:func:`process_rss_mb` of ``pid`` and the processes below it."""
    return _tree_sum(pid, process_rss_mb)


def thread_cpu_s(pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds of each thread of a process: {tid: (name, seconds)}, from /proc/PID/task."""
    threads = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return {}
    for task in tasks:
        try:
            head, _, rest = (task / "stat").read_text().rpartition(")")
            fields = rest.split()
        except OSError:
            continue  # the thread ended meanwhile
        threads[int(task.name)] = (head.partition("(")[2], (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return threads
