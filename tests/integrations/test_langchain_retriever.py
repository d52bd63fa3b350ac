"""JobMatchRetriever against the live server: documents, search fields per instance and per call, errors."""

from __future__ import annotations

import grpc
import pytest
from langchain_core.documents import Document
from langchain_core.tools import create_retriever_tool

from jobmatch.client import JobMatchClient, JobMatchClientError
from langchain_jobmatch import JobMatchRetriever
from tests.integrations.conftest import DATA_SCIENTIST, DATA_SCIENTIST_LABEL, calls_made
from tests.support.server import ServerThread

NO_FIT_QUERY = "qwzx vrrpk plumbovia"  # no ESCO label, no shared term: nothing scores near 0.95


@pytest.fixture
def retriever(target: str) -> JobMatchRetriever:
    return JobMatchRetriever(target=target, timeout=30)


def test_documents_carry_the_occupation_and_its_metadata(retriever: JobMatchRetriever, target: str) -> None:
    documents = retriever.invoke(DATA_SCIENTIST_LABEL)
    assert len(documents) == 5
    top = documents[0]
    assert top.id == top.metadata["uri"] == DATA_SCIENTIST
    assert top.page_content.startswith("data scientist\n\nData scientists find and interpret rich data sources")
    with JobMatchClient(target) as client:
        matches = client.match_occupations(DATA_SCIENTIST_LABEL, top_k=1)
    match = matches[0]
    assert top.metadata == {
        "uri": DATA_SCIENTIST,
        "preferred_label": "data scientist",
        "code": "2511.4",
        "isco_group": "2511",
        "score": pytest.approx(match.score),
        "skills": list(match.skills),
        "fits": match.fits,
        "min_score": pytest.approx(matches.min_score),  # the server's default for job titles
    }
    assert "statistics" in top.metadata["skills"]
    scores = [d.metadata["score"] for d in documents]
    assert scores == sorted(scores, reverse=True)


async def test_descriptions_come_with_the_matches_in_one_call(
    retriever: JobMatchRetriever, esco_server: ServerThread
) -> None:
    before = {m: calls_made(esco_server, m) for m in ("MatchOccupations", "GetOccupation")}
    documents = retriever.invoke(DATA_SCIENTIST_LABEL, k=5) + await retriever.ainvoke(DATA_SCIENTIST_LABEL, k=5)
    assert all("\n\n" in d.page_content for d in documents), "every ESCO occupation has a description"
    assert calls_made(esco_server, "MatchOccupations") - before["MatchOccupations"] == 2
    assert calls_made(esco_server, "GetOccupation") == before["GetOccupation"]


def test_labels_only_without_descriptions(target: str) -> None:
    documents = JobMatchRetriever(target=target, with_descriptions=False).invoke(DATA_SCIENTIST_LABEL, k=1)
    assert documents[0].page_content == "data scientist"


def test_fields_on_the_instance_and_per_call(retriever: JobMatchRetriever, target: str) -> None:
    filtered = JobMatchRetriever(target=target, isco_prefixes=["9", "83"], k=4).invoke(DATA_SCIENTIST_LABEL)
    assert len(filtered) == 4
    assert all(d.metadata["isco_group"].startswith(("9", "83")) for d in filtered)
    per_call = retriever.invoke(DATA_SCIENTIST_LABEL, k=4, isco_prefixes=["9", "83"])
    assert [d.metadata["uri"] for d in per_call] == [d.metadata["uri"] for d in filtered]
    # The call's value wins over the instance's: no filter at all finds the data scientist again.
    unfiltered = JobMatchRetriever(target=target, isco_prefixes=["9"]).invoke(DATA_SCIENTIST_LABEL, isco_prefixes=[])
    assert unfiltered[0].metadata["uri"] == DATA_SCIENTIST
    assert len(retriever.invoke("Python, SQL, statistics", kind="skills", k=7)) == 7
    assert retriever.invoke(DATA_SCIENTIST_LABEL, language="en", k=1)[0].metadata["uri"] == DATA_SCIENTIST


