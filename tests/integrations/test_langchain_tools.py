"""The job match tool against the live server, alone and called by an agent's (fake) chat model."""

from __future__ import annotations

import re
import runpy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool
from pydantic import ValidationError

from jobmatch.client import JobMatchClientError
from jobmatch.integrations.langchain import JobMatchRetriever, create_job_match_tool
from tests.integrations.conftest import DATA_SCIENTIST, DATA_SCIENTIST_LABEL


def call(tool: BaseTool, **args: Any) -> ToolMessage:
    return tool.invoke({"type": "tool_call", "id": "call-1", "name": tool.name, "args": args})


def test_content_for_the_model_documents_as_artifact(target: str) -> None:
    tool = create_job_match_tool(target=target)
    message = call(tool, query=DATA_SCIENTIST_LABEL, k=3)
    lines = message.content.splitlines()
    # An exact label of the occupation scores 1 (to float precision, batched with other calls or not).
    assert re.fullmatch(rf"1\. data scientist \(ISCO 2511, score (1\.000|0\.99\d), {DATA_SCIENTIST}\)", lines[0])
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
    path = Path(__file__).parents[2] / "integrations" / "examples" / "langchain_job_matching.py"
    example = runpy.run_path(str(path))
    example["main"]([DATA_SCIENTIST_LABEL, "--server", target, "-k", "2"])
    printed = capsys.readouterr().out
    assert re.search(rf"  (1\.000|0\.99\d)  {DATA_SCIENTIST}\n", printed)
    assert "1. data scientist (ISCO 2511" in printed
    assert "Cosine of the query (anchor)" in printed
