"""`JobMatchEmbeddings`: LangChain embeddings computed by a jobmatch server over gRPC."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import Field

from jobmatch.client.sides import Side
from langchain_jobmatch._connection import JobMatchConnection


class JobMatchEmbeddings(JobMatchConnection, Embeddings):
    """Embeddings from a jobmatch server, blocking (``embed_*``) or asyncio (``aembed_*``, grpc.aio).

    JobBERT-v3 is asymmetric: the defaults embed queries (job titles) through the ``anchor`` head and
    documents (comma-separated skill lists) through the ``positive`` head. Title-to-title search wants
    ``document_side="anchor"``; symmetric models (CareerBERT-G, MiniLM) ignore the sides.

    >>> embeddings = JobMatchEmbeddings(target="127.0.0.1:50051")
    >>> embeddings.embed_query("data scientist")            # anchor head
    >>> embeddings.embed_documents(["Python, SQL, statistics"])  # positive head

    Long document lists go out in requests of ``batch_size`` texts, a few at once. Failures raise
    ``jobmatch.client.JobMatchClientError`` with the gRPC ``code``, the server's ``reason`` and the
    ``field`` at fault (input indexes counted over the whole list).
    """

    model: str = ""
    """Model name on the server; empty for the server's default model."""

    query_side: Side = "anchor"
    """Head for ``embed_query``: ``anchor`` fits job titles."""

    document_side: Side = "positive"
    """Head for ``embed_documents``: ``positive`` fits skill lists."""

    batch_size: int = Field(default=256, ge=1)
    """Texts per request; the server's limit is ``--max-inputs-per-request`` (2048 by default)."""

    normalize: bool = True
    """Unit-length vectors (cosine equals dot product)."""

    truncate: bool = True
    """Cut inputs at the model's token limit (64 for JobBERT-v3); False fails them with INVALID_ARGUMENT."""

    dimensions: int = Field(default=0, ge=0)
    """Matryoshka truncation to this many dimensions; 0 keeps the model's."""

    def _client_options(self) -> dict[str, Any]:
        return {"chunk_size": self.batch_size, **super()._client_options()}

    def _embed_kwargs(self, side: Side) -> dict[str, Any]:
        return {
            "side": side,
            "model": self.model,
            "normalize": self.normalize,
            "truncate": self.truncate,
            "dimensions": self.dimensions,
        }

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors of ``texts`` through ``document_side``, in input order."""
        if not texts:
            return []
        return _lists(self.client.embed(_texts(texts), **self._embed_kwargs(self.document_side)))

    def embed_query(self, text: str) -> list[float]:
        """Vector of ``text`` through ``query_side``."""
        return _lists(self.client.embed([text], **self._embed_kwargs(self.query_side)))[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """``embed_documents`` over grpc.aio."""
        if not texts:
            return []
        vectors = await self.async_client.embed(_texts(texts), **self._embed_kwargs(self.document_side))
        return _lists(vectors)

    async def aembed_query(self, text: str) -> list[float]:
        """``embed_query`` over grpc.aio."""
        return _lists(await self.async_client.embed([text], **self._embed_kwargs(self.query_side)))[0]


def _texts(texts: Sequence[str]) -> Sequence[str]:
    if isinstance(texts, str):
        raise TypeError("embed_documents takes a list of strings, not one string: use embed_query")
    return texts if isinstance(texts, list | tuple) else list(texts)


def _lists(vectors: np.ndarray) -> list[list[float]]:
    return vectors.tolist()
