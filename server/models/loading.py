"""Load a sentence-transformers model on the right device and dtype."""

from __future__ import annotations

import logging

import torch
from sentence_transformers import SentenceTransformer

from jobmatch.server.config import ModelSpec
from jobmatch.server.models.encoder import SideEncoder

logger = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """A configured model could not be loaded (missing path, no hub access, broken files)."""


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
    """`auto` is float16 on CUDA (half the memory, tensor cores) and float32 on CPU."""
    if setting == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    return _DTYPES[setting]


def load_encoder(
    spec: ModelSpec, *, device: torch.device, dtype: torch.dtype, trust_remote_code: bool = False
) -> SideEncoder:
    """Load `spec.source` (a local directory or a Hugging Face Hub id) as a SideEncoder.

    Call this on the inference thread: the first torch call fixes the thread that runs fastest.
    """
    logger.info("loading model %s from %s on %s (%s)", spec.name, spec.source, device, dtype)
    try:
        model = SentenceTransformer(spec.source, device=str(device), trust_remote_code=trust_remote_code)
        model.to(dtype)
        model.eval()
        return SideEncoder(spec.name, spec.source, model)
    except Exception as err:
        raise ModelLoadError(f"cannot load model {spec.name!r} from {spec.source}: {err}") from err
