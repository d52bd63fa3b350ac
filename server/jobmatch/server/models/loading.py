"""Load a sentence-transformers model on the right device and dtype."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import platformdirs
import torch
from sentence_transformers import SentenceTransformer

from jobmatch.server.config import ModelSpec
from jobmatch.server.errors import ModelLoadError
from jobmatch.server.models.encoder import SideEncoder
from jobmatch.server.models.onnx_transformer import OnnxExportError, onnx_transformer

logger = logging.getLogger(__name__)


# Encoded at load: to compare the ONNX transformer with torch, then to warm the model up.
PROBE_TEXTS = ("software engineer", "lead a team, Python, manage budgets", "Pflegefachkraft")
# Largest difference from torch, relative to the largest torch value, an ONNX export may show
# (float32 kernels that add in another order differ by ~1e-6).
ONNX_TOLERANCE = 1e-4
# Least cosine similarity to torch's float32 vector an int8 export may give on each probe text and
# side (see benchmarks/README.md, "int8": real MiniLM gave >= 0.99; rankings moved <= 1 point of R@5).
INT8_MIN_COSINE = 0.97

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def pick_device(setting: str) -> torch.device:
    """`auto` is the first CUDA device when there is one, else the CPU."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {setting!r} requested but CUDA is not available")
    return device


def pick_dtype(setting: str, device: torch.device) -> torch.dtype:
    """The dtype of the torch modules: `auto` is float16 on CUDA (half the memory, tensor cores) and
    float32 on CPU; `int8` (CPU only) quantizes the ONNX transformer and keeps float32 around it."""
    if setting == "int8" and device.type != "cpu":
        raise ValueError(f"int8 weights run on ONNX Runtime on a CPU, not on {device}")
    if setting == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    return torch.float32 if setting == "int8" else _DTYPES[setting]


def pick_backend(setting: str, device: torch.device, dtype: torch.dtype, *, int8: bool = False) -> str:
    """`auto` is onnx for float32 on a CPU when onnxruntime is installed, torch otherwise; int8 is onnx."""
    cpu_float32 = device.type == "cpu" and dtype == torch.float32
    if setting == "onnx" and not cpu_float32:
        raise ValueError(f"the onnx backend runs float32 on a CPU, not {str(dtype).removeprefix('torch.')} on {device}")
    if int8 and setting == "torch":
        raise ValueError("int8 weights run on the onnx backend, not on torch")
    if setting == "auto":
        return "onnx" if int8 or (cpu_float32 and importlib.util.find_spec("onnxruntime")) else "torch"
    return setting


def load_encoder(
    spec: ModelSpec,
    *,
    device: torch.device,
    dtype: torch.dtype,
    backend: str = "torch",
    cache_dir: Path | None = None,
    threads: int | None = None,
    trust_remote_code: bool = False,
    int8: bool = False,
) -> SideEncoder:
    """Load `spec.source` (a local directory or a Hugging Face Hub id) as a SideEncoder.

    With backend `onnx` its transformer runs on ONNX Runtime (exported once into `cache_dir`/onnx,
    by default the per-user cache directory);
    with `auto` too, unless the export fails or differs from torch, which then serves it. ONNX
    Runtime computes on `threads` threads (default: torch's count). With `int8` the export's weights
    are quantized (:func:`~jobmatch.server.models.onnx_transformer.quantize`): no torch fallback then,
    as that would serve float32 while int8 was asked for.
    Call this on the inference thread: the first torch call fixes the thread that runs fastest.
    """
    logger.info("loading model %s from %s on %s (%s)", spec.name, spec.source, device, dtype)
    try:
        model = SentenceTransformer(spec.source, device=str(device), trust_remote_code=trust_remote_code)
        model.to(dtype)
        model.eval()
        encoder = SideEncoder(spec.name, spec.source, model)
    except Exception as err:
        raise ModelLoadError(f"cannot load model {spec.name!r} from {spec.source}: {err}") from err
    if pick_backend(backend, device, dtype, int8=int8) == "torch":
        return encoder
    exports = (cache_dir or Path(platformdirs.user_cache_dir("jobmatch"))) / "onnx"
    try:
        return _onnx_encoder(encoder, exports, threads or torch.get_num_threads(), int8=int8)
    except OnnxExportError as err:
        if backend == "onnx" or int8:
            raise ModelLoadError(f"model {spec.name!r} cannot run on ONNX Runtime: {err}") from err
        logger.warning("model %s stays on torch: %s", spec.name, err)
        return encoder


def _onnx_encoder(encoder: SideEncoder, cache_dir: Path, threads: int, *, int8: bool) -> SideEncoder:
    """`encoder` with its transformer on ONNX Runtime, checked against torch on every side."""
    transformer = onnx_transformer(encoder.model[0], cache_dir, threads, int8=int8)
    fast = SideEncoder(encoder.name, encoder.source, encoder.model, input_module=transformer, backend="onnx", int8=int8)
    for side in encoder.distinct_sides:
        expected, got = encoder.encode(PROBE_TEXTS, side), fast.encode(PROBE_TEXTS, side)
        if int8:
            cosine = float(torch.nn.functional.cosine_similarity(got, expected).min())
            if cosine < INT8_MIN_COSINE:
                raise OnnxExportError(f"its int8 export's vectors reach cosine {cosine:.3f} to torch's on side {side}")
            continue
        difference = float((got - expected).abs().max())
        if difference > ONNX_TOLERANCE * max(1.0, float(expected.abs().max())):
            raise OnnxExportError(f"its ONNX export differs from torch by {difference:.2e} on side {side}")
    # ONNX Runtime holds its own copy of the weights: free torch's (JobBERT-v3's are 1.1 GB).
    encoder.model[0].auto_model.to(device="meta")
    return fast
