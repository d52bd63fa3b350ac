"""Embed documents into complete points and write them, chunk by chunk, pipelined.

While one chunk is written, the next is embedded (``CHUNKS_IN_FLIGHT`` chunks at most at once), so
the model rarely waits for storage. A chunk is written only once all its vectors exist, vectors
and payload in one upsert: an interruption leaves complete points only.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np
from tqdm.auto import tqdm

from jobmatch.server.index._aio import gather_or_cancel
from jobmatch.server.index.compounds import NO_COMPOUNDS, NONE_BY_LANGUAGE, Compounds
from jobmatch.server.index.embedder import Embedder, Side
from jobmatch.server.index.lexical import document_vector
from jobmatch.server.index.plan import SparseVector
from jobmatch.server.index.schema import VectorSpec
from jobmatch.server.index.store import PointData, QdrantStore

__all__ = ["CHUNKS_IN_FLIGHT", "Document", "embed_points", "write_points"]

CHUNKS_IN_FLIGHT = 2


class Document(Protocol):
    """What the pipeline needs of an occupation or skill document."""

    @property
    def id(self) -> str: ...

    @property
    def payload(self) -> dict[str, Any]: ...

    def texts(self, spec: VectorSpec) -> tuple[str, ...]: ...


D = TypeVar("D", bound=Document)


async def write_points(
    store: QdrantStore,
    collection: str,
    embedder: Embedder,
    documents: Sequence[D],
    vectors: Sequence[VectorSpec],
    *,
    batch_size: int,
    progress: bool = False,
    label: str = "",
    on_written: Callable[[int], None] | None = None,
    compounds: Mapping[str, Compounds] = NONE_BY_LANGUAGE,
) -> int:
    """Embed and upsert ``documents`` in chunks of ``batch_size``; return the number of texts embedded.

    ``on_written`` is called with the number of documents written so far after each chunk's upsert;
    ``compounds`` (per language) splits the compound words BM25 reads (:mod:`lexical`; default: none).
    """
    embedded = 0
    written = 0
    pending: deque[asyncio.Task[tuple[list[PointData], int]]] = deque()
    # delay: a bar only for runs long enough to need one
    bar = tqdm(total=len(documents), desc=label, unit="doc", disable=not progress or not documents, delay=1.0)

    async def flush() -> None:
        nonlocal embedded, written
        points, count = await pending.popleft()
        await store.upsert(collection, points)
        embedded += count
        written += len(points)
        bar.update(len(points))
        if on_written is not None:
            on_written(written)

    try:
        for start in range(0, len(documents), batch_size):
            chunk = documents[start : start + batch_size]
            pending.append(asyncio.ensure_future(embed_points(embedder, chunk, vectors, compounds)))
            if len(pending) >= CHUNKS_IN_FLIGHT:
                await flush()
        while pending:
            await flush()
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        bar.close()
    return embedded


async def embed_points(
    embedder: Embedder,
    documents: Sequence[D],
    vectors: Sequence[VectorSpec],
    compounds: Mapping[str, Compounds] = NONE_BY_LANGUAGE,
) -> tuple[list[PointData], int]:
    """Complete points for ``documents`` and the number of texts embedded.

    Each distinct text is embedded once per side (once in all for a symmetric model): a title is
    also the first of its labels, and a few labels repeat across occupations. Texts go to the
    model sorted by length: the batcher sorts only within small rounds, and short labels mixed
    with long skill lists made a sync of MiniLM ~2x slower than encoding the same texts.
    Sparse (BM25) vectors need no model: they are computed here (with ``compounds``, per language),
    counted as no embedded text.
    """
    one_head = not embedder.asymmetric
    wanted: dict[Side, dict[str, None]] = {"anchor": {}, "positive": {}}
    plans = []
    for doc in documents:
        plan = []
        for spec in vectors:
            texts = doc.texts(spec)
            if texts and not spec.sparse and spec.side is not None:
                side: Side = "anchor" if one_head else spec.side
                wanted[side].update(dict.fromkeys(texts))
                plan.append((spec, side, texts))
        plans.append(plan)
    sides = [side for side in wanted if wanted[side]]
    ordered = {side: sorted(wanted[side], key=len) for side in sides}
    embedded = await gather_or_cancel([embedder.embed(ordered[side], side) for side in sides])
    matrices = dict(zip(sides, embedded, strict=True))
    rows = {side: {text: row for row, text in enumerate(ordered[side])} for side in sides}
    points = []
    for doc, plan in zip(documents, plans, strict=True):
        point: dict[str, np.ndarray | SparseVector] = _sparse_vectors(doc, vectors, compounds)
        for spec, side, texts in plan:
            indices = [rows[side][text] for text in texts]
            point[spec.name] = matrices[side][indices] if spec.multi else matrices[side][indices[0]]
        points.append(PointData(doc.id, point, doc.payload))
    return points, sum(len(texts) for texts in ordered.values())


def _sparse_vectors(
    document: Document, vectors: Sequence[VectorSpec], compounds: Mapping[str, Compounds]
) -> dict[str, np.ndarray | SparseVector]:
    """The document's BM25 vectors, each in its language's terms and compounds."""
    sparse: dict[str, np.ndarray | SparseVector] = {}
    for spec in vectors:
        texts = document.texts(spec) if spec.sparse else ()
        if texts:
            language = spec.language or "en"
            sparse[spec.name] = document_vector(texts, language, compounds.get(language, NO_COMPOUNDS))
    return sparse
