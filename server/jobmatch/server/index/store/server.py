"""A Qdrant server through qdrant-client: the same plan as Edge, through the server's Query API.

Aliases, collection metadata, payload indexes, sharding and replication are the server's own.
``QdrantClient(":memory:")`` speaks the same client API; the tests drive this adapter through it
(no Qdrant server binary runs on the build machines), with nothing read from its internals.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from jobmatch.server.index.errors import IndexNotFound, StoreUnavailable
from jobmatch.server.index.plan import FusionTerm, Hit, PayloadBonus, PayloadFilter, Probe, QueryPlan, SparseVector
from jobmatch.server.index.store.base import CollectionSpec, PointData, StoredPoint

__all__ = ["ServerBackend"]

_NOT_FOUND = re.compile(r"Collection `?(?P<name>[^`\s]+)`? (?:not found|doesn't exist)")
_SCROLL_PAGE = 1000


class ServerBackend:
    """A Qdrant server (``url``), or qdrant-client's in-memory stand-in (``":memory:"``)."""

    def __init__(
        self,
        location: str,
        *,
        api_key: str | None = None,
        timeout: int = 30,
        shard_number: int | None = None,
        replication_factor: int | None = None,
    ) -> None:
        self.location = location
        # for the collections it creates on a distributed Qdrant server
        self._sharding = {"shard_number": shard_number, "replication_factor": replication_factor}
        if location == ":memory:":
            self.threads = 1  # the in-memory client is not thread-safe
            self._client = QdrantClient(":memory:")
        else:
            self.threads = 4
            self._client = QdrantClient(url=location, api_key=api_key, timeout=timeout, check_compatibility=False)

    @property
    def client(self) -> QdrantClient:
        """The qdrant-client client, for tools that take one (langchain-qdrant's ``QdrantVectorStore``)."""
        return self._client

    @contextlib.contextmanager
    def _mapped(self) -> Iterator[None]:
        """Not-found and connection errors as the index's errors."""
        try:
            yield
        except UnexpectedResponse as exc:
            reason = _reason(exc)
            if exc.status_code == 404:
                raise IndexNotFound(f"{self.location}: {reason}") from None
            if exc.status_code is None or exc.status_code >= 500:
                raise StoreUnavailable(f"the Qdrant server at {self.location} failed: {reason}") from exc
            raise
        except ResponseHandlingException as exc:
            raise StoreUnavailable(f"the Qdrant server at {self.location} cannot be reached: {exc}") from exc
        except ValueError as exc:  # the in-memory client's "not found"
            match = _NOT_FOUND.search(str(exc))
            if match is None:
                raise
            raise IndexNotFound(f"no collection or alias {match['name']!r} in {self.location}") from None

    def collection_names(self) -> list[str]:
        with self._mapped():
            return [c.name for c in self._client.get_collections().collections]

    def aliases(self) -> dict[str, str]:
        with self._mapped():
            return {a.alias_name: a.collection_name for a in self._client.get_aliases().aliases}

    def metadata(self, collection: str) -> dict[str, Any]:
        with self._mapped():
            return dict(self._client.get_collection(collection).config.metadata or {})

    def create_collection(self, collection: str, spec: CollectionSpec, metadata: Mapping[str, Any]) -> None:
        maxsim = qm.MultiVectorConfig(comparator=qm.MultiVectorComparator.MAX_SIM)
        dense = {
            name: qm.VectorParams(
                size=d.size,
                distance=qm.Distance.COSINE,
                multivector_config=maxsim if d.multi else None,
                datatype=qm.Datatype.FLOAT16 if d.float16 else None,
                hnsw_config=None if d.graph else qm.HnswConfigDiff(m=0),  # m=0: no graph
            )
            for name, d in spec.dense.items()
        }
        sparse = {name: qm.SparseVectorParams(modifier=qm.Modifier.IDF) for name in spec.sparse}
        with self._mapped():
            self._client.create_collection(
                collection,
                vectors_config=dense,
                sparse_vectors_config=sparse or None,
                metadata=dict(metadata),
                **self._sharding,
            )
            for name in spec.keyword_indexes:
                self._client.create_payload_index(collection, name, qm.PayloadSchemaType.KEYWORD, wait=True)
            for name in spec.integer_indexes:
                self._client.create_payload_index(collection, name, qm.PayloadSchemaType.INTEGER, wait=True)

    def update_metadata(self, collection: str, metadata: Mapping[str, Any]) -> None:
        with self._mapped():
            self._client.update_collection(collection, metadata=dict(metadata))

    def switch_alias(self, alias: str, collection: str) -> None:
        operations: list[qm.AliasOperations] = []
        if alias in self.aliases():
            operations.append(qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=alias)))
        operations.append(
            qm.CreateAliasOperation(create_alias=qm.CreateAlias(collection_name=collection, alias_name=alias))
        )
        with self._mapped():
            self._client.update_collection_aliases(change_aliases_operations=operations)

    def drop_collection(self, collection: str) -> None:
        with self._mapped():
            self._client.delete_collection(collection)

    def upsert(self, collection: str, points: Sequence[PointData]) -> None:
        structs = [
            qm.PointStruct(id=p.id, vector={n: _vector(v) for n, v in p.vectors.items()}, payload=p.payload)
            for p in points
        ]
        with self._mapped():
            self._client.upsert(collection, structs, wait=True)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        with self._mapped():
            self._client.delete(collection, points_selector=qm.PointIdsList(points=list(ids)), wait=True)

    def read_payload(self, collection: str, fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        offset = None
        with self._mapped():
            while True:
                records, offset = self._client.scroll(
                    collection, limit=_SCROLL_PAGE, offset=offset, with_payload=list(fields), with_vectors=False
                )
                found.update((str(r.id), r.payload or {}) for r in records)
                if offset is None:
                    return found

    def count(self, collection: str) -> int:
        with self._mapped():
            return self._client.count(collection, exact=True).count

    def retrieve(
        self, collection: str, ids: Sequence[str], fields: Sequence[str] | bool, *, with_vectors: bool
    ) -> list[StoredPoint]:
        with_payload = fields if isinstance(fields, bool) else list(fields)
        with self._mapped():
            records = self._client.retrieve(collection, list(ids), with_payload=with_payload, with_vectors=with_vectors)
        return [StoredPoint(str(r.id), dict(r.payload or {}), _dense(r.vector)) for r in records]

    def query_batch(self, collection: str, plans: Sequence[QueryPlan]) -> list[list[Hit]]:
        with self._mapped():
            responses = self._client.query_batch_points(collection, requests=[_request(plan) for plan in plans])
        return [[Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in r.points] for r in responses]

    def finish_build(self, collection: str) -> None:
        """Nothing to do: the server flushes and indexes on its own."""

    def close(self) -> None:
        self._client.close()


def _reason(exc: UnexpectedResponse) -> str:
    try:
        return str(exc.structured()["status"]["error"])
    except Exception:
        return exc.reason_phrase or str(exc)


def _vector(vector: np.ndarray | SparseVector) -> Any:
    if isinstance(vector, SparseVector):
        return qm.SparseVector(indices=list(vector.indices), values=list(vector.values))
    return np.asarray(vector, dtype=np.float32).tolist()


def _probe_query(probe: Probe) -> Any:
    vector = _vector(probe.query)
    return [vector] if probe.multi else vector


def _filter(payload_filter: PayloadFilter) -> qm.Filter | None:
    if not payload_filter:
        return None
    must: list[Any] = [
        qm.FieldCondition(key=k, match=qm.MatchAny(any=list(v))) for k, v in payload_filter.any_of.items()
    ]
    if payload_filter.ids:
        must.append(qm.HasIdCondition(has_id=list(payload_filter.ids)))
    return qm.Filter(must=must)


def _request(plan: QueryPlan) -> qm.QueryRequest:
    where = _filter(plan.filter)
    params = qm.SearchParams(exact=True) if plan.exact else None
    prefetch = [
        qm.Prefetch(query=_probe_query(p), using=p.vector, limit=plan.depth, filter=where, params=params)
        for p in plan.probes
    ]
    terms = [_term(term) for term in plan.fusion_terms()] + [_bonus(b) for b in plan.bonuses]
    formula = qm.FormulaQuery(
        formula=terms[0] if len(terms) == 1 else qm.SumExpression(sum=terms),
        defaults={f"$score[{i}]": 0.0 for i in range(len(plan.probes))},
    )
    return qm.QueryRequest(
        prefetch=prefetch,
        query=formula,
        filter=where,
        limit=plan.limit,
        score_threshold=plan.min_score,
        with_payload=list(plan.fields) if plan.fields else False,
        with_vector=False,
    )


def _term(term: FusionTerm) -> Any:
    scores = [
        f"$score[{i}]" if s == 1.0 else qm.MultExpression(mult=[s, f"$score[{i}]"])
        for i, s in zip(term.prefetches, term.scales, strict=True)
    ]
    best: Any = scores[0] if len(scores) == 1 else qm.MaxExpression(max=scores)
    if term.saturation is not None:
        saturated = qm.SumExpression(sum=[best, term.saturation])
        best = qm.DivExpression(div=qm.DivParams(left=best, right=saturated, by_zero_default=0.0))
    return qm.MultExpression(mult=[term.weight, best])


def _bonus(bonus: PayloadBonus) -> Any:
    matches = qm.FieldCondition(key=bonus.key, match=qm.MatchValue(value=bonus.value))
    return qm.MultExpression(mult=[bonus.weight, matches])


def _dense(vector: Any) -> dict[str, np.ndarray]:
    if not isinstance(vector, dict):
        return {}
    return {n: np.asarray(v, dtype=np.float32) for n, v in vector.items() if not isinstance(v, qm.SparseVector)}
