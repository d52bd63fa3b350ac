"""Cutting length-sorted inputs into forward passes: valid, optimal for the cost model, in order."""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch

from jobmatch.server.batching import EmbedCall, EmbeddingEngine
from jobmatch.server.batching.cutting import plan_batches
from jobmatch.server.config import ServerSettings

HUGE = 1e12


def spans(cuts: Sequence[int]) -> list[tuple[int, int]]:
    return list(itertools.pairwise([0, *cuts]))


def fits(lengths: Sequence[int], cuts: Sequence[int], max_size: int, max_tokens: int) -> bool:
    return all(
        end - start <= max_size and (end - start == 1 or (end - start) * lengths[end - 1] <= max_tokens)
        for start, end in spans(cuts)
    )


def cost(lengths: Sequence[int], cuts: Sequence[int], overhead: float) -> float:
    return sum(overhead + (end - start) * lengths[end - 1] for start, end in spans(cuts))


def random_case(rng: random.Random, most: int) -> tuple[list[int], int, int, float]:
    lengths = sorted(rng.randint(1, 30) for _ in range(rng.randint(0, most)))
    return lengths, rng.randint(1, 16), rng.randint(5, 300), rng.choice([0, 1, 7, 64, 1000, HUGE])


def test_every_input_lands_in_exactly_one_batch_in_order_within_the_limits() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        lengths, max_size, max_tokens, overhead = random_case(rng, most=60)
        cuts = plan_batches(lengths, max_size, max_tokens, overhead)
        assert cuts == sorted(set(cuts))
        assert (cuts[-1] if cuts else 0) == len(lengths)
        assert all(start < end for start, end in spans(cuts))
        assert fits(lengths, cuts, max_size, max_tokens), (lengths, max_size, max_tokens, cuts)


def test_the_plan_costs_no_more_than_any_other_cut() -> None:
    rng = random.Random(11)
    for _ in range(600):
        lengths, max_size, max_tokens, overhead = random_case(rng, most=9)
        n = len(lengths)
        every = ([*inner, n] for r in range(n) for inner in itertools.combinations(range(1, n), r))
        least = min((cost(lengths, c, overhead) for c in every if fits(lengths, c, max_size, max_tokens)), default=0)
        assert cost(lengths, plan_batches(lengths, max_size, max_tokens, overhead), overhead) == least


def test_the_overhead_trades_padding_for_batches() -> None:
    titles = [5] * 30 + [16] * 2  # 30 short titles and two long ones
    assert plan_batches(titles, 128, 16384, overhead_tokens=64) == [30, 32]  # 150 + 32 + 2 x 64 < 512 + 64
    assert plan_batches(titles, 128, 16384, overhead_tokens=HUGE) == [32]
    assert plan_batches([2, 2, 3, 5, 5], 128, 16384, overhead_tokens=0) == [2, 3, 5]
    # The limits still bind: at most 16 rows, a lone row over the token budget goes alone.
    fewest = plan_batches([4] * 40, 16, 16384, overhead_tokens=HUGE)
    assert len(fewest) == 3
    assert all(end - start <= 16 for start, end in spans(fewest))
    assert plan_batches([3, 3, 50], 128, 40, overhead_tokens=HUGE) == [2, 3]


async def test_engine_splits_a_round_by_length_and_each_input_gets_its_own_vector(jobbert_path: Path) -> None:
    texts = ["cook", "software engineer", "cook", "lead a team of software engineers in Berlin", "nurse"]
    engine = EmbeddingEngine(
        ServerSettings(models=[f"jobbert={jobbert_path}"], max_batch_wait_ms=0, batch_overhead_tokens=0)
    )
    await engine.start()
    try:
        seen: list[tuple[int, int]] = []
        engine.observe_batches(lambda rows, padded, seconds: seen.append((rows, padded)))
        result = await engine.embed(EmbedCall("", "anchor", texts), deadline=None, wait_for_capacity=False)
        encoder = engine._encoders["jobbert"]
        lengths = sorted(len(ids) for ids in encoder.tokenize(texts, truncate=True))
        # No overhead: one batch per distinct length, each padded only to its own length.
        runs = [(len(list(group)), length) for length, group in itertools.groupby(lengths)]
        assert seen == [(rows, rows * length) for rows, length in runs]
        assert len(seen) > 1
        for row, text in zip(result.vectors, texts, strict=True):
            want = encoder.encode([text], "anchor").numpy()[0]
            np.testing.assert_allclose(row, want / np.linalg.norm(want), atol=1e-5)
    finally:
        await engine.close()


