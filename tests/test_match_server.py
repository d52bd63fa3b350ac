"""MatchService through a live server that synced the bundled ESCO snapshot at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from jobmatch.client import JobMatchClient, JobMatchClientError
from jobmatch.server.esco import load_snapshot
from jobmatch.server.index import ModelMismatch
from jobmatch.v1 import match_pb2 as pb
from jobmatch.v1 import match_pb2_grpc as pb_grpc
from tests.conftest import make_settings
from tests.support.server import ServerThread

DATA_SCIENTIST = "http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30"
INVALID = grpc.StatusCode.INVALID_ARGUMENT


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
    # hold the exact text, so with this random tiny model both score 1.
    exact = [m for m in matches if m.score > 0.999]
    found = next(m for m in exact if m.uri == DATA_SCIENTIST)
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
        ({"query": "cook", "top_k": 101}, "INVALID_ARGUMENT", "top_k"),
        ({"query": "cook", "kind": 9}, "INVALID_ARGUMENT", "kind"),
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


def test_a_server_with_another_model_refuses_the_index(matcher: ServerThread, symmetric_path: Path) -> None:
    """The index records its model: a server embedding with another model must not mix the spaces."""
    qdrant_copy = Path(matcher.app.settings.qdrant_path)
    matcher.stop()  # release the embedded store's lock
    settings = make_settings([f"careerbert={symmetric_path}"], qdrant_path=qdrant_copy, auto_sync=True)
    with pytest.raises(ModelMismatch, match="jobbert"), ServerThread(settings):
        pass
