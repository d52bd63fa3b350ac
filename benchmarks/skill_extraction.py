"""ExtractSkills on the skill-extraction benchmark of Decorte et al., and the time of a CV.

    HF_HUB_OFFLINE=1 python benchmarks/skill_extraction.py ../shared/skill-extraction
    HF_HUB_OFFLINE=1 python benchmarks/skill_extraction.py DATA --quick        # default + baselines only
    HF_HUB_OFFLINE=1 python benchmarks/skill_extraction.py DATA --only recall  # + ablations named so
    HF_HUB_OFFLINE=1 python benchmarks/skill_extraction.py DATA --model jobbert=PATH   # + the other head

``DATA`` holds ``<split>_annotations.csv`` files (``sentence,span,sub_span,label``: sentences of
English job ads, each span labelled with an ESCO skill's preferred label, or ``LABEL NOT PRESENT``
/ ``UNDERSPECIFIED``, left out); every such file is a split (``tech_validation``,
``house_validation``, ...). The data is not part of the product: it is read from where it is given.

What it does:

1. syncs the ESCO skills (``--esco-dir``, default ``../shared/esco/v1.1.1``: preferred and
   alternative labels; ``--snapshot`` uses the bundled snapshot, preferred labels only) with the
   model (default the packaged all-MiniLM-L6-v2) into Qdrant Edge under ``--index-dir`` (kept: the
   next run's sync is a no-op), as ``jobmatch sync`` does;
2. maps each gold label to its skill by preferred label (the benchmark names ESCO v1.1.0 labels);
3. ranks, per sentence (the papers' protocol), the top 100 skills by: the naive baselines of the
   benchmark's README (the sentence's cosine to each skill's preferred label; to the closest of its
   preferred and alternative labels), ``OccupationIndex.extract_skills`` with its default strategy
   (no threshold: a pure ranking), and ablations of that strategy;
4. prints RP@5, RP@10 (gold labels in the top K / min(K, gold labels)) and MRR per split, and for
   the default the precision, recall and F1 of the skills at or above each threshold (what
   ``DEFAULT_EXTRACT_MIN_SCORE`` was chosen from);
5. times ``extract_skills`` (default top_k and threshold) on a ~3,000-word CV-like text made of
   ESCO occupation descriptions, bullets and skill lists: the median of ``--cv-runs`` after one
   warm-up, each run waiting up to ``--quiet-s`` for an idle machine, with the cores other
   processes used meanwhile; with the store in this process, then in a process of its own as the
   server runs it;
6. saves everything as ``benchmarks/results/skill-extraction-<timestamp>.json``.

Tune on validation splits only. This benchmark uses the ESCO classification of the European
Commission, and the data of Decorte et al. (RecSys-in-HR 2022; arXiv 2307.10778) on SkillSpan
(Zhang et al., NAACL 2022).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import process_tree, wait_for_quiet
from sync_matching_common import minilm_path, table, timed, write_results

from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.esco import EscoDataset, load_bundles, load_snapshot
from jobmatch.server.index import (
    DEFAULT_EXTRACT_MIN_SCORE,
    MAX_EXTRACT_TOP_K,
    SKILLS_ALIAS,
    EngineEmbedder,
    ExtractionStrategy,
    OccupationIndex,
    QdrantStore,
    open_store,
    sync_skills,
)
from jobmatch.server.index.extraction import DEFAULT_EXTRACTION, extraction_units, mention_words, unit_texts
from jobmatch.server.index.plan import FamilyWeight, Probe, QueryPlan

HERE = Path(__file__).resolve().parent
ESCO = HERE.parents[1] / "shared" / "esco" / "v1.1.1"
NO_LABEL = {"LABEL NOT PRESENT", "UNDERSPECIFIED"}
DEFAULT = "ExtractSkills default"
NAIVE = {"naive: preferred label": "label", "naive: max over preferred + alt labels": "labels"}
ABLATIONS: dict[str, ExtractionStrategy] = {
    "- without mentions (context + lexical)": replace(DEFAULT_EXTRACTION, mention=0.0),
    "- without context (mention + lexical)": replace(DEFAULT_EXTRACTION, context=0.0),
    "- without BM25 (context + mention)": replace(DEFAULT_EXTRACTION, lexical=0.0),
    "- preferred labels only (label)": replace(DEFAULT_EXTRACTION, vector="label", recall_vector="label"),
    "- recall on labels (MAX_SIM) instead of label": replace(DEFAULT_EXTRACTION, recall_vector="labels"),
    "- no list items as mentions": replace(DEFAULT_EXTRACTION, item_words=0),
    "- stop words kept at mention ends": replace(DEFAULT_EXTRACTION, trim_stop_words=False),
    "- mentions of 1 word": replace(DEFAULT_EXTRACTION, mention_words=1),
    "- mentions of 3 words": replace(DEFAULT_EXTRACTION, mention_words=3),
    "- context 0.7, mention 0.3": replace(DEFAULT_EXTRACTION, context=0.7, mention=0.3),
    "- BM25 weight 0.15": replace(DEFAULT_EXTRACTION, lexical=0.15),
    "- 20 candidates per unit": replace(DEFAULT_EXTRACTION, candidates=20),
    "- 100 candidates per unit": replace(DEFAULT_EXTRACTION, candidates=100),
    "- exact recall": replace(DEFAULT_EXTRACTION, exact_recall=True),
    "- recall on labels, exact": replace(DEFAULT_EXTRACTION, recall_vector="labels", exact_recall=True),
}
HEADS = {"- text through the anchor head": replace(DEFAULT_EXTRACTION, side="anchor")}
THRESHOLDS = [round(0.45 + 0.025 * i, 3) for i in range(13)]


@dataclass(frozen=True)
class Sentence:
    text: str
    gold: frozenset[str]  # skill URIs


@dataclass
class Ranked:
    """A strategy's ranking of one sentence: URIs best first, with their scores."""

    uris: list[str]
    scores: list[float]


