"""MatchOccupationsBatch through a live server: each query answered as MatchOccupations answers it, in order,
a failed query with its own error; the limits, the deadline and the readiness of the whole call; the clients."""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from jobmatch.client import (
    AsyncJobMatchClient,
    JobMatchClient,
    JobMatchClientError,
    MatchQuery,
    MatchResult,
    OccupationMatches,
)
from jobmatch.v1 import match_pb2 as pb
from jobmatch.v1 import match_pb2_grpc as pb_grpc
from tests.conftest import make_settings
from tests.support.esco_bundle import ESCO_FIXTURE
from tests.support.server import ServerThread

INVALID = grpc.StatusCode.INVALID_ARGUMENT
MAX_CHARS = 10_000  # above every ESCO text the sync embeds
MAX_QUERIES = 120
MAX_MESSAGE_BYTES = 512 * 1024  # 120 queries' answers fit (~440 kB); with descriptions they do not (~620 kB)
TITLES = ["technical director", "radiographer", "art director", "fleet commander", "general practitioner"]
# Every way a query can fail, with the reason MatchOccupations gives.
BAD_QUERIES = {
    "empty": (pb.MatchOccupationsRequest(query=""), "INVALID_QUERY"),
    "whitespace": (pb.MatchOccupationsRequest(query="  \t "), "INVALID_QUERY"),
    "no letters": (pb.MatchOccupationsRequest(query="--- 123 !!!"), "INVALID_QUERY"),
    "too long": (pb.MatchOccupationsRequest(query="radiographer " * 800), "INPUT_TOO_LONG"),
    "top_k over the maximum": (pb.MatchOccupationsRequest(query="radiographer", top_k=101), "INVALID_QUERY"),
    "NaN min_score": (pb.MatchOccupationsRequest(query="radiographer", min_score=math.nan), "INVALID_QUERY"),
    "unknown kind": (pb.MatchOccupationsRequest(query="radiographer", kind=9), "INVALID_QUERY"),
    "bad ISCO prefix": (pb.MatchOccupationsRequest(query="radiographer", isco_group_prefixes=["2x"]), "INVALID_FILTER"),
    "unsynced language": (pb.MatchOccupationsRequest(query="radiographer", language="fr"), "INVALID_FILTER"),
}


