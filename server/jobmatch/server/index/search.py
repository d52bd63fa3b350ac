"""Read the ESCO index: match job titles, skill lists or free text to occupations, titles to skills.

:class:`OccupationIndex` reads through the aliases, and checks each collection's manifest against
its embedder before the first query (ModelMismatch otherwise). It remembers the collection the
alias served; when a sync replaces it (and drops the old one) the next query re-reads the alias
and checks the manifest again, so a reader never mixes two models' vectors.

A match is one query plan (:mod:`plan`) run by Qdrant's engine: the strategy's probes (vectors and
the heads that embed the query for them, :mod:`strategies`), fused by typed weights, under the
ISCO and language filters, returning the winners' payloads. Concurrent matches are searched
together (:mod:`search_batches`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from jobmatch.server.index._aio import gather_or_cancel, gather_pair
from jobmatch.server.index.catalog import open_index
from jobmatch.server.index.checks import check_text, check_top_k
from jobmatch.server.index.cleaning import clean_job_title, named_title
from jobmatch.server.index.compounds import (
    NO_COMPOUNDS,
    NONE_BY_LANGUAGE,
    Compounds,
    compounds_by_language,
    occupation_labels,
)
from jobmatch.server.index.embedder import Embedder, Side, identity
from jobmatch.server.index.errors import EmptyIndex, IndexNotFound, InvalidFilter, InvalidQuery, OccupationNotFound
from jobmatch.server.index.extraction import (
    DEFAULT_EXTRACT_TOP_K,
    DEFAULT_EXTRACTION,
    SKILL_FIELDS,
    ExtractionStrategy,
    SkillExtraction,
    Unit,
    UnitVectors,
    best_skills,
    check_extraction,
    collect_scores,
    extraction_units,
    gap_reached,
    mention_words,
    rank_skills,
    recall_plan,
    relations,
    scoring_plan,
    skill_gap,
    unit_texts,
    unit_vectors,
    with_mentions,
)
from jobmatch.server.index.lexical import query_vector
from jobmatch.server.index.long_text import DEFAULT_READING, TextReading, keep_strongest, text_chunks
from jobmatch.server.index.plan import FamilyWeight, Hit, PayloadFilter, Probe, QueryPlan, SparseVector
from jobmatch.server.index.schema import OCCUPATIONS_ALIAS, SKILLS_ALIAS, IndexKind, Manifest, point_id
from jobmatch.server.index.search_batches import SearchBatcher
from jobmatch.server.index.spelling import Vocabulary
from jobmatch.server.index.store import QdrantStore
from jobmatch.server.index.strategies import (
    Kind,
    ProbeSpec,
    QueryForms,
    Ranking,
    SearchSpec,
    Strategy,
    plan_search,
)

__all__ = ["MAX_TOP_K", "OccupationIndex", "OccupationMatch", "OccupationRecord", "SkillMatch", "SkillRef"]

MAX_TOP_K = 100
"""Most matches one query returns: the one limit, checked here for every caller (the API too)."""
_ISCO_PREFIX = re.compile(r"\d{1,4}")
_MATCH_FIELDS = ("uri", "code", "isco_group", "preferred_label", "essential_skills")
_VOCABULARY_FIELDS = ("uri", "preferred_label", "alt_labels", "hidden_labels", "description")
_VOCABULARY_PAGE = 256
EXACT_SEARCH_POINTS = 20_000
"""Collections up to this size (ESCO's ~3,000 occupations and ~13,900 skills) are searched exactly:
about as fast as HNSW there (1.8 vs 1.4 ms for a ``labels`` multivector over 3,039 occupations with
MiniLM), where HNSW found 97% of the exact top 10. Larger ones use the HNSW graph the store builds."""
_FUSED_DEPTH = 50  # candidates per prefetch when several families are fused
_SKILL_FIELDS = ("uri", "label", "skill_type", "reuse_level")
T = TypeVar("T")


def label_language(labels: Mapping[str, str], language: str | None) -> str:
    """The language an occupation is shown in, given its preferred labels by language: ``language``
    when it has a label in it, else English, else the first language in sorted order ("" if none).

    The one rule for every answer (matches and GetOccupation): the preferred label, alternative
    labels and description all come from this language, never mixed.
    """
    for lang in (language, "en", *sorted(labels)):
        if lang and labels.get(lang):
            return lang
    return ""


def _label(labels: Mapping[str, str], language: str | None) -> tuple[str, str]:
    """(label, its language) by :func:`label_language`."""
    lang = label_language(labels, language)
    return labels.get(lang, ""), lang


@dataclass(frozen=True, slots=True)
class OccupationMatch:
    """An occupation found by :meth:`OccupationIndex.match`.

    ``score`` is the engine's fused score: the best cosine of the family for a one-family strategy
    (``labels``: the closest label in any searched language), the weighted mean of the families'
    best scores for ``fused`` and ``hybrid`` (:mod:`plan`), plus the ranking's payload bonuses.
    """

    uri: str
    preferred_label: str
    language: str  # of preferred_label
    isco_group: str
    code: str
    score: float
    essential_skills: tuple[str, ...]
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

    def label_language(self, language: str | None = None) -> str:
        """The language to show this occupation in (:func:`label_language`): its labels, alternative
        labels and description all come from it."""
        return label_language(self.preferred_label, language)

    def label(self, language: str | None = None) -> str:
        """Preferred label in :meth:`label_language`."""
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
    points: int
    vocabulary: Vocabulary  # of the occupations' labels and descriptions; empty for the skills index
    compounds: Mapping[str, Compounds]  # per language, from the same words; none for the skills index

    @property
    def exact(self) -> bool:
        return self.points <= EXACT_SEARCH_POINTS


class OccupationIndex:
    """Queries over the ESCO occupations (and skills) indexes, embedded by ``embedder``."""

    text_reading: TextReading = DEFAULT_READING
    """How a free text (kind ``text``) is cut into chunks and bounded (:mod:`long_text`)."""

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
        self._searches = SearchBatcher(store)

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
        alias = self._alias(kind)
        await self.embedder.prepare()
        collection, manifest = await open_index(self.store, alias, kind)
        manifest.check_model(identity(self.embedder), f"the {kind} index {alias!r} in {self.store.location}")
        points = await self.store.count(collection)
        if points == 0:
            raise EmptyIndex(f"the {kind} index {alias!r} in {self.store.location} is empty: sync ESCO into it")
        vocabulary, compounds = (
            await _words(self.store, collection) if kind == "occupations" else (Vocabulary.of(()), NONE_BY_LANGUAGE)
        )
        self._opened[kind] = opened = _Opened(collection, manifest, points, vocabulary, compounds)
        return opened

    def _alias(self, kind: IndexKind) -> str:
        return self.alias if kind == "occupations" else self.skills_alias

    async def _with_index(self, kind: IndexKind, run: Callable[[_Opened], Awaitable[T]]) -> T:
        """Run against the opened collection; re-open once if a sync replaced (dropped) it.

        A query the opened layout refuses (a strategy or language it lacks) is retried on the new
        collection too when the alias has moved: the refusal came from the old manifest.
        """
        opened = self._opened.get(kind) or await self._open(kind)
        try:
            return await run(opened)
        except IndexNotFound:
            pass
        except InvalidQuery:
            if (await self.store.aliases()).get(self._alias(kind)) == opened.collection:
                raise
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
        strategy: Strategy | Ranking | None = None,
        with_descriptions: bool = False,
    ) -> list[OccupationMatch]:
        """The ``top_k`` occupations closest to ``query``, best first.

        ``kind``: ``job_title`` (anchor head), ``skills`` (a comma-separated skill list, positive
        head) or ``text`` (a resume or job ad, read whole and in chunks to its end: an occupation
        scores as its best input per family, :mod:`long_text`); ``strategy`` overrides the kind's default
        (:data:`~jobmatch.server.index.strategies.DEFAULT_STRATEGIES`). ``language`` restricts the
        search to that language's labels and to occupations labelled in it (None: every synced
        language); ``isco_prefixes`` keeps occupations whose ISCO group starts with one of them;
        ``with_descriptions`` fills each match's description. A query without letters, and a job
        title that is only job-ad noise once cleaned (``"(m/w/d)"``), are InvalidQuery.
        """
        text = _check_query(query, top_k)
        prefixes = _check_prefixes(isco_prefixes)
        fields = (*_MATCH_FIELDS, "description") if with_descriptions else _MATCH_FIELDS

        async def run(opened: _Opened) -> list[OccupationMatch]:
            layout = opened.manifest.layout
            if language is not None and language not in layout.languages:
                raise InvalidFilter(
                    f"language {language!r} is not indexed; indexed: {', '.join(layout.languages)}", field="language"
                )
            search = plan_search(layout, kind, strategy, (language,) if language else layout.languages)
            if kind == "text":
                texts = text_chunks(text, self.text_reading)
            else:
                texts = _query_forms(text, search.query_forms, language, opened.vocabulary)
            vectors = await self._embed_query(texts, search.sides)
            conditions = {"isco_prefixes": tuple(prefixes)} if prefixes else {}
            if language:
                conditions["languages"] = (language,)
            where = PayloadFilter(conditions)
            # An ISCO filter on a large collection is searched exactly too: HNSW under a filter keeping 11 %
            # of 100,000 points found 88-90 % of the exact top 10; exact search took 2.4-5.3 ms (benchmarks).
            exact = opened.exact or bool(prefixes)

            async def chunk_score(chunk: tuple[str, ...], rows: Mapping[Side, np.ndarray]) -> float:
                alone = _query_plan(search, chunk, rows, 1, where, (), exact, opened.compounds)
                return max((hit.score for hit in await self._searches.search(opened.collection, alone)), default=0.0)

            texts, vectors = await keep_strongest(texts, vectors, self.text_reading, chunk_score)
            plan = _query_plan(
                search, texts, vectors, top_k, where, fields, exact, opened.compounds, forms=kind != "text"
            )
            hits = await self._searches.search(opened.collection, plan)
            return [_occupation_match(hit, language) for hit in _ranked(hits)]

        return await self._with_index("occupations", run)

    async def job_title_forms(
        self, query: str, language: str | None = None, strategy: Strategy | Ranking | None = None
    ) -> tuple[str, ...]:
        """The texts a job title is searched as: as sent, and cleaned of job-ad noise and typos (the
        strategy's query forms, each once: :func:`_query_forms`). InvalidQuery as :meth:`match`."""
        text = _check_query(query, 1)

        async def run(opened: _Opened) -> tuple[str, ...]:
            search = plan_search(opened.manifest.layout, "job_title", strategy, opened.manifest.layout.languages)
            return _query_forms(text, search.query_forms, language, opened.vocabulary)

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
            vector = (await self._embed_query((text,), {"anchor"}))["anchor"][0]
            plan = QueryPlan(
                probes=(Probe("label", "label", vector),),
                weights=(FamilyWeight("label", 1.0),),
                limit=top_k,
                depth=top_k,
                fields=_SKILL_FIELDS,
                exact=opened.exact,
            )
            hits = await self._searches.search(opened.collection, plan)
            return [
                SkillMatch(
                    uri=str(hit.payload["uri"]),
                    label=str(hit.payload.get("label", "")),
                    skill_type=str(hit.payload.get("skill_type", "")),
                    reuse_level=str(hit.payload.get("reuse_level", "")),
                    score=hit.score,
                )
                for hit in _ranked(hits)
                if hit.payload
            ]

        return await self._with_index("skills", run)

    async def extract_skills(
        self,
        text: str,
        top_k: int = DEFAULT_EXTRACT_TOP_K,
        min_score: float | None = None,
        language: str | None = None,
        occupation_uri: str | None = None,
        *,
        strategy: ExtractionStrategy = DEFAULT_EXTRACTION,
    ) -> SkillExtraction:
        """The ESCO skills ``text`` mentions, best first, with where (:mod:`extraction`).

        ``min_score``: None applies :data:`~jobmatch.server.index.extraction.DEFAULT_EXTRACT_MIN_SCORE`,
        a negative one none (a pure ranking of ``top_k``). ``language`` (of the text; None: the skills'
        language) picks the stop words of its mentions. ``occupation_uri`` sets each skill's relation to
        that occupation and adds the skill gap over all its essential skills. Raises InvalidQuery (an
        empty or letterless text, ``top_k`` outside 1..100, a NaN ``min_score``) and OccupationNotFound.
        """
        threshold = check_extraction(text, top_k, min_score)
        occupation = await self._gap_occupation(occupation_uri)
        essential = occupation.essential_skills if occupation else ()
        related = relations(essential, occupation.optional_skills) if occupation else {}

        async def run(opened: _Opened) -> SkillExtraction:
            lexical = opened.manifest.layout.skills_language or "en"
            units = extraction_units(text, strategy, language or lexical)
            vectors, candidates = await self._recalled(opened, units, lexical, strategy)
            essential_ids = {point_id(s.uri) for s in essential}
            wanted = [sorted(found | essential_ids) for found in candidates]
            plans = [scoring_plan(v, strategy, ids, threshold) for v, ids in zip(vectors, wanted, strict=True)]
            scored = await self._search_all(opened, plans)
            found = collect_scores(scored, candidates)
            reached = gap_reached(essential, collect_scores(scored), threshold) if occupation is not None else {}
            described = await self._described(opened, [*best_skills(found, threshold, top_k), *reached])
            skills = rank_skills(found, described, units, threshold, top_k, related)
            gap = None
            if occupation is not None:
                label = occupation.label(language)
                gap = skill_gap(occupation.uri, label, essential, reached, described, units, threshold)
            return SkillExtraction(skills, 0.0 if threshold is None else threshold, gap)

        return await self._with_index("skills", run)

    async def _recalled(
        self, opened: _Opened, units: Sequence[Unit], lexical: str, strategy: ExtractionStrategy
    ) -> tuple[list[UnitVectors], list[set[str]]]:
        """Each unit's query vectors and the point ids of the skills its recall found. The units and the
        mention words are embedded at once, and the recall starts as soon as the units' vectors are in."""
        side: Side = strategy.side if self.embedder.asymmetric else "anchor"

        async def recall() -> tuple[list[UnitVectors], list[list[Hit]]]:
            texts = unit_texts(units)
            contexts = dict(zip(texts, await self.embedder.embed(texts, side), strict=True))
            without_mentions = unit_vectors(units, contexts, lexical)
            return without_mentions, await self._search_all(
                opened, [recall_plan(v, strategy) for v in without_mentions]
            )

        async def embed_words() -> dict[str, np.ndarray]:
            words = mention_words(units)
            return dict(zip(words, await self.embedder.embed(words, side), strict=True)) if words else {}

        (contexts, recalled), words = await gather_pair(recall(), embed_words())
        return with_mentions(contexts, units, words), [{hit.id for hit in hits} for hits in recalled]

    async def _described(self, opened: _Opened, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Point id -> the :data:`SKILL_FIELDS` of these skills (each read once)."""
        records = await self.store.retrieve(opened.collection, list(dict.fromkeys(ids)), SKILL_FIELDS)
        return {record.id: record.payload for record in records}

    async def _gap_occupation(self, uri: str | None) -> OccupationRecord | None:
        """The occupation of a skill gap (None: none asked); OccupationNotFound when the index lacks it."""
        if uri is None:
            return None
        if not isinstance(uri, str) or not uri.strip():
            raise InvalidQuery("occupation_uri is empty", field="occupation_uri")
        record = await self.get(uri)
        if record is None:
            raise OccupationNotFound(f"no occupation with URI {uri.strip()!r}", field="occupation_uri")
        return record

    async def _search_all(self, opened: _Opened, plans: Sequence[QueryPlan]) -> list[list[Hit]]:
        """The hits of each plan, in order; all queued at once, so they share the batcher's rounds."""
        return await gather_or_cancel([self._searches.search(opened.collection, plan) for plan in plans])

    async def _embed_query(self, texts: tuple[str, ...], sides: set[Side]) -> dict[Side, np.ndarray]:
        """Per head, ``(len(texts), dim)``: each query form embedded through it."""
        if not self.embedder.asymmetric:  # one head: embed once for every side
            vectors = await self.embedder.embed(list(texts), "anchor")
            return dict.fromkeys(sides, vectors)
        ordered = sorted(sides)
        embedded = await gather_or_cancel([self.embedder.embed(list(texts), side) for side in ordered])
        return dict(zip(ordered, embedded, strict=True))


def _check_query(query: str, top_k: int) -> str:
    text = check_text(query, "query")
    check_top_k(top_k, MAX_TOP_K)
    return text


def _check_prefixes(prefixes: Sequence[str]) -> list[str]:
    values = [prefixes] if isinstance(prefixes, str) else list(prefixes)
    for prefix in values:
        if not isinstance(prefix, str) or not _ISCO_PREFIX.fullmatch(prefix):
            raise InvalidFilter(
                f"ISCO prefix {prefix!r} must be 1 to 4 digits, e.g. '2' or '2512'", field="isco_group_prefixes"
            )
    return sorted(set(values))


async def _words(store: QdrantStore, collection: str) -> tuple[Vocabulary, Mapping[str, Compounds]]:
    """The words of the occupations' labels and descriptions in ``collection``: for typos (every
    language) and for compounds (per language, read as the sync read them: :func:`compounds_by_language`).

    Read a page of points at a time: all of ESCO's labels and descriptions at once left ~25 MiB of heap
    resident in the server and the store's process for good (v1.2.0 en + de)."""
    ids = list(await store.read_payload(collection, []))
    records: list[OccupationRecord] = []
    for start in range(0, len(ids), _VOCABULARY_PAGE):
        points = await store.retrieve(collection, ids[start : start + _VOCABULARY_PAGE], _VOCABULARY_FIELDS)
        records += (OccupationRecord.from_payload(point.payload) for point in points)

    def build() -> tuple[Vocabulary, Mapping[str, Compounds]]:
        labels = (label for record in records for _, label in occupation_labels(record))
        descriptions = (text for record in records for text in record.description.values())
        return Vocabulary.of(labels, descriptions), compounds_by_language(records)

    return await asyncio.to_thread(build)  # ~0.6 s of CPU: not on the event loop


def _query_forms(text: str, forms: QueryForms, language: str | None, vocabulary: Vocabulary) -> tuple[str, ...]:
    """The query texts to search, each once: as sent and/or cleaned of job-ad noise and typos.

    The cleaned forms are the cleaned title and, when a qualifier follows a gender marker, the job
    named before it (:func:`~jobmatch.server.index.cleaning.named_title`).
    """
    if forms == "raw":
        return (text,)
    cleaned = vocabulary.correct(clean_job_title(text, language))
    if not cleaned:
        raise InvalidQuery(
            f"the query names no job once job-ad noise (gender markers, pay, shifts, contract and seniority "
            f"words) is removed: {text[:80]!r}",
            field="query",
        )
    named = vocabulary.correct(named_title(text, language))
    cleaned_forms = (cleaned, named) if named else (cleaned,)
    return tuple(dict.fromkeys(cleaned_forms if forms == "cleaned" else (text, *cleaned_forms)))


def _query_plan(
    search: SearchSpec,
    texts: tuple[str, ...],
    vectors: Mapping[Side, np.ndarray],
    top_k: int,
    payload_filter: PayloadFilter,
    fields: tuple[str, ...],
    exact: bool,
    compounds: Mapping[str, Compounds],
    *,
    forms: bool = False,
) -> QueryPlan:
    """The engine request of a match: one prefetch per probe, deep enough for fusion to see the winners.

    ``texts`` are separate inputs (the chunks of a long text: a probe each, a point keeps its best), or
    with ``forms`` the forms of one query (:func:`_query_forms`), searched together (:func:`forms_probe`).
    BM25 reads each text with the parts of its compounds in the probe's language (``compounds``).
    """
    # One family: a point's score is its best probe's, so each probe's own top_k holds the winners.
    depth = top_k if len(search.weights) == 1 else max(top_k, _FUSED_DEPTH)
    if forms and len(texts) > 1:
        probes = tuple(forms_probe(p, texts, vectors, compounds) for p in search.probes)
    else:
        probes = tuple(
            Probe(p.vector, p.family, vectors[p.side][i] if p.side else _terms(p, form, compounds), p.multi)
            for p in search.probes
            for i, form in enumerate(texts)
        )
    return QueryPlan(
        probes,
        search.weights,
        limit=top_k,
        depth=depth,
        filter=payload_filter,
        fields=fields,
        exact=exact,
        bonuses=search.bonuses,
    )


def _terms(spec: ProbeSpec, text: str, compounds: Mapping[str, Compounds]) -> SparseVector:
    """The BM25 query vector of ``text`` for a lexical probe, in its language's terms and compounds."""
    language = spec.language or "en"
    return query_vector(text, language, compounds.get(language, NO_COMPOUNDS))


def forms_probe(
    spec: ProbeSpec,
    texts: tuple[str, ...],
    vectors: Mapping[Side, np.ndarray],
    compounds: Mapping[str, Compounds] = NONE_BY_LANGUAGE,
) -> Probe:
    """One probe for the forms of one query (``texts``; their embeddings: the first rows of ``vectors``).

    BM25 searches the union of their terms. A dense probe searches the normalized sum ``s`` of their
    unit embeddings ``q_i``, scaled by ``|sum q_i| / n``: then ``scale * cos(s, x) = mean_i cos(q_i, x)``,
    so a point scores its mean cosine with the forms (for a label multivector: its best label by that
    mean). One probe instead of one per form: the engine reads each vector once (measured on the job-ad
    dev split: the same R@1 and R@5 within one title as a probe per form kept by its best, at ~half the
    engine's time).
    """
    if spec.side is None:
        terms = sorted({i for text in texts for i in _terms(spec, text, compounds).indices})
        return Probe(spec.vector, spec.family, SparseVector(tuple(terms), (1.0,) * len(terms)), spec.multi)
    rows = vectors[spec.side][: len(texts)].astype(np.float64)
    total = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).sum(axis=0)
    norm = float(np.linalg.norm(total))
    return Probe(spec.vector, spec.family, (total / norm).astype(np.float32), spec.multi, scale=norm / len(texts))


def _ranked(hits: list[Hit]) -> list[Hit]:
    """Best first, equal scores by point id: the engine's order of ties varies from call to call."""
    return sorted(hits, key=lambda hit: (-hit.score, hit.id))


def _occupation_match(hit: Hit, language: str | None) -> OccupationMatch:
    payload: Mapping[str, Any] = hit.payload
    label, lang = _label(payload.get("preferred_label", {}), language)
    return OccupationMatch(
        uri=payload.get("uri", ""),
        preferred_label=label,
        language=lang,
        isco_group=payload.get("isco_group", ""),
        code=payload.get("code", ""),
        score=hit.score,
        essential_skills=tuple(s for s in payload.get("essential_skills", ()) if s),
        description=payload.get("description", {}).get(lang, ""),
    )
