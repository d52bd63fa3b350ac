"""Deadlines that expire while queued or while running, and a client killed mid-stream: made
deterministic with a model whose every forward pass takes SLOW_S seconds (one input per batch)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from jobmatch.v1 import embedding_pb2 as pb
from jobmatch.v1 import embedding_pb2_grpc as pb_grpc
from tests.conftest import make_settings
from tests.support.server import ServerThread
from tests.support.slow_model import build_slow_jobbert

SLOW_S = 0.25
ROUND = 4  # inputs the worker takes per round: max_batch_size (1) x ROUND_BATCHES


@pytest.fixture(scope="module")
def slow_server(models_dir: Path) -> Iterator[ServerThread]:
    path = build_slow_jobbert(models_dir / "slow-jobbert", SLOW_S)
    settings = make_settings(  # one worker: its rounds are what the tests count (unset, it depends on torch's threads)
        [f"slow={path}"], trust_remote_code=True, max_batch_size=1, max_batch_wait_ms=0, device_workers=1
    )
    with ServerThread(settings) as running:
        yield running


@pytest.fixture
def stub(slow_server: ServerThread) -> Iterator[pb_grpc.EmbeddingServiceStub]:
    with grpc.insecure_channel(slow_server.target) as channel:
        yield pb_grpc.EmbeddingServiceStub(channel)


def request(*texts: str) -> pb.EmbedRequest:
    return pb.EmbedRequest(side=pb.SIDE_ANCHOR, inputs=list(texts))


def wait_for(condition: Callable[[], bool], what: str, limit_s: float = 30) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def counters(server: ServerThread) -> tuple[int, int]:
    """The device worker's (inputs embedded, inputs dropped unrun) since start."""
    stats = server.engine.worker_stats
    return stats.embedded_inputs, stats.dropped_inputs


def settle(server: ServerThread) -> tuple[int, int]:
    """Wait until the queue is empty and the worker idle; the worker's (embedded, dropped) counters."""
    wait_for(lambda: server.engine.queued_inputs == 0, "an empty queue")
    last = None
    while last != counters(server):  # idle: no input finished for two forward passes
        last = counters(server)
        time.sleep(2 * SLOW_S)
    return last


def test_a_deadline_that_expires_while_queued_drops_the_work_unrun(slow_server: ServerThread, stub) -> None:
    embedded, dropped = settle(slow_server)
    blocker = stub.Embed.future(request(*(f"cook {i}" for i in range(ROUND + 1))), timeout=60)
    wait_for(lambda: slow_server.engine.queued_inputs == 1, "the worker to take a full round")  # busy ~1 s
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        stub.Embed(request("nurse", "driver", "welder"), timeout=0.3)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < ROUND * SLOW_S  # answered at its deadline, not when the worker got to it
    assert len(blocker.result().embeddings) == ROUND + 1
    now_embedded, now_dropped = settle(slow_server)
    assert now_embedded - embedded == ROUND + 1  # only the blocker ran
    assert now_dropped - dropped == 3


def test_a_deadline_that_expires_while_running_stops_the_rest_of_the_request(slow_server: ServerThread, stub) -> None:
    embedded, dropped = settle(slow_server)
    texts = [f"teacher {i}" for i in range(2 * ROUND)]  # 2 s of forward passes, one input each
    with pytest.raises(grpc.RpcError) as caught:
        stub.Embed(request(*texts), timeout=0.6)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    now_embedded, now_dropped = settle(slow_server)
    ran, skipped = now_embedded - embedded, now_dropped - dropped
    assert ran + skipped == len(texts)
    assert 1 <= ran <= ROUND  # it was running when the deadline passed, and stopped within its round
    assert skipped >= ROUND
    assert len(stub.Embed(request("nurse"), timeout=30).embeddings) == 1  # the worker serves on


CLIENT = """
import sys, time, grpc
from jobmatch.v1 import embedding_pb2 as pb, embedding_pb2_grpc as pb_grpc

def requests():
    for i in range(int(sys.argv[2])):
        yield pb.EmbedStreamRequest(id=str(i), request=pb.EmbedRequest(side=pb.SIDE_ANCHOR, inputs=[f"cook {i}"]))
    print("sent", flush=True)
    time.sleep(600)  # keep the stream open until killed

for _ in pb_grpc.EmbeddingServiceStub(grpc.insecure_channel(sys.argv[1])).EmbedStream(requests()):
    pass
"""


def test_a_client_killed_mid_stream_leaves_no_work_and_others_are_served(slow_server: ServerThread, stub) -> None:
    embedded, dropped = settle(slow_server)
    sent = 5 * ROUND
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, slow_server.target, str(sent)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert client.stdout is not None
        assert client.stdout.readline().strip() == "sent"
        wait_for(lambda: slow_server.engine.queued_inputs >= sent - ROUND, "the stream's inputs to queue")
        client.kill()  # SIGKILL: no goodbye, the connection just drops
        client.wait(10)
        other = stub.Embed.future(request("nurse practitioner"), timeout=30)  # queued behind the dead stream's work
        started = time.monotonic()
        vector = other.result().embeddings[0].values
    finally:
        client.kill()
    assert time.monotonic() - started < sent * SLOW_S / 2  # the dead stream's queued inputs did not run first
    reference = stub.Embed(request("nurse practitioner"), timeout=30).embeddings[0].values
    np.testing.assert_allclose(vector, reference, atol=1e-5)
    now_embedded, now_dropped = settle(slow_server)
    assert now_dropped - dropped >= sent - 2 * ROUND  # the rest was dropped, not run
    assert now_embedded - embedded <= 2 * ROUND + 2
