"""The batcher core: batch cutting, the bounded queue, and surviving device out-of-memory."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import torch

from jobmatch.server.batching import EmbedCall, EmbeddingEngine
from jobmatch.server.batching.engine import INLINE_TOKENIZE_CHARS
from jobmatch.server.batching.queue import InputQueue
from jobmatch.server.batching.work import EmbedJob, OutputOptions, QueuedInput
from jobmatch.server.batching.worker import BatchLimits, cut_batches
from jobmatch.server.config import ServerSettings
from jobmatch.server.errors import ErrorKind, JobMatchError


def make_job(lengths: list[int], model: str = "m", loop: asyncio.AbstractEventLoop | None = None) -> EmbedJob:
    loop = loop or asyncio.new_event_loop()
    return EmbedJob(model, None, [[0] * n for n in lengths], OutputOptions(), loop.create_future())


def test_cut_batches_respects_size_and_padded_token_budget() -> None:
    job = make_job([2, 3, 5, 8, 8, 9, 30])
    items = [QueuedInput(job, i, len(ids)) for i, ids in enumerate(job.token_ids)]
    batches = list(cut_batches(items, BatchLimits(max_batch_size=3, max_batch_tokens=30, max_wait_s=0), 1e12))
    assert [[item.length for item in batch] for batch in batches] == [[2, 3, 5], [8, 8, 9], [30]]
    for batch in batches:
        assert len(batch) <= 3
        assert len(batch) == 1 or len(batch) * max(item.length for item in batch) <= 30


def test_queue_admits_whole_jobs_within_capacity_and_serves_the_oldest_model_first() -> None:
    queue = InputQueue(capacity=5)
    first, second, too_big = make_job([1, 1, 1], "a"), make_job([1, 1], "b"), make_job([1], "a")
    assert queue.try_put(first)
    assert queue.try_put(second)
    assert not queue.try_put(too_big)
    assert len(queue) == 5
    taken = queue.take(limit=10, fill_target=1, max_wait_s=0)
    assert [item.job for item in taken] == [first] * 3
    assert [item.job for item in queue.take(limit=10, fill_target=1, max_wait_s=0)] == [second] * 2
    queue.close()
    assert queue.take(limit=10, fill_target=1, max_wait_s=0) is None


@pytest.fixture
async def engine(jobbert_path: Path):
    running = EmbeddingEngine(ServerSettings(models=[f"jobbert={jobbert_path}"], max_batch_wait_ms=0))
    await running.start()
    yield running
    await running.close()


def oom_above(encoder, max_rows: int, max_tokens: int = 10_000):
    """Make the encoder's forward raise CUDA out-of-memory for batches larger than the limits."""
    real_forward = encoder.forward

    def forward(features, sides):
        rows, tokens = features["input_ids"].shape
        if rows > max_rows or tokens > max_tokens:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (injected)")
        return real_forward(features, sides)

    encoder.forward = forward


async def test_out_of_memory_splits_the_batch_and_retries(engine: EmbeddingEngine) -> None:
    texts = [f"welder {i}" for i in range(12)]
    want = (await engine.embed(EmbedCall("", "anchor", texts), deadline=None, wait_for_capacity=False)).vectors
    oom_above(engine._encoders["jobbert"], max_rows=2)
    got = (await engine.embed(EmbedCall("", "anchor", texts), deadline=None, wait_for_capacity=False)).vectors
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert engine.worker_stats.oom_splits >= 3


async def test_an_input_too_big_for_the_device_fails_alone(engine: EmbeddingEngine) -> None:
    oom_above(engine._encoders["jobbert"], max_rows=64, max_tokens=12)
    huge = " ".join(f"skill{i}" for i in range(40))
    small = EmbedCall("", "positive", ["cook"])
    results = await asyncio.gather(
        engine.embed(EmbedCall("", "positive", [huge], truncate=True), deadline=None, wait_for_capacity=False),
        engine.embed(small, deadline=None, wait_for_capacity=False),
        return_exceptions=True,
    )
    assert isinstance(results[0], JobMatchError)
    assert results[0].kind is ErrorKind.OUT_OF_MEMORY
    assert results[1].vectors.shape == (1, 48)
    # The worker survived: later calls still work.
    again = await engine.embed(small, deadline=None, wait_for_capacity=False)
    assert again.vectors.shape == (1, 48)


async def test_short_calls_tokenized_on_the_loop_match_long_calls_tokenized_on_the_thread(
    engine: EmbeddingEngine,
) -> None:
    short = "welder, lead a team"
    filler = "manage budgets " * 40  # the call passes INLINE_TOKENIZE_CHARS: tokenized on the tokenizer thread
    assert len(short) <= INLINE_TOKENIZE_CHARS < len(short) + len(filler)
    alone = await engine.embed(EmbedCall("", "anchor", [short]), deadline=None, wait_for_capacity=False)
    along = await engine.embed(
        EmbedCall("", "anchor", [short, filler], truncate=True), deadline=None, wait_for_capacity=False
    )
    np.testing.assert_allclose(along.vectors[0], alone.vectors[0], atol=1e-6)
    want = engine._encoders["jobbert"].encode([short], "anchor").numpy()[0]
    np.testing.assert_allclose(alone.vectors[0], want / np.linalg.norm(want), atol=1e-5)


@pytest.mark.parametrize("words", [60, 200], ids=["on-the-loop", "on-the-thread"])
async def test_too_many_tokens_fail_before_admission_on_both_tokenizing_paths(
    engine: EmbeddingEngine, words: int
) -> None:
    text = " ".join(f"s{i}" for i in range(words))  # > 64 tokens for the tiny JobBERT either way
    assert (len(text) <= INLINE_TOKENIZE_CHARS) == (words == 60)
    with pytest.raises(JobMatchError) as raised:
        await engine.embed(EmbedCall("", "anchor", ["cook", text]), deadline=None, wait_for_capacity=False)
    assert (raised.value.kind, raised.value.field) == (ErrorKind.INPUT_TOO_LONG, "inputs[1]")
    assert engine.queued_inputs == 0
