"""Scores recomputed by hand from stored vectors: what a match's score must be, given its plan.

A match's score is the engine's fusion (:mod:`jobmatch.server.index.plan`): per family the best
cosine over the family's probes, then the weighted mean over families, a family whose prefetch did
not return the point counting 0. Here the cosines come from the point's stored vectors (numpy) and
the query's embeddings, so a test can check that a match was scored on the vectors and through the
heads its strategy names, without asking the engine.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from jobmatch.server.index import Embedder, QdrantStore, Side
from jobmatch.server.index.plan import FamilyWeight
from jobmatch.server.index.strategies import SearchSpec

FamilyScores = dict[str, float]  # family -> best cosine over its probes
STORED_ATOL = 1e-3
"""How far a score the engine computes may lie from the same cosine in float32: the index stores its
vectors in float16 (:class:`~jobmatch.server.index.store.DenseSpec`), each component within 2.5e-4
(relative) of its float32 value, so a cosine moves by well under 1e-3."""


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


async def query_vectors(embedder: Embedder, text: str, sides: set[Side]) -> dict[Side, np.ndarray]:
    """The query embedded through each head (a symmetric model: its one head for all)."""
    heads = {side: side if embedder.asymmetric else "anchor" for side in sides}
    return {side: unit((await embedder.embed([text], head))[0]) for side, head in heads.items()}


async def family_scores(
    store: QdrantStore, collection: str, ids: Sequence[str], search: SearchSpec, queries: Mapping[Side, np.ndarray]
) -> dict[str, FamilyScores]:
    """Point id -> each searched family's best cosine (the dense probes), from the stored vectors."""
    records = await store.retrieve(collection, list(ids), False, with_vectors=True)
    found: dict[str, FamilyScores] = {}
    for record in records:
        scores: FamilyScores = {}
        for probe in search.probes:
            vector = record.vectors.get(probe.vector)
            if probe.side is None or vector is None:
                continue
            cosine = float(np.max(np.atleast_2d(unit(vector)) @ queries[probe.side]))
            scores[probe.family] = max(scores.get(probe.family, -1.0), cosine)
        found[record.id] = scores
    return found


def possible_scores(scores: FamilyScores, weights: Sequence[FamilyWeight]) -> list[float]:
    """The fused score for every set of families whose prefetch may have returned the point."""
    total = sum(w.weight for w in weights)
    families = [w for w in weights if w.family in scores]
    return [
        sum(w.weight * scores[w.family] for w in subset) / total
        for size in range(1, len(families) + 1)
        for subset in itertools.combinations(families, size)
    ]


def scored_as_planned(score: float, scores: FamilyScores, weights: Sequence[FamilyWeight]) -> bool:
    return any(abs(score - candidate) < STORED_ATOL for candidate in possible_scores(scores, weights))
