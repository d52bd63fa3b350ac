"""Embedding through a live server: the right head, in order, for many clients at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from jobmatch.client import AsyncJobMatchClient, JobMatchClient
from jobmatch.v1 import embedding_pb2 as pb
from jobmatch.v1 import embedding_pb2_grpc as pb_grpc
from tests.support.server import ServerThread
from tests.support.tiny_models import reference_embedding

TITLES = ["senior data scientist", "Pflegefachkraft (m/w/d)", "truck driver night shift", "nurse"]
SKILLS = ["Python, SQL, lead a team", "manage budgets, negotiate contracts", "drive heavy vehicles"]


@pytest.mark.parametrize("model", ["jobbert", "jobbert-legacy"])
@pytest.mark.parametrize("side", ["anchor", "positive"])
def test_each_side_equals_an_independent_computation(
    client: JobMatchClient, jobbert_path: Path, model: str, side: str
) -> None:
    texts = TITLES + SKILLS
    got = client.embed(texts, side=side, model=model, normalize=False)
    want = reference_embedding(jobbert_path, texts, side)
    assert got.shape == want.shape == (len(texts), 48)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_the_two_heads_give_different_vectors(client: JobMatchClient) -> None:
    anchor = client.embed(TITLES, side="anchor", model="jobbert")
    positive = client.embed(TITLES, side="positive", model="jobbert")
    assert np.abs(anchor - positive).max() > 1e-2


def test_symmetric_model_ignores_side(client: JobMatchClient, symmetric_path: Path) -> None:
    unspecified = client.embed(TITLES, model="careerbert", normalize=False)
    anchor = client.embed(TITLES, side="anchor", model="careerbert", normalize=False)
    positive = client.embed(TITLES, side="positive", model="careerbert", normalize=False)
    np.testing.assert_allclose(unspecified, reference_embedding(symmetric_path, TITLES, None), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(anchor, unspecified)
    np.testing.assert_array_equal(positive, unspecified)


def test_minilm_matches_in_process_encode(client: JobMatchClient, minilm: Path) -> None:
    got = client.embed(TITLES, model="minilm")
    want = SentenceTransformer(str(minilm)).encode(TITLES)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_float_and_packed_encodings_agree(server: ServerThread) -> None:
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        request = pb.EmbedRequest(model="jobbert", side=pb.SIDE_ANCHOR, inputs=TITLES)
        floats = stub.Embed(request)
        request.encoding = pb.ENCODING_PACKED_FLOAT32
        packed = stub.Embed(request)
    assert floats.model == "jobbert"
    assert floats.dimension == 48
    as_floats = np.array([list(e.values) for e in floats.embeddings], dtype=np.float32)
    as_packed = np.frombuffer(b"".join(e.packed for e in packed.embeddings), "<f4").reshape(len(TITLES), -1)
    np.testing.assert_array_equal(as_floats, as_packed)
    assert not packed.embeddings[0].values
    assert not floats.embeddings[0].packed


def test_normalize_and_matryoshka_dimensions(client: JobMatchClient) -> None:
    raw = client.embed(TITLES, side="anchor", model="jobbert", normalize=False)
    normalized = client.embed(TITLES, side="anchor", model="jobbert")
    short = client.embed(TITLES, side="anchor", model="jobbert", dimensions=16)
    np.testing.assert_allclose(np.linalg.norm(normalized, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(normalized, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)
    assert short.shape == (len(TITLES), 16)
    np.testing.assert_allclose(short, raw[:, :16] / np.linalg.norm(raw[:, :16], axis=1, keepdims=True), atol=1e-6)


def test_metadata_reports_tokens_and_times(server: ServerThread) -> None:
    with grpc.insecure_channel(server.target) as channel:
        response = pb_grpc.EmbeddingServiceStub(channel).Embed(
            pb.EmbedRequest(model="jobbert", side=pb.SIDE_ANCHOR, inputs=TITLES)
        )
    encoder = server.engine._encoders["jobbert"]
    assert response.metadata.prompt_tokens == sum(len(ids) for ids in encoder.tokenize(TITLES, truncate=False))
    assert response.metadata.inference_time_ns > 0
    assert response.metadata.total_time_ns >= response.metadata.inference_time_ns


def test_empty_model_name_selects_the_default(client: JobMatchClient) -> None:
    np.testing.assert_array_equal(
        client.embed(TITLES, side="anchor"), client.embed(TITLES, side="anchor", model="jobbert")
    )


def test_list_models_describes_every_model(client: JobMatchClient) -> None:
    models = {m.name: m for m in client.list_models()}
    assert set(models) == {"jobbert", "jobbert-legacy", "careerbert", "minilm"}
    jobbert = models["jobbert"]
    assert (jobbert.dimension, jobbert.asymmetric, jobbert.max_input_tokens) == (48, True, 64)
    assert jobbert.sides == ("anchor", "positive")
    assert jobbert.is_default
    assert (jobbert.device, jobbert.dtype) == ("cpu", "float32")
    assert models["jobbert-legacy"].asymmetric
    assert not models["careerbert"].asymmetric
    assert (models["minilm"].dimension, models["minilm"].max_input_tokens) == (384, 256)


async def test_concurrent_clients_never_get_each_others_vectors(server: ServerThread, jobbert_path: Path) -> None:
    """72 clients on their own channels, unique inputs, both sides interleaved in the same batches."""
    n_clients, per_client = 72, 4
    texts = {c: [f"role {c} variant {i} engineer" for i in range(per_client)] for c in range(n_clients)}
    side_of = {c: ("anchor" if c % 2 else "positive") for c in range(n_clients)}

    async def one_client(c: int) -> np.ndarray:
        async with AsyncJobMatchClient(server.target) as client:
            rows = [await client.embed([t], side=side_of[c], model="jobbert", normalize=False) for t in texts[c]]
            return np.concatenate(rows)

    results = await asyncio.gather(*(one_client(c) for c in range(n_clients)))
    for c, got in enumerate(results):
        np.testing.assert_allclose(got, reference_embedding(jobbert_path, texts[c], side_of[c]), atol=1e-5, rtol=0)


def test_streaming_answers_in_order_with_echoed_ids(server: ServerThread, jobbert_path: Path) -> None:
    texts = [f"warehouse operative {i}" for i in range(40)]
    sides = [pb.SIDE_ANCHOR if i % 3 else pb.SIDE_POSITIVE for i in range(40)]
    requests = [
        pb.EmbedStreamRequest(
            id=f"req-{i}",
            request=pb.EmbedRequest(model="jobbert", side=sides[i], inputs=[t], normalize=False),
        )
        for i, t in enumerate(texts)
    ]
    with grpc.insecure_channel(server.target) as channel:
        responses = list(pb_grpc.EmbeddingServiceStub(channel).EmbedStream(iter(requests), timeout=60))
    assert [r.id for r in responses] == [f"req-{i}" for i in range(40)]
    for i, response in enumerate(responses):
        side = "anchor" if sides[i] == pb.SIDE_ANCHOR else "positive"
        want = reference_embedding(jobbert_path, [texts[i]], side)[0]
        np.testing.assert_allclose(list(response.response.embeddings[0].values), want, atol=1e-5, rtol=0)


def test_stream_helper_of_both_clients(server: ServerThread, client: JobMatchClient) -> None:
    texts = [f"plumber {i}" for i in range(25)]
    want = client.embed(texts, side="anchor", model="jobbert")
    got = np.stack(list(client.embed_stream(texts, side="anchor", model="jobbert")))
    np.testing.assert_allclose(got, want, atol=1e-6)

    async def collect() -> np.ndarray:
        async with AsyncJobMatchClient(server.target) as aclient:
            return np.stack([v async for v in aclient.embed_stream(texts, side="anchor", model="jobbert")])

    np.testing.assert_allclose(asyncio.run(collect()), want, atol=1e-6)


def test_client_chunks_long_lists_and_keeps_order(server: ServerThread) -> None:
    texts = [f"electrician apprentice {i}" for i in range(103)]
    with JobMatchClient(server.target, chunk_size=10, max_in_flight=3) as small_chunks:
        chunked = small_chunks.embed(texts, side="positive", model="jobbert")
    with JobMatchClient(server.target) as one_call:
        whole = one_call.embed(texts, side="positive", model="jobbert")
    assert chunked.shape == (103, 48)
    np.testing.assert_allclose(chunked, whole, atol=1e-6)