@pytest.fixture(scope="module")
def batcher(jobbert_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    settings = make_settings(
        [f"jobbert={jobbert_path}"],
        qdrant_path=tmp_path_factory.mktemp("qdrant-batch"),
        esco_dirs=[ESCO_FIXTURE / "v1.1.1"],
        auto_sync=True,
        max_input_chars=MAX_CHARS,
        max_batch_queries=MAX_QUERIES,
        batch_concurrency=4,
        max_message_bytes=MAX_MESSAGE_BYTES,
        metrics_port=0,
    )
    with ServerThread(settings) as running:
        yield running


@pytest.fixture(scope="module")
def stub(batcher: ServerThread) -> Iterator[pb_grpc.MatchServiceStub]:
    with grpc.insecure_channel(batcher.target) as channel:
        yield pb_grpc.MatchServiceStub(channel)


def good_queries() -> list[pb.MatchOccupationsRequest]:
    """Queries with every option, in an order no sorting would give back."""
    requests = []
    for i in range(40):
        request = pb.MatchOccupationsRequest(query=f"{TITLES[i * 7 % 5]} {i}", top_k=1 + i % 6, kind=i % 4)
        if i % 3 == 0:
            request.min_score = 0.2 * (i % 5)
        request.include_descriptions = i % 5 == 0
        if i % 4 == 1:
            request.isco_group_prefixes.append("2")
        request.language = "en" if i % 2 else ""
        requests.append(request)
    return requests


def unary(stub: pb_grpc.MatchServiceStub, request: pb.MatchOccupationsRequest) -> pb.MatchOccupationsResult:
    """What MatchOccupations says to `request`, in the form a batch result takes."""
    try:
        return pb.MatchOccupationsResult(response=stub.MatchOccupations(request, timeout=30))
    except grpc.RpcError as err:
        error = JobMatchClientError.from_rpc_error(err)
        return pb.MatchOccupationsResult(
            error={
                "code": err.code().value[0],
                "message": error.message,
                "reason": error.reason,
                "field": error.field or "",
            }
        )


def same_result(got: pb.MatchOccupationsResult, expected: pb.MatchOccupationsResult) -> bool:
    """Equal, scores within float noise: a forward pass batched with other texts differs in the last bits."""
    scores = [[m.score for m in r.response.matches] for r in (got, expected)]
    if scores[0] != pytest.approx(scores[1], abs=1e-5):
        return False
    unscored = [pb.MatchOccupationsResult(), pb.MatchOccupationsResult()]
    for copy, result in zip(unscored, (got, expected), strict=True):
        copy.CopyFrom(result)
        for match in copy.response.matches:
            match.score = 0
    return unscored[0] == unscored[1]


def test_each_query_gets_the_unary_answer_or_error_in_order(stub: pb_grpc.MatchServiceStub) -> None:
    good = good_queries()
    bad = [request for request, _ in BAD_QUERIES.values()]
    queries = [*good[:20], *bad, *good[20:]]  # failures among the answers: the others still come, in order
    response = stub.MatchOccupationsBatch(pb.MatchOccupationsBatchRequest(queries=queries), timeout=60)
    assert len(response.results) == len(queries)
    for position, (request, result) in enumerate(zip(queries, response.results, strict=True)):
        assert same_result(result, unary(stub, request)), (position, request)
    errors = [r.error for r in response.results if r.HasField("error")]
    assert [e.reason for e in errors] == [reason for _, reason in BAD_QUERIES.values()]
    assert {e.code for e in errors} == {grpc.StatusCode.INVALID_ARGUMENT.value[0]}
    assert all(e.retry_delay_ms == 0 for e in errors)
    assert all(e.field for e in errors)  # each names the field at fault, as the unary call's BadRequest does
    assert all(r.response.matches for r in response.results if r.HasField("response"))


def test_a_query_over_the_character_limit_is_input_too_long_in_the_unary_call_too(
    stub: pb_grpc.MatchServiceStub,
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.MatchOccupations(pb.MatchOccupationsRequest(query="x" * (MAX_CHARS + 1)), timeout=30)
    error = JobMatchClientError.from_rpc_error(caught.value)
    assert (error.code, error.reason, error.field) == (grpc.StatusCode.INVALID_ARGUMENT, "INPUT_TOO_LONG", "query")
    assert f"the limit is {MAX_CHARS}" in error.message
    assert stub.MatchOccupations(pb.MatchOccupationsRequest(query="x" * (MAX_CHARS - 1) + "y"), timeout=30).matches


@pytest.mark.parametrize(
    ("queries", "reason"),
    [([pb.MatchOccupationsRequest(query="cook")] * (MAX_QUERIES + 1), "TOO_MANY_INPUTS"), ([], "EMPTY_INPUT")],
    ids=["over the limit", "no queries"],
)
def test_a_batch_over_the_limit_or_empty_fails_as_a_whole(
    stub: pb_grpc.MatchServiceStub, queries: list[pb.MatchOccupationsRequest], reason: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.MatchOccupationsBatch(pb.MatchOccupationsBatchRequest(queries=queries), timeout=30)
    error = JobMatchClientError.from_rpc_error(caught.value)
    assert (error.code, error.reason, error.field) == (grpc.StatusCode.INVALID_ARGUMENT, reason, "queries")
    full = [pb.MatchOccupationsRequest(query=TITLES[i % 5]) for i in range(MAX_QUERIES)]
    assert len(stub.MatchOccupationsBatch(pb.MatchOccupationsBatchRequest(queries=full), timeout=60).results) == 120


def test_answers_over_the_message_limit_are_a_clear_error_not_retried(stub: pb_grpc.MatchServiceStub) -> None:
    described = [pb.MatchOccupationsRequest(query=TITLES[i % 5], include_descriptions=True) for i in range(120)]
    with pytest.raises(grpc.RpcError) as caught:
        stub.MatchOccupationsBatch(pb.MatchOccupationsBatchRequest(queries=described), timeout=60)
    error = JobMatchClientError.from_rpc_error(caught.value)
    assert (error.code, error.reason, error.field) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "RESPONSE_TOO_LARGE",
        "queries",
    )
    assert f"over the server's --max-message-bytes ({MAX_MESSAGE_BYTES:,})" in error.message
    fitting = int(re.search(r"send at most about (\d+) such queries", error.message)[1])
    request = pb.MatchOccupationsBatchRequest(queries=described[:fitting])
    assert len(stub.MatchOccupationsBatch(request, timeout=60).results) == fitting


def test_malformed_batch_bytes_are_invalid_argument(batcher: ServerThread) -> None:
    with grpc.insecure_channel(batcher.target) as channel, pytest.raises(grpc.RpcError) as caught:
        channel.unary_unary("/jobmatch.v1.MatchService/MatchOccupationsBatch")(b"\x0a\xff\xff", timeout=10)
    assert JobMatchClientError.from_rpc_error(caught.value).reason == "MALFORMED_REQUEST"


def _embedded(server: ServerThread) -> int:
    return server.engine.worker_stats.embedded_inputs


def _settled(server: ServerThread, quiet_s: float = 0.5, limit_s: float = 10.0) -> int:
    """The engine's embedded-input count once it stopped moving for `quiet_s`."""
    deadline = time.monotonic() + limit_s
    last = _embedded(server)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = _embedded(server)
        if now == last:
            return now
        last = now
    raise AssertionError("the server kept embedding")


@pytest.mark.parametrize("ending", ["deadline", "cancel"])
def test_a_deadline_or_a_cancellation_ends_the_batch_and_its_work(
    batcher: ServerThread, stub: pb_grpc.MatchServiceStub, ending: str
) -> None:
    queries = [pb.MatchOccupationsRequest(query=f"{TITLES[i % 5]} number {i}") for i in range(MAX_QUERIES)]
    request = pb.MatchOccupationsBatchRequest(queries=queries)
    before = _settled(batcher)
    started = time.monotonic()
    stub.MatchOccupationsBatch(request, timeout=60)
    whole_s = time.monotonic() - started
    whole = _settled(batcher) - before
    before += whole
    if ending == "deadline":
        with pytest.raises(grpc.RpcError) as caught:
            stub.MatchOccupationsBatch(request, timeout=whole_s / 10)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    else:
        call = stub.MatchOccupationsBatch.future(request, timeout=60)
        time.sleep(whole_s / 10)
        assert call.cancel()
    # The queries still waiting are never started: far fewer than the whole batch's inputs get embedded.
    assert _settled(batcher) - before < whole / 2
    assert len(stub.MatchOccupationsBatch(pb.MatchOccupationsBatchRequest(queries=queries[:3]), timeout=30).results)


def test_readiness_is_the_whole_calls_and_a_missing_index_each_querys(jobbert_path: Path) -> None:
    """While loading, the call is UNAVAILABLE (retryable as a whole); an index never synced fails each query
    with FAILED_PRECONDITION, as each unary call would."""
    queries = pb.MatchOccupationsBatchRequest(queries=[pb.MatchOccupationsRequest(query="cook")] * 2)
    with (
        ServerThread(make_settings([f"jobbert={jobbert_path}"]), load_models=False) as server,
        grpc.insecure_channel(server.target) as channel,
    ):
        batch = pb_grpc.MatchServiceStub(channel).MatchOccupationsBatch
        with pytest.raises(grpc.RpcError) as caught:
            batch(queries, timeout=10)
        error = JobMatchClientError.from_rpc_error(caught.value)
        assert (error.code, error.reason) == (grpc.StatusCode.UNAVAILABLE, "NOT_READY")
        server.run(server.app.load_models())
        results = batch(queries, timeout=30).results
    assert [r.error.reason for r in results] == ["INDEX_NOT_FOUND"] * 2
    assert {r.error.code for r in results} == {grpc.StatusCode.FAILED_PRECONDITION.value[0]}


def test_the_batch_rpc_is_counted_like_the_others(batcher: ServerThread, stub: pb_grpc.MatchServiceStub) -> None:
    assert batcher.app.metrics is not None
    labels = {"service": "jobmatch.v1.MatchService", "method": "MatchOccupationsBatch"}
    before = batcher.app.metrics.registry.get_sample_value("jobmatch_rpc_duration_seconds_count", labels) or 0
    stub.MatchOccupationsBatch(pb.MatchOccupationsBatchRequest(queries=[pb.MatchOccupationsRequest(query="cook")]))
    assert batcher.app.metrics.registry.get_sample_value("jobmatch_rpc_duration_seconds_count", labels) == before + 1


# --- the Python clients ---------------------------------------------------------------------------


CLIENT_QUERIES: list[str | MatchQuery] = [
    *(f"{TITLES[i % 5]} {i}" for i in range(12)),
    "",
    MatchQuery("radiographer", kind="skills", top_k=2, min_score=0.0),
    MatchQuery("radiographer", top_k=101),
    MatchQuery("art director", include_descriptions=True, isco_prefixes=["2"], language="en"),
    *(f"{TITLES[i % 5]} {i}" for i in range(12, 20)),
]


def test_the_client_batches_in_chunks_and_answers_in_order(batcher: ServerThread) -> None:
    with JobMatchClient(batcher.target, timeout=60, max_in_flight=3) as client:
        results = client.match_occupations_batch(CLIENT_QUERIES, top_k=3, batch_size=5)
        assert [r.index for r in results] == list(range(len(CLIENT_QUERIES)))
        for query, result in zip(CLIENT_QUERIES, results, strict=True):
            one = query if isinstance(query, MatchQuery) else MatchQuery(query, top_k=3)
            assert result.query == one.query
            assert _unary_outcome(client, one) == _outcome(result)
        assert [r.index for r in results if not r.ok] == [12, 14]


def _unary_outcome(client: JobMatchClient, query: MatchQuery) -> tuple:
    try:
        matches = client.match_occupations(
            query.query,
            kind=query.kind,
            top_k=query.top_k,
            language=query.language,
            isco_prefixes=query.isco_prefixes,
            include_descriptions=query.include_descriptions,
            min_score=query.min_score,
        )
    except JobMatchClientError as error:
        return ("error", error.code, error.reason, error.field, error.message)
    return _answer(matches, approx=True)


def _outcome(result: MatchResult) -> tuple:
    if result.error is not None:
        with pytest.raises(JobMatchClientError):
            result.result()
        return ("error", result.error.code, result.error.reason, result.error.field, result.error.message)
    return _answer(result.result())


def _answer(matches: OccupationMatches, *, approx: bool = False) -> tuple:
    """The matches with their scores apart (`approx`: within float noise, see `same_result`)."""
    scores = [m.score for m in matches]
    unscored = [dataclasses.replace(m, score=0.0) for m in matches]
    return ("ok", unscored, pytest.approx(scores, abs=1e-5) if approx else scores, matches.no_fit, matches.min_score)


def test_the_client_streams_its_input_lazily(batcher: ServerThread) -> None:
    read = 0

    def titles() -> Iterator[str]:
        nonlocal read
        for i in range(400):
            read += 1
            yield TITLES[i % 5]

    with JobMatchClient(batcher.target, timeout=60, max_in_flight=2) as client:
        results = client.iter_match_occupations_batch(titles(), top_k=1, batch_size=10)
        assert next(results).index == 0
        assert read <= 2 * 10 + 10  # the calls in flight and the one being built; not the whole input
        results.close()  # the calls in flight are cancelled
        with pytest.raises(JobMatchClientError) as caught:
            client.match_occupations_batch(TITLES * 30, batch_size=MAX_QUERIES + 1)
    assert (caught.value.code, caught.value.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "TOO_MANY_INPUTS")


async def test_the_async_client_mirrors_the_blocking_one(batcher: ServerThread) -> None:
    with JobMatchClient(batcher.target, timeout=60) as client:
        expected = client.match_occupations_batch(CLIENT_QUERIES, top_k=2, batch_size=4)
    async with AsyncJobMatchClient(batcher.target, timeout=60, max_in_flight=2) as aclient:
        got = await aclient.match_occupations_batch(CLIENT_QUERIES, top_k=2, batch_size=4)
        assert [(r.index, r.query) for r in got] == [(r.index, r.query) for r in expected]
        assert [_outcome(r) for r in got if r.ok] == [_answer(r.result(), approx=True) for r in expected if r.ok]
        assert [(r.error.code, r.error.reason) for r in got if r.error] == [
            (r.error.code, r.error.reason) for r in expected if r.error
        ]
        with pytest.raises(JobMatchClientError) as caught:
            await aclient.match_occupations_batch(TITLES * 30, batch_size=MAX_QUERIES + 1)
        assert caught.value.reason == "TOO_MANY_INPUTS"
