"""SideEncoder: a mixed-side batch runs the trunk once and equals per-side model.encode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from jobmatch.server.models import SideEncoder
from jobmatch.server.models.encoder import _match_routes

TEXTS = ["data scientist", "Python, SQL, statistics", "nurse", "care for patients, hygiene", "cook"]
SIDES = ["anchor", "positive", "anchor", "positive", "positive"]


@pytest.fixture(scope="module", params=["router", "legacy"])
def encoder(request, jobbert_path: Path, legacy_jobbert_path: Path) -> SideEncoder:
    path = jobbert_path if request.param == "router" else legacy_jobbert_path
    return SideEncoder("jobbert", str(path), SentenceTransformer(str(path)))


def test_mixed_batch_equals_per_side_encode(encoder: SideEncoder) -> None:
    mixed = encoder.forward(encoder.collate(encoder.tokenize(TEXTS, truncate=True)), SIDES).numpy()
    for side in ("anchor", "positive"):
        rows = [i for i, s in enumerate(SIDES) if s == side]
        alone = encoder.model.encode([TEXTS[i] for i in rows], task=side)
        np.testing.assert_allclose(mixed[rows], alone, atol=1e-5, rtol=0)


def test_mixed_batch_runs_the_shared_trunk_once(encoder: SideEncoder) -> None:
    transformer, calls = encoder.model[0], []
    handle = transformer.register_forward_hook(lambda module, args, output: calls.append(len(args[0]["input_ids"])))
    try:
        encoder.forward(encoder.collate(encoder.tokenize(TEXTS, truncate=True)), SIDES)
    finally:
        handle.remove()
    assert calls == [len(TEXTS)]


def test_encoder_describes_the_model(encoder: SideEncoder) -> None:
    assert encoder.asymmetric
    assert encoder.routes == {"anchor": "anchor", "positive": "positive"}
    assert (encoder.dimension, encoder.max_input_tokens) == (48, 64)
    assert encoder.dtype == torch.float32


def test_symmetric_model_has_no_heads(symmetric_path: Path) -> None:
    encoder = SideEncoder("careerbert", str(symmetric_path), SentenceTransformer(str(symmetric_path)))
    assert not encoder.asymmetric
    got = encoder.forward(encoder.collate(encoder.tokenize(TEXTS, truncate=True)), [None] * len(TEXTS)).numpy()
    np.testing.assert_allclose(got, encoder.model.encode(TEXTS), atol=1e-5, rtol=0)


def test_route_names_map_to_sides() -> None:
    assert _match_routes(["query", "document"]) == {"anchor": "query", "positive": "document"}
    assert _match_routes(["positive", "anchor"]) == {"anchor": "anchor", "positive": "positive"}
    with pytest.raises(ValueError, match="cannot serve the sides"):
        _match_routes(["left", "right"])
