"""The ONNX Runtime backend: the same vectors as torch on every side, exported once, chosen by `auto`
on a CPU and left for torch where the export does not fit."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from jobmatch.server.config import ModelSpec
from jobmatch.server.models import ModelLoadError, load_encoder, loading, onnx_transformer, pick_backend, pick_dtype
from jobmatch.server.models.onnx_transformer import OnnxExportError, OnnxTransformer, check_exportable

TEXTS = ["data scientist", "Python, SQL, statistics", "nurse", "care for patients, hygiene", "Koch"]
SIDES = ["anchor", "positive", "anchor", "positive", "positive"]
CPU = torch.device("cpu")


def load(path: Path, backend: str, cache_dir: Path):
    spec = ModelSpec(name=path.name, source=str(path))
    return load_encoder(spec, device=CPU, dtype=torch.float32, backend=backend, cache_dir=cache_dir)


def exports(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "onnx").glob("*.onnx"))


@pytest.mark.parametrize("model", ["jobbert_path", "legacy_jobbert_path", "symmetric_path", "minilm"])
def test_onnx_vectors_equal_torch_on_every_side(model: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    path = request.getfixturevalue(model)
    onnx, torch_encoder = load(path, "onnx", tmp_path), load(path, "torch", tmp_path)
    assert (onnx.backend, torch_encoder.backend) == ("onnx", "torch")
    assert isinstance(onnx._trunk[0], OnnxTransformer)
    sides = SIDES if onnx.asymmetric else [None] * len(TEXTS)
    features = onnx.collate(onnx.tokenize(TEXTS, truncate=True))
    got = onnx.forward(features, sides).numpy()
    expected = torch_encoder.forward(features, sides).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    if onnx.asymmetric:  # the heads still differ: each row went through its own side's head
        other = torch_encoder.forward(features, ["positive" if s == "anchor" else "anchor" for s in sides]).numpy()
        assert np.abs(got - other).max() > 1e-3


def test_the_export_is_made_once_and_reused(jobbert_path: Path, tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="jobmatch.server.models.onnx_transformer"):
        load(jobbert_path, "onnx", tmp_path)
        (export,) = exports(tmp_path)
        written = export.stat().st_mtime_ns
        load(jobbert_path, "onnx", tmp_path)
    assert [p.name for p in (tmp_path / "onnx").iterdir()] == [export.name]  # no temporary files left
    assert export.stat().st_mtime_ns == written
    assert any("using the ONNX export cached" in r.getMessage() for r in caplog.records)


def test_a_damaged_cache_file_is_dropped_and_torch_serves(jobbert_path: Path, tmp_path: Path) -> None:
    load(jobbert_path, "onnx", tmp_path)
    (export,) = exports(tmp_path)
    export.write_bytes(export.read_bytes()[:100])  # cut short, as by a full disk outside the atomic write
    assert load(jobbert_path, "auto", tmp_path).backend == "torch"
    assert not export.exists()
    assert load(jobbert_path, "auto", tmp_path).backend == "onnx"  # exported again


def test_different_weights_get_their_own_export(jobbert_path: Path, symmetric_path: Path, tmp_path: Path) -> None:
    load(jobbert_path, "onnx", tmp_path)
    load(symmetric_path, "onnx", tmp_path)
    assert len(exports(tmp_path)) == 2


def test_auto_is_onnx_for_float32_on_a_cpu_only() -> None:
    assert pick_backend("auto", CPU, torch.float32) == "onnx"
    assert pick_backend("auto", CPU, torch.bfloat16) == "torch"
    assert pick_backend("auto", torch.device("cuda"), torch.float16) == "torch"
    assert pick_backend("torch", CPU, torch.float32) == "torch"
    with pytest.raises(ValueError, match="float32 on a CPU"):
        pick_backend("onnx", torch.device("cuda"), torch.float16)


def test_a_layout_the_export_does_not_cover_stays_on_torch(
    jobbert_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As for a model whose Transformer writes sentence embeddings: its layout is not the exported one.
    monkeypatch.setattr(onnx_transformer, "TEXT_LAYOUT", ({"text": {}}, "sentence_embedding"))
    assert load(jobbert_path, "auto", tmp_path).backend == "torch"
    with pytest.raises(ModelLoadError, match="cannot run on ONNX Runtime"):
        load(jobbert_path, "onnx", tmp_path)
    assert not exports(tmp_path)


def test_an_export_that_differs_from_torch_is_not_used(
    jobbert_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Below zero, any difference (even none) counts as too large: as for an export that computes wrongly.
    monkeypatch.setattr(loading, "ONNX_TOLERANCE", -1.0)
    assert load(jobbert_path, "auto", tmp_path).backend == "torch"
    with pytest.raises(ModelLoadError, match="differs from torch"):
        load(jobbert_path, "onnx", tmp_path)


def test_an_unwritable_cache_directory_leaves_the_model_on_torch(jobbert_path: Path, tmp_path: Path) -> None:
    cache_file = tmp_path / "not-a-directory"
    cache_file.write_text("")
    assert load(jobbert_path, "auto", cache_file).backend == "torch"
    with pytest.raises(ModelLoadError, match="the ONNX export failed"):
        load(jobbert_path, "onnx", cache_file)


def test_only_a_transformer_module_is_exported() -> None:
    with pytest.raises(OnnxExportError, match="not a Transformer"):
        check_exportable(torch.nn.Linear(2, 2))


def load_int8(path: Path, cache_dir: Path):
    spec = ModelSpec(name=path.name, source=str(path))
    return load_encoder(spec, device=CPU, dtype=torch.float32, backend="auto", cache_dir=cache_dir, int8=True)


def test_int8_weights_stay_close_to_torch_in_a_third_of_the_disk(minilm: Path, tmp_path: Path) -> None:
    int8, torch_encoder = load_int8(minilm, tmp_path / "int8"), load(minilm, "torch", tmp_path)
    assert (int8.backend, int8.dtype_name, torch_encoder.dtype_name) == ("onnx", "int8", "float32")
    cosine = torch.nn.functional.cosine_similarity(int8.encode(TEXTS, None), torch_encoder.encode(TEXTS, None))
    assert float(cosine.min()) >= loading.INT8_MIN_COSINE
    assert float(cosine.min()) < 0.9999  # really quantized, not the float32 graph
    (quantized,) = exports(tmp_path / "int8")  # the float32 export it came from is not kept
    assert quantized.name.endswith("-int8.onnx")
    load(minilm, "onnx", tmp_path / "float32")
    (full,) = exports(tmp_path / "float32")
    assert quantized.stat().st_size < full.stat().st_size / 3


def test_int8_keeps_each_side_on_its_own_head(jobbert_path: Path, tmp_path: Path) -> None:
    int8, torch_encoder = load_int8(jobbert_path, tmp_path), load(jobbert_path, "torch", tmp_path)
    for side, other in (("anchor", "positive"), ("positive", "anchor")):
        got = int8.encode(TEXTS, side)
        assert float(torch.nn.functional.cosine_similarity(got, torch_encoder.encode(TEXTS, side)).min()) > 0.99
        assert float((got - torch_encoder.encode(TEXTS, other)).abs().max()) > 1e-3


def test_int8_vectors_too_far_from_torch_refuse_to_load(
    minilm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loading, "INT8_MIN_COSINE", 1.01)  # no vector reaches it: as for a broken quantization
    with pytest.raises(ModelLoadError, match="int8 export's vectors reach cosine"):
        load_int8(minilm, tmp_path)


def test_int8_runs_on_onnx_on_a_cpu_only() -> None:
    assert pick_dtype("int8", CPU) == torch.float32  # pooling and heads around the int8 transformer
    assert pick_backend("auto", CPU, torch.float32, int8=True) == "onnx"
    with pytest.raises(ValueError, match="onnx backend"):
        pick_backend("torch", CPU, torch.float32, int8=True)
    with pytest.raises(ValueError, match="on a CPU"):
        pick_dtype("int8", torch.device("cuda"))