async def test_async_matches_sync(retriever: JobMatchRetriever) -> None:
    asynchronous = await retriever.ainvoke(DATA_SCIENTIST_LABEL, k=6, kind="text")
    assert retriever._client is None  # grpc.aio all the way
    synchronous = retriever.invoke(DATA_SCIENTIST_LABEL, k=6, kind="text")
    scores = [d.metadata["score"] for d in synchronous]
    assert [d.metadata["score"] for d in asynchronous] == pytest.approx(scores, abs=1e-5)
    # A text embedded in another batch moves by ~1e-7: only near-ties (and the last place) may swap.
    apart = [
        i
        for i in range(len(scores) - 1)
        if all(abs(scores[i] - scores[j]) > 1e-5 for j in (i - 1, i + 1) if 0 <= j < len(scores))
    ]
    assert apart
    assert [asynchronous[i] for i in apart] == [synchronous[i] for i in apart]


async def test_errors_carry_status_and_reason(retriever: JobMatchRetriever) -> None:
    with pytest.raises(JobMatchClientError) as caught:
        retriever.invoke("cook", language="fr")
    assert (caught.value.code, caught.value.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FILTER")
    assert caught.value.field == "language"
    with pytest.raises(JobMatchClientError) as caught:
        await retriever.ainvoke("cook", isco_prefixes=["2x"])
    assert caught.value.reason == "INVALID_FILTER"
    with pytest.raises(ValueError, match="k must be between 1 and 100"):
        retriever.invoke("cook", k=0)
    with pytest.raises(ValueError, match="kind must be one of"):
        retriever.invoke("cook", kind="resume")


def test_works_with_create_retriever_tool(retriever: JobMatchRetriever) -> None:
    tool = create_retriever_tool(retriever, "esco_occupations", "Find ESCO occupations for a job title.")
    content = tool.invoke({"query": DATA_SCIENTIST_LABEL})
    assert content.startswith("data scientist\n\nData scientists")
    with_artifact = create_retriever_tool(retriever, "esco", "ESCO occupations", response_format="content_and_artifact")
    message = with_artifact.invoke({"type": "tool_call", "id": "1", "name": "esco", "args": {"query": "nurse"}})
    assert len(message.artifact) == 5
    assert all(isinstance(d, Document) and d.metadata["uri"] for d in message.artifact)


def test_min_score_on_the_instance_and_per_call(retriever: JobMatchRetriever, target: str) -> None:
    unbounded = retriever.invoke(NO_FIT_QUERY, k=4, min_score=0)
    assert all(d.metadata["fits"] for d in unbounded)
    assert {d.metadata["min_score"] for d in unbounded} == {0.0}
    strict = JobMatchRetriever(target=target, min_score=0.95)
    documents = strict.invoke(NO_FIT_QUERY, k=4)
    assert [d.metadata["uri"] for d in documents] == [d.metadata["uri"] for d in unbounded], "still returned"
    assert not any(d.metadata["fits"] for d in documents)
    assert [d.metadata["min_score"] for d in documents] == pytest.approx([0.95] * 4)
    # The call's value wins over the instance's.
    assert all(d.metadata["fits"] for d in strict.invoke(NO_FIT_QUERY, k=4, min_score=-1))
    between = (unbounded[0].metadata["score"] + unbounded[-1].metadata["score"]) / 2
    mixed = retriever.invoke(NO_FIT_QUERY, k=4, min_score=between)
    assert [d.metadata["fits"] for d in mixed] == [d.metadata["score"] >= d.metadata["min_score"] for d in mixed]
    assert mixed[0].metadata["fits"]
    assert not mixed[-1].metadata["fits"]


async def test_min_score_async(target: str) -> None:
    strict = JobMatchRetriever(target=target, min_score=0.95)
    documents = await strict.ainvoke(NO_FIT_QUERY, k=3)
    assert len(documents) == 3
    assert not any(d.metadata["fits"] for d in documents)
    with pytest.raises(JobMatchClientError) as caught:
        await strict.ainvoke("cook", min_score=float("nan"))
    assert (caught.value.code, caught.value.field) == (grpc.StatusCode.INVALID_ARGUMENT, "min_score")
