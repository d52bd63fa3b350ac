"""Benchmark: full ESCO sync vs pure encoding of the same texts, and a no-op re-sync.

    HF_HUB_OFFLINE=1 python -m tests.index.bench_index_sync [--model PATH] [--limit N]

Default model: the packaged all-MiniLM-L6-v2. Encoding and syncing go through the same in-process
engine (and so the same batcher); encode passes run before and after the sync to cancel drift.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.esco import load_snapshot
from jobmatch.server.index import EngineEmbedder, open_store, sync_occupations
from jobmatch.server.index.documents import occupation_documents, occupations_layout
from tests.support.tiny_models import minilm_path


async def main(model: Path, limit: int | None) -> None:
    dataset = load_snapshot()
    if limit:
        keep = sorted(dataset.occupations)[:limit]
        dataset = dataclasses.replace(dataset, occupations={uri: dataset.occupations[uri] for uri in keep})
    documents = occupation_documents(dataset, occupations_layout(dataset))
    # the strongest baseline: each distinct text once, sorted by length (least padding)
    labels = sorted(dict.fromkeys(label for d in documents for label in d.labels["en"]), key=len)
    skill_lists = sorted((d.skills_text for d in documents if d.skills_text), key=len)
    engine = EmbeddingEngine(ServerSettings(models=[f"bench={model}"]))
    await engine.start()
    embedder = EngineEmbedder(engine)

    async def encode() -> float:
        started = time.perf_counter()
        await asyncio.gather(embedder.embed(labels, "anchor"), embedder.embed(skill_lists, "positive"))
        return time.perf_counter() - started

    await embedder.embed(labels[:512], "anchor")  # warm-up
    with tempfile.TemporaryDirectory() as tmp:
        encode_times = [await encode()]
        async with await open_store(Path(tmp) / "qdrant") as store:
            started = time.perf_counter()
            report = await sync_occupations(dataset, embedder, store)
            sync_time = time.perf_counter() - started
        encode_times.append(await encode())
        started = time.perf_counter()
        async with await open_store(Path(tmp) / "qdrant") as store:
            opened = time.perf_counter() - started
            noop = await sync_occupations(dataset, embedder, store)
        noop_time = time.perf_counter() - started
    await engine.close()

    encode_time = statistics.mean(encode_times)
    n = len(documents)
    print(f"model {model.name}: {n} occupations, {len(labels)} distinct labels + {len(skill_lists)} skill lists")
    passes = ", ".join(f"{t:.1f}" for t in encode_times)
    print(f"pure encode: {encode_time:.1f} s ({passes}) = {n / encode_time:.0f} occ/s")
    print(f"full sync:   {sync_time:.1f} s = {n / sync_time:.0f} occ/s, {report.texts_embedded} texts embedded")
    print(f"sync throughput / encode throughput = {encode_time / sync_time:.2f}")
    print(f"no-op re-sync: {noop_time:.2f} s (reopen {opened:.2f} s + sync {noop.seconds:.2f} s)")
    print(f"no-op re-sync embedded {noop.texts_embedded} texts")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: packaged MiniLM)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N occupations")
    args = parser.parse_args()
    asyncio.run(main(args.model or minilm_path(), args.limit))
