"""Skill extraction and the skill gap as LangChain tools: the ESCO skills a text mentions (ExtractSkills), and
how a text covers an occupation's essential skills."""

from __future__ import annotations

import grpc
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from jobmatch.client import ExtractedSkill, JobMatchClientError, OccupationMatches, SkillExtraction
from langchain_jobmatch._connection import JobMatchConnection
from langchain_jobmatch.tools import tool_errors

EXTRACTION_NAME = "extract_skills"
EXTRACTION_DESCRIPTION = (
    "Find the ESCO skills (European skills classification) that a text mentions: a job ad, a CV, a profile. "
    "Returns the skills best first, each with its ESCO URI, a similarity score and the words of the text that "
    "show it."
)
GAP_NAME = "skill_gap"
GAP_DESCRIPTION = (
    "Compare a text (a CV, a profile) with the essential skills of an ESCO occupation: which ones the text shows, "
    "with evidence, and which ones are missing. The occupation is an ESCO occupation URI, or a job title, which "
    "is matched to its closest ESCO occupation first."
)
_EVIDENCE_CHARS = 80
_OCCUPATION_URI = "http://data.europa.eu/esco/occupation/"


class JobMatchSkillExtractor(JobMatchConnection):
    """ExtractSkills of a jobmatch server, with the defaults the tools use.

    >>> extractor = JobMatchSkillExtractor(target="127.0.0.1:50051", min_score=0.5)
    >>> extractor.extract("We need a nurse who can administer medication").skills[0].label
    >>> extractor.extract(cv_text, occupation="data scientist").gap.missing
    """

    top_k: int | None = Field(default=None, ge=1, le=100)
    """Most skills per text; None: the server's default (20)."""

    min_score: float | None = None
    """The score below which a skill is not said to be in the text; None: the server's default; 0: none."""

    language: str = ""
    """ISO 639-1 code of the texts; empty: detected by the server."""

    def extract(self, text: str, *, occupation: str | None = None, top_k: int | None = None) -> SkillExtraction:
        """The skills `text` mentions; with `occupation` (an ESCO URI, or a job title matched to one first),
        also the skill gap."""
        uri = None if occupation is None else self._occupation_uri(occupation)
        options = self._options(top_k)
        return self.client.extract_skills(text, occupation_uri=uri, **options)

    async def aextract(self, text: str, *, occupation: str | None = None, top_k: int | None = None) -> SkillExtraction:
        """`extract` on asyncio (grpc.aio)."""
        uri = None if occupation is None else await self._aoccupation_uri(occupation)
        options = self._options(top_k)
        return await self.async_client.extract_skills(text, occupation_uri=uri, **options)

    def _options(self, top_k: int | None) -> dict[str, object]:
        return {"top_k": top_k or self.top_k, "min_score": self.min_score, "language": self.language}

    def _occupation_uri(self, occupation: str) -> str:
        if occupation.startswith(_OCCUPATION_URI) or not occupation.strip():
            return occupation
        return _best_uri(occupation, self.client.match_occupations(occupation, top_k=1, language=self.language))

    async def _aoccupation_uri(self, occupation: str) -> str:
        if occupation.startswith(_OCCUPATION_URI) or not occupation.strip():
            return occupation
        matches = await self.async_client.match_occupations(occupation, top_k=1, language=self.language)
        return _best_uri(occupation, matches)


def _best_uri(title: str, matches: OccupationMatches) -> str:
    if not matches:
        raise JobMatchClientError(grpc.StatusCode.NOT_FOUND, f"no ESCO occupation matches {title!r}")
    return matches[0].uri


class SkillExtractionToolInput(BaseModel):
    """Arguments of the skill extraction tool."""

    text: str = Field(min_length=1, description="The text to read: a job ad, a CV, a profile.")
    k: int = Field(default=10, ge=1, le=50, description="How many skills to return at most.")


class SkillGapToolInput(BaseModel):
    """Arguments of the skill gap tool."""

    text: str = Field(min_length=1, description="The text to compare: a CV or a profile.")
    occupation: str = Field(
        min_length=1, description="An ESCO occupation URI, or a job title (matched to its closest ESCO occupation)."
    )


def _skill_line(rank: int, skill: ExtractedSkill) -> str:
    shown = f' - "{skill.evidence[0].text[:_EVIDENCE_CHARS]}"' if skill.evidence else ""
    kind = f"{skill.skill_type}, " if skill.skill_type else ""
    return f"{rank}. {skill.label} ({kind}score {skill.score:.3f}, {skill.uri}){shown}"


