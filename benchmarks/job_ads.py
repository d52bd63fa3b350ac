"""Match quality on job-ad titles: ``benchmarks/data/job_ad_titles.csv``, its dev or test split.

    HF_HUB_OFFLINE=1 python benchmarks/job_ads.py --split dev                  # tune here
    HF_HUB_OFFLINE=1 python benchmarks/job_ads.py --split test --index-dir DIR # report once

Syncs ESCO v1.2.0 en + de (``--esco-dir``, default ``../shared/esco/v1.2.0/{en,de}``) with the
packaged all-MiniLM-L6-v2 into an embedded (Qdrant Edge) index, as ``jobmatch sync`` does with its
defaults (descriptions and BM25 included; ``--index-dir`` keeps it for the next run), then ranks
every title through ``OccupationIndex.match`` (kind ``job_title``, no language: the request a job
board sends) with each strategy: the default (``hybrid``), the previous default (``labels``, the
raw query), the naive baseline of the issue ("max cosine over all labels + 0.3 x description
cosine": ``labels`` and ``description`` at 1 : 0.3 on the raw query), and ablations. A hit is the
expected occupation or one of its ``also_acceptable_uris`` (lenient); strict R@1 counts the
expected one only. It also reports, for the default, the precision and recall of the no-fit
threshold (``DEFAULT_MIN_SCORES``): a query is answered when its best score reaches the threshold,
and precision is the share of answered queries whose first match is right.

Results: a table, and JSON in ``benchmarks/results/job-ads-<split>-<timestamp>.json``. This
benchmark uses the ESCO classification of the European Commission.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_matching_common import minilm_path, table, write_results

from jobmatch.evaluation import LabelledQuery, read_queries, score_rankings
from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.esco import load_bundles
from jobmatch.server.index import EngineEmbedder, OccupationIndex, OccupationMatch, open_store, sync_occupations
from jobmatch.server.index.strategies import DEFAULT_MIN_SCORES, Ranking, Strategy
from jobmatch.server.index.strategies import STRATEGIES as STRATEGIES_BY_NAME

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "job_ad_titles.csv"
ESCO = HERE.parents[1] / "shared" / "esco" / "v1.2.0"
DEFAULT = STRATEGIES_BY_NAME["hybrid"]["job_title"]


def without(family: str) -> Ranking:
    """The default without one family (an ablation)."""
    return replace(DEFAULT, families=tuple(w for w in DEFAULT.families if w.family != family))


STRATEGIES: dict[str, Strategy | Ranking] = {
    "hybrid (default)": "hybrid",
    "labels (previous default)": "labels",
    "naive: labels + 0.3 description": Ranking.of({"labels": 1.0, "description": 0.3}),
    "hybrid, raw query only": replace(DEFAULT, query_forms="raw"),
    "hybrid, cleaned query only": replace(DEFAULT, query_forms="cleaned"),
    "hybrid without BM25": without("bm25"),
    "hybrid without descriptions": without("description"),
    "hybrid without the general-occupation bonus": replace(DEFAULT, bonuses=()),
    "bm25 alone": "bm25",
}


async def ranked(index: OccupationIndex, queries: Sequence[LabelledQuery], strategy: Strategy | Ranking) -> list:
    """The top 10 of every query (concurrently: searches are batched as a server batches them)."""
    return await asyncio.gather(*[index.match(q.query, kind="job_title", top_k=10, strategy=strategy) for q in queries])


def threshold_row(queries: Sequence[LabelledQuery], results: Sequence[list[OccupationMatch]], threshold: float) -> dict:
    right = [
        bool(r) and r[0].uri in {q.expected_uri, *q.also_acceptable} for q, r in zip(queries, results, strict=True)
    ]
    answered = [bool(r) and r[0].score >= threshold for r in results]
    kept = sum(answered)
    correct_kept = sum(a and c for a, c in zip(answered, right, strict=True))
    return {
        "threshold": threshold,
        "answered": round(kept / len(queries), 3),
        "precision": round(correct_kept / kept, 3) if kept else 0.0,
        "recall": round(correct_kept / max(1, sum(right)), 3),
    }


async def main(args: argparse.Namespace) -> None:
    queries = read_queries(DATA, split=args.split)
    engine = EmbeddingEngine(ServerSettings(models=[f"minilm={minilm_path()}"], max_batch_wait_ms=0))
    await engine.start()
    embedder = EngineEmbedder(engine, "minilm")
    index_dir = args.index_dir or Path("/tmp/jobmatch-job-ads")
    async with await open_store(index_dir) as store:
        started = time.perf_counter()
        report = await sync_occupations(load_bundles(args.esco_dir), embedder, store, progress=True)
        print(f"index: {report.written} occupations written in {time.perf_counter() - started:.0f} s ({index_dir})")
        index = await OccupationIndex.open(store, embedder)
        rows, thresholds = [], []
        for name, strategy in STRATEGIES.items():
            results = await ranked(index, queries, strategy)
            for language in ("en", "de"):
                chosen = [(q, r) for q, r in zip(queries, results, strict=True) if q.language == language]
                scores = score_rankings(([m.uri for m in r], q.expected_uri, q.also_acceptable) for q, r in chosen)
                rows.append({"strategy": name, "language": language, "queries": scores.queries, **scores.as_row()})
            if strategy == "hybrid":
                for threshold in sorted({*args.thresholds, DEFAULT_MIN_SCORES["job_title"]}):
                    thresholds.append(threshold_row(queries, results, threshold))
    await engine.close()
    print("\n".join(table(list(rows[0]), [list(r.values()) for r in rows])))
    print(f"\nno-fit threshold (default {DEFAULT_MIN_SCORES['job_title']}), split {args.split}:")
    print("\n".join(table(list(thresholds[0]), [list(t.values()) for t in thresholds])))
    results = {"split": args.split, "rankings": rows, "thresholds": thresholds}
    print(write_results(f"job-ads-{args.split}", results, None))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--index-dir", type=Path, help="keep the index here (default /tmp/jobmatch-job-ads)")
    parser.add_argument("--esco-dir", type=Path, action="append", help="ESCO bundles (default: v1.2.0 en and de)")
    parser.add_argument("--thresholds", type=float, nargs="*", default=[0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7])
    arguments = parser.parse_args()
    arguments.esco_dir = arguments.esco_dir or [ESCO / "en", ESCO / "de"]
    asyncio.run(main(arguments))
