"""JobMatchEmbeddings against the live server: sides, batching, grpc.aio, errors."""

from __future__ import annotations

import asyncio

import grpc
import numpy as np
import pytest

from jobmatch.client import AsyncJobMatchClient, JobMatchClient, JobMatchClientError
from langchain_jobmatch import JobMatchEmbeddings

TITLES = ["data scientist", "nurse", "baker", "welder", "pilot", "cook", "teacher", "plumber", "judge", "actor"]


@pytest.fixture
def embeddings(target: str) -> JobMatchEmbeddings:
    return JobMatchEmbeddings(target=target, model="jobbert", timeout=30)


def test_defaults_fit_jobbert_queries_anchor_documents_positive(embeddings: JobMatchEmbeddings, target: str) -> None:
    with JobMatchClient(target) as client:
        anchor = client.embed(["data scientist"], side="anchor", model="jobbert")[0]
        positive = client.embed(["data scientist"], side="positive", model="jobbert")[0]
    assert not np.allclose(anchor, positive, atol=1e-3)  # the two heads differ: the side matters
    np.testing.assert_allclose(embeddings.embed_query("data scientist"), anchor, atol=1e-6)
    np.testing.assert_allclose(embeddings.embed_documents(["data scientist"])[0], positive, atol=1e-6)
    swapped = embeddings.model_copy(update={"query_side": "positive", "document_side": "anchor"})
    np.testing.assert_allclose(swapped.embed_query("data scientist"), positive, atol=1e-6)
    np.testing.assert_allclose(swapped.embed_documents(["data scientist"])[0], anchor, atol=1e-6)


def test_large_lists_go_out_in_batches_in_order(target: str) -> None:
    whole = JobMatchEmbeddings(target=target, model="jobbert").embed_documents(TITLES)
    batched = JobMatchEmbeddings(target=target, model="jobbert", batch_size=3)
    assert batched.client.chunk_size == 3
    np.testing.assert_allclose(batched.embed_documents(TITLES), whole, atol=1e-6)
    # An error in the fourth request names the input by its index in the whole list.
    with pytest.raises(JobMatchClientError) as caught:
        batched.embed_documents([*TITLES[:9], ""])
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.field == "inputs[9]"
    assert caught.value.reason


async def test_async_runs_on_grpc_aio_and_matches_sync(embeddings: JobMatchEmbeddings) -> None:
    query, documents = await asyncio.gather(embeddings.aembed_query("nurse"), embeddings.aembed_documents(TITLES))
    assert embeddings._client is None  # no blocking client was made: not a thread around the sync calls
    assert isinstance(embeddings.async_client, AsyncJobMatchClient)
    assert embeddings.async_client is embeddings.async_client  # one channel per event loop, reused
    np.testing.assert_allclose(query, embeddings.embed_query("nurse"), atol=1e-6)
    np.testing.assert_allclose(documents, embeddings.embed_documents(TITLES), atol=1e-6)
    assert await embeddings.aembed_documents([]) == [] == embeddings.embed_documents([])


def test_truncation_is_on_by_default_and_off_fails_clearly(target: str) -> None:
    long_text = ", ".join(TITLES * 20)  # far over the tiny model's 64 tokens
    assert len(JobMatchEmbeddings(target=target, model="jobbert").embed_query(long_text)) == 48
    strict = JobMatchEmbeddings(target=target, model="jobbert", truncate=False)
    with pytest.raises(JobMatchClientError) as caught:
        strict.embed_query(long_text)
    assert (caught.value.code, caught.value.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INPUT_TOO_LONG")


def test_matryoshka_dimensions_and_client_kwargs_pass_through(target: str) -> None:
    small = JobMatchEmbeddings(target=target, model="jobbert", dimensions=16, client_kwargs={"max_in_flight": 1})
    assert len(small.embed_query("nurse")) == 16
    assert small.client.max_in_flight == 1
    assert "max_in_flight" not in repr(small)  # client options may hold credentials


def test_unknown_model_and_unreachable_server_raise_with_the_grpc_status(target: str) -> None:
    with pytest.raises(JobMatchClientError) as caught:
        JobMatchEmbeddings(target=target, model="nope").embed_query("nurse")
    assert caught.value.code == grpc.StatusCode.NOT_FOUND
    down = JobMatchEmbeddings(target="127.0.0.1:1", timeout=0.5, client_kwargs={"max_attempts": 1})
    with pytest.raises(JobMatchClientError) as caught:
        down.embed_documents(["nurse"])
    assert caught.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def test_a_string_is_not_a_document_list(embeddings: JobMatchEmbeddings) -> None:
    with pytest.raises(TypeError, match="embed_query"):
        embeddings.embed_documents("data scientist")  # type: ignore[arg-type]
