"""ExtractSkills: the ESCO skills a text (a job ad, a CV) mentions, where, and the skill gap.

The method, chosen on the validation splits of the skill-extraction benchmark of Decorte et al.
(``benchmarks/skill_extraction.py``; figures in ``benchmarks/README.md``):

1. **Units.** :func:`~jobmatch.server.index.segments.segment` cuts the text into units: lines,
   bullet items, sentences, and overlapping windows of long ones. A unit is the context a skill is
   named in and the span returned as evidence.
2. **Mentions.** A skill is named in a few words ("SQL", "team player", "supply chain") that one
   embedding of a whole sentence blurs. Every run of ``mention_words`` adjacent words of a unit is
   a mention, and so is each short item of a list in it (:func:`segment`'s phrases of at most
   ``item_words`` words: "first aid, pharmacology and radiation protection"), trimmed of stop words
   at its ends (words Qdrant's BM25 analyzer of the text's language drops: "SQL and" -> "SQL"); a
   unit with none (only stop words) is its own mention. A mention's vector is the normalized sum of
   its words' vectors, so each distinct word of the text is embedded once. (In an experiment on the
   validation splits, such summed pairs ranked as well as the same pairs embedded whole; the ~2,500
   mentions of a 3,000-word CV need ~1,100 words embedded.)
3. **Embedding.** The distinct unit texts go to the embedder in one call and the distinct words in
   another at the same time, both through the :data:`EXTRACTION_SIDE` head: the head the skill
   labels were embedded with. The recall needs only the units' vectors, so it starts as soon as
   they are there, while the words may still be embedding (a 3,000-word CV: 1.57 -> 1.35 s).
4. **Recall** (Qdrant's engine, one query plan per unit): the unit against the skills' preferred
   ``label`` (one vector per skill: HNSW finds its neighbours as the exact search does) fused with
   its BM25 terms against ``bm25`` (preferred and alternative labels): the unit's ``candidates``
   best skills.
5. **Scoring** (the engine, one plan per unit restricted to its candidates, and to the essential
   skills of the occupation of a skill gap): the weighted mean of three families, exact for every
   candidate: ``context`` (the unit's cosine to the closest of the skill's ``labels``, MAX_SIM over
   the preferred and alternative ones), ``mention`` (the best mention's, likewise) and ``lexical``
   (BM25, saturated as in :class:`~jobmatch.server.index.plan.FamilyWeight`). A skill that a
   family's prefetch leaves out counts 0 there, as in every plan; here none is left out. With a
   threshold, the engine returns only the scores that reach it (nothing below it is used).
6. **Aggregation** (here): a skill scores as its best unit; its evidence is that unit and the next
   best ones that reach the evidence threshold, at most :data:`MAX_EVIDENCE`.

A skill gap (``occupation_uri``) judges every essential skill of the occupation, not only the
ranked ones: those whose score reaches the threshold are shown, the others missing, in ESCO's order.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from jobmatch.server.index.checks import check_text, check_top_k
from jobmatch.server.index.cleaning import has_letters
from jobmatch.server.index.embedder import Side
from jobmatch.server.index.errors import InvalidQuery
from jobmatch.server.index.lexical import query_vector
from jobmatch.server.index.plan import FamilyWeight, Hit, PayloadFilter, Probe, QueryPlan, SparseVector
from jobmatch.server.index.schema import point_id
from jobmatch.server.index.segments import Segment, segment
from jobmatch.server.index.strategies import BM25_SATURATION

if TYPE_CHECKING:  # search.py imports this module
    from jobmatch.server.index.search import SkillRef

__all__ = [
    "DEFAULT_EXTRACTION",
    "DEFAULT_EXTRACT_MIN_SCORE",
    "DEFAULT_EXTRACT_TOP_K",
    "EXTRACTION_SIDE",
    "MAX_EVIDENCE",
    "MAX_EXTRACT_TOP_K",
    "SKILL_FIELDS",
    "Evidence",
    "ExtractedSkill",
    "ExtractionStrategy",
    "SkillExtraction",
    "SkillGap",
    "SkillScores",
    "Unit",
    "UnitVectors",
    "best_skills",
    "check_extraction",
    "collect_scores",
    "extraction_units",
    "gap_reached",
    "mention_words",
    "rank_skills",
    "recall_plan",
    "relations",
    "scoring_plan",
    "skill_gap",
    "unit_texts",
    "unit_vectors",
    "with_mentions",
]

DEFAULT_EXTRACT_TOP_K = 20
MAX_EXTRACT_TOP_K = 100
DEFAULT_EXTRACT_MIN_SCORE = 0.65
"""The score from which a skill is said to be in the text, when a request names none.

