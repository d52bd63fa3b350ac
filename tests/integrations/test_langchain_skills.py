"""The skill extraction and skill gap tools against the live server: content for the model, the extraction as
artifact, errors the model can act on, and an agent that calls them."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool
from pydantic import ValidationError

from jobmatch.client import ExtractedSkill, JobMatchClientError, SkillExtraction, SkillGap, SkillRef
from langchain_jobmatch import (
    JobMatchSkillExtractor,
    create_skill_extraction_tool,
    create_skill_gap_tool,
    format_skill_gap,
    format_skills,
)
from tests.integrations.conftest import DATA_SCIENTIST, DATA_SCIENTIST_SKILLS, SKILLS_TEXT
from tests.integrations.test_langchain_tools import ToolCallingFakeChatModel, run_agent


def call(tool: BaseTool, **args: Any) -> ToolMessage:
    return tool.invoke({"type": "tool_call", "id": "call-1", "name": tool.name, "args": args})


async def acall(tool: BaseTool, **args: Any) -> ToolMessage:
    return await tool.ainvoke({"type": "tool_call", "id": "call-1", "name": tool.name, "args": args})


def test_the_extraction_tool_lists_skills_with_evidence(target: str) -> None:
    tool = create_skill_extraction_tool(target=target, min_score=0)
    message = call(tool, text=SKILLS_TEXT, k=10)
    extraction = message.artifact
    assert isinstance(extraction, SkillExtraction)
    assert 0 < len(extraction.skills) <= 10
    lines = message.content.splitlines()
    assert lines[0] == "ESCO skills the text mentions, best first:"
    assert len(lines) == 1 + len(extraction.skills)
    for rank, (line, skill) in enumerate(zip(lines[1:], extraction.skills, strict=True), 1):
        assert line.startswith(f"{rank}. {skill.label} ({skill.skill_type}, score {skill.score:.3f}, {skill.uri})")
        assert line.endswith(f' - "{skill.evidence[0].text}"')  # the words of the text that show it
        assert skill.evidence[0].text in SKILLS_TEXT
    schema = tool.tool_call_schema.model_json_schema()
    assert set(schema["properties"]) == {"text", "k"}
    with pytest.raises(ValidationError):
        tool.invoke({"text": SKILLS_TEXT, "k": 0})


async def test_the_gap_tool_takes_a_uri_or_a_job_title(target: str) -> None:
    tool = create_skill_gap_tool(target=target, min_score=0.8)  # named verbatim, the tiny model scores ~0.86-0.91
    by_uri = call(tool, text=SKILLS_TEXT, occupation=DATA_SCIENTIST)
    by_title = await acall(tool, text=SKILLS_TEXT, occupation="data scientist")
    assert by_uri.content == by_title.content
    gap = by_uri.artifact.gap
    assert isinstance(gap, SkillGap)
    assert gap.occupation_uri == DATA_SCIENTIST
    shown = {s.label for s in gap.shown}
    assert set(DATA_SCIENTIST_SKILLS) <= shown
    lines = by_uri.content.splitlines()
    essential = len(gap.shown) + len(gap.missing)
    assert lines[0] == (
        f"Skill gap for data scientist ({DATA_SCIENTIST}): the text shows {len(gap.shown)} of its {essential} "
        f"essential skills (coverage {gap.coverage:.0%})."
    )
    assert lines[1] == "Shown:"
    assert lines[-1].startswith("Missing: ")
    assert lines[-1].removeprefix("Missing: ").split("; ") == [s.label for s in gap.missing]


def test_the_formats_without_skills_or_gap() -> None:
    empty = SkillExtraction(skills=(), model="m", esco_version="v", min_score=0.5)
    assert format_skills(empty) == "No ESCO skill found in the text (threshold 0.500)."
    assert format_skill_gap(empty) == format_skills(empty)
    skill = ExtractedSkill("u:s", "statistics", 0.91, "knowledge", (), "essential")
    gap = SkillGap("u:o", "data scientist", (), (SkillRef("u:m", "data mining"),), 0.0)
    text = format_skill_gap(SkillExtraction((skill,), "m", "v", 0.5, gap))
    assert text.splitlines() == [
        "Skill gap for data scientist (u:o): the text shows 0 of its 1 essential skills (coverage 0%).",
        "Missing: data mining",
    ]


async def test_errors_the_model_can_fix_become_tool_errors_and_outages_raise(target: str) -> None:
    gap = create_skill_gap_tool(target=target)
    unknown = call(gap, text=SKILLS_TEXT, occupation=DATA_SCIENTIST + "x")
    assert unknown.status == "error"
    assert unknown.content.startswith("NOT_FOUND")
    assert "OCCUPATION_NOT_FOUND" in unknown.content
    extract = create_skill_extraction_tool(target=target)
    refused = await acall(extract, text="!!! ---")
    assert refused.status == "error"
    assert "INVALID_QUERY" in refused.content
    down = create_skill_extraction_tool(target="127.0.0.1:1", timeout=0.5, client_kwargs={"max_attempts": 1})
    with pytest.raises(JobMatchClientError) as caught:
        await down.ainvoke({"text": SKILLS_TEXT})
    assert caught.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    with pytest.raises(TypeError):
        create_skill_gap_tool(JobMatchSkillExtractor(target=target), min_score=0.5)


async def test_an_agent_extracts_skills_then_asks_for_the_gap(target: str) -> None:
    extractor = JobMatchSkillExtractor(target=target, min_score=0.8)
    tools = [create_skill_extraction_tool(extractor), create_skill_gap_tool(extractor)]
    calls = [
        {"name": "extract_skills", "args": {"text": SKILLS_TEXT, "k": 5}, "id": "call-1", "type": "tool_call"},
        {"name": "skill_gap", "args": {"text": SKILLS_TEXT, "occupation": "data scientist"}, "id": "call-2",
         "type": "tool_call"},
    ]  # fmt: skip
    model = ToolCallingFakeChatModel(messages=iter([AIMessage("", tool_calls=calls)]))
    messages = await run_agent(model, tools, "What does this CV lack for a data scientist job?")
    results = [m for m in messages if isinstance(m, ToolMessage)]
    assert [m.name for m in results] == ["extract_skills", "skill_gap"]
    assert results[1].artifact.gap.occupation_uri == DATA_SCIENTIST
    # The (fake) model answers by quoting the last tool result's first line: the gap.
    assert messages[-1].content.startswith("The closest ESCO occupation: Skill gap for data scientist (")
