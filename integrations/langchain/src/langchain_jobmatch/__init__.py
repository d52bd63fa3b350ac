"""LangChain adapter for a jobmatch server (``pip install langchain-jobmatch``).

- :class:`JobMatchEmbeddings`: ``Embeddings`` over the server's EmbeddingService (JobBERT sides).
- :class:`JobMatchRetriever`: ESCO occupations for a query, as ``Document``s (MatchOccupations).
- :func:`create_job_match_tool`: the retriever as an agent tool with a typed argument schema.
- :class:`JobMatchSkillExtractor`, :func:`create_skill_extraction_tool`, :func:`create_skill_gap_tool`: the ESCO
  skills a text mentions (ExtractSkills), and how a text covers an occupation's essential skills, as tools.
- :func:`occupation_vector_store`: langchain-qdrant's ``QdrantVectorStore`` over the synced collection
  (imported on first use: it needs langchain-qdrant).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobmatch.client import JobMatchClientError
from langchain_jobmatch.embeddings import JobMatchEmbeddings
from langchain_jobmatch.retriever import JobMatchRetriever, occupation_document
from langchain_jobmatch.skills import (
    JobMatchSkillExtractor,
    SkillExtractionToolInput,
    SkillGapToolInput,
    create_skill_extraction_tool,
    create_skill_gap_tool,
    format_skill_gap,
    format_skills,
)
from langchain_jobmatch.tools import JobMatchToolInput, create_job_match_tool, format_matches

if TYPE_CHECKING:
    from langchain_jobmatch.vectorstore import occupation_vector_store

__all__ = [
    "JobMatchClientError",
    "JobMatchEmbeddings",
    "JobMatchRetriever",
    "JobMatchSkillExtractor",
    "JobMatchToolInput",
    "SkillExtractionToolInput",
    "SkillGapToolInput",
    "create_job_match_tool",
    "create_skill_extraction_tool",
    "create_skill_gap_tool",
    "format_matches",
    "format_skill_gap",
    "format_skills",
    "occupation_document",
    "occupation_vector_store",
]


def __getattr__(name: str) -> Any:
    if name == "occupation_vector_store":
        from langchain_jobmatch.vectorstore import occupation_vector_store

        return occupation_vector_store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
