"""Ranking quality of occupation matching: Recall@k and MRR@10 over labelled queries.

A query file is a CSV with the columns `query,expected_uri` and optionally `language`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CUTOFFS = (1, 5, 10)


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    expected_uri: str
    language: str = ""


@dataclass(frozen=True)
class RankingScores:
    """Recall@1/5/10 and MRR@10 over `queries` queries (each a fraction in [0, 1])."""

    queries: int
    recall: dict[int, float]
    mrr_at_10: float

    def as_row(self) -> dict[str, float]:
        return {**{f"recall@{k}": round(v, 4) for k, v in self.recall.items()}, "mrr@10": round(self.mrr_at_10, 4)}


def read_queries(path: Path) -> list[LabelledQuery]:
    """Read a `query,expected_uri[,language]` CSV; ValueError naming the file and line on bad rows."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"query", "expected_uri"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        queries = []
        for row in reader:
            query, uri = (row.get("query") or "").strip(), (row.get("expected_uri") or "").strip()
            if not query or not uri:
                raise ValueError(f"{path}:{reader.line_num}: empty query or expected_uri")
            queries.append(LabelledQuery(query, uri, (row.get("language") or "").strip()))
    if not queries:
        raise ValueError(f"{path}: no queries")
    return queries


def score_rankings(rankings: Iterable[tuple[Sequence[str], str]]) -> RankingScores:
    """Scores of (ranked URIs, expected URI) pairs; a miss beyond rank 10 counts 0 for MRR@10."""
    hits = dict.fromkeys(CUTOFFS, 0)
    reciprocal_ranks = 0.0
    count = 0
    for ranked, expected in rankings:
        count += 1
        rank = ranked.index(expected) + 1 if expected in ranked else None
        for k in CUTOFFS:
            hits[k] += rank is not None and rank <= k
        if rank is not None and rank <= 10:
            reciprocal_ranks += 1 / rank
    if not count:
        raise ValueError("no rankings to score")
    return RankingScores(count, {k: hits[k] / count for k in CUTOFFS}, reciprocal_ranks / count)
