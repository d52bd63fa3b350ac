"""Python clients for jobmatch: `JobMatchClient` (blocking) and `AsyncJobMatchClient` (asyncio).

Both return numpy float32 arrays, chunk long input lists, apply deadlines, and let the gRPC
runtime retry UNAVAILABLE and RESOURCE_EXHAUSTED with exponential backoff.
"""

from jobmatch.client._common import (
    Evidence,
    ExtractedSkill,
    JobMatchClientError,
    MatchQuery,
    MatchResult,
    ModelInfo,
    OccupationMatch,
    OccupationMatches,
    SkillExtraction,
    SkillGap,
    SkillMatch,
    SkillRef,
)
from jobmatch.client.aio import AsyncJobMatchClient
from jobmatch.client.sync import JobMatchClient

__all__ = [
    "AsyncJobMatchClient",
    "Evidence",
    "ExtractedSkill",
    "JobMatchClient",
    "JobMatchClientError",
    "MatchQuery",
    "MatchResult",
    "ModelInfo",
    "OccupationMatch",
    "OccupationMatches",
    "SkillExtraction",
    "SkillGap",
    "SkillMatch",
    "SkillRef",
]