def read_split(path: Path, uris: dict[str, str]) -> tuple[list[Sentence], int]:
    """The split's sentences with at least one mapped gold skill, and how many gold labels did not map."""
    gold: dict[str, set[str]] = defaultdict(set)
    unmapped = 0
    with path.open(newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            label = row["label"].strip()
            if label in NO_LABEL:
                continue
            if label in uris:
                gold[row["sentence"]].add(uris[label])
            else:
                unmapped += 1
    return [Sentence(text, frozenset(found)) for text, found in gold.items()], unmapped


def rank_scores(ranked: Ranked, gold: frozenset[str]) -> dict[str, float]:
    """RP@5, RP@10 and MRR (over the ranking given, 100 deep) of one sentence."""
    position = {uri: i for i, uri in enumerate(ranked.uris)}
    row = {f"RP@{k}": sum(position.get(g, k) < k for g in gold) / min(k, len(gold)) for k in (5, 10)}
    first = min((position[g] for g in gold if g in position), default=None)
    row["MRR"] = 0.0 if first is None else 1.0 / (first + 1)
    return row


def mean_scores(rankings: Sequence[Ranked], sentences: Sequence[Sentence]) -> dict[str, float]:
    rows = [rank_scores(r, s.gold) for r, s in zip(rankings, sentences, strict=True)]
    return {key: round(statistics.fmean(row[key] for row in rows), 3) for key in rows[0]}


def threshold_rows(rankings: Sequence[Ranked], sentences: Sequence[Sentence]) -> list[dict[str, float]]:
    """Micro precision, recall and F1 of the skills scoring at or above each threshold, per sentence."""
    rows = []
    for threshold in THRESHOLDS:
        kept = [{u for u, s in zip(r.uris, r.scores, strict=True) if s >= threshold} for r in rankings]
        right = sum(len(k & s.gold) for k, s in zip(kept, sentences, strict=True))
        predicted, expected = sum(map(len, kept)), sum(len(s.gold) for s in sentences)
        precision = right / predicted if predicted else 0.0
        recall = right / expected
        f1 = 2 * precision * recall / (precision + recall) if right else 0.0
        per_sentence = predicted / len(sentences)
        rows.append(
            {"threshold": threshold, "skills/sentence": round(per_sentence, 2), "precision": round(precision, 3)}
            | {"recall": round(recall, 3), "F1": round(f1, 3)}
        )
    return rows


async def naive(index: OccupationIndex, sentences: Sequence[Sentence], vector: str) -> list[Ranked]:
    """The baseline: each sentence embedded whole, cosine to ``vector`` (``label`` or MAX_SIM ``labels``)."""
    side = DEFAULT_EXTRACTION.side if index.embedder.asymmetric else "anchor"
    vectors = await index.embedder.embed([s.text for s in sentences], side)
    plans = [
        QueryPlan(
            (Probe(vector, "naive", row, vector == "labels"),),
            (FamilyWeight("naive", 1.0),),
            limit=MAX_EXTRACT_TOP_K,
            depth=MAX_EXTRACT_TOP_K,
            fields=("uri",),
            exact=True,
        )
        for row in vectors
    ]
    found = []
    for start in range(0, len(plans), 64):
        for hits in await index.store.query_batch(SKILLS_ALIAS, plans[start : start + 64]):
            ordered = sorted(hits, key=lambda h: (-h.score, h.id))
            found.append(Ranked([str(h.payload["uri"]) for h in ordered], [h.score for h in ordered]))
    return found


async def extracted(
    index: OccupationIndex, sentences: Sequence[Sentence], strategy: ExtractionStrategy
) -> list[Ranked]:
    """Each sentence's top 100 by ``extract_skills`` with no threshold."""
    found = []
    for sentence in sentences:
        result = await index.extract_skills(sentence.text, top_k=MAX_EXTRACT_TOP_K, min_score=-1, strategy=strategy)
        found.append(Ranked([s.uri for s in result.skills], [s.score for s in result.skills]))
    return found


def cv_text(dataset: EscoDataset, words: int, seed: int = 7) -> str:
    """A CV-like text of about ``words`` words: profile and experience paragraphs from ESCO occupation
    descriptions, bullet lists and comma-separated skill lists from their essential skills."""
    rng = random.Random(seed)
    described = [dataset.occupations[uri] for uri in sorted(dataset.occupations)]
    occupations = rng.sample([o for o in described if o.description.get("en")], 60)
    lines, count = ["Curriculum vitae", "", "Profile"], 0
    for occupation in occupations:
        skills = [dataset.skills[u].preferred_label.get("en", "") for u in occupation.essential_skills]
        skills = [s for s in skills if s]
        block = [
            "",
            f"{occupation.preferred_label['en'].capitalize()}, 20{rng.randint(10, 23)}-20{rng.randint(10, 24)}",
            occupation.description["en"],
            *[f"- {skill.capitalize()}" for skill in skills[:4]],
            f"Skills: {', '.join(skills[4:10])}" if len(skills) > 4 else "",
        ]
        lines.extend(block)
        count += sum(len(line.split()) for line in block)
        if count >= words:
            break
    return "\n".join(lines)


async def time_cv(index: OccupationIndex, text: str, runs: int, quiet_s: float) -> dict[str, Any]:
    """Median wall time of ``extract_skills`` on ``text`` (after one warm-up run), its workload, and
    the cores other processes used meanwhile (each run waits up to ``quiet_s`` for an idle machine).
    The store's own process, where it runs in one, counts as this one's, not as another's."""
    await index.extract_skills(text)
    seconds, others = [], []
    children = process_tree(os.getpid())[1:]
    for _ in range(runs):
        wait_for_quiet(quiet_s, 0.2, exclude=children)
        with timed(children) as window:
            result = await index.extract_skills(text)
        seconds.append(window.seconds)
        others.append(window.other_cores)
    units = extraction_units(text, DEFAULT_EXTRACTION, "en")
    return {
        "words": len(text.split()),
        "characters": len(text),
        "units": len(units),
        "mentions": sum(len(u.mentions) for u in units),
        "texts_embedded": len(unit_texts(units)) + len(mention_words(units)),
        "skills_found": len(result.skills),
        "runs_s": [round(s, 3) for s in seconds],
        "median_s": round(statistics.median(seconds), 3),
        "other_cores": [None if c is None else round(c, 2) for c in others],
    }


async def build_index(args: argparse.Namespace, engine: EmbeddingEngine, store: QdrantStore) -> OccupationIndex:
    dataset = load_snapshot() if args.snapshot else load_bundles([args.esco_dir])
    embedder = EngineEmbedder(engine, args.model_name)
    started = time.perf_counter()
    report = await sync_skills(dataset, embedder, store, progress=True)
    assert report is not None
    seconds = time.perf_counter() - started
    print(f"skills index: {report.written} written, {report.unchanged} unchanged in {seconds:.0f} s")
    return OccupationIndex(store, embedder)


async def main(args: argparse.Namespace) -> None:
    settings = ServerSettings(models=[f"{args.model_name}={args.model}"], dtype=args.dtype, max_batch_wait_ms=0)
    engine = EmbeddingEngine(settings)
    await engine.start()
    try:
        async with await open_store(args.index_dir) as store:
            index = await build_index(args, engine, store)
            results = await evaluate(args, index)
        # the CV again as the server runs it: the store in a process of its own (store/process.py)
        async with await open_store(args.index_dir, own_process=True) as store:
            index = OccupationIndex(store, EngineEmbedder(engine, args.model_name))
            dataset = load_snapshot() if args.snapshot else load_bundles([args.esco_dir])
            cv = await time_cv(index, cv_text(dataset, args.cv_words), args.cv_runs, args.quiet_s)
            print(f"the same CV, the store in its own process (as the server): median {cv['median_s']:.3f} s")
            results["cv_store_process"] = cv
    finally:
        await engine.close()
    print(write_results("skill-extraction", results, None))


async def evaluate(args: argparse.Namespace, index: OccupationIndex) -> dict[str, Any]:
    dataset = load_snapshot() if args.snapshot else load_bundles([args.esco_dir])
    uris = {s.preferred_label["en"].strip(): s.uri for s in dataset.skills.values() if s.preferred_label.get("en")}
    splits = {
        p.name.removesuffix("_annotations.csv"): read_split(p, uris)
        for p in sorted(args.data.glob("*_annotations.csv"))
    }
    if not splits:
        raise SystemExit(f"no *_annotations.csv in {args.data}")
    strategies: dict[str, ExtractionStrategy | str] = {**NAIVE, DEFAULT: DEFAULT_EXTRACTION}
    if not args.quick:
        strategies |= ABLATIONS | (HEADS if index.embedder.asymmetric else {})
    if args.only:
        strategies = {name: s for name, s in strategies.items() if name in NAIVE or any(w in name for w in args.only)}
    rows, thresholds, timings = [], {}, {}
    for split, (sentences, unmapped) in splits.items():
        print(f"{split}: {len(sentences)} sentences with a gold skill ({unmapped} gold labels not in this ESCO)")
        for name, strategy in strategies.items():
            started = time.perf_counter()
            if isinstance(strategy, str):
                ranked = await naive(index, sentences, strategy)
            else:
                ranked = await extracted(index, sentences, strategy)
            timings[f"{split}/{name}"] = round(time.perf_counter() - started, 1)
            rows.append(
                {"strategy": name, "split": split, "sentences": len(sentences), **mean_scores(ranked, sentences)}
            )
            if name == DEFAULT:
                thresholds[split] = threshold_rows(ranked, sentences)
    print("\n" + "\n".join(table(list(rows[0]), [_cells(r) for r in _by_strategy(rows)])))
    for split, found in thresholds.items():
        print(f"\nthe default's threshold on {split} (DEFAULT_EXTRACT_MIN_SCORE = {DEFAULT_EXTRACT_MIN_SCORE}):")
        print("\n".join(table(list(found[0]), [_cells(r) for r in found])))
    cv = await time_cv(index, cv_text(dataset, args.cv_words), args.cv_runs, args.quiet_s)
    workload = f"{cv['units']} units, {cv['mentions']:,} mentions, {cv['texts_embedded']:,} texts embedded"
    print(f"\nCV of {cv['words']:,} words ({workload}): median {cv['median_s']:.3f} s of {cv['runs_s']}")
    print(f"cores used by other processes during each run: {cv['other_cores']} (of {os.cpu_count()})")
    return {
        "data": str(args.data),
        "esco": "bundled snapshot" if args.snapshot else str(args.esco_dir),
        "model": args.model_name,
        "default_min_score": DEFAULT_EXTRACT_MIN_SCORE,
        "rankings": rows,
        "thresholds": thresholds,
        "seconds": timings,
        "cv": cv,
    }


def _cells(row: dict[str, Any]) -> list[Any]:
    """A row's values, floats with 3 decimals (``table`` shows 2)."""
    return [f"{value:.3f}" if isinstance(value, float) else value for value in row.values()]


def _by_strategy(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    order = list(dict.fromkeys(r["strategy"] for r in rows))
    return sorted(rows, key=lambda r: (order.index(r["strategy"]), r["split"]))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="folder of <split>_annotations.csv files")
    parser.add_argument("--esco-dir", type=Path, default=ESCO, help="ESCO CSV bundle (default: v1.1.1 English)")
    parser.add_argument("--snapshot", action="store_true", help="the bundled snapshot (no alternative labels)")
    parser.add_argument("--model", help="NAME=PATH of a sentence-transformers model (default: minilm, packaged)")
    parser.add_argument("--index-dir", type=Path, help="Qdrant Edge folder, kept (default: one in /tmp per model)")
    parser.add_argument("--dtype", default="auto", help="the server's --dtype (int8: quantized weights on a CPU)")
    parser.add_argument("--quick", action="store_true", help="the default and the naive baselines only")
    parser.add_argument("--only", type=lambda v: v.split(","), help="strategies whose names hold one of these")
    parser.add_argument("--cv-words", type=int, default=3000)
    parser.add_argument("--cv-runs", type=int, default=5)
    parser.add_argument("--quiet-s", type=float, default=30.0, help="wait up to this for an idle machine per run")
    args = parser.parse_args()
    args.model_name, _, model = (args.model or f"minilm={minilm_path()}").partition("=")
    args.model = Path(model)
    source = "snapshot" if args.snapshot else "csv"
    dtype = "" if args.dtype == "auto" else f"-{args.dtype}"
    args.index_dir = args.index_dir or Path(f"/tmp/jobmatch-skill-extraction-{args.model_name}-{source}{dtype}")
    return args


if __name__ == "__main__":
    asyncio.run(main(_arguments()))
