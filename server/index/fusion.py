"""Merge the hits of several probes into one ranking.

Within a family (the same texts in several languages) a point scores its best cosine. Across
families (labels vs skill lists: different score scales) ranks are fused with reciprocal rank
fusion, ``sum(1 / (k + rank))``; a single family keeps its cosine. Done client-side rather than
with Qdrant's prefetch + RRF so that each match can tell which vector found it, and its cosines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["RRF_K", "Fused", "Hit", "fuse"]

RRF_K = 60


@dataclass(frozen=True, slots=True)
class Hit:
    """One point found by one probe."""

    id: str
    vector: str
    family: str
    score: float


@dataclass(slots=True)
class Fused:
    id: str
    score: float = 0.0
    vector: str = ""  # the vector that ranked it best
    scores: dict[str, float] = field(default_factory=dict)  # cosine per vector that found it


def _best_per_point(hits: Sequence[Hit]) -> list[Hit]:
    best: dict[str, Hit] = {}
    for hit in hits:
        if hit.id not in best or hit.score > best[hit.id].score:
            best[hit.id] = hit
    return sorted(best.values(), key=lambda h: (-h.score, h.id))


def fuse(hits: Sequence[Hit], *, rrf_k: int = RRF_K) -> list[Fused]:
    """Best first; ties by id, so the order is deterministic."""
    families: dict[str, list[Hit]] = {}
    for hit in hits:
        families.setdefault(hit.family, []).append(hit)
    ranked = {family: _best_per_point(found) for family, found in families.items()}
    single = len(ranked) == 1
    merged: dict[str, Fused] = {}
    best_rank: dict[str, tuple[int, float]] = {}
    for found in ranked.values():
        for rank, hit in enumerate(found, start=1):
            entry = merged.setdefault(hit.id, Fused(hit.id))
            entry.score += hit.score if single else 1.0 / (rrf_k + rank)
            if hit.id not in best_rank or (rank, -hit.score) < best_rank[hit.id]:
                best_rank[hit.id] = (rank, -hit.score)
                entry.vector = hit.vector
    for hit in hits:
        scores = merged[hit.id].scores
        scores[hit.vector] = max(scores.get(hit.vector, -1.0), hit.score)
    return sorted(merged.values(), key=lambda f: (-f.score, f.id))
