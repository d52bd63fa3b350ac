"""ExtractSkills through a live server: skills with evidence, the skill gap, every bad input with its code,
and the Python clients' typed results."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from jobmatch.client import (
    AsyncJobMatchClient,
    ExtractedSkill,
    JobMatchClient,
    JobMatchClientError,
    SkillExtraction,
)
from jobmatch.server.esco import load_bundles
from jobmatch.server.index import DEFAULT_EXTRACT_MIN_SCORE, DEFAULT_EXTRACT_TOP_K
from jobmatch.v1 import match_pb2 as pb
from jobmatch.v1 import match_pb2_grpc as pb_grpc
from tests.conftest import make_settings
from tests.support.esco_bundle import ESCO_FIXTURE
from tests.support.server import ServerThread

MAX_CHARS = 10_000  # above every ESCO text the sync embeds
TECHNICAL_DIRECTOR = "http://data.europa.eu/esco/occupation/00030d09-2b3a-4efd-87cc-c4ea39d27c34"
UNKNOWN = TECHNICAL_DIRECTOR + "x"
SHOWN = ["organise rehearsals", "theatre techniques"]  # 2 of its 8 essential skills, named by their labels
CV = f"Stage manager since 2015.\nSkills: {SHOWN[0]}, {SHOWN[1]}.\nHobbies: sailing"
# The tiny model's random weights score a label named verbatim ~0.9, any other skill under ~0.75 (the threshold
# between them makes the gap exact).
NAMED = 0.85


@pytest.fixture(scope="module")
def extractor(jobbert_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """Tiny JobBERT (random weights: only exact labels are meaningful) over the small cut of ESCO v1.1.1."""
    settings = make_settings(
        [f"jobbert={jobbert_path}"],
        qdrant_path=tmp_path_factory.mktemp("qdrant-extract"),
        esco_dirs=[ESCO_FIXTURE / "v1.1.1"],
        auto_sync=True,
        max_input_chars=MAX_CHARS,
    )
    with ServerThread(settings) as running:
        yield running


@pytest.fixture(scope="module")
def stub(extractor: ServerThread) -> Iterator[pb_grpc.MatchServiceStub]:
    with grpc.insecure_channel(extractor.target) as channel:
        yield pb_grpc.MatchServiceStub(channel)


@pytest.fixture
def client(extractor: ServerThread) -> Iterator[JobMatchClient]:
    with JobMatchClient(extractor.target, timeout=60) as c:
        yield c


def essential_skills(uri: str) -> list[str]:
    dataset = load_bundles([ESCO_FIXTURE / "v1.1.1"])
    return [dataset.skills[s].preferred_label["en"] for s in dataset.occupations[uri].skill_uris("essential")]


def test_skills_named_in_the_text_come_with_their_evidence(stub: pb_grpc.MatchServiceStub) -> None:
    response = stub.ExtractSkills(pb.ExtractSkillsRequest(text=CV, min_score=0), timeout=60)
    assert (response.model, response.esco_version, response.min_score) == ("jobbert", "v1.1.1", 0.0)
    assert 0 < len(response.skills) <= 20  # top_k 0: the default, 20
    scores = [s.score for s in response.skills]
    assert scores == sorted(scores, reverse=True)
    by_label = {s.label: s for s in response.skills}
    for label in SHOWN:
        skill = by_label[label]
        assert skill.uri.startswith("http://data.europa.eu/esco/skill/")
        assert skill.relation == ""  # no occupation named
        assert skill.score >= NAMED
        evidence = skill.evidence[0]  # best first: the line that names it
        assert (CV[evidence.start : evidence.end], evidence.text) == (f"Skills: {SHOWN[0]}, {SHOWN[1]}",) * 2
    assert not response.HasField("gap")
    for skill in response.skills:
        assert all(CV[e.start : e.end] == e.text for e in skill.evidence)


def test_the_skill_gap_to_an_occupation(stub: pb_grpc.MatchServiceStub) -> None:
    request = pb.ExtractSkillsRequest(text=CV, occupation_uri=TECHNICAL_DIRECTOR, min_score=NAMED)
    response = stub.ExtractSkills(request, timeout=60)
    gap = response.gap
    essential = essential_skills(TECHNICAL_DIRECTOR)
    assert (gap.occupation_uri, gap.occupation_label) == (TECHNICAL_DIRECTOR, "technical director")
    assert [s.label for s in gap.shown] == SHOWN
    assert all(s.relation == "essential" and s.score >= NAMED and s.evidence for s in gap.shown)
    assert [s.label for s in gap.missing] == [label for label in essential if label not in SHOWN]  # ESCO's order
    assert gap.coverage == pytest.approx(2 / 8)
    relations = {s.label: s.relation for s in response.skills}
    assert [relations[label] for label in SHOWN] == ["essential", "essential"]
    assert all(s.score >= NAMED for s in response.skills)


@pytest.mark.parametrize(
    ("fields", "code", "reason", "field"),
    [
        ({"text": ""}, "INVALID_ARGUMENT", "INVALID_QUERY", "text"),
        ({"text": " \n\t "}, "INVALID_ARGUMENT", "INVALID_QUERY", "text"),
        ({"text": "x" * (MAX_CHARS + 1)}, "INVALID_ARGUMENT", "INPUT_TOO_LONG", "text"),
        ({"text": CV, "top_k": 101}, "INVALID_ARGUMENT", "INVALID_QUERY", "top_k"),
        ({"text": CV, "min_score": math.nan}, "INVALID_ARGUMENT", "INVALID_QUERY", "min_score"),
        (
            {"text": CV, "occupation_uri": TECHNICAL_DIRECTOR + "x"},
            "NOT_FOUND",
            "OCCUPATION_NOT_FOUND",
            "occupation_uri",
        ),
    ],
    ids=["empty", "whitespace", "too long", "top_k over 100", "NaN min_score", "unknown occupation"],
)
def test_bad_extract_requests(stub: pb_grpc.MatchServiceStub, fields: dict, code: str, reason: str, field: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.ExtractSkills(pb.ExtractSkillsRequest(**fields), timeout=30)
    error = JobMatchClientError.from_rpc_error(caught.value)
    assert (error.code.name, error.reason, error.field) == (code, reason, field)


def test_the_clients_return_typed_results(extractor: ServerThread, client: JobMatchClient) -> None:
    extraction = client.extract_skills(CV, top_k=5, min_score=0, occupation_uri=TECHNICAL_DIRECTOR)
    assert isinstance(extraction, SkillExtraction)
    assert len(extraction.skills) <= 5
    assert extraction.min_score == 0.0
    assert extraction.gap is not None
    assert extraction.gap.occupation_label == "technical director"
    assert all(e.text == CV[e.start : e.end] for s in extraction.skills for e in s.evidence)
    plain = client.extract_skills(CV)
    assert plain.gap is None
    assert plain.min_score == pytest.approx(DEFAULT_EXTRACT_MIN_SCORE)  # the server's default, echoed
    assert len(plain.skills) == DEFAULT_EXTRACT_TOP_K  # top_k None: the server's default
    with pytest.raises(JobMatchClientError) as caught:
        client.extract_skills("   ")
    assert (caught.value.code, caught.value.field) == (grpc.StatusCode.INVALID_ARGUMENT, "text")


def scores(extraction: SkillExtraction) -> list[float]:
    gap = extraction.gap.shown if extraction.gap else ()
    return [s.score for s in (*extraction.skills, *gap)]


def unscored(extraction: SkillExtraction) -> SkillExtraction:
    """The extraction with every score 0: the rest must be equal."""

    def zero(skills: tuple[ExtractedSkill, ...]) -> tuple[ExtractedSkill, ...]:
        return tuple(dataclasses.replace(s, score=0.0) for s in skills)

    gap = dataclasses.replace(extraction.gap, shown=zero(extraction.gap.shown)) if extraction.gap else None
    return dataclasses.replace(extraction, skills=zero(extraction.skills), gap=gap)


async def test_the_async_client_mirrors_the_blocking_one(extractor: ServerThread, client: JobMatchClient) -> None:
    expected = client.extract_skills(CV, min_score=0, occupation_uri=TECHNICAL_DIRECTOR)
    async with AsyncJobMatchClient(extractor.target, timeout=60) as aclient:
        got = await aclient.extract_skills(CV, min_score=0, occupation_uri=TECHNICAL_DIRECTOR)
        assert unscored(got) == unscored(expected)
        assert scores(got) == pytest.approx(scores(expected), abs=1e-5)  # forward passes batched differently
        with pytest.raises(JobMatchClientError) as caught:
            await aclient.extract_skills(CV, occupation_uri=TECHNICAL_DIRECTOR + "x")
        assert caught.value.code == grpc.StatusCode.NOT_FOUND
