"""Read the ESCO index: match job titles, skill lists or free text to occupations, titles to skills.

:class:`OccupationIndex` reads through the aliases, and checks each collection's manifest against
its embedder before the first query (ModelMismatch otherwise). It remembers the collection the
alias served; when a sync replaces it (and drops the old one) the next query re-reads the alias
and checks the manifest again, so a reader never mixes two models' vectors.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from qdrant_client import models as qm

from jobmatch.server.index._aio import gather_or_cancel
from jobmatch.server.index.catalog import open_index
from jobmatch.server.index.embedder import Embedder, Side, identity
from jobmatch.server.index.errors import EmptyIndex, IndexNotFound, InvalidFilter, InvalidQuery
from jobmatch.server.index.fusion import Fused, Hit, fuse
from jobmatch.server.index.schema import OCCUPATIONS_ALIAS, SKILLS_ALIAS, IndexKind, Manifest, point_id
from jobmatch.server.index.store import QdrantStore
from jobmatch.server.index.strategies import Kind, Probe, Strategy, plan_probes

__all__ = ["MAX_TOP_K", "OccupationIndex", "OccupationMatch", "OccupationRecord", "SkillMatch", "SkillRef"]

MAX_TOP_K = 1000
_ISCO_PREFIX = re.compile(r"\d{1,4}")
_MATCH_FIELDS = ["uri", "code", "isco_group", "preferred_label", "essential_skills"]
_FUSED_DEPTH = 50  # candidates per probe for rank fusion
T = TypeVar("T")


def _label(labels: Mapping[str, str], language: str | None) -> tuple[str, str]:
    """(label, its language): the requested language, else English, else the first there is."""
    for lang in (language, "en", *sorted(labels)):
        if lang and labels.get(lang):
            return labels[lang], lang
    return "", ""


@dataclass(frozen=True, slots=True)
class OccupationMatch:
    """An occupation found by :meth:`OccupationIndex.match`.

    ``score`` is the cosine of the best vector for a one-family strategy, the reciprocal rank fusion
    score for ``fused``; ``vector`` names the vector that matched best (e.g. ``labels_de``) and
    ``scores`` the cosine of every vector that found it.
    """

    uri: str
    preferred_label: str
    language: str  # of preferred_label
    isco_group: str
    code: str
    score: float
    vector: str
    essential_skills: tuple[str, ...]
    scores: Mapping[str, float] = field(default_factory=dict)
    description: str = ""  # in the label's language, when asked for


@dataclass(frozen=True, slots=True)
class SkillRef:
    uri: str
    label: str


@dataclass(frozen=True, slots=True)
class OccupationRecord:
    """An occupation as stored in the index (its payload)."""

    uri: str
    code: str
    isco_group: str
    isco_prefixes: tuple[str, ...]
    preferred_label: Mapping[str, str]
    alt_labels: Mapping[str, tuple[str, ...]]
    hidden_labels: Mapping[str, tuple[str, ...]]
    description: Mapping[str, str]
    essential_skills: tuple[SkillRef, ...]
    optional_skills: tuple[SkillRef, ...]
    languages: tuple[str, ...]
    esco_version: str
    content_hash: str

    def label(self, language: str | None = None) -> str:
        """Preferred label in ``language``, else English, else any."""
        return _label(self.preferred_label, language)[0]

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> OccupationRecord:
        def skills(relation: str) -> tuple[SkillRef, ...]:
            uris, labels = payload.get(f"{relation}_skill_uris", []), payload.get(f"{relation}_skills", [])
            return tuple(SkillRef(u, lbl) for u, lbl in zip(uris, labels, strict=False))

        return cls(
            uri=payload["uri"],
            code=payload.get("code", ""),
            isco_group=payload.get("isco_group", ""),
            isco_prefixes=tuple(payload.get("isco_prefixes", ())),
            preferred_label=dict(payload.get("preferred_label", {})),
            alt_labels={k: tuple(v) for k, v in payload.get("alt_labels", {}).items()},
            hidden_labels={k: tuple(v) for k, v in payload.get("hidden_labels", {}).items()},
            description=dict(payload.get("description", {})),
            essential_skills=skills("essential"),
            optional_skills=skills("optional"),
            languages=tuple(payload.get("languages", ())),
            esco_version=payload.get("esco_version", ""),
            content_hash=payload.get("content_hash", ""),
        )


@dataclass(frozen=True, slots=True)
class SkillMatch:
    uri: str
    label: str
    skill_type: str
    reuse_level: str
    score: float


@dataclass(slots=True)
class _Opened:
    collection: str
    manifest: Manifest


class OccupationIndex:
    """Queries over the ESCO occupations (and skills) indexes, embedded by ``embedder``."""

    def __init__(
        self,
        store: QdrantStore,
        embedder: Embedder,
        *,
        alias: str = OCCUPATIONS_ALIAS,
        skills_alias: str = SKILLS_ALIAS,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.alias = alias
        self.skills_alias = skills_alias
        self._opened: dict[IndexKind, _Opened] = {}

    @classmethod
    async def open(
        cls,
        store: QdrantStore,
        embedder: Embedder,
        *,
        alias: str = OCCUPATIONS_ALIAS,
        skills_alias: str = SKILLS_ALIAS,
    ) -> OccupationIndex:
        """Open and check the occupations index now (IndexNotFound, EmptyIndex, ModelMismatch)."""
        index = cls(store, embedder, alias=alias, skills_alias=skills_alias)
        await index._open("occupations")
        return index

    @property
    def manifest(self) -> Manifest | None:
        """The occupations index's manifest, once opened."""
        opened = self._opened.get("occupations")
        return opened.manifest if opened else None

    async def _open(self, kind: IndexKind) -> _Opened:
        alias = self.alias if kind == "occupations" else self.skills_alias
        await self.embedder.prepare()
        collection, manifest = await open_index(self.store, alias, kind)
        manifest.check_model(identity(self.embedder), f"the {kind} index {alias!r} in {self.store.location}")
        if await self.store.count(collection) == 0:
            raise EmptyIndex(f"the {kind} index {alias!r} in {self.store.location} is empty: sync ESCO into it")
        self._opened[kind] = opened = _Opened(collection, manifest)
        return opened

    async def _with_index(self, kind: IndexKind, run: Callable[[_Opened], Awaitable[T]]) -> T:
        """Run against the opened collection; re-open once if a sync replaced (dropped) it."""
        opened = self._opened.get(kind) or await self._open(kind)
        try:
            return await run(opened)
        except IndexNotFound:
            self._opened.pop(kind, None)
            return await run(await self._open(kind))

    # -- queries ----------------------------------------------------------------------------

    async def match(
        self,
        query: str,
        kind: Kind = "job_title",
        top_k: int = 10,
        language: str | None = None,
        isco_prefixes: Sequence[str] = (),
        *,
        strategy: Strategy | None = None,
        with_descriptions: bool = False,
    ) -> list[OccupationMatch]:
        """The ``top_k`` occupations closest to ``query``, best first.

        ``kind``: ``job_title`` (anchor head), ``skills`` (a comma-separated skill list, positive
        head) or ``text`` (a resume or job ad); ``strategy`` overrides the kind's default
        (:data:`~jobmatch.server.index.strategies.DEFAULT_STRATEGIES`). ``language`` restricts the
        search to that language's labels and to occupations labelled in it (None: every synced
        language); ``isco_prefixes`` keeps occupations whose ISCO group starts with one of them;
        ``with_descriptions`` fills each match's description.
        """
        text = _check_query(query, top_k)
        prefixes = _check_prefixes(isco_prefixes)
        fields = [*_MATCH_FIELDS, "description"] if with_descriptions else _MATCH_FIELDS

        async def run(opened: _Opened) -> list[OccupationMatch]:
            layout = opened.manifest.layout
            if language is not None and language not in layout.languages:
                raise InvalidFilter(
                    f"language {language!r} is not indexed; indexed: {', '.join(layout.languages)}", field="language"
                )
            languages = (language,) if language else layout.languages
            probes = plan_probes(layout, kind, strategy, languages)
            depth = top_k if len({p.family for p in probes}) == 1 else max(top_k, _FUSED_DEPTH)
            vectors = await self._embed_query(text, {p.side for p in probes})
            conditions = []
            if prefixes:
                conditions.append(qm.FieldCondition(key="isco_prefixes", match=qm.MatchAny(any=prefixes)))
            if language:
                conditions.append(qm.FieldCondition(key="languages", match=qm.MatchValue(value=language)))
            query_filter = qm.Filter(must=conditions) if conditions else None
            requests = [_request(p, vectors[p.side], depth, query_filter, False) for p in probes]
            results = await self.store.query(opened.collection, requests)
            hits = [
                Hit(str(point.id), probe.vector, probe.family, point.score)
                for probe, points in zip(probes, results, strict=True)
                for point in points
            ]
            best = fuse(hits)[:top_k]
            # payloads of the winners only: candidates for fusion are many, and skill lists long
            records = await self.store.retrieve(opened.collection, [f.id for f in best], fields)
            payloads = {str(r.id): r.payload or {} for r in records}
            return [_occupation_match(f, payloads[f.id], language) for f in best if f.id in payloads]

        return await self._with_index("occupations", run)

    async def get(self, uri: str) -> OccupationRecord | None:
        """The stored occupation with this ESCO URI, or None."""
        if not uri.strip():
            raise InvalidQuery("uri is empty", field="uri")

        async def run(opened: _Opened) -> OccupationRecord | None:
            records = await self.store.retrieve(opened.collection, [point_id(uri.strip())])
            return OccupationRecord.from_payload(records[0].payload) if records else None

        return await self._with_index("occupations", run)

    async def match_skills(self, title: str, top_k: int = 10) -> list[SkillMatch]:
        """The ``top_k`` ESCO skills most relevant to a job title (anchor head vs skill labels)."""
        text = _check_query(title, top_k)

        async def run(opened: _Opened) -> list[SkillMatch]:
            vector = (await self._embed_query(text, {"anchor"}))["anchor"]
            probe = Probe("label", "label", "anchor", False)
            fields = ["uri", "label", "skill_type", "reuse_level"]
            (points,) = await self.store.query(opened.collection, [_request(probe, vector, top_k, None, fields)])
            return [
                SkillMatch(
                    uri=p.payload["uri"],
                    label=p.payload.get("label", ""),
                    skill_type=p.payload.get("skill_type", ""),
                    reuse_level=p.payload.get("reuse_level", ""),
                    score=p.score,
                )
                for p in points
                if p.payload
            ]

        return await self._with_index("skills", run)

    async def _embed_query(self, text: str, sides: set[Side]) -> dict[Side, np.ndarray]:
        if not self.embedder.asymmetric:  # one head: embed once for every side
            vector = (await self.embedder.embed([text], "anchor"))[0]
            return dict.fromkeys(sides, vector)
        ordered = sorted(sides)
        vectors = await gather_or_cancel([self.embedder.embed([text], side) for side in ordered])
        return {side: v[0] for side, v in zip(ordered, vectors, strict=True)}


