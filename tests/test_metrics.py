"""Prometheus metrics, scraped over HTTP from a live server while it works."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from jobmatch.client import JobMatchClient, JobMatchClientError
from tests.conftest import make_settings
from tests.support.server import ServerThread

KEY = "metrics-test-key-0001"


def scrape(server: ServerThread) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{server.app.metrics_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def server(jobbert_path: Path) -> Iterator[ServerThread]:
    """Metrics on a free port, an API key (refusals are counted too), tiny batches so a queue builds up."""
    settings = make_settings(
        [f"jobbert={jobbert_path}"], metrics_port=0, api_keys=[KEY], max_batch_size=2, max_batch_wait_ms=0
    )
    with ServerThread(settings, load_models=False) as running:
        yield running


def test_model_state_follows_loading(server: ServerThread) -> None:
    before = scrape(server)
    assert value(before, "jobmatch_model_loaded", model="jobbert") == 0
    assert value(before, "jobmatch_serving") == 0
    server.run(server.app.load_models())
    after = scrape(server)
    assert value(after, "jobmatch_model_loaded", model="jobbert") == 1
    assert value(after, "jobmatch_serving") == 1


def test_values_move_while_the_server_works(server: ServerThread) -> None:
    before = scrape(server)
    embed = {"service": "jobmatch.v1.EmbeddingService", "method": "Embed"}
    stream = {"service": "jobmatch.v1.EmbeddingService", "method": "EmbedStream"}
    with JobMatchClient(server.target, timeout=60, api_key=KEY, chunk_size=2048) as client:
        big = threading.Thread(
            target=client.embed, args=([f"title {i}" for i in range(1500)],), kwargs={"side": "anchor"}
        )
        big.start()
        deepest = 0.0
        deadline = time.monotonic() + 20
        while big.is_alive() and time.monotonic() < deadline:  # scrape while the queue drains 2 inputs a batch
            deepest = max(deepest, value(scrape(server), "jobmatch_queue_inputs"))
            time.sleep(0.01)
        big.join(60)
        assert len(list(client.embed_stream(["nurse", "cook", "baker"], side="positive"))) == 3
        with pytest.raises(JobMatchClientError):
            client.embed([""], side="anchor")
    with JobMatchClient(server.target, timeout=10, max_attempts=1) as anonymous, pytest.raises(JobMatchClientError):
        anonymous.list_models()
    refused = {"service": "jobmatch.v1.EmbeddingService", "method": "ListModels", "code": "UNAUTHENTICATED"}
    after = scrape(server)
    deadline = time.monotonic() + 5
    # The status reaches the client before the server's handler returns and counts it: wait for that.
    while value(after, "jobmatch_rpc_errors_total", **refused) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
        after = scrape(server)

    assert deepest > 0, "the queue depth never showed a waiting input"
    assert value(after, "jobmatch_queue_capacity_inputs") == 8192
    assert value(after, "jobmatch_batch_inputs_count") - value(before, "jobmatch_batch_inputs_count") >= 750
    assert value(after, "jobmatch_batch_inputs_sum") - value(before, "jobmatch_batch_inputs_sum") >= 1503
    assert value(after, "jobmatch_batch_inputs_bucket", le="2.0") == value(after, "jobmatch_batch_inputs_count")
    assert value(after, "jobmatch_batch_tokens_sum") > value(before, "jobmatch_batch_tokens_sum")
    assert value(after, "jobmatch_batch_duration_seconds_sum") > 0
    assert value(after, "jobmatch_embedded_inputs_total") >= 1503
    assert (
        value(after, "jobmatch_rpc_duration_seconds_count", **embed)
        - value(before, "jobmatch_rpc_duration_seconds_count", **embed)
        == 2
    )  # the big call and the empty input
    assert value(after, "jobmatch_rpc_duration_seconds_sum", **embed) > 0.01
    assert value(after, "jobmatch_rpc_duration_seconds_count", **stream) == 1
    assert value(after, "jobmatch_rpc_errors_total", **embed, code="INVALID_ARGUMENT") == 1
    assert value(after, "jobmatch_rpc_errors_total", **refused) == 1
    assert value(after, "jobmatch_rpc_errors_total", **embed, code="OK") == 0


def test_names_follow_prometheus_conventions(server: ServerThread) -> None:
    names = {name for name, _ in scrape(server)}
    ours = {name for name in names if not name.startswith(("python_", "process_"))}
    assert ours, names
    assert all(name.startswith("jobmatch_") for name in ours), ours
    counters = [name for name in ours if name.startswith("jobmatch_rpc_errors") and not name.endswith("_created")]
    assert counters == ["jobmatch_rpc_errors_total"], ours
    assert {"jobmatch_rpc_duration_seconds_bucket", "jobmatch_batch_duration_seconds_bucket"} <= ours
    # Each server has its own registry: nothing lands in the process-wide one.
    assert not [m for m in REGISTRY.collect() if m.name.startswith("jobmatch_")]


def test_metrics_are_off_unless_a_port_is_set(jobbert_path: Path) -> None:
    with ServerThread(make_settings([f"jobbert={jobbert_path}"]), load_models=False) as plain:
        assert plain.app.metrics is None
        assert plain.app.metrics_port is None
        with grpc.insecure_channel(plain.target) as channel:
            grpc.channel_ready_future(channel).result(timeout=10)


def test_every_kind_of_handler_is_timed(server: ServerThread) -> None:
    """Health's Watch writes with context.write() instead of yielding: timing must not break it."""
    with grpc.insecure_channel(server.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        assert stub.Check(health_pb2.HealthCheckRequest(), timeout=10).status == health_pb2.HealthCheckResponse.SERVING
        watch = stub.Watch(health_pb2.HealthCheckRequest(), timeout=10)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        watch.cancel()
    check = {"service": "grpc.health.v1.Health", "method": "Check"}
    deadline = time.monotonic() + 10
    while value(scrape(server), "jobmatch_rpc_duration_seconds_count", service=check["service"], method="Watch") < 1:
        assert time.monotonic() < deadline, "the cancelled Watch was never recorded"
        time.sleep(0.05)
    samples = scrape(server)
    assert value(samples, "jobmatch_rpc_duration_seconds_count", **check) >= 1
    assert value(samples, "jobmatch_rpc_errors_total", service=check["service"], method="Watch", code="CANCELLED") == 1
