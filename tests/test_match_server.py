"""MatchService through a live server that synced the bundled ESCO snapshot at start-up."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from jobmatch.cli import main
from jobmatch.client import AsyncJobMatchClient, JobMatchClient, JobMatchClientError
from jobmatch.server.esco import load_snapshot
from jobmatch.server.index import ModelMismatch
from jobmatch.server.index.strategies import DEFAULT_MIN_SCORES
from jobmatch.v1 import match_pb2 as pb
from jobmatch.v1 import match_pb2_grpc as pb_grpc
from tests.conftest import make_settings
from tests.support.server import ServerThread

DATA_SCIENTIST = "http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30"
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NO_FIT_QUERY = "qwzx vrrpk plumbovia"  # no ESCO label, no shared term


@pytest.fixture(scope="module")
def qdrant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("qdrant")


@pytest.fixture(scope="module")
def matcher(jobbert_path: Path, qdrant_dir: Path) -> Iterator[ServerThread]:
    """Tiny JobBERT (random weights: only exact labels are meaningful) over the bundled snapshot."""
    settings = make_settings([f"jobbert={jobbert_path}"], qdrant_path=qdrant_dir, auto_sync=True)
    with ServerThread(settings) as running:
        yield running


@pytest.fixture
def client(matcher: ServerThread) -> Iterator[JobMatchClient]:
    with JobMatchClient(matcher.target, timeout=60) as c:
        yield c


def test_serve_synced_the_bundled_snapshot_and_finds_an_exact_title(client: JobMatchClient) -> None:
    matches = client.match_occupations("data scientist", top_k=5)
    assert len(matches) == 5
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    # ESCO lists "data scientist" as an alternative label of "bioinformatics scientist" too: both
    # hold the exact text (label cosine 1, the same BM25 terms), so they lead; their descriptions differ.
    found = next(m for m in matches[:2] if m.uri == DATA_SCIENTIST)
    assert (found.preferred_label, found.isco_group, found.code) == ("data scientist", "2511", "2511.4")
    assert "statistics" in found.skills


def test_an_alternative_label_finds_its_occupation(client: JobMatchClient) -> None:
    dataset = load_snapshot()
    owners: dict[str, set[str]] = {}
    for occupation in dataset.occupations.values():
        for label in (
            occupation.preferred_label["en"],
            *occupation.alt_labels.get("en", ()),
            *occupation.hidden_labels.get("en", ()),
        ):
            owners.setdefault(label, set()).add(occupation.uri)
    unique = [label for label in dataset.occupations[DATA_SCIENTIST].alt_labels["en"] if len(owners[label]) == 1]
    assert unique
    for label in unique[:3]:
        assert client.match_occupations(label, top_k=3)[0].uri == DATA_SCIENTIST, label


def test_every_query_kind_answers(client: JobMatchClient) -> None:
    for kind, query in [("job_title", "nurse"), ("skills", "Python, SQL, statistics"), ("text", "We hire a baker")]:
        matches = client.match_occupations(query, kind=kind, top_k=7)
        assert len(matches) == 7
        assert len({m.uri for m in matches}) == 7


def test_isco_prefix_filter_keeps_only_that_group(client: JobMatchClient) -> None:
    matches = client.match_occupations("data scientist", top_k=10, isco_prefixes=["9", "83"])
    assert matches
    assert all(m.isco_group.startswith(("9", "83")) for m in matches)
    assert DATA_SCIENTIST not in {m.uri for m in matches}


def test_get_occupation_by_uri(client: JobMatchClient) -> None:
    occupation = client.get_occupation(DATA_SCIENTIST)
    assert (occupation.preferred_label, occupation.isco_group, occupation.esco_version) == (
        "data scientist",
        "2511",
        "v1.1.1",
    )
    assert occupation.preferred_labels == {"en": "data scientist"}
    assert any(s.label == "statistics" for s in occupation.essential_skills)
    assert occupation.description.startswith("Data scientist")
    with pytest.raises(JobMatchClientError) as caught:
        client.get_occupation("http://data.europa.eu/esco/occupation/nope")
    assert (caught.value.code, caught.value.reason) == (grpc.StatusCode.NOT_FOUND, "OCCUPATION_NOT_FOUND")


def test_matches_carry_descriptions_only_when_asked(client: JobMatchClient) -> None:
    plain = client.match_occupations("data scientist", top_k=5)
    described = client.match_occupations("data scientist", top_k=5, include_descriptions=True)
    assert [m.uri for m in described] == [m.uri for m in plain]
    assert all(m.description == "" for m in plain)
    for match in described:
        assert match.description == client.get_occupation(match.uri).description
        assert match.description


def test_match_skills_returns_ranked_esco_skills(client: JobMatchClient) -> None:
    skills = client.match_skills("data scientist", top_k=8)
    assert len(skills) == 8
    assert all(s.uri.startswith("http://data.europa.eu/esco/skill/") for s in skills)
    assert [s.score for s in skills] == sorted((s.score for s in skills), reverse=True)


@pytest.mark.parametrize(
    ("fields", "reason", "field"),
    [
        ({"query": ""}, "INVALID_QUERY", "query"),
        ({"query": "--- !!! ---"}, "INVALID_QUERY", "query"),  # no letters
        ({"query": "(m/w/d)"}, "INVALID_QUERY", "query"),  # a job title that is only job-ad noise
        ({"query": "Vollzeit - £14.50/hr"}, "INVALID_QUERY", "query"),
        ({"query": "cook", "top_k": 101}, "INVALID_QUERY", "top_k"),
        ({"query": "cook", "kind": 9}, "INVALID_QUERY", "kind"),
        ({"query": "cook", "isco_group_prefixes": ["2x"]}, "INVALID_FILTER", "isco_group_prefixes"),
        ({"query": "cook", "isco_group_prefixes": ["12345"]}, "INVALID_FILTER", "isco_group_prefixes"),
        ({"query": "cook", "language": "fr"}, "INVALID_FILTER", "language"),
    ],
)
def test_bad_match_requests_are_invalid_argument(matcher: ServerThread, fields: dict, reason: str, field: str) -> None:
    with grpc.insecure_channel(matcher.target) as channel, pytest.raises(grpc.RpcError) as caught:
        pb_grpc.MatchServiceStub(channel).MatchOccupations(pb.MatchOccupationsRequest(**fields), timeout=30)
    error = JobMatchClientError.from_rpc_error(caught.value)
    assert (error.code, error.reason, error.field) == (INVALID, reason, field)


def test_malformed_match_request_bytes(matcher: ServerThread) -> None:
    with grpc.insecure_channel(matcher.target) as channel, pytest.raises(grpc.RpcError) as caught:
        channel.unary_unary("/jobmatch.v1.MatchService/MatchOccupations")(b"\x0a\xff\xff", timeout=10)
    assert caught.value.code() == INVALID


def test_unsynced_index_is_failed_precondition(jobbert_path: Path) -> None:
    with (
        ServerThread(make_settings([f"jobbert={jobbert_path}"])) as server,
        JobMatchClient(server.target) as client,
        pytest.raises(JobMatchClientError) as caught,
    ):
        client.match_occupations("cook")
    assert (caught.value.code, caught.value.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INDEX_NOT_FOUND")
    assert "sync" in caught.value.message


# --- min_score / no_fit: whether any occupation fits the query (issue 14) ---


def _match(matcher: ServerThread, **fields: object) -> pb.MatchOccupationsResponse:
    with grpc.insecure_channel(matcher.target) as channel:
        return pb_grpc.MatchServiceStub(channel).MatchOccupations(pb.MatchOccupationsRequest(**fields), timeout=30)


def test_a_min_score_above_the_best_is_no_fit_with_the_matches_kept(matcher: ServerThread) -> None:
    best = _match(matcher, query=NO_FIT_QUERY, top_k=5, min_score=0).matches[0].score
    response = _match(matcher, query=NO_FIT_QUERY, top_k=5, min_score=best + 0.01)
    assert response.no_fit
    assert response.min_score == pytest.approx(best + 0.01)
    assert len(response.matches) == 5
    assert response.matches[0].score == pytest.approx(best)


@pytest.mark.parametrize("requested", [0.0, -0.5, -math.inf])
def test_a_zero_or_negative_min_score_is_no_threshold(matcher: ServerThread, requested: float) -> None:
    for kind in (pb.QUERY_KIND_JOB_TITLE, pb.QUERY_KIND_SKILLS, pb.QUERY_KIND_TEXT):
        response = _match(matcher, query=NO_FIT_QUERY, kind=kind, top_k=3, min_score=requested)
        assert (response.no_fit, response.min_score, len(response.matches)) == (False, 0.0, 3)


def test_a_nan_min_score_is_invalid_argument(matcher: ServerThread) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _match(matcher, query="cook", min_score=math.nan)
    error = JobMatchClientError.from_rpc_error(caught.value)
    assert (error.code, error.reason, error.field) == (INVALID, "INVALID_QUERY", "min_score")


@pytest.mark.parametrize(
    ("kind", "kind_name"),
    [
        (pb.QUERY_KIND_UNSPECIFIED, "job_title"),
        (pb.QUERY_KIND_JOB_TITLE, "job_title"),
        (pb.QUERY_KIND_SKILLS, "skills"),
        (pb.QUERY_KIND_TEXT, "text"),
    ],
)
def test_without_min_score_the_kinds_default_applies(matcher: ServerThread, kind: int, kind_name: str) -> None:
    response = _match(matcher, query="data scientist", kind=kind, top_k=3)
    default = DEFAULT_MIN_SCORES[kind_name]
    assert response.min_score == pytest.approx(default)  # a float on the wire
    assert response.no_fit == (default > 0 and response.matches[0].score < response.min_score)


def test_the_client_passes_min_score_and_flags_the_matches_that_fit(client: JobMatchClient) -> None:
    unbounded = client.match_occupations(NO_FIT_QUERY, top_k=6, min_score=0)
    assert isinstance(unbounded, list)
    assert (unbounded.no_fit, unbounded.min_score) == (False, 0.0)
    assert all(m.fits for m in unbounded)
    scores = [m.score for m in unbounded]
    assert scores[0] > scores[-1], "the test needs distinct scores"

    above = client.match_occupations(NO_FIT_QUERY, top_k=6, min_score=scores[0] + 0.01)
    assert above.no_fit
    assert above.min_score == pytest.approx(scores[0] + 0.01)
    assert [m.uri for m in above] == [m.uri for m in unbounded]
    assert not any(m.fits for m in above)

    between = (scores[0] + scores[-1]) / 2
    mixed = client.match_occupations(NO_FIT_QUERY, top_k=6, min_score=between)
    assert not mixed.no_fit
    assert [m.fits for m in mixed] == [m.score >= mixed.min_score for m in mixed]
    assert mixed[0].fits
    assert not mixed[-1].fits

    negative = client.match_occupations(NO_FIT_QUERY, top_k=2, min_score=-1)
    assert (negative.no_fit, negative.min_score) == (False, 0.0)
    default = client.match_occupations("data scientist", kind="skills", top_k=2)
    assert default.min_score == pytest.approx(DEFAULT_MIN_SCORES["skills"])
    assert [m.fits for m in default] == [default.min_score <= 0 or m.score >= default.min_score for m in default]
    with pytest.raises(JobMatchClientError) as caught:
        client.match_occupations("cook", min_score=math.nan)
    assert (caught.value.code, caught.value.field) == (INVALID, "min_score")


async def test_the_async_client_mirrors_the_blocking_one(matcher: ServerThread, client: JobMatchClient) -> None:
    best = client.match_occupations(NO_FIT_QUERY, top_k=4, min_score=0)[0].score
    async with AsyncJobMatchClient(matcher.target, timeout=60) as aclient:
        for min_score in (None, 0.0, best + 0.01, -2.0):
            expected = client.match_occupations(NO_FIT_QUERY, top_k=4, min_score=min_score)
            got = await aclient.match_occupations(NO_FIT_QUERY, top_k=4, min_score=min_score)
            assert (got, got.no_fit, got.min_score) == (expected, expected.no_fit, expected.min_score)
        with pytest.raises(JobMatchClientError) as caught:
            await aclient.match_occupations("cook", min_score=math.nan)
        assert caught.value.field == "min_score"


def test_the_cli_says_when_no_occupation_fits(
    matcher: ServerThread, client: JobMatchClient, capsys: pytest.CaptureFixture[str]
) -> None:
    best = client.match_occupations(NO_FIT_QUERY, top_k=3, min_score=0)[0].score
    threshold = round(best + 0.05, 2)
    args = ["match", NO_FIT_QUERY, "--top-k", "3", "--server", matcher.target]
    assert main([*args, "--min-score", str(threshold)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"no occupation fits (best score {best:.3f} < min_score {threshold:.3f})"
    assert len(lines) == 4
    assert lines[1].startswith(" 1. ")
    assert main([*args, "--min-score", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(" 1. ")


def test_a_server_with_another_model_refuses_the_index(matcher: ServerThread, symmetric_path: Path) -> None:
    """The index records its model: a server embedding with another model must not mix the spaces.

    It stops the module's server: keep it last.
    """
    qdrant_copy = Path(matcher.app.settings.qdrant_path)
    matcher.stop()  # release the embedded store's lock
    settings = make_settings([f"careerbert={symmetric_path}"], qdrant_path=qdrant_copy, auto_sync=True)
    with pytest.raises(ModelMismatch, match="jobbert"), ServerThread(settings):
        pass
