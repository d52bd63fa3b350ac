"""Soak: 256 concurrent callers, unary and streaming, both sides, three models, against a server whose
small queue overflows; SIGTERM in the last seconds, under that load. Every vector is checked against a
reference of the caller's own text, and no response may be lost in the drain."""

from __future__ import annotations

import asyncio
import functools
import json
import signal
from pathlib import Path

import pytest

from tests.support.load import LoadShape, build_lanes, run_load
from tests.support.server_process import ServerProcess

CALLERS = 256
SOAK_S = 15.0
SIGTERM_AT_S = 12.0
TARGETS = [
    ("jobbert", "anchor"),
    ("jobbert", "positive"),
    ("jobbert2", "anchor"),
    ("jobbert2", "positive"),
    ("careerbert", None),
]
LATE_RSS_GROWTH_MB = 64  # the server's memory after warm-up may move by allocator noise, not grow with calls


@pytest.mark.timeout(240)
def test_soak_256_callers_lose_nothing_and_get_only_their_own_vectors_then_sigterm_drains(
    jobbert_path: Path, other_jobbert_path: Path, symmetric_path: Path, record_property
) -> None:
    models = {"jobbert": jobbert_path, "jobbert2": other_jobbert_path, "careerbert": symmetric_path}
    arguments = [arg for name, path in models.items() for arg in ("--model", f"{name}={path}")]
    # A queue far smaller than 256 callers' inputs: unary calls really get RESOURCE_EXHAUSTED.
    arguments += ["--max-queued-inputs", "64", "--max-inputs-per-request", "8", "--log-level", "WARNING"]
    server = ServerProcess(arguments).start()  # loads while the references are computed
    try:
        lanes = build_lanes(models, TARGETS, CALLERS, texts_per_caller=4)
        with server:
            stop = functools.partial(server.process.send_signal, signal.SIGTERM)
            shape = LoadShape(duration_s=SOAK_S)
            report = asyncio.run(
                run_load(
                    server.target, lanes, shape, server_pid=server.pid, stop_server=stop, stop_after_s=SIGTERM_AT_S
                )
            )
            assert server.process.wait(60) == 0, server.log()[-2000:]  # drained and exited cleanly
    finally:
        server.kill()
    summary = report.summary()
    record_property("soak", json.dumps(summary))
    print("soak:", json.dumps(summary))
    assert report.errors == {}, summary["error_examples"]
    assert report.wrong_vectors == 0
    assert report.out_of_order == 0
    assert report.overload_retries > 0, "the queue never overflowed: the overload path went untested"
    assert len(report.callers_served) == CALLERS  # every caller, retrying, got correct vectors
    assert report.unary_calls > CALLERS
    assert report.refused_after_stop > 0, "SIGTERM did not meet any load"
    assert report.streams_drained > 0  # streams open at SIGTERM ended cleanly, every message answered
    assert report.stream_messages > CALLERS
    half = len(report.rss_mb) // 2
    assert max(report.rss_mb[half:]) - max(report.rss_mb[:half]) < LATE_RSS_GROWTH_MB, report.rss_mb
