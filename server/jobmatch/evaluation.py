"""Ranking quality of occupation matching: Recall@k and MRR@10 over labelled queries.

A query file is a CSV with the columns `query,expected_uri` and optionally `language`,
`also_acceptable_uris` (space-separated URIs of occupations that are as right as the expected
one) and `split` (`dev`/`test`; ignored unless :func:`read_queries` is asked for one split).

Scores are lenient (a hit is any acceptable URI: the expected one or an alternative) except
`strict_recall@1`, which counts the expected URI only.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CUTOFFS = (1, 5, 10)


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    expected_uri: str
    language: str = ""
    also_acceptable: tuple[str, ...] = ()


@dataclass(frozen=True)
class RankingScores:
    """Lenient Recall@1/5/10 and MRR@10, and strict Recall@1, over `queries` queries (fractions in [0, 1])."""

    queries: int
    recall: dict[int, float]
    mrr_at_10: float
    strict_recall_at_1: float | None = None

    def as_row(self) -> dict[str, float]:
        row = {**{f"recall@{k}": round(v, 4) for k, v in self.recall.items()}, "mrr@10": round(self.mrr_at_10, 4)}
        if self.strict_recall_at_1 is not None:
            row["strict_recall@1"] = round(self.strict_recall_at_1, 4)
        return row


def _alternatives(row: dict[str, str | None], expected: str) -> tuple[str, ...]:
    """The row's also_acceptable_uris, in order, without repeats or the expected URI."""
    uris = (row.get("also_acceptable_uris") or "").split()
    return tuple(dict.fromkeys(uri for uri in uris if uri != expected))


def read_queries(path: Path, *, split: str | None = None) -> list[LabelledQuery]:
    """Read a `query,expected_uri[,language][,also_acceptable_uris][,split]` CSV.

    ``split`` keeps only the rows of that split (the file must have the column). ValueError
    naming the file, and the line for bad rows.
    """
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        missing = {"query", "expected_uri"} - columns
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        if split is not None and "split" not in columns:
            raise ValueError(f"{path}: no split column to select split {split!r} from")
        queries = []
        for row in reader:
            query, uri = (row.get("query") or "").strip(), (row.get("expected_uri") or "").strip()
            if not query or not uri:
                raise ValueError(f"{path}:{reader.line_num}: empty query or expected_uri")
            if split is not None and (row.get("split") or "").strip() != split:
                continue
            language = (row.get("language") or "").strip()
            queries.append(LabelledQuery(query, uri, language, _alternatives(row, uri)))
    if not queries:
        raise ValueError(f"{path}: no queries" + (f" in split {split!r}" if split is not None else ""))
    return queries


def _first_rank(ranked: Sequence[str], acceptable: Collection[str]) -> int | None:
    """The 1-based rank of the first acceptable URI in ``ranked``, None when there is none."""
    return next((rank for rank, uri in enumerate(ranked, 1) if uri in acceptable), None)


def score_rankings(
    rankings: Iterable[tuple[Sequence[str], str] | tuple[Sequence[str], str, Collection[str]]],
) -> RankingScores:
    """Scores of (ranked URIs, expected URI[, also acceptable URIs]) tuples.

    A ranking hits at the first URI that is the expected one or an alternative; a miss beyond
    rank 10 counts 0 for MRR@10. Strict Recall@1 asks for the expected URI at rank 1.
    """
    hits = dict.fromkeys(CUTOFFS, 0)
    strict_hits = 0
    reciprocal_ranks = 0.0
    count = 0
    for ranked, expected, *alternatives in rankings:
        count += 1
        rank = _first_rank(ranked, {expected, *(alternatives[0] if alternatives else ())})
        for k in CUTOFFS:
            hits[k] += rank is not None and rank <= k
        if rank is not None and rank <= 10:
            reciprocal_ranks += 1 / rank
        strict_hits += bool(ranked) and ranked[0] == expected
    if not count:
        raise ValueError("no rankings to score")
    return RankingScores(count, {k: hits[k] / count for k in CUTOFFS}, reciprocal_ranks / count, strict_hits / count)
