"""Exact search in numpy for embedded (local-mode) Qdrant: local mode's results, without its Python loops.

Local mode searches by brute force, and a multivector (MAX_SIM) search loops over the points in
Python: ~0.2 s per ``labels`` query over ESCO's 3,000 occupations with MiniLM, which the store's
single thread serializes. :class:`ExactSearch` keeps each searched collection's vectors as numpy
matrices (one row per vector; a multivector's rows contiguous) and answers the requests the index
makes the same way, exactly: cosine, MAX_SIM (the sum over query vectors of the best row of a
point), keyword ``must`` filters (``MatchValue``/``MatchAny``), payloads of the hits. A request it
does not cover returns None and goes to local mode.

The matrices are loaded on the first query of a collection (from local mode's own arrays: a few ms;
through a scroll if those are not laid out as expected: seconds) and forgotten on every write: local
mode locks its folder, so this process is the only writer.
They cost about as much memory again as local mode's own copy of the vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm

__all__ = ["ExactSearch"]

_PAGE = 1000


@dataclass
class _Vectors:
    matrix: np.ndarray  # (rows, dim), unit rows
    owner: np.ndarray  # point index of each row
    starts: np.ndarray | None  # first row of each point's multivector; None: one row per point


@dataclass
class _Collection:
    ids: list[Any]
    vectors: dict[str, _Vectors]
    cosine: set[str]
    keywords: dict[str, list[set[Any]]] = field(default_factory=dict)  # payload key -> values per point


class ExactSearch:
    """Per-collection numpy matrices of a local-mode client, and exact search over them."""

    def __init__(self) -> None:
        self._collections: dict[str, _Collection] = {}

    def forget(self) -> None:
        """Drop every loaded collection (after any write)."""
        self._collections.clear()

    def query(
        self, client: QdrantClient, collection: str, requests: Sequence[qm.QueryRequest]
    ) -> list[list[qm.ScoredPoint]] | None:
        """The hits of each request, or None when one of them is not covered (local mode answers)."""
        if not all(_covered(request) for request in requests):
            return None
        loaded = self._collections.get(collection)
        if loaded is None:
            loaded = self._collections[collection] = _internal(client, collection) or _scrolled(client, collection)
        if not all(str(request.using) in loaded.cosine for request in requests):
            return None
        results = []
        for request in requests:
            allowed = self._allowed(client, collection, loaded, request.filter)
            if allowed is None:
                return None
            results.append(self._search(client, collection, loaded, request, allowed))
        return results

    def _allowed(
        self, client: QdrantClient, collection: str, loaded: _Collection, query_filter: qm.Filter | None
    ) -> np.ndarray | None:
        """Which points pass ``query_filter``; None if it is not a list of keyword must-conditions."""
        allowed = np.ones(len(loaded.ids), dtype=bool)
        if query_filter is None:
            return allowed
        if query_filter.should or query_filter.must_not or query_filter.min_should:
            return None
        must = query_filter.must if isinstance(query_filter.must, list) else [query_filter.must]
        for condition in must:
            if condition is None:
                continue
            wanted = _wanted(condition)
            if wanted is None:
                return None
            values = self._keyword(client, collection, loaded, condition.key)  # type: ignore[union-attr]
            allowed &= np.fromiter((bool(wanted & v) for v in values), dtype=bool, count=len(values))
        return allowed

    @staticmethod
    def _keyword(client: QdrantClient, collection: str, loaded: _Collection, key: str) -> list[set[Any]]:
        """The values of payload ``key`` of every point (read once per collection and key)."""
        if key not in loaded.keywords:
            found: dict[Any, set[Any]] = {}
            offset = None
            while True:
                page, offset = client.scroll(collection, limit=_PAGE, offset=offset, with_payload=[key])
                for record in page:
                    value = (record.payload or {}).get(key)
                    found[record.id] = set(value) if isinstance(value, list) else {value} - {None}
                if offset is None:
                    break
            loaded.keywords[key] = [found.get(pid, set()) for pid in loaded.ids]
        return loaded.keywords[key]

    @staticmethod
    def _search(
        client: QdrantClient, collection: str, loaded: _Collection, request: qm.QueryRequest, allowed: np.ndarray
    ) -> list[qm.ScoredPoint]:
        vectors = loaded.vectors[str(request.using)]
        scores = np.full(len(loaded.ids), -np.inf, dtype=np.float32)
        if len(vectors.matrix):
            query = _unit(np.asarray(request.query, dtype=np.float32).reshape(-1, vectors.matrix.shape[1]))
            similarity = vectors.matrix @ query.T  # (rows, query vectors)
            if vectors.starts is not None:  # MAX_SIM
                scores[vectors.owner[vectors.starts]] = np.maximum.reduceat(similarity, vectors.starts, axis=0).sum(1)
            else:
                scores[vectors.owner] = similarity[:, 0]
        scores[~allowed] = -np.inf
        limit = min(int(request.limit or 10), int(np.isfinite(scores).sum()))
        if limit <= 0:
            return []
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top], kind="stable")]
        ids = [loaded.ids[i] for i in top]
        payloads: dict[Any, Any] = {}
        if request.with_payload:
            records = client.retrieve(collection, ids, with_payload=request.with_payload)
            payloads = {r.id: r.payload for r in records}
        return [
            qm.ScoredPoint(id=pid, version=0, score=float(scores[i]), payload=payloads.get(pid))
            for pid, i in zip(ids, top, strict=True)
        ]


def _internal(client: QdrantClient, collection: str) -> _Collection | None:
    """The vectors straight from local mode's own arrays, or None if they are not laid out as expected.

    Milliseconds instead of :func:`_scrolled`'s seconds (~10 s for ESCO on a busy machine). Best
    effort on private attributes, like the store's ``_tune_local``; the tests compare both paths.
    """
    collections = getattr(getattr(client, "_client", None), "collections", None)
    local = collections.get(collection) if isinstance(collections, dict) else None
    try:
        ids_inv = list(local.ids_inv)  # type: ignore[union-attr]
        deleted = np.asarray(local.deleted, dtype=bool)  # type: ignore[union-attr]
        dense, multi = dict(local.vectors), dict(local.multivectors)  # type: ignore[union-attr]
        deleted_per_vector = local.deleted_per_vector  # type: ignore[union-attr]
        configs = {**local.vectors_config, **local.multivectors_config}  # type: ignore[union-attr]
    except (AttributeError, TypeError):
        return None
    count = len(ids_inv)
    if len(deleted) < count or set(configs) != set(dense) | set(multi):
        return None
    alive = np.flatnonzero(~deleted[:count])
    position = np.full(count, -1)
    position[alive] = np.arange(len(alive))
    loaded = _Collection(
        ids=[ids_inv[i] for i in alive],
        vectors={},
        cosine={name for name, c in configs.items() if c.distance == qm.Distance.COSINE},
    )
    for name in configs:
        has = alive[~np.asarray(deleted_per_vector[name], dtype=bool)[alive]]
        size = configs[name].size
        if name in dense:
            rows = np.asarray(dense[name], dtype=np.float32)[has].reshape(-1, size)
            loaded.vectors[name] = _Vectors(_unit(rows), position[has], None)
            continue
        blocks = [np.asarray(multi[name][i], dtype=np.float32).reshape(-1, size) for i in has]
        owner = np.repeat(position[has], [len(b) for b in blocks]).astype(int)
        starts = np.cumsum([0] + [len(b) for b in blocks[:-1]]) if blocks else None
        matrix = np.concatenate(blocks) if blocks else np.zeros((0, size), np.float32)
        loaded.vectors[name] = _Vectors(_unit(matrix), owner, starts)
    return loaded


def _scrolled(client: QdrantClient, collection: str) -> _Collection:
    """The vectors read through the client's API (a scroll: every vector as Python floats and back)."""
    params = client.get_collection(collection).config.params.vectors
    configs = params if isinstance(params, dict) else {}
    records: list[Any] = []
    offset = None
    while True:
        page, offset = client.scroll(collection, limit=_PAGE, offset=offset, with_payload=False, with_vectors=True)
        records.extend(page)
        if offset is None:
            break
    loaded = _Collection(
        ids=[r.id for r in records],
        vectors={},
        cosine={name for name, c in configs.items() if c.distance == qm.Distance.COSINE},
    )
    for name, config in configs.items():
        blocks, owner = [], []
        for index, record in enumerate(records):
            vector = (record.vector or {}).get(name) if isinstance(record.vector, dict) else None
            if vector is not None:
                block = np.asarray(vector, dtype=np.float32)
                blocks.append(block.reshape(-1, block.shape[-1]))
                owner.extend([index] * len(blocks[-1]))
        if blocks:
            multi = config.multivector_config is not None
            starts = np.cumsum([0] + [len(b) for b in blocks[:-1]]) if multi else None
            loaded.vectors[name] = _Vectors(_unit(np.concatenate(blocks)), np.asarray(owner), starts)
        elif name in loaded.cosine:
            loaded.vectors[name] = _Vectors(np.zeros((0, config.size), np.float32), np.zeros(0, int), None)
    return loaded


def _covered(request: qm.QueryRequest) -> bool:
    """A plain nearest-vector request on a named vector, as the index makes them."""
    query = request.query
    dense = isinstance(query, list) and bool(query) and all(isinstance(x, float | int) for x in query[:1])
    multi = isinstance(query, list) and bool(query) and isinstance(query[0], list)
    return (
        (dense or multi)
        and isinstance(request.using, str)
        and not request.prefetch
        and not request.offset
        and request.score_threshold is None
        and not request.with_vector
        and request.params is None
        and request.lookup_from is None
    )


def _wanted(condition: Any) -> set[Any] | None:
    """The values a keyword condition accepts; None for any other condition."""
    if not isinstance(condition, qm.FieldCondition) or condition.key is None:
        return None
    others = (condition.range, condition.geo_bounding_box, condition.geo_radius, condition.geo_polygon)
    if any(x is not None for x in others) or condition.values_count is not None or condition.is_empty is not None:
        return None
    if isinstance(condition.match, qm.MatchValue):
        return {condition.match.value}
    if isinstance(condition.match, qm.MatchAny):
        return set(condition.match.any)
    return None


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))[:, None]  # one pass, unlike np.linalg.norm
    return matrix / np.where(norms == 0, 1, norms)
