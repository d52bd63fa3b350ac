"""A sentence-transformers `Transformer` module exported to ONNX and run by ONNX Runtime on the CPU.

Eager torch makes ~100 small calls per forward pass, each taking the GIL back from the event loop;
on a small CPU the server's threads then take turns instead of overlapping. One ONNX Runtime `run`
computes the whole transformer with the GIL released, on fused kernels: on 2 cores one ESCO
title took 4.4 ms in eager torch and 1.5-2.1 ms here, 64 titles 800 vs 860 texts/s (all-MiniLM-L6).

Only the transformer moves: pooling, the Router heads and normalization stay torch modules, so
the heads of asymmetric models are untouched. The export is cached on disk under a digest of the
weights, the configuration and the library versions.

With ``int8`` the export's weights are then quantized dynamically (ONNX Runtime's
``quantize_dynamic``: MatMul and Gather weights stored as int8 per channel, activations quantized
per batch at run time): a quarter of the memory and disk of float32 and faster MatMuls on a CPU,
for a small loss the loader measures against torch (``loading.INT8_MIN_COSINE``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from sentence_transformers.base.modules.transformer import Transformer
from torch import Tensor

if TYPE_CHECKING:  # imported where used: the torch backend runs without onnxruntime
    import onnxruntime

logger = logging.getLogger(__name__)

# The only Transformer layout exported: text in, the last hidden state out as token embeddings.
TEXT_LAYOUT = ({"text": {"method": "forward", "method_output_name": "last_hidden_state"}}, "token_embeddings")
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "token_embeddings"
OPSET = 17


class OnnxExportError(RuntimeError):
    """The module cannot be exported to ONNX (an unsupported layout, or the exporter failed)."""


class _LastHiddenState(torch.nn.Module):
    """(input_ids, attention_mask), both (batch, tokens) -> (batch, tokens, hidden) token embeddings."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


class OnnxTransformer(torch.nn.Module):
    """Drop-in for a text `Transformer` module: sets `features["token_embeddings"]`, a float32
    (batch, tokens, hidden) tensor, from `input_ids` and `attention_mask`."""

    def __init__(self, session: onnxruntime.InferenceSession) -> None:
        super().__init__()
        self.session = session

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        inputs = {name: features[name].numpy() for name in INPUT_NAMES}
        (hidden,) = self.session.run([OUTPUT_NAME], inputs)
        features[OUTPUT_NAME] = torch.from_numpy(hidden)
        return features


def check_exportable(module: torch.nn.Module) -> Transformer:
    """The module as a text `Transformer`, or OnnxExportError naming what does not fit."""
    if not isinstance(module, Transformer):
        raise OnnxExportError(f"the first module is a {type(module).__name__}, not a Transformer")
    layout = (module.modality_config, module.module_output_name)
    if layout != TEXT_LAYOUT:
        raise OnnxExportError(f"the Transformer's layout {layout} is not plain text to token embeddings")
    return module


def export_digest(module: Transformer) -> str:
    """A digest of everything the exported graph depends on: weights, configuration, versions."""
    import onnxruntime

    digest = hashlib.sha256()
    config = module.auto_model.config.to_dict()
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    digest.update(f"torch {torch.__version__} onnxruntime {onnxruntime.__version__} opset {OPSET}".encode())
    for name, tensor in module.auto_model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:32]


def export(module: Transformer, path: Path) -> None:
    """Write the module's model as ONNX with dynamic batch and token axes, atomically."""
    wrapper = _LastHiddenState(module.auto_model).eval()
    example = (torch.tensor([[0, 5, 6, 2], [0, 7, 2, 1]]), torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUT_NAMES, OUTPUT_NAME)}
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
        os.close(fd)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            # The TorchScript exporter, deprecated: its graphs ran 15% faster than torch.export's
            # here (ONNX Runtime spent 3x as long in Transpose and SkipLayerNormalization on those).
            torch.onnx.export(
                wrapper,
                example,
                temporary,
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
        os.replace(temporary, path)
    except Exception as err:  # an unwritable cache directory too: `auto` then stays on torch
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise OnnxExportError(f"the ONNX export failed: {err}") from err


def quantize(source: Path, path: Path) -> None:
    """Write ``source``'s graph with its weights dynamically quantized to int8, atomically."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = path.with_name(f".{path.name}.{os.getpid()}.prepared")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # ONNX shape inference first, as ONNX Runtime asks before quantizing; its graph optimization is
            # left to the session (doing it here too took 40 s more for JobBERT-v3's size, for no gain).
            quant_pre_process(source, prepared, skip_optimization=True, skip_symbolic_shape=True)
            quantize_dynamic(prepared, temporary, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(temporary, path)
    except Exception as err:
        raise OnnxExportError(f"the int8 quantization failed: {err}") from err
    finally:
        prepared.unlink(missing_ok=True)
        temporary.unlink(missing_ok=True)


def open_session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    """An ONNX Runtime CPU session on `threads` threads that sleep rather than spin when idle: on a
    small machine spinning threads take the cores the event loop and tokenizer need (64 titles under
    a competing process: 314 texts/s spinning, 464 sleeping)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_transformer(module: torch.nn.Module, cache_dir: Path, threads: int, *, int8: bool = False) -> OnnxTransformer:
    """The module exported (or found in `cache_dir`), int8-quantized if asked, and opened;
    OnnxExportError if it cannot be."""
    transformer = check_exportable(module)
    digest = export_digest(transformer)
    path = cache_dir / (f"{digest}-int8.onnx" if int8 else f"{digest}.onnx")
    if path.is_file():
        logger.info("using the ONNX export cached at %s", path)
    elif int8:
        logger.info("exporting the transformer to ONNX with int8 weights at %s (once per model)", path)
        full = cache_dir / f"{digest}.onnx"
        if not full.is_file():
            export(transformer, full)
        quantize(full, path)
        full.unlink()  # 4x the int8 file's size; exported again if float32 is ever asked for
    else:
        logger.info("exporting the transformer to ONNX at %s (once per model)", path)
        export(transformer, path)
    try:
        return OnnxTransformer(open_session(path, threads))
    except Exception as err:  # e.g. a cache file damaged on disk: delete it so the next start exports again
        path.unlink(missing_ok=True)
        raise OnnxExportError(f"ONNX Runtime cannot open {path}: {err}") from err
