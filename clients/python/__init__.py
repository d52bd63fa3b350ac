"""Python clients for jobmatch: `JobMatchClient` (blocking) and `AsyncJobMatchClient` (asyncio).

Both return numpy float32 arrays, chunk long input lists, apply deadlines, and let the gRPC
runtime retry UNAVAILABLE and RESOURCE_EXHAUSTED with exponential backoff.
"""

from jobmatch.client._common import JobMatchClientError, ModelInfo, OccupationMatch, OccupationMatches, SkillMatch
from jobmatch.client.aio import AsyncJobMatchClient
from jobmatch.client.sync import JobMatchClient

__all__ = [
    "AsyncJobMatchClient",
    "JobMatchClient",
    "JobMatchClientError",
    "ModelInfo",
    "OccupationMatch",
    "OccupationMatches",
    "SkillMatch",
]
