"""Merge the hits of several probes into one ranking.

Within a family (the same texts in several languages) a point scores its best cosine. Across
families there are two ways, chosen by the family names the probes carry:

* **weighted** families (named by :func:`weighted`, e.g. ``"skills*1"`` and ``"labels*0.25"``, as
  the ``fused`` strategy plans them): the weighted mean of the families' cosines. A point that a
  family did not return (it was not among that probe's candidates) counts that family's lowest
  returned cosine, an upper bound of its own. Cosines of one model are comparable across families,
  and the weights let the family that fits the query's kind lead while the others break its near-ties;
* plain families (``"labels"``, ``"skills"``): reciprocal rank fusion, ``sum(1 / (k + rank))``.

Measured on held-out ESCO labels, skill lists and descriptions with all-MiniLM-L6-v2
(``benchmarks/quality.py``, 600 queries a set): reciprocal rank fusion (``k = 60``) of labels and skill
lists fell 23 to 34 points of Recall@1 below the better family alone (it averages in the ranks of the
family that does not fit the query); the max of cosines just repeated the better family; the weighted
mean came within -1.3 to +1.7 points of the better family, and led on the skill lists that no vector
embeds (Recall@5 0.240 vs 0.212): ``fused`` uses it. A single family keeps its cosine either way.

Done client-side rather than with Qdrant's prefetch + fusion so that each match can tell which
vector found it, and its cosines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["RRF_K", "Fused", "Hit", "family_weight", "fuse", "weighted"]

RRF_K = 60
_WEIGHT_MARK = "*"


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
    vector: str = ""  # the vector that ranked it best (weighted: that contributed most)
    scores: dict[str, float] = field(default_factory=dict)  # cosine per vector that found it


def weighted(family: str, weight: float) -> str:
    """The family name under which a probe's hits are fused by weighted mean of cosines with ``weight``."""
    if not weight > 0:
        raise ValueError(f"a family weight must be positive, not {weight}")
    return f"{family}{_WEIGHT_MARK}{weight:g}"


def family_weight(family: str) -> tuple[str, float | None]:
    """``"skills*0.25"`` -> ``("skills", 0.25)``; a plain family -> ``(family, None)``."""
    name, mark, weight = family.rpartition(_WEIGHT_MARK)
    if not mark:
        return family, None
    try:
        return name, float(weight)
    except ValueError:
        return family, None


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
    weights = {family: family_weight(family)[1] for family in ranked}
    if len(ranked) == 1:
        merged = _single(next(iter(ranked.values())))
    elif all(weight is not None for weight in weights.values()):
        merged = _weighted(ranked, {family: float(weight or 0.0) for family, weight in weights.items()})
    else:
        merged = _reciprocal_rank(ranked, rrf_k)
    for hit in hits:
        scores = merged[hit.id].scores
        scores[hit.vector] = max(scores.get(hit.vector, -1.0), hit.score)
    return sorted(merged.values(), key=lambda f: (-f.score, f.id))


def _single(found: list[Hit]) -> dict[str, Fused]:
    return {hit.id: Fused(hit.id, hit.score, hit.vector) for hit in found}


def _reciprocal_rank(ranked: dict[str, list[Hit]], rrf_k: int) -> dict[str, Fused]:
    merged: dict[str, Fused] = {}
    best_rank: dict[str, tuple[int, float]] = {}
    for found in ranked.values():
        for rank, hit in enumerate(found, start=1):
            entry = merged.setdefault(hit.id, Fused(hit.id))
            entry.score += 1.0 / (rrf_k + rank)
            if hit.id not in best_rank or (rank, -hit.score) < best_rank[hit.id]:
                best_rank[hit.id] = (rank, -hit.score)
                entry.vector = hit.vector
    return merged


def _weighted(ranked: dict[str, list[Hit]], weights: dict[str, float]) -> dict[str, Fused]:
    total = sum(weights.values())
    floors = {family: found[-1].score for family, found in ranked.items()}  # lowest returned cosine
    by_family = {family: {hit.id: hit for hit in found} for family, found in ranked.items()}
    merged: dict[str, Fused] = {}
    for point in dict.fromkeys(hit.id for found in ranked.values() for hit in found):
        entry = merged[point] = Fused(point)
        best = float("-inf")
        for family, weight in weights.items():
            hit = by_family[family].get(point)
            entry.score += weight * (hit.score if hit is not None else floors[family]) / total
            if hit is not None and weight * hit.score > best:
                best, entry.vector = weight * hit.score, hit.vector
    return merged
