"""`create_job_match_tool`: ESCO occupation matching as a LangChain tool for agents."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from langchain_core.documents import Document
from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel, Field

from jobmatch.client import JobMatchClientError
from langchain_jobmatch.retriever import JobMatchRetriever, QueryKind

DEFAULT_NAME = "match_occupations"
DEFAULT_DESCRIPTION = (
    "Find the ESCO occupations (European job classification) that best match a job title, a comma-separated "
    "list of skills, or free text such as a job ad or a resume. Returns occupations best first, with their "
    "ESCO URI, ISCO-08 group, a similarity score and their essential skills; says first when no occupation fits "
    "the query well, and then lists only nearest guesses."
)
_SHOWN_SKILLS = 8


class JobMatchToolInput(BaseModel):
    """Arguments of the job matching tool."""

    query: str = Field(min_length=1, description="A job title, a comma-separated skill list, or free text.")
    k: int = Field(default=5, ge=1, le=20, description="How many occupations to return.")
    kind: QueryKind = Field(
        default="job_title",
        description="job_title for a job title, skills for a comma-separated skill list, text for anything longer.",
    )


def format_matches(documents: list[Document]) -> str:
    """One readable line per occupation, best first, with its essential skills.

    When the best match does not fit (metadata ``fits`` False: it scores below ``min_score``), the text first
    says that no ESCO occupation fits the query well, with the best score and the threshold, then lists the
    matches as nearest guesses. Under a best match that fits, lower ones that miss the threshold are marked weak.
    """
    if not documents:
        return "No ESCO occupation matched."
    best = documents[0].metadata
    threshold = best.get("min_score", 0.0)
    best_fits = best.get("fits", True)
    lines = []
    if not best_fits:
        lines.append(
            f"No ESCO occupation fits this query well: the best score, {best['score']:.3f}, is below the "
            f"threshold {threshold:.3f}."
        )
        lines.append("Nearest guesses, not good matches:")
    for rank, doc in enumerate(documents, start=1):
        meta = doc.metadata
        where = f"ISCO {meta['isco_group']}, score {meta['score']:.3f}, {meta['uri']}"
        weak = f" - weak: below the threshold {threshold:.3f}" if best_fits and not meta.get("fits", True) else ""
        lines.append(f"{rank}. {meta['preferred_label']} ({where}){weak}")
        if meta["skills"]:
            lines.append(f"   essential skills: {', '.join(meta['skills'][:_SHOWN_SKILLS])}")
    return "\n".join(lines)


def create_job_match_tool(
    retriever: JobMatchRetriever | None = None,
    *,
    name: str = DEFAULT_NAME,
    description: str = DEFAULT_DESCRIPTION,
    **retriever_fields: Any,
) -> StructuredTool:
    """A tool that matches text to ESCO occupations through a jobmatch server.

    Pass a ``JobMatchRetriever``, or its fields (``target``, ``timeout``, ``language``, ``isco_prefixes``,
    ``min_score``, ``client_kwargs``, ...). The tool returns readable content for the model and the matched
    occupations as ``Document``s in the ``ToolMessage``'s artifact (metadata ``fits``: whether each clears
    ``min_score``). When the best match does not fit, the content says first that no ESCO occupation fits the
    query well, with the best score and the threshold, then lists the nearest guesses as such
    (:func:`format_matches`). A request the server rejects as INVALID_ARGUMENT becomes a tool error message the
    model can react to; other failures (server down, deadline) raise.
    """
    if retriever is None:
        retriever = JobMatchRetriever(**retriever_fields)
    elif retriever_fields:
        raise TypeError("pass either a retriever or its fields, not both")

    def match(query: str, k: int = 5, kind: QueryKind = "job_title") -> tuple[str, list[Document]]:
        with tool_errors():
            documents = retriever.invoke(query, k=k, kind=kind)
        return format_matches(documents), documents

    async def amatch(query: str, k: int = 5, kind: QueryKind = "job_title") -> tuple[str, list[Document]]:
        with tool_errors():
            documents = await retriever.ainvoke(query, k=k, kind=kind)
        return format_matches(documents), documents

    return StructuredTool.from_function(
        func=match,
        coroutine=amatch,
        name=name,
        description=description,
        args_schema=JobMatchToolInput,
        response_format="content_and_artifact",
        handle_tool_error=True,
    )


@contextmanager
def tool_errors(*codes: grpc.StatusCode) -> Iterator[None]:
    """Turn the server's errors of these codes (default INVALID_ARGUMENT: a request the model can fix) into a
    ToolException, which the tool reports to the model; other failures (an outage, a deadline) raise."""
    reported = codes or (grpc.StatusCode.INVALID_ARGUMENT,)
    try:
        yield
    except JobMatchClientError as error:
        if error.code not in reported:
            raise
        raise ToolException(f"{error} (reason: {error.reason or 'none'})") from error