def _check_query(query: str, top_k: int) -> str:
    if not isinstance(query, str) or not query.strip():
        raise InvalidQuery("the query is empty", field="query")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise InvalidQuery(f"top_k must be an integer from 1 to {MAX_TOP_K}, not {top_k!r}", field="top_k")
    return query.strip()


def _check_prefixes(prefixes: Sequence[str]) -> list[str]:
    values = [prefixes] if isinstance(prefixes, str) else list(prefixes)
    for prefix in values:
        if not isinstance(prefix, str) or not _ISCO_PREFIX.fullmatch(prefix):
            raise InvalidFilter(
                f"ISCO prefix {prefix!r} must be 1 to 4 digits, e.g. '2' or '2512'", field="isco_group_prefixes"
            )
    return sorted(set(values))


def _request(
    probe: Probe, vector: np.ndarray, limit: int, query_filter: qm.Filter | None, fields: list[str] | bool
) -> qm.QueryRequest:
    as_list = vector.astype(np.float32).tolist()
    return qm.QueryRequest(
        query=[as_list] if probe.multi else as_list,  # a multivector is queried with a (1, d) multivector
        using=probe.vector,
        filter=query_filter,
        limit=limit,
        with_payload=fields,
        with_vector=False,
    )


def _occupation_match(fused: Fused, payload: Mapping[str, Any], language: str | None) -> OccupationMatch:
    label, lang = _label(payload.get("preferred_label", {}), language)
    return OccupationMatch(
        uri=payload.get("uri", ""),
        preferred_label=label,
        language=lang,
        isco_group=payload.get("isco_group", ""),
        code=payload.get("code", ""),
        score=fused.score,
        vector=fused.vector,
        essential_skills=tuple(s for s in payload.get("essential_skills", ()) if s),
        scores=dict(fused.scores),
        description=payload.get("description", {}).get(lang, ""),
    )
