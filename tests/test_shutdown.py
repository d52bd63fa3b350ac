"""`jobmatch serve` as a real process: SIGTERM under load, JSON logs, bad settings at start-up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from jobmatch.client import JobMatchClient, JobMatchClientError
from tests.support.server_process import ServerProcess, free_port

GRACE_S = 20.0
BIG_CALL = [f"job title number {i}" for i in range(4000)]


def queued_inputs(metrics_port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
        lines = response.read().decode().splitlines()
    return next(float(line.split()[1]) for line in lines if line.startswith("jobmatch_queue_inputs "))


@pytest.fixture
def served(jobbert_path: Path) -> Iterator[tuple[ServerProcess, int]]:
    """The server process, one forward pass per input so a big call stays in flight for a while;
    and its metrics port."""
    metrics_port = free_port()
    arguments = [
        "--model", f"jobbert={jobbert_path}", "--max-batch-size", "1", "--max-batch-wait-ms", "0",
        "--grace-period-s", str(GRACE_S), "--log-format", "json",
        "--max-inputs-per-request", str(len(BIG_CALL)), "--metrics-port", str(metrics_port),
    ]  # fmt: skip
    with ServerProcess(arguments) as server:
        yield server, metrics_port


def test_sigterm_drains_in_flight_work_and_refuses_new_calls(served: tuple[ServerProcess, int]) -> None:
    server, metrics_port = served
    target, process = server.target, server.process
    results: dict[str, object] = {}

    def big_call() -> None:
        with JobMatchClient(target, timeout=120, chunk_size=len(BIG_CALL), max_attempts=1) as client:
            results["vectors"] = client.embed(BIG_CALL, side="anchor")

    with grpc.insecure_channel(target) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(), timeout=60)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        caller = threading.Thread(target=big_call)
        caller.start()
        deadline = time.monotonic() + 30
        while queued_inputs(metrics_port) == 0 and time.monotonic() < deadline:  # wait until it is admitted
            time.sleep(0.02)
        assert caller.is_alive(), "the big call finished before SIGTERM: make it bigger"
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()

    with JobMatchClient(target, timeout=10, max_attempts=1) as late, pytest.raises(JobMatchClientError) as refused:
        late.embed(["nurse"], side="anchor")
    assert refused.value.code == grpc.StatusCode.UNAVAILABLE
    assert caller.is_alive(), "the new call was tried after the in-flight one ended: nothing was proven"

    caller.join(GRACE_S + 30)
    assert process.wait(GRACE_S + 30) == 0
    elapsed = time.monotonic() - signalled
    assert elapsed < GRACE_S, f"exit took {elapsed:.1f} s, more than the grace period"
    vectors = results.get("vectors")
    assert isinstance(vectors, np.ndarray), f"the in-flight call did not complete: {results}"
    assert vectors.shape == (len(BIG_CALL), 48)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    # Every log record is one JSON object per line (progress bars of weight loading are not log records).
    records = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    messages = [r["message"] for r in records]
    assert any(m.startswith("shutting down") for m in messages), messages
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)


def test_invalid_settings_stop_the_server_at_start_up(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "JOBMATCH_MAX_BATCH_SIZE": "0"}
    command = [sys.executable, "-m", "jobmatch.cli", "serve", "--port", "70000", "--qdrant-path", str(tmp_path)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "invalid settings" in result.stderr
    assert "port" in result.stderr
    assert "max_batch_size" in result.stderr
    assert "Traceback" not in result.stderr
