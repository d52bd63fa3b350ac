"""Hostile input: arbitrary Unicode and control characters, huge strings and batches, malformed
protobuf bytes, odd filter values, model names that are paths. The server never crashes or hangs,
and answers OK or the documented status with a jobmatch reason: never UNKNOWN or INTERNAL.

Hypothesis runs derandomized (a fixed sequence of examples, no example database) so CI is deterministic;
JOBMATCH_FUZZ_EXAMPLES=5000 runs a deeper campaign by hand.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from jobmatch.v1 import embedding_pb2 as pb
from jobmatch.v1 import embedding_pb2_grpc as pb_grpc
from jobmatch.v1 import match_pb2 as mpb
from jobmatch.v1 import match_pb2_grpc as mpb_grpc
from tests.conftest import make_settings
from tests.support.esco_bundle import OCCUPATION, write_bundle
from tests.support.server import ServerThread

FUZZ = settings(
    max_examples=int(os.environ.get("JOBMATCH_FUZZ_EXAMPLES", "100")),  # more for a deeper run by hand
    deadline=None,  # server calls: latency is not the property under test
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OK = grpc.StatusCode.OK
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
CALL_TIMEOUT_S = 30  # a hang fails the test instead of stalling CI

# Any Unicode scalar value (control characters, NUL, bidi marks, emoji...); lone surrogates cannot be UTF-8.
UNICODE = st.characters(exclude_categories=["Cs"])
TEXTS = st.one_of(st.text(UNICODE, max_size=200), st.sampled_from([" ", "\x00", "\u200b", "\t\n", "\ufeff"]))


@pytest.fixture(scope="module")
def matcher(
    jobbert_path: Path, symmetric_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    """Two models and a synced 30-occupation ESCO index (so filters reach the store)."""
    bundle = write_bundle(tmp_path_factory.mktemp("esco"), 30)
    specs = [f"jobbert={jobbert_path}", f"careerbert={symmetric_path}"]
    with ServerThread(make_settings(specs, auto_sync=True, esco_dirs=[bundle])) as running:
        yield running


@pytest.fixture(scope="module")
def channel(matcher: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(matcher.target) as opened:
        yield opened


def outcome(call: Callable[[], object]) -> tuple[grpc.StatusCode, object]:
    """(OK, response) or (code, ErrorInfo reason); a failure without jobmatch details is reported as such."""
    try:
        return OK, call()
    except grpc.RpcError as err:
        status = rpc_status.from_call(err)
        reason = "no jobmatch details"
        for detail in status.details if status else ():
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
        if currently_in_test_context():  # the mix of outcomes shows in --hypothesis-show-statistics
            event(f"{err.code().name} {reason}")
        return err.code(), reason


EMBED_FAILURES = {
    INVALID: {"EMPTY_INPUT", "INPUT_TOO_LONG", "TOO_MANY_INPUTS", "INVALID_ARGUMENT", "MISSING_SIDE"},
    NOT_FOUND: {"UNKNOWN_MODEL"},
}


@FUZZ
@given(
    texts=st.lists(TEXTS, max_size=12),
    model=st.sampled_from(["jobbert", "jobbert", "careerbert", "", "nope"]),
    side=st.sampled_from([1, 2, 1, 2, 0, 3, -1]),  # mostly valid: the texts are what is under test
    truncate=st.booleans(),
    dimensions=st.one_of(st.just(0), st.integers(1, 64)),
    encoding=st.sampled_from([0, 1, 2, 2, 3]),
)
def test_embed_answers_any_unicode_with_unit_vectors_or_a_documented_error(
    channel, texts: list[str], model: str, side: int, truncate: bool, dimensions: int, encoding: int
) -> None:
    stub = pb_grpc.EmbeddingServiceStub(channel)
    request = pb.EmbedRequest(
        model=model, side=side, inputs=texts, truncate=truncate, dimensions=dimensions, encoding=encoding
    )
    code, result = outcome(lambda: stub.Embed(request, timeout=CALL_TIMEOUT_S))
    if code != OK:
        assert result in EMBED_FAILURES.get(code, set()), (code, result)
        return
    assert len(result.embeddings) == len(texts)
    for embedding in result.embeddings:
        vector = np.frombuffer(embedding.packed, "<f4") if embedding.packed else np.array(embedding.values)
        assert len(vector) == (dimensions or result.dimension)
        assert np.all(np.isfinite(vector))
        assert math.isclose(float(np.linalg.norm(vector)), 1.0, abs_tol=1e-4)


def _mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    """Bytes near a valid message: flipped, cut, duplicated; plus arbitrary bytes."""
    if not valid:
        return st.binary(max_size=300)
    flipped = st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255)), min_size=1, max_size=4).map(
        lambda edits: bytes(_apply(valid, edits))
    )
    cut = st.integers(0, len(valid) - 1).map(lambda n: valid[:n])
    return st.one_of(st.binary(max_size=300), flipped, cut, st.just(valid + valid[:7]))


def _apply(valid: bytes, edits: list[tuple[int, int]]) -> bytearray:
    data = bytearray(valid)
    for index, value in edits:
        data[index] = value
    return data


VALID_EMBED = pb.EmbedRequest(model="jobbert", side=pb.SIDE_ANCHOR, inputs=["nurse", "Python, SQL"]).SerializeToString()
VALID_MATCH = mpb.MatchOccupationsRequest(query="nurse", top_k=3, isco_group_prefixes=["25"]).SerializeToString()
UNARY_METHODS = {
    "/jobmatch.v1.EmbeddingService/Embed": VALID_EMBED,
    "/jobmatch.v1.EmbeddingService/ListModels": b"",
    "/jobmatch.v1.MatchService/MatchOccupations": VALID_MATCH,
    "/jobmatch.v1.MatchService/GetOccupation": mpb.GetOccupationRequest(uri=f"{OCCUPATION}o1").SerializeToString(),
    "/jobmatch.v1.MatchService/MatchSkills": mpb.MatchSkillsRequest(query="nurse").SerializeToString(),
}
DOCUMENTED = {OK, INVALID, NOT_FOUND}  # anything else (UNKNOWN, INTERNAL...) is a finding


@FUZZ
@given(st.sampled_from(sorted(UNARY_METHODS)).flatmap(lambda m: st.tuples(st.just(m), _mutations(UNARY_METHODS[m]))))
def test_malformed_protobuf_bytes_get_invalid_argument_never_unknown(channel, method_and_data) -> None:
    method, data = method_and_data
    raw = channel.unary_unary(method)  # no serializers: the bytes go on the wire as they are
    code, result = outcome(lambda: raw(data, timeout=CALL_TIMEOUT_S))
    assert code in DOCUMENTED, (method, data, code, result)
    if code != OK:
        assert result != "no jobmatch details", (method, data, code)


@FUZZ
@given(st.lists(_mutations(pb.EmbedStreamRequest(id="x", request=pb.EmbedRequest()).SerializeToString()), max_size=6))
def test_malformed_stream_messages_get_per_message_errors_and_the_stream_goes_on(channel, messages) -> None:
    good = pb.EmbedStreamRequest(
        id="good", request=pb.EmbedRequest(model="jobbert", side=pb.SIDE_ANCHOR, inputs=["nurse"])
    ).SerializeToString()
    raw = channel.stream_stream("/jobmatch.v1.EmbeddingService/EmbedStream")
    answers = [pb.EmbedStreamResponse.FromString(r) for r in raw(iter([*messages, good]), timeout=CALL_TIMEOUT_S)]
    assert len(answers) == len(messages) + 1
    for answer in answers[:-1]:
        if answer.HasField("error"):
            assert answer.error.code in {INVALID.value[0], NOT_FOUND.value[0]}, answer
            assert answer.error.reason
    assert answers[-1].id == "good"
    assert len(answers[-1].response.embeddings) == 1


MATCH_FAILURES = {INVALID: {"INVALID_QUERY", "INVALID_FILTER", "INVALID_ARGUMENT"}}


@FUZZ
@given(
    query=TEXTS,
    kind=st.sampled_from([0, 1, 2, 3, 1, 2, 3, -1, 7]),
    top_k=st.one_of(st.integers(0, 100), st.integers(0, 100), st.just(101), st.just(2**32 - 1)),
    language=st.one_of(st.sampled_from(["", "", "en", "de", "EN", "../en"]), st.text(UNICODE, max_size=8)),
    prefixes=st.one_of(
        st.lists(st.from_regex(r"[0-9]{1,4}", fullmatch=True), max_size=4),  # valid: the filter must hold
        st.lists(st.one_of(st.sampled_from(["", "*", "2%", "' OR 1=1", "25123", "-1", "\uff12"]), TEXTS), max_size=6),
    ),
)
def test_match_filters_with_odd_values_answer_or_fail_invalid(
    channel, query: str, kind: int, top_k: int, language: str, prefixes: list[str]
) -> None:
    stub = mpb_grpc.MatchServiceStub(channel)
    request = mpb.MatchOccupationsRequest(
        query=query, kind=kind, top_k=top_k, language=language, isco_group_prefixes=prefixes
    )
    code, result = outcome(lambda: stub.MatchOccupations(request, timeout=CALL_TIMEOUT_S))
    if code != OK:
        assert result in MATCH_FAILURES.get(code, set()), (code, result)
        return
    assert len(result.matches) <= (top_k or 10)
    for match in result.matches:
        assert not prefixes or any(match.isco_group.startswith(p) for p in prefixes), (match.isco_group, prefixes)


@FUZZ
@given(uri=st.one_of(TEXTS, st.sampled_from([f"{OCCUPATION}o1", f"{OCCUPATION}../o1", "/etc/passwd", "../../"])))
def test_get_occupation_with_any_uri_is_found_or_not_found(channel, uri: str) -> None:
    stub = mpb_grpc.MatchServiceStub(channel)
    code, result = outcome(lambda: stub.GetOccupation(mpb.GetOccupationRequest(uri=uri), timeout=CALL_TIMEOUT_S))
    if code == OK:
        assert result.occupation.uri == uri
    else:
        assert (code, result) in {(NOT_FOUND, "OCCUPATION_NOT_FOUND"), (INVALID, "INVALID_QUERY")}, (code, result)


def test_huge_strings_and_batches_fail_fast_and_the_server_serves_on(channel) -> None:
    stub = pb_grpc.EmbeddingServiceStub(channel)
    cases = {
        "10 MB string": (["\u00e9" * 5_000_000], "INPUT_TOO_LONG"),
        "100k-item batch": (["nurse"] * 100_000, "TOO_MANY_INPUTS"),
        "100k-item batch of empties": ([""] * 100_000, "TOO_MANY_INPUTS"),
    }
    for name, (inputs, reason) in cases.items():
        started = time.monotonic()
        code, result = outcome(
            lambda i=inputs: stub.Embed(pb.EmbedRequest(model="jobbert", side=1, inputs=i), timeout=60)
        )
        assert (code, result) == (INVALID, reason), name
        assert time.monotonic() - started < 10, f"{name}: not refused up front"
    text = "".join(chr(c) for c in range(0x20, 0x20 + 100_000) if not 0xD800 <= c < 0xE000)[:100_000]
    response = stub.Embed(pb.EmbedRequest(model="jobbert", side=2, inputs=[text], truncate=True), timeout=60)
    assert len(response.embeddings) == 1  # at the character limit, every script at once, truncated to 64 tokens
    stream = [pb.EmbedStreamRequest(id="big", request=pb.EmbedRequest(model="jobbert", side=1, inputs=["x"] * 100_000))]
    (answer,) = pb_grpc.EmbeddingServiceStub(channel).EmbedStream(iter(stream), timeout=60)
    assert (answer.id, answer.error.reason) == ("big", "TOO_MANY_INPUTS")


class _OpenedPaths:
    """Records the paths Python opens or lists (audit events) while `active`; hooks cannot be removed."""

    def __init__(self) -> None:
        self.active = False
        self.seen: list[str] = []
        sys.addaudithook(self)

    def __call__(self, event: str, args: tuple) -> None:
        if self.active and event in {"open", "os.listdir", "os.scandir", "os.stat"} and args:
            self.seen.append(str(args[0]))


@pytest.fixture(scope="module")
def opened_paths() -> _OpenedPaths:
    return _OpenedPaths()


def test_model_names_that_are_paths_are_not_found_and_touch_no_file(
    channel, opened_paths: _OpenedPaths, jobbert_path: Path, minilm: Path
) -> None:
    names = [str(minilm), f"{jobbert_path}/../careerbert", "../../../../etc/passwd", "/etc/passwd", "~", "jobbert/.."]
    stub = pb_grpc.EmbeddingServiceStub(channel)
    for name in names:
        opened_paths.seen.clear()
        opened_paths.active = True
        try:
            code, reason = outcome(lambda n=name: stub.Embed(pb.EmbedRequest(model=n, inputs=["nurse"]), timeout=30))
        finally:
            opened_paths.active = False
        assert (code, reason) == (NOT_FOUND, "UNKNOWN_MODEL"), name
        assert not [p for p in opened_paths.seen if "passwd" in p or str(minilm) in p or "careerbert" in p], name
    models = pb_grpc.EmbeddingServiceStub(channel).ListModels(pb.ListModelsRequest(), timeout=30).models
    assert sorted(m.name for m in models) == ["careerbert", "jobbert"]  # nothing was loaded on the way
