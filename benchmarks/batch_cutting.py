"""Replay of the device worker's batch cutting: CPU seconds per text for several forward-pass overheads.

Rounds of `--round-size` random ESCO titles (what the worker takes from the queue when that many
single-title clients wait) are sorted by length, cut by `plan_batches` with each overhead, and
run through `SideEncoder.collate` + `forward`, as the worker does. Timed with process CPU time, so
other processes on the machine inflate the figures less than they would wall time; the overheads
are interleaved round by round. A huge overhead (1e12) is the former cut: one batch per round.

    python benchmarks/batch_cutting.py --overheads 1e12,16,32,64,128 --repeats 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import torch

from jobmatch.server.batching.cutting import plan_batches
from jobmatch.server.config import ModelSpec
from jobmatch.server.models import load_encoder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import DEFAULT_ESCO_DIR, default_model_path, load_titles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-path", default=default_model_path(), help="sentence-transformers model directory")
    parser.add_argument("--esco-dir", type=Path, default=DEFAULT_ESCO_DIR, help="folder with occupations_en.csv")
    parser.add_argument("--overheads", default="1e12,16,32,64,128", help="overheads in tokens, comma-separated")
    parser.add_argument("--round-size", type=int, default=64, help="inputs per round (waiting clients)")
    parser.add_argument("--rounds", type=int, default=12, help="rounds per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per overhead, interleaved")
    parser.add_argument("--torch-threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    encoder = load_encoder(
        ModelSpec(name="m", source=args.model_path),
        device=torch.device("cpu"),
        dtype=torch.float32,
        trust_remote_code=False,
    )
    titles = load_titles(args.esco_dir)
    random.Random(0).shuffle(titles)
    size = args.round_size
    token_ids = encoder.tokenize(titles[: size * args.rounds], truncate=True)
    rounds = [sorted(token_ids[i : i + size], key=len) for i in range(0, len(token_ids), size)]
    encoder.encode(titles[:size], None)  # warm-up
    overheads = [float(value) for value in args.overheads.split(",")]
    results: dict[float, list[float]] = {overhead: [] for overhead in overheads}
    for repeat in range(args.repeats):
        for overhead in overheads:
            started = time.process_time()
            batches = 0
            for ids in rounds:
                start = 0
                for end in plan_batches([len(row) for row in ids], 128, 16384, overhead):
                    encoder.forward(encoder.collate(ids[start:end]), [None] * (end - start))
                    start, batches = end, batches + 1
            per_cpu_s = sum(map(len, rounds)) / (time.process_time() - started)
            results[overhead].append(per_cpu_s)
            per_round = batches / len(rounds)
            print(f"repeat {repeat} overhead {overhead:g}: {per_cpu_s:.0f} texts/CPU-s, {per_round:.1f} batches/round")
    for overhead, values in results.items():
        print(f"overhead {overhead:g}: median {statistics.median(values):.0f} texts/CPU-s {[round(v) for v in values]}")


if __name__ == "__main__":
    main()
