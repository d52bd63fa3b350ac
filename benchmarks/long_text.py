"""Long texts to occupations (issue 15 item 3): chunked reading against truncation, MRR@100 and R@5.

    HF_HUB_OFFLINE=1 python benchmarks/long_text.py --split dev                # tune here (~30 min busy)
    HF_HUB_OFFLINE=1 python benchmarks/long_text.py --split test --methods main   # report once
    HF_HUB_OFFLINE=1 python benchmarks/long_text.py --per-split 10 --per-split-de 5 --latency 3  # smoke

The set (``long_text_set.py``: job ads and CVs built from ESCO, the occupation's labels removed,
three lengths, dev/test by occupation) in three parts: ``en`` (ESCO v1.1.1: description sentences,
essential and optional skills, skill descriptions, noise), ``en-unindexed`` (the same recipe from
what the index embeds nowhere: optional skills and their descriptions) and ``de`` (ESCO v1.2.0
German descriptions and German noise; that folder has no skills). Each part is matched against an
embedded Qdrant Edge index synced with the packaged all-MiniLM-L6-v2 and the sync's defaults
(descriptions, BM25): ``en`` parts against v1.1.1 English, ``de`` against v1.2.0 English + German
(no language given, as a job board's request). ``--index-dir`` keeps both indexes (the sync is
incremental: a second run embeds nothing).

Every text goes through ``OccupationIndex.match(text, kind="text", top_k=100)``, the server's path,
with each method: a :class:`TextReading` (``max_chunks=1`` is the truncation of before: the text as
one input, cut at the model's window) and a strategy. One more alternative is built here from the
plan's parts: the mean of the chunk vectors as one query (``mean of chunks``). Chunk embeddings are
cached across methods (they are the same texts); the latency part embeds for real, one text at a
time, through the server's in-process engine.

Metrics: MRR@100 (the CareerBERT paper's: 1/rank of the occupation within the top 100, else 0)
and R@5, per part and length. Results: tables, and JSON in ``benchmarks/results/long-text-<split>-*.json``.
This benchmark uses the ESCO classification of the European Commission.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
from long_text_set import LENGTHS, LongText, Source, build_set
from quality import CachedEmbedder
from sync_matching_common import minilm_path, percentiles_ms, table, write_results

from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.esco import load_bundles
from jobmatch.server.index import EngineEmbedder, OccupationIndex, open_store, sync_occupations
from jobmatch.server.index.lexical import query_vector
from jobmatch.server.index.long_text import DEFAULT_READING, TextReading, text_chunks
from jobmatch.server.index.plan import PayloadFilter, Probe, QueryPlan
from jobmatch.server.index.strategies import Ranking, plan_search

HERE = Path(__file__).resolve().parent
ESCO = HERE.parents[1] / "shared" / "esco"
TOP_K = 100
CONCURRENCY = 32
MAX_INPUT_CHARS = 100_000  # the server's default --max-input-chars


@dataclass(frozen=True)
class Method:
    """A way of reading a text: a :class:`TextReading` and a strategy (None: the kind's default)."""

    reading: TextReading | None  # None: the mean of the chunk vectors (built here)
    strategy: Ranking | None = None


BEFORE = Ranking.of({"labels": 1.0, "skills": 0.25, "description": 0.25})  # the text strategy before issue 15
ONE_INPUT = TextReading(max_chunks=1)  # the text as one input, cut at the model's window
TRUNCATION = "truncation (before)"
DEFAULT = "whole text + chunks, fused 1 : 1 : 1 (default)"
MEAN = "mean of chunks"
MAIN: dict[str, Method] = {TRUNCATION: Method(ONE_INPUT, BEFORE), DEFAULT: Method(DEFAULT_READING)}
DECOMPOSITION: dict[str, Method] = {
    "truncation, fused 1 : 1 : 1": Method(ONE_INPUT),
    "whole text + chunks, fused 1 : 0.25 : 0.25": Method(DEFAULT_READING, BEFORE),
}
ALTERNATIVES: dict[str, Method] = {
    MEAN: Method(None),
    "chunks without the whole text": Method(TextReading(whole=False)),
    "chunks without the whole text, fused 1 : 0.25 : 0.25": Method(TextReading(whole=False), BEFORE),
    "32 chunks searched (the strongest)": Method(TextReading(max_searched=32)),
    "16 chunks searched (the strongest)": Method(TextReading(max_searched=16)),
    "chunks of 16 words": Method(TextReading(chunk_words=16)),
    "chunks of 32 words": Method(TextReading(chunk_words=32)),
    "chunks of 48 words": Method(TextReading(chunk_words=48)),
    "fused labels 0.5 : skills 1 : description 1": Method(
        DEFAULT_READING, Ranking.of({"labels": 0.5, "skills": 1.0, "description": 1.0})
    ),
    "+ BM25 0.25 over the labels": Method(
        DEFAULT_READING, Ranking.of({"labels": 1.0, "skills": 1.0, "description": 1.0, "bm25": 0.25})
    ),
}
"""The alternatives, all on the default's reading and weights but for what their name changes."""
PARTS: dict[str, tuple[str, Source]] = {"en": ("en", "esco"), "en-unindexed": ("en", "unindexed"), "de": ("de", "esco")}


def reciprocal_rank(ranked: Sequence[str], uri: str, cutoff: int = TOP_K) -> float:
    """1/rank of ``uri`` within the first ``cutoff`` of ``ranked``, 0 if it is not there."""
    head = list(ranked[:cutoff])
    return 1.0 / (head.index(uri) + 1) if uri in head else 0.0


def scores(texts: Sequence[LongText], rankings: Sequence[Sequence[str]]) -> dict[str, float]:
    """MRR@100 and R@5 of ``rankings`` (URIs, best first), one per text."""
    ranks = [reciprocal_rank(r, t.uri) for t, r in zip(texts, rankings, strict=True)]
    return {"mrr@100": statistics.fmean(ranks), "recall@5": statistics.fmean(r >= 1 / 5 for r in ranks)}


async def mean_of_chunks(index: OccupationIndex, embedder: CachedEmbedder, text: str) -> list[str]:
    """The alternative of one query: the mean of the chunk vectors, probed against every family."""
    chunks = text_chunks(text, TextReading(whole=False))
    layout = index.manifest.layout if index.manifest else None
    if layout is None:
        raise RuntimeError("open the index first (OccupationIndex.open)")
    search = plan_search(layout, "text", None, layout.languages)
    probes = []
    for probe in search.probes:
        if probe.side is None:
            probes.append(Probe(probe.vector, probe.family, query_vector(text, probe.language or "en")))
            continue
        mean = (await embedder.embed(list(chunks), probe.side)).mean(axis=0)
        probes.append(Probe(probe.vector, probe.family, mean / np.linalg.norm(mean), probe.multi))
    plan = QueryPlan(tuple(probes), search.weights, limit=TOP_K, depth=TOP_K, filter=PayloadFilter(), fields=("uri",))
    collection = (await index.store.aliases())[index.alias]
    hits = await index.store.query_batch(collection, [plan])
    return [str(h.payload["uri"]) for h in sorted(hits[0], key=lambda h: (-h.score, h.id))]


async def ranked(index: OccupationIndex, embedder: CachedEmbedder, text: str, method: Method) -> list[str]:
    """The top 100 URIs of one text by one method."""
    if method.reading is None:
        return await mean_of_chunks(index, embedder, text)
    matches = await index.match(text, kind="text", top_k=TOP_K, strategy=method.strategy)
    return [m.uri for m in matches]


async def evaluate(
    index: OccupationIndex, embedder: CachedEmbedder, texts: Sequence[LongText], methods: dict[str, Method]
) -> list[dict[str, Any]]:
    """Rows of (method, length, MRR@100, R@5) for every method over ``texts``, concurrently batched."""
    await prime(embedder, texts, methods)
    rows = []
    for name, method in methods.items():
        started = time.perf_counter()
        index.text_reading = method.reading or DEFAULT_READING
        rankings: list[list[str]] = []
        for i in range(0, len(texts), CONCURRENCY):
            part = texts[i : i + CONCURRENCY]
            rankings += await asyncio.gather(*[ranked(index, embedder, t.text, method) for t in part])
        for length in (*LENGTHS, "all"):
            chosen = [(t, r) for t, r in zip(texts, rankings, strict=True) if length in ("all", t.length)]
            rows.append({"method": name, "length": length, **scores(*zip(*chosen, strict=True))})
        print(f"  {name}: {rows[-1]['mrr@100']:.3f} MRR@100 ({time.perf_counter() - started:.0f} s)", flush=True)
    index.text_reading = DEFAULT_READING
    return rows


async def prime(embedder: CachedEmbedder, texts: Sequence[LongText], methods: dict[str, Method]) -> None:
    """Embed every chunk the methods will read, once, longest texts batched together."""
    readings = {m.reading or TextReading(whole=False) for m in methods.values()}
    chunks = {c for t in texts for reading in readings for c in text_chunks(t.text, reading)}
    started = time.perf_counter()
    await embedder.prime(sorted(chunks), "anchor")
    print(f"  embedded {len(chunks)} chunks in {time.perf_counter() - started:.0f} s", flush=True)


async def latency(index: OccupationIndex, texts: Sequence[LongText], count: int) -> list[dict[str, Any]]:
    """ms per text, one text at a time with real embedding, for truncation and the default: short texts
    of one chunk, each length, and the longest text the server takes (``--max-input-chars``, 100,000
    characters: long texts joined)."""
    one_chunk = [t.text for t in texts if len(text_chunks(t.text)) == 1][:count]
    by_length = {
        "one chunk": one_chunk,
        **{length: [t.text for t in texts if t.length == length][:count] for length in LENGTHS},
    }
    by_length["100,000 chars"] = ["\n".join(t.text for t in texts if t.length == "long")[:MAX_INPUT_CHARS]] * 3
    rows = []
    for length, chosen in by_length.items():
        for name, method in MAIN.items():
            index.text_reading = method.reading or DEFAULT_READING
            await index.match(chosen[0], kind="text", top_k=10, strategy=method.strategy)  # warm
            seconds = []
            for text in chosen:
                started = time.perf_counter()
                await index.match(text, kind="text", top_k=10, strategy=method.strategy)
                seconds.append(time.perf_counter() - started)
            chunks = statistics.fmean(len(text_chunks(t, index.text_reading)) for t in chosen)
            words = statistics.fmean(len(t.split()) for t in chosen)
            rows.append(
                {"length": length, "method": name, "texts": len(chosen), "words": words, "chunks": chunks}
                | percentiles_ms(seconds)
            )
    index.text_reading = DEFAULT_READING
    return rows


async def open_index(store_dir: Path, bundles: list[Path], embedder: EngineEmbedder) -> tuple[Any, OccupationIndex]:
    """The store in ``store_dir``, synced with ``bundles`` (incremental), and an index over it."""
    store = await open_store(store_dir)
    report = await sync_occupations(load_bundles(bundles), embedder, store, progress=True)
    print(f"index {store_dir}: {report.written} occupations written", flush=True)
    return store, await OccupationIndex.open(store, embedder)


async def main(args: argparse.Namespace) -> None:
    settings = ServerSettings(models=[f"minilm={minilm_path()}"], max_batch_wait_ms=0, max_inputs_per_request=512)
    engine = EmbeddingEngine(settings)
    await engine.start()
    embedder = EngineEmbedder(engine, "minilm")
    methods = {**MAIN, **DECOMPOSITION} if args.methods == "main" else {**MAIN, **DECOMPOSITION, **ALTERNATIVES}
    if args.only:
        methods = {k: v for k, v in methods.items() if k in MAIN or any(word in k for word in args.only)}
    indexes = {
        "en": (args.index_dir / "v1.1.1-en", [args.esco / "v1.1.1"]),
        "de": (args.index_dir / "v1.2.0-en-de", [args.esco / "v1.2.0" / "en", args.esco / "v1.2.0" / "de"]),
    }
    quality_rows, latency_rows = [], []
    for part in args.parts:
        language, source = PARTS[part]
        store, plain = await open_index(*indexes[language], embedder)
        cached = CachedEmbedder(embedder)
        index = await OccupationIndex.open(store, cached)
        dataset = load_bundles(indexes[language][1][-1:])
        per_split = args.per_split if language == "en" else args.per_split_de
        texts = [t for t in build_set(dataset, language, per_split, source) if t.split == args.split]
        print(f"{part}: {len(texts)} texts, {args.split} split", flush=True)
        part_methods = methods if part == "en" else {k: v for k, v in methods.items() if _on_every_part(k)}
        quality_rows += [{"part": part, **row} for row in await evaluate(index, cached, texts, part_methods)]
        if args.latency and part == "en":
            latency_rows = await latency(plain, texts, args.latency)
        await store.close()
    await engine.close()
    report(args, quality_rows, latency_rows)


def _on_every_part(name: str) -> bool:
    """The methods run on every part; the others (chunk sizes, bounds, BM25) on ``en`` only."""
    return name in MAIN or name in DECOMPOSITION or name == MEAN or "whole" in name or "fused" in name


def report(args: argparse.Namespace, quality_rows: list[dict], latency_rows: list[dict]) -> None:
    """Print a table per part (MRR@100 and R@5 per length) and the latency table; write the JSON."""
    for part in args.parts:
        rows = [r for r in quality_rows if r["part"] == part]
        header = ["method", *(f"{length} {m}" for length in (*LENGTHS, "all") for m in ("MRR", "R@5"))]
        lines = []
        for name in dict.fromkeys(r["method"] for r in rows):
            cells = {r["length"]: r for r in rows if r["method"] == name}
            values = [cells[length][m] for length in (*LENGTHS, "all") for m in ("mrr@100", "recall@5")]
            lines.append([name, *values])
        print(f"\n{part}, {args.split} split (MRR@100, R@5):")
        print("\n".join(table(header, lines)))
    if latency_rows:
        print("\nlatency, one text at a time (ms):")
        print("\n".join(table(list(latency_rows[0]), [list(r.values()) for r in latency_rows])))
    results = {"split": args.split, "quality": quality_rows, "latency": latency_rows, "reading": DEFAULT_READING}
    print(write_results(f"long-text-{args.split}", results, args.output))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    parser.add_argument(
        "--methods", choices=["main", "all"], default="all", help="main: truncation, the default and its two parts"
    )
    parser.add_argument("--only", nargs="*", default=[], help="run only the methods whose names contain these")
    parser.add_argument("--per-split", type=int, default=150, help="English occupations per split")
    parser.add_argument("--per-split-de", type=int, default=60, help="German occupations per split")
    parser.add_argument("--latency", type=int, default=20, help="texts per length timed (0: none)")
    parser.add_argument("--index-dir", type=Path, default=Path("/tmp/jobmatch-long-text"))
    parser.add_argument("--esco", type=Path, default=ESCO, help="folder with v1.1.1/ and v1.2.0/{en,de}/")
    parser.add_argument("--output", type=Path, help="results JSON (default benchmarks/results/...)")
    asyncio.run(main(parser.parse_args()))
