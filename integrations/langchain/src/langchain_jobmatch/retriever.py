"""`JobMatchRetriever`: ESCO occupations for a query, through the server's MatchOccupations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from jobmatch.client import OccupationMatch, OccupationMatches
from langchain_jobmatch._connection import JobMatchConnection

QueryKind = Literal["job_title", "skills", "text"]


def occupation_document(match: OccupationMatch, min_score: float = 0.0) -> Document:
    """A match as a Document: the label (and description, if the match has one) as content; URI, ISCO
    group, score, skills, whether it ``fits`` and the ``min_score`` it was held to (0: none) as metadata."""
    content = f"{match.preferred_label}\n\n{match.description}" if match.description else match.preferred_label
    metadata = {
        "uri": match.uri,
        "preferred_label": match.preferred_label,
        "code": match.code,
        "isco_group": match.isco_group,
        "score": match.score,
        "skills": list(match.skills),
        "fits": match.fits,
        "min_score": min_score,
    }
    return Document(page_content=content, metadata=metadata, id=match.uri)


def _documents(matches: OccupationMatches) -> list[Document]:
    """The Documents of a ``match_occupations`` answer, best first."""
    return [occupation_document(m, matches.min_score) for m in matches]


class JobMatchRetriever(JobMatchConnection, BaseRetriever):
    """The ESCO occupations closest to a query, best first, as Documents.

    Every search field can also be given per call: ``retriever.invoke("nurse", k=3, isco_prefixes=["22"])``.

    >>> retriever = JobMatchRetriever(target="127.0.0.1:50051", k=5)
    >>> retriever.invoke("Senior Data Scientist (m/w/d)")[0].metadata["uri"]
    >>> retriever.invoke("Python, SQL, statistics", kind="skills")

    Failures raise ``jobmatch.client.JobMatchClientError`` (gRPC ``code``, server ``reason``, ``field``):
    INVALID_ARGUMENT for a bad query or filter, FAILED_PRECONDITION when the server's index was never synced.
    """

    k: int = Field(default=5, ge=1, le=100)
    """Number of occupations returned."""

    kind: QueryKind = "job_title"
    """What the query is: ``job_title`` (anchor head), ``skills`` (a comma-separated list, positive head) or
    ``text`` (free text such as a job ad)."""

    language: str = ""
    """ISO 639-1 code of the labels searched and returned; empty searches every synced language."""

    isco_prefixes: list[str] = Field(default_factory=list)
    """Keep occupations whose ISCO-08 code starts with one of these (``["25"]``: ICT professionals)."""

    with_descriptions: bool = True
    """Put the ESCO description after the label in ``page_content`` (fetched in the same call)."""

    min_score: float | None = None
    """The score below which no occupation fits the query (each Document's ``fits`` metadata says whether it
    clears it; the Documents come back either way). None: the server's default for the query kind; 0: none."""

    def _search(
        self,
        k: int | None,
        kind: QueryKind | None,
        language: str | None,
        isco_prefixes: Sequence[str] | None,
        min_score: float | None,
    ) -> dict[str, Any]:
        top_k = self.k if k is None else k
        if not 1 <= top_k <= 100:
            raise ValueError(f"k must be between 1 and 100, got {top_k}")
        return {
            "top_k": top_k,
            "kind": kind or self.kind,
            "language": self.language if language is None else language,
            "isco_prefixes": list(self.isco_prefixes if isco_prefixes is None else isco_prefixes),
            "include_descriptions": self.with_descriptions,
            "min_score": self.min_score if min_score is None else min_score,
        }

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        kind: QueryKind | None = None,
        language: str | None = None,
        isco_prefixes: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> list[Document]:
        search = self._search(k, kind, language, isco_prefixes, min_score)
        return _documents(self.client.match_occupations(query, **search))

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        kind: QueryKind | None = None,
        language: str | None = None,
        isco_prefixes: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> list[Document]:
        search = self._search(k, kind, language, isco_prefixes, min_score)
        return _documents(await self.async_client.match_occupations(query, **search))
