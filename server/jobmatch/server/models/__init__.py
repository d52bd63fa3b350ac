"""Model backends: loading sentence-transformers models and encoding batches with the right head."""

from jobmatch.server.models.encoder import SideEncoder
from jobmatch.server.models.loading import ModelLoadError, load_encoder, pick_backend, pick_device, pick_dtype

__all__ = ["ModelLoadError", "SideEncoder", "load_encoder", "pick_backend", "pick_device", "pick_dtype"]
