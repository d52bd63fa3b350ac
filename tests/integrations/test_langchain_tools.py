"""The job match tool against the live server, alone and called by an agent's (fake) chat model."""

from __future__ import annotations

import re
import runpy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool
from pydantic import ValidationError

from jobmatch.client import JobMatchClientError
from langchain_jobmatch import JobMatchRetriever, create_job_match_tool, format_matches
from tests.integrations.conftest import DATA_SCIENTIST, DATA_SCIENTIST_LABEL


def tool_call(tool: BaseTool, **args: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": "call-1", "name": tool.name, "args": args}


def call(tool: BaseTool, **args: Any) -> ToolMessage:
    return tool.invoke(tool_call(tool, **args))


def test_content_for_the_model_documents_as_artifact(target: str) -> None:
    tool = create_job_match_tool(target=target)
    message = call(tool, query=DATA_SCIENTIST_LABEL, k=3)
    lines = message.content.splitlines()
    # An exact label of the occupation ranks first (its score is the fused one, under 1 with BM25 and descriptions).
    assert re.fullmatch(rf"1\. data scientist \(ISCO 2511, score [01]\.\d{{3}}, {DATA_SCIENTIST}\)", lines[0])
    assert lines[1].startswith("   essential skills: ")
    assert message.artifact[0].metadata["uri"] == DATA_SCIENTIST
    assert len(message.artifact) == 3
    skills = call(tool, query="Python, SQL, statistics", k=2, kind="skills")
    assert len(skills.artifact) == 2


def test_typed_args_schema(target: str) -> None:
    tool = create_job_match_tool(target=target, name="esco_match")
    schema = tool.tool_call_schema.model_json_schema()
    assert tool.name == "esco_match"
    assert set(schema["properties"]) == {"query", "k", "kind"}
    assert schema["required"] == ["query"]
    assert schema["properties"]["kind"]["enum"] == ["job_title", "skills", "text"]
    with pytest.raises(ValidationError):
        tool.invoke({"query": "nurse", "k": 50})
    with pytest.raises(ValidationError):
        tool.invoke({"query": "nurse", "kind": "resume"})


NO_FIT_QUERY = "qwzx vrrpk plumbovia"  # no ESCO label, no shared term: nothing scores near 0.95
NO_FIT_FIRST_LINE = re.compile(
    r"No ESCO occupation fits this query well: the best score, (?P<best>[01]\.\d{3}), is below the threshold "
    r"(?P<threshold>[01]\.\d{3})\."
)


async def test_the_model_is_told_first_when_no_occupation_fits(target: str) -> None:
    tool = create_job_match_tool(target=target, min_score=0.95)
    for message in (call(tool, query=NO_FIT_QUERY, k=3), await tool.ainvoke(tool_call(tool, query=NO_FIT_QUERY, k=3))):
        lines = message.content.splitlines()
        first = NO_FIT_FIRST_LINE.fullmatch(lines[0])
        assert first, lines[0]
        best = message.artifact[0].metadata["score"]
        assert (first["best"], first["threshold"]) == (f"{best:.3f}", "0.950")
        assert lines[1] == "Nearest guesses, not good matches:"
        assert re.match(r"1\. .+ \(ISCO \d{4}, score [01]\.\d{3}, http://data\.europa\.eu/esco/occupation/", lines[2])
        assert len(message.artifact) == 3, "the guesses still come as Documents"
        assert [d.metadata["fits"] for d in message.artifact] == [False] * 3
        assert all(d.metadata["min_score"] == pytest.approx(0.95) for d in message.artifact)
    # Without a threshold the same query lists its matches plainly.
    plain = call(create_job_match_tool(target=target, min_score=0), query=NO_FIT_QUERY, k=3)
    assert plain.content.startswith("1. ")
    assert all(d.metadata["fits"] for d in plain.artifact)


def test_a_fitting_best_match_is_listed_plainly_and_weak_ones_are_marked() -> None:
    def doc(label: str, score: float, fits: bool, min_score: float = 0.5) -> Document:
        metadata = {"uri": f"u:{label}", "preferred_label": label, "isco_group": "2511", "score": score}
        return Document(label, metadata=metadata | {"skills": [], "fits": fits, "min_score": min_score})

    mixed = format_matches([doc("data scientist", 0.9, True), doc("statistician", 0.4, False)])
    assert mixed.splitlines() == [
        "1. data scientist (ISCO 2511, score 0.900, u:data scientist)",
        "2. statistician (ISCO 2511, score 0.400, u:statistician) - weak: below the threshold 0.500",
    ]
    none = format_matches([doc("statistician", 0.4, False), doc("cook", 0.3, False)]).splitlines()
    assert none[0] == "No ESCO occupation fits this query well: the best score, 0.400, is below the threshold 0.500."
    assert none[1:] == [
        "Nearest guesses, not good matches:",
        "1. statistician (ISCO 2511, score 0.400, u:statistician)",
        "2. cook (ISCO 2511, score 0.300, u:cook)",
    ]
    # Documents from elsewhere (no fits/min_score metadata) are listed as before.
    legacy = Document("cook", metadata={"uri": "u", "preferred_label": "cook", "isco_group": "5120", "score": 0.7})
    assert format_matches([Document("cook", metadata=legacy.metadata | {"skills": []})]) == (
        "1. cook (ISCO 5120, score 0.700, u)"
    )


async def test_rejected_requests_become_tool_errors_and_outages_raise(target: str) -> None:
    french = create_job_match_tool(JobMatchRetriever(target=target, language="fr"))
    message = call(french, query="cook")
    assert message.status == "error"
    assert message.content.startswith("INVALID_ARGUMENT")
    assert "INVALID_FILTER" in message.content
    assert (await french.ainvoke({"query": "cook"})).startswith("INVALID_ARGUMENT")
    down = create_job_match_tool(target="127.0.0.1:1", timeout=0.5, client_kwargs={"max_attempts": 1})
    with pytest.raises(JobMatchClientError) as caught:
        await down.ainvoke({"query": "cook"})
    assert caught.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    with pytest.raises(TypeError):
        create_job_match_tool(JobMatchRetriever(target=target), k=3)


class ToolCallingFakeChatModel(GenericFakeChatModel):
    """langchain-core's fake chat model, able to bind tools: it says its scripted messages (the tool call)
    and answers a tool result by quoting its first line, so the answer holds what the tool returned."""

    def bind_tools(self, tools: Sequence[BaseTool], **kwargs: Any) -> ToolCallingFakeChatModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        if isinstance(messages[-1], ToolMessage):
            best = str(messages[-1].content).splitlines()[0]
            return ChatResult(generations=[ChatGeneration(message=AIMessage(f"The closest ESCO occupation: {best}"))])
        return super()._generate(messages, *args, **kwargs)


async def run_agent(model: ToolCallingFakeChatModel, tools: list[BaseTool], question: str) -> list[BaseMessage]:
    """The tool-calling loop: the model answers or calls tools, whose messages go back to it."""
    by_name = {tool.name: tool for tool in tools}
    bound = model.bind_tools(tools)
    messages: list[BaseMessage] = [HumanMessage(question)]
    for _ in range(4):
        reply = await bound.ainvoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            return messages
        messages.extend([await by_name[c["name"]].ainvoke(c) for c in reply.tool_calls])
    raise AssertionError("the agent did not answer within 4 turns")


async def test_agent_calls_the_tool_and_answers_with_the_matched_occupation(target: str) -> None:
    tool = create_job_match_tool(target=target)
    args = {"query": DATA_SCIENTIST_LABEL, "k": 3}
    tool_call = {"name": tool.name, "args": args, "id": "call-1", "type": "tool_call"}
    model = ToolCallingFakeChatModel(messages=iter([AIMessage("", tool_calls=[tool_call])]))
    messages = await run_agent(model, [tool], f"Which ESCO occupation is a {DATA_SCIENTIST_LABEL}?")
    assert [type(m).__name__ for m in messages] == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert messages[2].artifact[0].metadata["uri"] == DATA_SCIENTIST
    assert messages[-1].content.startswith("The closest ESCO occupation: 1. data scientist (ISCO 2511")
    assert DATA_SCIENTIST in messages[-1].content


def test_the_example_runs_against_the_server(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).parents[2] / "integrations" / "langchain" / "examples" / "langchain_job_matching.py"
    example = runpy.run_path(str(path))
    example["main"]([DATA_SCIENTIST_LABEL, "--server", target, "-k", "2"])
    printed = capsys.readouterr().out
    assert re.search(rf"  [01]\.\d{{3}}  {DATA_SCIENTIST}\n", printed)
    assert "1. data scientist (ISCO 2511" in printed
    assert "Cosine of the query (anchor)" in printed


async def test_an_agent_hears_first_that_nothing_fits(target: str) -> None:
    tool = create_job_match_tool(target=target, min_score=0.95)
    tool_call_ = {"name": tool.name, "args": {"query": NO_FIT_QUERY}, "id": "call-1", "type": "tool_call"}
    model = ToolCallingFakeChatModel(messages=iter([AIMessage("", tool_calls=[tool_call_])]))
    messages = await run_agent(model, [tool], f"Which ESCO occupation is a {NO_FIT_QUERY}?")
    assert NO_FIT_FIRST_LINE.fullmatch(messages[-1].content.removeprefix("The closest ESCO occupation: "))
    assert [d.metadata["fits"] for d in messages[2].artifact] == [False] * 5