Chosen on the validation splits (``benchmarks/skill_extraction.py``, all-MiniLM-L6-v2) as the best
F1 of the skills kept per sentence against the annotated ones (micro, steps of 0.025; mean of TECH
and HOUSE 0.333, against 0.308 at 0.625 and 0.313 at 0.675): about 2 skills per sentence, precision
0.32-0.35, recall 0.31-0.37 (the annotations leave many implied skills out). Scores are the weighted
mean of the families (:class:`ExtractionStrategy`), so the threshold belongs to the default strategy
and to that model: another model may need its own (pass ``min_score``)."""
MAX_EVIDENCE = 3

SKILL_FIELDS = ("uri", "label", "skill_type")
"""The payload an extracted skill is described with, read once for the skills a response names: the
recall and scoring plans return point ids and scores only (30,000 hits of a CV with payloads cost
the engine and the store process's pipe more than the scoring itself)."""
_WORD = re.compile(r"[^\W_](?:[\w+#&./'\u2019-]*[\w+#])?")
"""A word: starts with a letter or digit, may hold inner punctuation ("CI/CD", "Node.js", "C++",
"C#"), never ends with a dot, comma or bracket."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a text mentions a skill: ``text == source[start:end]`` (Python ``str`` offsets)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class ExtractedSkill:
    """A skill found in a text; ``relation`` to the requested occupation: essential, optional or ""."""

    uri: str
    label: str
    score: float
    skill_type: str
    evidence: tuple[Evidence, ...]
    relation: str


@dataclass(frozen=True, slots=True)
class SkillGap:
    """The essential skills of one occupation that a text shows (best first) and lacks (ESCO's order)."""

    occupation_uri: str
    occupation_label: str
    shown: tuple[ExtractedSkill, ...]
    missing: tuple[SkillRef, ...]
    coverage: float  # len(shown) / number of essential skills; 0 when the occupation lists none


@dataclass(frozen=True, slots=True)
class SkillExtraction:
    """The answer of ExtractSkills: skills best first; ``min_score`` is the threshold applied (0.0: none)."""

    skills: tuple[ExtractedSkill, ...]
    min_score: float
    gap: SkillGap | None


@dataclass(frozen=True, slots=True)
class ExtractionStrategy:
    """How a text is searched: the weights of the families in a unit's score, and the search's sizes.

    A weight of 0 leaves its family out. ``vector``: the dense skill vector scored, ``labels``
    (preferred + alternative labels, MAX_SIM) or ``label`` (preferred only); ``recall_vector``: the
    one the recall searches. ``mention_words``: words per run; ``item_words``: the longest list item
    that is a mention too (0: none); ``trim_stop_words``: mentions lose the stop words at their ends
    (else only runs of stop words are dropped). ``candidates``: skills recalled per unit.
    ``exact_recall``: the recall scores every skill instead of walking the HNSW graph (the scoring
    is always exact). ``side``: the head that embeds the text (:data:`EXTRACTION_SIDE`; ignored by
    a symmetric model). The defaults were chosen on the validation splits (``benchmarks/README.md``).
    """

    context: float = 0.5
    mention: float = 0.5
    lexical: float = 0.3
    vector: Literal["labels", "label"] = "labels"
    recall_vector: Literal["labels", "label"] = "label"
    mention_words: int = 2
    item_words: int = 4
    trim_stop_words: bool = True
    candidates: int = 50
    exact_recall: bool = False
    side: Side = "positive"

    def __post_init__(self) -> None:
        if min(self.context, self.mention, self.lexical) < 0 or not self.context + self.mention > 0:
            raise ValueError(f"weights must be >= 0 with a dense family > 0: {self}")
        if self.mention_words < 1 or self.candidates < 1 or self.item_words < 0:
            raise ValueError(f"mention_words and candidates must be at least 1, item_words 0: {self}")

    def weights(self, *, recall: bool = False, mentions: bool = True) -> tuple[FamilyWeight, ...]:
        """The families of a plan and their weights.

        The recall searches no mention: it ranks by the unit's own cosine (weighted as the mentions
        when the context has no weight) and BM25. A unit without mentions is its own mention: its
        cosine carries both weights (the score its repetition as a mention probe would give).
        """
        if recall:
            weights = {"context": self.context or self.mention, "lexical": self.lexical}
        elif not mentions:
            weights = {"context": self.context + self.mention, "lexical": self.lexical}
        else:
            weights = {"context": self.context, "mention": self.mention, "lexical": self.lexical}
        return tuple(
            FamilyWeight(family, weight, BM25_SATURATION if family == "lexical" else None)
            for family, weight in weights.items()
            if weight > 0
        )


DEFAULT_EXTRACTION = ExtractionStrategy()
EXTRACTION_SIDE: Side = DEFAULT_EXTRACTION.side
"""The head that embeds a text's units and words by default: the positive one. Skill labels are
embedded through it (JobBERT-v3's head for skill lists), and a unit of a job ad or CV names skills as
a skill list does, so both sides of each cosine come from one head, where the anchor head is trained
for job titles. Not measured on JobBERT-v3 (no weights offline): ``benchmarks/skill_extraction.py
--model jobbert=PATH`` compares both heads on the validation splits."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit of the text and its mentions, each mention as the words it joins."""

    span: Segment
    mentions: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class UnitVectors:
    """A unit's query vectors: ``context`` ``(dim,)``, ``mentions`` ``(len(unit.mentions), dim)``,
    all L2-normalized; ``lexical`` its BM25 terms."""

    context: np.ndarray
    mentions: np.ndarray
    lexical: SparseVector


# -- requests ----------------------------------------------------------------------------------


def check_extraction(text: str, top_k: int, min_score: float | None) -> float | None:
    """Validate a request; return the threshold to apply (None: none, for a negative ``min_score``).

    InvalidQuery for a text that is empty or has no letter (field ``text``), a ``top_k`` outside
    1..:data:`MAX_EXTRACT_TOP_K` (``top_k``) and a NaN or non-numeric ``min_score`` (``min_score``).
    """
    check_text(text, "text")  # the text itself stays as sent: evidence offsets point into it
    check_top_k(top_k, MAX_EXTRACT_TOP_K)
    if min_score is None:
        return DEFAULT_EXTRACT_MIN_SCORE
    if isinstance(min_score, bool) or not isinstance(min_score, int | float) or math.isnan(min_score):
        raise InvalidQuery(f"min_score must be a number, not {min_score!r}", field="min_score")
    return None if min_score < 0 else float(min_score)


# -- units, mentions, vectors ------------------------------------------------------------------


def extraction_units(text: str, strategy: ExtractionStrategy, language: str) -> list[Unit]:
    """The units of ``text`` (:func:`segment`'s) with their mentions: word runs and short list items.

    ``language`` picks the stop words that a mention must not consist of alone.
    """
    pieces = segment(text)
    phrases = [p for p in pieces if p.kind == "phrase" and len(_words(p.text)) <= strategy.item_words]
    units = []
    for piece in (p for p in pieces if p.kind == "unit"):
        items = [tuple(_words(p.text)) for p in phrases if piece.start <= p.start and p.end <= piece.end]
        runs = _runs(_words(piece.text), strategy.mention_words)
        if strategy.trim_stop_words:
            found = [_trimmed(m, language) for m in (*runs, *items)]
        else:
            found = [m for m in (*runs, *items) if not all(_is_stop_word(w, language) for w in m)]
        units.append(Unit(piece, tuple(dict.fromkeys(m for m in found if m))))
    return units


def _trimmed(words: tuple[str, ...], language: str) -> tuple[str, ...]:
    """``words`` without the stop words at either end ("SQL and" -> "SQL"); () when only those."""
    kept = [i for i, word in enumerate(words) if not _is_stop_word(word, language)]
    return words[kept[0] : kept[-1] + 1] if kept else ()


@functools.lru_cache(maxsize=65_536)
def _is_stop_word(word: str, language: str) -> bool:
    """True for a word without letters, or one that Qdrant's BM25 analyzer drops (``and``, ``der``)."""
    return not has_letters(word) or not query_vector(word, language).indices


def _words(text: str) -> list[str]:
    return [match.group() for match in _WORD.finditer(text)]


def _runs(words: list[str], size: int) -> list[tuple[str, ...]]:
    """Each run of ``size`` adjacent words (all the words when fewer)."""
    return [tuple(words[i : i + size]) for i in range(max(1, len(words) - size + 1))] if words else []


def unit_texts(units: Sequence[Unit]) -> list[str]:
    """The units' texts to embed, each once, shortest first (batches of one length waste no padding)."""
    return sorted(dict.fromkeys(unit.span.text for unit in units), key=len)


def mention_words(units: Sequence[Unit]) -> list[str]:
    """The words of the units' mentions to embed, each once, shortest first."""
    return sorted(dict.fromkeys(word for unit in units for mention in unit.mentions for word in mention), key=len)


def unit_vectors(units: Sequence[Unit], contexts: Mapping[str, np.ndarray], lexical_language: str) -> list[UnitVectors]:
    """Each unit's query vectors without its mentions (what the recall searches): ``contexts`` maps a
    unit's text to its ``(dim,)`` embedding."""
    dim = len(next(iter(contexts.values())))
    no_mentions = np.empty((0, dim), np.float32)
    return [UnitVectors(contexts[u.span.text], no_mentions, query_vector(u.span.text, lexical_language)) for u in units]


def with_mentions(
    vectors: Sequence[UnitVectors], units: Sequence[Unit], words: Mapping[str, np.ndarray]
) -> list[UnitVectors]:
    """``vectors`` with their units' mention vectors: each the normalized sum of its words' ``(dim,)`` vectors."""
    found = []
    for unit, unit_vector in zip(units, vectors, strict=True):
        sums = [np.sum([words[word] for word in mention], axis=0) for mention in unit.mentions]
        mentions = _normalized(np.stack(sums)) if sums else unit_vector.mentions
        found.append(dataclasses.replace(unit_vector, mentions=mentions))
    return found


def _normalized(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


# -- query plans -------------------------------------------------------------------------------


def _probes(vectors: UnitVectors, strategy: ExtractionStrategy, *, recall: bool) -> tuple[Probe, ...]:
    vector = strategy.recall_vector if recall else strategy.vector
    multi = vector == "labels"
    mentions = vectors.mentions if strategy.mention > 0 and not recall else vectors.mentions[:0]
    probes = [Probe(vector, "context", vectors.context, multi)] if strategy.context or not len(mentions) else []
    probes.extend(Probe(vector, "mention", row, multi) for row in mentions)
    if strategy.lexical > 0:
        probes.append(Probe("bm25", "lexical", vectors.lexical))
    return tuple(probes)


def recall_plan(vectors: UnitVectors, strategy: ExtractionStrategy) -> QueryPlan:
    """The unit's ``candidates`` best skills by context and lexical evidence (point ids, no payload)."""
    return QueryPlan(
        _probes(vectors, strategy, recall=True),
        strategy.weights(recall=True),
        limit=strategy.candidates,
        depth=strategy.candidates,
        exact=strategy.exact_recall,
    )


def scoring_plan(
    vectors: UnitVectors, strategy: ExtractionStrategy, ids: Sequence[str], threshold: float | None
) -> QueryPlan:
    """The exact score of the skills with these point ids in this unit: every family, every mention.

    With a ``threshold`` the engine returns only the skills that reach it: nothing below it is ranked,
    shown as evidence or judged shown by a skill gap (:func:`_judging`). A CV's units found ~15,000
    (unit, skill) pairs, of which ~1,900 reached the default threshold; the rest cost the store
    process and its pipe more than the engine's scoring did.
    """
    return QueryPlan(
        _probes(vectors, strategy, recall=False),
        strategy.weights(mentions=strategy.mention > 0 and len(vectors.mentions) > 0),
        limit=len(ids),
        depth=len(ids),
        filter=PayloadFilter(ids=tuple(ids)),
        exact=True,
        min_score=threshold,
    )


# -- aggregation -------------------------------------------------------------------------------


@dataclass(slots=True)
class SkillScores:
    """A skill's score in each unit where it was scored: (score, unit index)."""

    units: list[tuple[float, int]] = field(default_factory=list)
    best: float = -math.inf

    def add(self, score: float, unit: int) -> None:
        self.units.append((score, unit))
        self.best = max(self.best, score)


def collect_scores(
    scored: Sequence[Sequence[Hit]], recalled: Sequence[set[str]] | None = None
) -> dict[str, SkillScores]:
    """Point id -> the skill's scores per unit, from each unit's scoring hits (``scored[i]`` for unit ``i``).

    With ``recalled`` (point ids per unit), a unit's hit counts only for a skill that unit recalled (not
    one scored there only because a skill gap asked for it), so the ranking does not depend on the gap's
    occupation.
    """
    found: dict[str, SkillScores] = {}
    for index, hits in enumerate(scored):
        for hit in hits:
            if recalled is None or hit.id in recalled[index]:
                found.setdefault(hit.id, SkillScores()).add(hit.score, index)
    return found


def best_skills(found: Mapping[str, SkillScores], threshold: float | None, top_k: int) -> list[str]:
    """The point ids of the ``top_k`` best skills reaching ``threshold`` (None: all), ties by id."""
    order = sorted(found, key=lambda pid: (-found[pid].best, pid))
    return [pid for pid in order if threshold is None or found[pid].best >= threshold][:top_k]


def _extracted(
    skill: Mapping[str, object],
    scores: SkillScores,
    units: Sequence[Unit],
    evidence_threshold: float,
    relations: Mapping[str, str],
) -> ExtractedSkill:
    ranked = sorted(scores.units, key=lambda pair: (-pair[0], pair[1]))
    chosen = [ranked[0], *(pair for pair in ranked[1:] if pair[0] >= evidence_threshold)][:MAX_EVIDENCE]
    evidence = tuple(Evidence(units[i].span.start, units[i].span.end, units[i].span.text) for _, i in chosen)
    uri = str(skill.get("uri", ""))
    label, skill_type = str(skill.get("label", "")), str(skill.get("skill_type", ""))
    return ExtractedSkill(uri, label, ranked[0][0], skill_type, evidence, relations.get(uri, ""))


def rank_skills(
    found: Mapping[str, SkillScores],
    described: Mapping[str, Mapping[str, object]],
    units: Sequence[Unit],
    threshold: float | None,
    top_k: int,
    relations: Mapping[str, str],
) -> tuple[ExtractedSkill, ...]:
    """The ``top_k`` best skills reaching ``threshold`` (None: all), with their evidence; ``described``:
    point id -> the :data:`SKILL_FIELDS` of (at least) those skills (one that a concurrent sync removed
    since it was scored is left out)."""
    kept = [pid for pid in best_skills(found, threshold, top_k) if pid in described]
    return tuple(_extracted(described[pid], found[pid], units, _judging(threshold), relations) for pid in kept)


def _judging(threshold: float | None) -> float:
    """The score that judges evidence and a skill gap: ``threshold``, or the default one when there is
    none (a pure ranking): without it every skill found would count as shown."""
    return DEFAULT_EXTRACT_MIN_SCORE if threshold is None else threshold


def relations(essential: Iterable[SkillRef], optional: Iterable[SkillRef]) -> dict[str, str]:
    """Skill URI -> "essential" or "optional" for an occupation (essential wins)."""
    found = {skill.uri: "optional" for skill in optional}
    found.update({skill.uri: "essential" for skill in essential})
    return found


def gap_reached(
    essential: Sequence[SkillRef], found: Mapping[str, SkillScores], threshold: float | None
) -> dict[str, SkillScores]:
    """Point id -> scores of the essential skills that reach the threshold (:func:`_judging`)."""
    cut = _judging(threshold)
    ids = (point_id(s.uri) for s in essential)
    return {pid: found[pid] for pid in ids if pid in found and found[pid].best >= cut}


def skill_gap(
    occupation_uri: str,
    occupation_label: str,
    essential: Sequence[SkillRef],
    reached: Mapping[str, SkillScores],
    described: Mapping[str, Mapping[str, object]],
    units: Sequence[Unit],
    threshold: float | None,
) -> SkillGap:
    """Which essential skills reach the threshold (shown, best first) and which not (missing, ESCO's
    order); ``reached``: :func:`gap_reached`, whose :data:`SKILL_FIELDS` ``described`` holds."""
    cut = _judging(threshold)
    essential_relations = {str(described[pid].get("uri", "")): "essential" for pid in reached if pid in described}
    shown = rank_skills(reached, described, units, cut, len(reached) or 1, essential_relations) if reached else ()
    shown_uris = {skill.uri for skill in shown}
    missing = tuple(s for s in essential if s.uri not in shown_uris)
    coverage = len(shown) / len(essential) if essential else 0.0
    return SkillGap(occupation_uri, occupation_label, shown, missing, coverage)