def format_skills(extraction: SkillExtraction) -> str:
    """One line per skill, best first, with the words of the text that show it."""
    if not extraction.skills:
        return f"No ESCO skill found in the text (threshold {extraction.min_score:.3f})."
    lines = ["ESCO skills the text mentions, best first:"]
    lines += [_skill_line(rank, skill) for rank, skill in enumerate(extraction.skills, 1)]
    return "\n".join(lines)


def format_skill_gap(extraction: SkillExtraction) -> str:
    """Coverage first, then the essential skills shown (with evidence) and those missing."""
    gap = extraction.gap
    if gap is None:
        return format_skills(extraction)
    essential = len(gap.shown) + len(gap.missing)
    lines = [
        f"Skill gap for {gap.occupation_label} ({gap.occupation_uri}): the text shows {len(gap.shown)} of its "
        f"{essential} essential skills (coverage {gap.coverage:.0%})."
    ]
    if gap.shown:
        lines.append("Shown:")
        lines += [_skill_line(rank, skill) for rank, skill in enumerate(gap.shown, 1)]
    if gap.missing:
        lines.append("Missing: " + "; ".join(skill.label for skill in gap.missing))
    return "\n".join(lines)


def _extractor(extractor: JobMatchSkillExtractor | None, fields: dict[str, object]) -> JobMatchSkillExtractor:
    if extractor is None:
        return JobMatchSkillExtractor(**fields)
    if fields:
        raise TypeError("pass either an extractor or its fields, not both")
    return extractor


_REPORTED = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)  # the model can fix these


def create_skill_extraction_tool(
    extractor: JobMatchSkillExtractor | None = None,
    *,
    name: str = EXTRACTION_NAME,
    description: str = EXTRACTION_DESCRIPTION,
    **extractor_fields: object,
) -> StructuredTool:
    """A tool that lists the ESCO skills a text mentions, through a jobmatch server.

    Pass a ``JobMatchSkillExtractor`` or its fields (``target``, ``timeout``, ``min_score``, ``language``,
    ``client_kwargs``, ...). Content for the model: one line per skill with its evidence
    (:func:`format_skills`); artifact: the ``SkillExtraction``. A request the server refuses (INVALID_ARGUMENT)
    comes back to the model as a tool error; an outage raises.
    """
    skills = _extractor(extractor, extractor_fields)

    def extract(text: str, k: int = 10) -> tuple[str, SkillExtraction]:
        with tool_errors(*_REPORTED):
            extraction = skills.extract(text, top_k=k)
        return format_skills(extraction), extraction

    async def aextract(text: str, k: int = 10) -> tuple[str, SkillExtraction]:
        with tool_errors(*_REPORTED):
            extraction = await skills.aextract(text, top_k=k)
        return format_skills(extraction), extraction

    return StructuredTool.from_function(
        func=extract,
        coroutine=aextract,
        name=name,
        description=description,
        args_schema=SkillExtractionToolInput,
        response_format="content_and_artifact",
        handle_tool_error=True,
    )


def create_skill_gap_tool(
    extractor: JobMatchSkillExtractor | None = None,
    *,
    name: str = GAP_NAME,
    description: str = GAP_DESCRIPTION,
    **extractor_fields: object,
) -> StructuredTool:
    """A tool that compares a text with an occupation's essential skills (ExtractSkills with an occupation).

    The occupation is an ESCO URI or a job title (matched to its closest occupation first). Content: the
    coverage, the skills shown with evidence and those missing (:func:`format_skill_gap`); artifact: the
    ``SkillExtraction`` with its ``gap``. An unknown occupation URI (NOT_FOUND) and a refused request come back
    to the model as tool errors; an outage raises.
    """
    skills = _extractor(extractor, extractor_fields)

    def gap(text: str, occupation: str) -> tuple[str, SkillExtraction]:
        with tool_errors(*_REPORTED):
            extraction = skills.extract(text, occupation=occupation)
        return format_skill_gap(extraction), extraction

    async def agap(text: str, occupation: str) -> tuple[str, SkillExtraction]:
        with tool_errors(*_REPORTED):
            extraction = await skills.aextract(text, occupation=occupation)
        return format_skill_gap(extraction), extraction

    return StructuredTool.from_function(
        func=gap,
        coroutine=agap,
        name=name,
        description=description,
        args_schema=SkillGapToolInput,
        response_format="content_and_artifact",
        handle_tool_error=True,
    )