async def test_a_batch_goes_back_to_its_callers_before_the_next_batch_of_the_round_runs(jobbert_path: Path) -> None:
    engine = EmbeddingEngine(
        ServerSettings(models=[f"jobbert={jobbert_path}"], max_batch_wait_ms=0, batch_overhead_tokens=0)
    )
    await engine.start()
    encoder = engine._encoders["jobbert"]
    real_forward, passes = encoder.forward, []
    gate, short_back, seen_back = threading.Event(), threading.Event(), []

    def forward(features, sides):
        passes.append(features["input_ids"].shape)
        if len(passes) == 1:
            gate.wait(10)  # hold the worker so that both calls below land in its next round
        if len(passes) == 3:
            seen_back.append(short_back.wait(5))  # the long call's batch: the short call is back?
        return real_forward(features, sides)

    encoder.forward = forward
    try:
        embed = partial(engine.embed, deadline=None, wait_for_capacity=False)
        blocker = asyncio.ensure_future(embed(EmbedCall("", "anchor", ["nurse"])))
        for _ in range(200):
            if passes:
                break
            await asyncio.sleep(0.01)
        short = asyncio.ensure_future(embed(EmbedCall("", "anchor", ["cook"])))
        long = asyncio.ensure_future(embed(EmbedCall("", "anchor", ["lead a team of software engineers in Berlin"])))
        for _ in range(200):
            if engine.queued_inputs == 2:
                break
            await asyncio.sleep(0.01)
        gate.set()
        await blocker
        await short
        short_back.set()
        await long
        assert [shape[0] for shape in passes] == [1, 1, 1]
        assert seen_back == [True]
    finally:
        gate.set()
        short_back.set()
        await engine.close()


async def test_two_device_workers_share_the_rounds_and_each_input_gets_its_own_vector(jobbert_path: Path) -> None:
    engine = EmbeddingEngine(ServerSettings(models=[f"jobbert={jobbert_path}"], max_batch_wait_ms=0, device_workers=2))
    await engine.start()
    try:
        threads: set[str] = set()
        engine.observe_batches(lambda rows, padded, seconds: threads.add(threading.current_thread().name))
        encoder = engine._encoders["jobbert"]
        texts = [f"{role} {i}" for i, role in enumerate(["cook", "welder", "software engineer", "nurse"] * 8)]
        want = encoder.encode(texts, "anchor").numpy()
        want /= np.linalg.norm(want, axis=1, keepdims=True)
        for _ in range(20):  # until both threads ran batches; each round checks every vector
            calls = [EmbedCall("", "anchor", [text]) for text in texts]
            results = await asyncio.gather(
                *(engine.embed(call, deadline=None, wait_for_capacity=False) for call in calls)
            )
            np.testing.assert_allclose(np.vstack([r.vectors for r in results]), want, atol=1e-5)
            if len(threads) == 2:
                break
        assert threads == {"device-worker", "device-worker-1"}
        assert engine.worker_stats.embedded_inputs >= len(texts)
    finally:
        await engine.close()


async def test_small_cpu_batches_run_on_one_torch_thread_and_large_ones_on_all(jobbert_path: Path) -> None:
    engine = EmbeddingEngine(ServerSettings(models=[f"jobbert={jobbert_path}"], max_batch_wait_ms=0))
    await engine.start()
    encoder = engine._encoders["jobbert"]
    real_forward, threads_seen = encoder.forward, []

    def forward(features, sides):
        threads_seen.append((features["input_ids"].numel(), torch.get_num_threads()))
        return real_forward(features, sides)

    encoder.forward = forward
    try:
        embed = partial(engine.embed, deadline=None, wait_for_capacity=False)
        worker_threads = await asyncio.to_thread(lambda: torch.get_num_threads())  # any thread: the default
        await embed(EmbedCall("", "anchor", ["cook"]))
        await embed(EmbedCall("", "anchor", [f"software engineer number {i}" for i in range(40)]))
        await embed(EmbedCall("", "anchor", ["nurse"]))
        small, large, small_again = threads_seen
        assert small[0] <= 64 < large[0]
        assert small[1] == 1
        assert small_again[1] == 1
        assert large[1] == worker_threads  # restored after each small batch
    finally:
        await engine.close()
