"""Every bad input and overload gets its status code, and abandoned work frees its slots."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sentence_transformers import SentenceTransformer

from jobmatch.client import JobMatchClient, JobMatchClientError
from jobmatch.v1 import embedding_pb2 as pb
from jobmatch.v1 import embedding_pb2_grpc as pb_grpc
from tests.conftest import make_settings
from tests.support.server import ServerThread

INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture
def stub(server: ServerThread) -> Iterator[pb_grpc.EmbeddingServiceStub]:
    with grpc.insecure_channel(server.target) as channel:
        yield pb_grpc.EmbeddingServiceStub(channel)


def status_of(stub: pb_grpc.EmbeddingServiceStub, **fields) -> tuple[grpc.StatusCode, str]:
    fields.setdefault("model", "jobbert")
    fields.setdefault("side", pb.SIDE_ANCHOR)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Embed(pb.EmbedRequest(**fields), timeout=30)
    return caught.value.code(), caught.value.details()


@pytest.mark.parametrize(
    ("fields", "code", "words"),
    [
        ({"inputs": []}, INVALID, ["no inputs"]),
        ({"inputs": ["nurse", ""]}, INVALID, ["input 1", "empty"]),
        ({"inputs": ["   "]}, INVALID, ["input 0", "empty"]),
        ({"inputs": ["x" * 100_001]}, INVALID, ["100001 characters", "100000"]),
        ({"inputs": ["nurse"] * 2049}, INVALID, ["2049 inputs", "2048"]),
        ({"inputs": ["nurse"], "model": "gpt-9"}, grpc.StatusCode.NOT_FOUND, ["gpt-9", "jobbert"]),
        ({"inputs": ["nurse"], "side": pb.SIDE_UNSPECIFIED}, INVALID, ["SIDE_ANCHOR", "SIDE_POSITIVE"]),
        ({"inputs": ["nurse"], "side": 7}, INVALID, ["unknown side 7"]),
        ({"inputs": ["nurse"], "encoding": 9}, INVALID, ["unknown encoding 9"]),
        ({"inputs": ["nurse"], "dimensions": 49}, INVALID, ["dimensions 49", "48"]),
    ],
)
def test_bad_requests_get_clear_statuses(stub, fields: dict, code: grpc.StatusCode, words: list[str]) -> None:
    got_code, details = status_of(stub, **fields)
    assert got_code == code
    for word in words:
        assert word in details


def test_too_long_input_names_token_count_and_limit(stub) -> None:
    text = " ".join(["engineer"] * 200)
    code, details = status_of(stub, inputs=["nurse", text])
    assert code == INVALID
    assert "input 1 has" in details
    assert "at most 64" in details
    assert "truncate" in details


def error_details(err: grpc.RpcError) -> dict[str, object]:
    """The google.rpc details of a failed call, by type name."""
    status = rpc_status.from_call(err)
    assert status is not None, "no rich status details"
    found: dict[str, object] = {}
    for detail in status.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.RetryInfo):
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                found[kind.__name__] = message
    return found


def test_errors_carry_reason_and_the_field_at_fault(stub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.Embed(pb.EmbedRequest(model="jobbert", side=pb.SIDE_ANCHOR, inputs=["nurse", " ".join(["a"] * 300)]))
    details = error_details(caught.value)
    assert details["ErrorInfo"].reason == "INPUT_TOO_LONG"
    assert details["ErrorInfo"].domain == "jobmatch.v1"
    assert details["BadRequest"].field_violations[0].field == "inputs[1]"
    assert "RetryInfo" not in details
    with pytest.raises(grpc.RpcError) as caught:
        stub.Embed(pb.EmbedRequest(model="nope", inputs=["nurse"]))
    assert error_details(caught.value)["ErrorInfo"].reason == "UNKNOWN_MODEL"


def test_truncate_cuts_to_the_model_limit(client: JobMatchClient, jobbert_path) -> None:
    text = " ".join(f"skill{i}" for i in range(300))
    got = client.embed([text], side="positive", model="jobbert", truncate=True, normalize=False)
    model = SentenceTransformer(str(jobbert_path))
    want = model.encode([text], task="positive")  # sentence-transformers truncates to max_seq_length too
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_symmetric_model_accepts_unspecified_side(stub) -> None:
    response = stub.Embed(pb.EmbedRequest(model="careerbert", inputs=["Pflegefachkraft"]))
    assert len(response.embeddings) == 1


@pytest.mark.parametrize("garbage", [b"\xff\xff\xff\xff", b"\x1a\x05ab", b"\x0a\xff\xff\xff\xff\x0f"])
def test_malformed_request_bytes_are_invalid_argument_not_unknown(server: ServerThread, garbage: bytes) -> None:
    with grpc.insecure_channel(server.target) as channel:
        raw = channel.unary_unary("/jobmatch.v1.EmbeddingService/Embed")
        with pytest.raises(grpc.RpcError) as caught:
            raw(garbage, timeout=10)
    assert caught.value.code() == INVALID
    assert "malformed jobmatch.v1.EmbedRequest" in caught.value.details()


def test_stream_reports_bad_requests_per_message_and_goes_on(stub) -> None:
    def request(i: str, **fields) -> pb.EmbedStreamRequest:
        fields.setdefault("side", pb.SIDE_ANCHOR)
        return pb.EmbedStreamRequest(id=i, request=pb.EmbedRequest(model="jobbert", **fields))

    requests = [
        request("ok-1", inputs=["nurse"]),
        request("empty", inputs=[]),
        request("no-side", inputs=["nurse"], side=pb.SIDE_UNSPECIFIED),
        pb.EmbedStreamRequest(id="missing-model", request=pb.EmbedRequest(model="nope", inputs=["x"])),
        request("ok-2", inputs=["driver", "cook"]),
    ]
    responses = list(stub.EmbedStream(iter(requests), timeout=30))
    by_id = {r.id: r for r in responses}
    assert [r.id for r in responses] == ["ok-1", "empty", "no-side", "missing-model", "ok-2"]
    assert len(by_id["ok-1"].response.embeddings) == 1
    assert by_id["empty"].error.code == INVALID.value[0]
    assert by_id["empty"].error.reason == "EMPTY_INPUT"
    assert by_id["no-side"].error.code == INVALID.value[0]
    assert (by_id["no-side"].error.reason, by_id["no-side"].error.field) == ("MISSING_SIDE", "side")
    assert by_id["missing-model"].error.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert len(by_id["ok-2"].response.embeddings) == 2


def test_stream_malformed_message_gets_an_error_response(server: ServerThread) -> None:
    good = pb.EmbedStreamRequest(
        id="good", request=pb.EmbedRequest(model="jobbert", side=pb.SIDE_ANCHOR, inputs=["nurse"])
    ).SerializeToString()
    with grpc.insecure_channel(server.target) as channel:
        raw = channel.stream_stream("/jobmatch.v1.EmbeddingService/EmbedStream")
        responses = [pb.EmbedStreamResponse.FromString(r) for r in raw(iter([b"\xff\xff", good]), timeout=10)]
    assert responses[0].error.code == INVALID.value[0]
    assert "malformed" in responses[0].error.message
    assert responses[1].id == "good"
    assert len(responses[1].response.embeddings) == 1


def test_client_errors_are_typed(client: JobMatchClient) -> None:
    with pytest.raises(JobMatchClientError) as caught:
        client.embed(["nurse"], model="jobbert")
    assert caught.value.code == INVALID
    assert (caught.value.reason, caught.value.field) == ("MISSING_SIDE", "side")
    with pytest.raises(JobMatchClientError) as caught:
        list(client.embed_stream(["nurse", ""], side="anchor", model="jobbert"))
    assert caught.value.code == INVALID
    assert caught.value.reason == "EMPTY_INPUT"
    with pytest.raises(ValueError, match="side must be"):
        client.embed(["nurse"], side="left")


# -- overload, deadlines, cancellation: a server kept busy by one long request ------------------

LONG_TEXT = " ".join(f"manage project budget {i}" for i in range(80))  # ~250 MiniLM tokens


@pytest.fixture
def busy_server(minilm) -> Iterator[ServerThread]:
    """MiniLM, one input per batch, a queue of 48 inputs: a 40-input request keeps it busy ~1 s."""
    settings = make_settings(
        [f"minilm={minilm}"],
        max_batch_size=1,
        max_queued_inputs=48,
        max_inputs_per_request=48,
        max_batch_wait_ms=0,
    )
    with ServerThread(settings) as running:
        yield running


def occupy(server: ServerThread, stub: pb_grpc.EmbeddingServiceStub, n_inputs: int = 40) -> grpc.Future:
    """Send a slow request and wait until most of it waits in the queue."""
    future = stub.Embed.future(pb.EmbedRequest(inputs=[LONG_TEXT] * n_inputs, truncate=True), timeout=120)
    deadline = time.monotonic() + 30
    while server.engine.queued_inputs < n_inputs // 2:
        assert time.monotonic() < deadline, "the slow request never queued"
        time.sleep(0.005)
    return future


def wait_until_idle(server: ServerThread) -> None:
    deadline = time.monotonic() + 60
    while server.engine.queued_inputs:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_full_queue_fails_unary_fast_but_streams_wait(busy_server: ServerThread) -> None:
    with grpc.insecure_channel(busy_server.target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        slow = occupy(busy_server, stub)
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as caught:
            stub.Embed(pb.EmbedRequest(inputs=["nurse"] * 20), timeout=30)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "queue is full" in caught.value.details()
        details = error_details(caught.value)
        assert details["ErrorInfo"].reason == "QUEUE_FULL"
        assert details["RetryInfo"].retry_delay.ToMilliseconds() > 0
        assert time.monotonic() - started < 0.5  # failed fast, did not wait for room
        stream = [pb.EmbedStreamRequest(id="s", request=pb.EmbedRequest(inputs=["nurse"] * 20))]
        (answer,) = list(stub.EmbedStream(iter(stream), timeout=60))
        assert answer.id == "s"
        assert len(answer.response.embeddings) == 20  # waited for room instead of failing
        assert len(slow.result().embeddings) == 40


def test_expired_deadline_is_dropped_before_batching(busy_server: ServerThread) -> None:
    stats = busy_server.engine.worker_stats
    with grpc.insecure_channel(busy_server.target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        slow = occupy(busy_server, stub, n_inputs=30)
        embedded_before, dropped_before = stats.embedded_inputs, stats.dropped_inputs
        with pytest.raises(grpc.RpcError) as caught:
            stub.Embed(pb.EmbedRequest(inputs=["nurse"] * 8), timeout=0.2)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        slow.result()
        wait_until_idle(busy_server)
    assert stats.dropped_inputs - dropped_before == 8
    assert stats.embedded_inputs - embedded_before <= 30  # only the slow request's inputs ran
    with JobMatchClient(busy_server.target) as client:  # the slots are free again
        assert client.embed(["nurse"] * 48).shape == (48, 384)


def test_cancelled_call_frees_its_slots(busy_server: ServerThread) -> None:
    stats = busy_server.engine.worker_stats
    with grpc.insecure_channel(busy_server.target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        slow = occupy(busy_server, stub, n_inputs=30)
        dropped_before = stats.dropped_inputs
        doomed = stub.Embed.future(pb.EmbedRequest(inputs=["nurse"] * 10), timeout=60)
        time.sleep(0.1)
        assert doomed.cancel()
        slow.result()
        wait_until_idle(busy_server)
    assert stats.dropped_inputs - dropped_before == 10
    with JobMatchClient(busy_server.target) as client:
        assert client.embed(["nurse"] * 48).shape == (48, 384)


def test_vanished_stream_client_leaves_no_work_behind(busy_server: ServerThread) -> None:
    with grpc.insecure_channel(busy_server.target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        slow = occupy(busy_server, stub, n_inputs=30)
        requests = (pb.EmbedStreamRequest(id=str(i), request=pb.EmbedRequest(inputs=["cook"])) for i in range(10))
        call = stub.EmbedStream(requests, timeout=60)
        time.sleep(0.2)
        call.cancel()
        slow.result()
    wait_until_idle(busy_server)
    with JobMatchClient(busy_server.target) as client:
        assert client.embed(["nurse"] * 48).shape == (48, 384)


def test_client_counts_input_indexes_across_chunks(server: ServerThread) -> None:
    texts = [f"cook {i}" for i in range(30)]
    texts[23] = ""
    with JobMatchClient(server.target, chunk_size=10) as client, pytest.raises(JobMatchClientError) as caught:
        client.embed(texts, side="anchor", model="jobbert")
    assert caught.value.field == "inputs[23]"
    assert "input 23 is empty" in str(caught.value)


def test_async_client_errors_are_typed_too(server: ServerThread) -> None:
    from jobmatch.client import AsyncJobMatchClient

    async def call() -> JobMatchClientError:
        async with AsyncJobMatchClient(server.target) as client:
            with pytest.raises(JobMatchClientError) as caught:
                await client.embed(["nurse", "x" * 200_000], side="anchor", model="jobbert")
            return caught.value

    error = asyncio.run(call())
    assert (error.code, error.reason, error.field) == (INVALID, "INPUT_TOO_LONG", "inputs[1]")
