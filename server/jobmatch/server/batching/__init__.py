"""The queue/batcher core: a bounded input queue, a device worker that batches, and the engine in front."""

from jobmatch.server.batching.engine import EmbedCall, EmbeddingEngine, ModelDescription
from jobmatch.server.batching.work import EmbedResult, OutputOptions

__all__ = ["EmbedCall", "EmbedResult", "EmbeddingEngine", "ModelDescription", "OutputOptions"]
