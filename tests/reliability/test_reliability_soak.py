"""Soak: 256 concurrent callers, unary and streaming, both sides, three models, against a server whose
small queue overflows. Every vector is checked against a reference of the caller's own text."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.support.load import LoadShape, build_lanes, run_load
from tests.support.server_process import ServerProcess

CALLERS = 256
SOAK_S = 15.0
TARGETS = [
    ("jobbert", "anchor"),
    ("jobbert", "positive"),
    ("jobbert2", "anchor"),
    ("jobbert2", "positive"),
    ("careerbert", None),
]
LATE_RSS_GROWTH_MB = 64  # the server's memory after warm-up may move by allocator noise, not grow with calls


@pytest.mark.timeout(240)
def test_soak_256_callers_lose_nothing_and_get_only_their_own_vectors(
    jobbert_path: Path, other_jobbert_path: Path, symmetric_path: Path, record_property
) -> None:
    models = {"jobbert": jobbert_path, "jobbert2": other_jobbert_path, "careerbert": symmetric_path}
    arguments = [arg for name, path in models.items() for arg in ("--model", f"{name}={path}")]
    # A queue far smaller than 256 callers' inputs: unary calls really get RESOURCE_EXHAUSTED.
    arguments += ["--max-queued-inputs", "128", "--max-inputs-per-request", "8", "--log-level", "WARNING"]
    server = ServerProcess(arguments).start()  # loads while the references are computed
    try:
        lanes = build_lanes(models, TARGETS, CALLERS, texts_per_caller=4)
        with server:
            report = asyncio.run(run_load(server.target, lanes, LoadShape(duration_s=SOAK_S), server_pid=server.pid))
            assert server.terminate() == 0, server.log()[-2000:]
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
    assert report.stream_messages > CALLERS
    half = len(report.rss_mb) // 2
    assert max(report.rss_mb[half:]) - max(report.rss_mb[:half]) < LATE_RSS_GROWTH_MB, report.rss_mb
