"""Which vectors a query searches, through which head, with which weight: the retrieval strategies.

A strategy is a :class:`Ranking`: vector families and their weights (:class:`FamilyWeight`) in the
engine's fused score (:mod:`plan`). Each searched vector is a *probe*. The query's head follows its
kind: ``job_title`` -> anchor, ``skills`` -> positive, ``text`` -> the head the vector was built
with (anchor for labels, positive for skill lists and descriptions). So a skill list meets job
titles across the heads, the direction JobBERT was trained for, and a free text is compared with
each family in that family's own space. BM25 probes have no head: the query's own terms, in each
language's stemmer (:mod:`lexical`).

| family        | vectors             | built with (head) | a job title's query | a skill list's query |
| ------------- | ------------------- | ----------------- | ------------------- | -------------------- |
| ``title``     | ``title_<lang>``    | anchor            | anchor              | positive             |
| ``labels``    | ``labels_<lang>``   | anchor (MAX_SIM)  | anchor              | positive             |
| ``bm25``      | ``bm25_<lang>``     | none (lexical)    | terms               | terms                |
| ``description`` | ``description_<lang>`` | positive     | anchor              | positive             |
| ``skills``    | ``skills``          | positive          | anchor              | positive             |

Named strategies (:data:`STRATEGIES`): ``title``, ``labels``, ``bm25``, ``skills``, ``description``
(one family each), ``fused`` (labels + skills + descriptions, led by the family that fits the
query's kind; the three alike for free text) and ``hybrid`` (dense labels + BM25 over the same
labels, + descriptions where indexed; for job titles, + :data:`GENERAL_OCCUPATION_BONUS`). Families
the index lacks are left out; a strategy with none left is InvalidQuery. Within a family, several
languages merge by best score (same model, same space: comparable).
The defaults per kind (:data:`DEFAULT_STRATEGIES`) and the weights were chosen by measurement:
``benchmarks/quality.py`` (held-out ESCO labels) and the dev split of the job-ad titles
(``benchmarks/data/``), with all-MiniLM-L6-v2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from jobmatch.server.index.embedder import Side
from jobmatch.server.index.errors import InvalidQuery
from jobmatch.server.index.plan import FamilyWeight, PayloadBonus
from jobmatch.server.index.schema import Layout, VectorSpec

__all__ = [
    "BM25_SATURATION",
    "DEFAULT_MIN_SCORES",
    "DEFAULT_STRATEGIES",
    "GENERAL_OCCUPATION_BONUS",
    "STRATEGIES",
    "Kind",
    "ProbeSpec",
    "QueryForms",
    "Ranking",
    "SearchSpec",
    "Strategy",
    "min_score",
    "plan_search",
]

Kind = Literal["job_title", "skills", "text"]
Strategy = Literal["title", "labels", "bm25", "skills", "description", "fused", "hybrid"]
QueryForms = Literal["raw", "cleaned", "both"]
"""Which forms of a job title query are searched: as sent, cleaned of job-ad noise (:mod:`cleaning`: the
cleaned title and, when a qualifier follows a gender marker, the job named before it), or both
(searched together: one probe per vector for all the forms, :func:`~jobmatch.server.index.search.forms_probe`)."""


@dataclass(frozen=True, slots=True)
class Ranking:
    """The families a query searches, their weights in the fused score, the query forms searched, and
    the payload bonuses added to the fused score."""

    families: tuple[FamilyWeight, ...]
    query_forms: QueryForms = "raw"
    bonuses: tuple[PayloadBonus, ...] = ()

    @classmethod
    def of(
        cls,
        weights: Mapping[str, float],
        *,
        bm25_saturation: float | None = None,
        query_forms: QueryForms = "raw",
        bonuses: tuple[PayloadBonus, ...] = (),
    ) -> Ranking:
        """From ``family -> weight``; the ``bm25`` family is saturated at ``bm25_saturation``."""
        saturation = bm25_saturation or BM25_SATURATION
        families = tuple(FamilyWeight(f, w, saturation if f == "bm25" else None) for f, w in weights.items() if w > 0)
        return cls(families, query_forms, bonuses)


BM25_SATURATION = 8.0
"""A BM25 score of this size counts half as much as a perfect cosine (see :class:`FamilyWeight`)."""
_SECONDARY = 0.25
_TIE_BREAK = 0.01
"""A family that only breaks ties, and stands in when the index lacks the leading one: a skill list
met label and description cosines at 0.25 each in the engine's fusion, where a point a prefetch
misses counts 0, and fell from R@1 0.695 (skills alone) to 0.572 on held-out skill lists
(``benchmarks/quality.py``, ``en_skills``); at 0.01 it scores 0.697."""
_FUSED_WEIGHTS: dict[str, dict[str, float]] = {
    "job_title": {"labels": 1.0, "skills": _SECONDARY, "description": _SECONDARY},
    "skills": {"skills": 1.0, "labels": _TIE_BREAK, "description": _TIE_BREAK},
    "text": {"labels": 1.0, "skills": 1.0, "description": 1.0},
}
"""Free text weighs the three families alike: on the dev split of the long-text set
(``benchmarks/long_text.py``, read in chunks) labels 1 : skills 1 : description 1 lifted MRR@100 over
1 : 0.25 : 0.25 from 0.69 to 0.83 (English), 0.13 to 0.14 (texts of what the index embeds nowhere)
and 0.37 to 0.53 (German), and from 0.47 to 0.53 read as one input. Labels at 0.5 scored higher
still where the texts repeat the indexed descriptions (English, German), not on the others: not taken."""
_HYBRID_WEIGHTS = {"labels": 1.0, "bm25": 0.5, "description": 0.5}
GENERAL_OCCUPATION_BONUS = PayloadBonus("esco_depth", 1, 0.01)
"""Added to a job title's hybrid score for an occupation directly under its ISCO unit group (ESCO code
``2654.1``, not ``2654.1.7``: 1,795 of v1.2.0's 3,039 occupations). Postings mostly name the general
occupation (80% of the job-ad dev split's answers are such), and it often trails a specialisation by under
0.01 (``electrician`` / ``industrial electrician``, ``lawyer`` / ``corporate lawyer``). On the dev split of
the job-ad titles (``benchmarks/job_ads.py``) 0.01 lifted EN R@1 0.796 -> 0.815 (3 titles won, none lost)
and DE 0.539 -> 0.551 (1 won), R@5 kept; 0.015-0.02 scored alike, 0.03 gave it back. The price is on
held-out ESCO labels, where only half the answers are general occupations (``benchmarks/quality.py``):
English noisy titles R@1 -0.017 (10 of 600 lost), the other three sets within +-0.005."""
STRATEGIES: dict[Strategy, dict[str, Ranking]] = {
    **{  # type: ignore[dict-item]
        single: {kind: Ranking.of({single: 1.0}) for kind in get_args(Kind)}
        for single in ("title", "labels", "bm25", "skills", "description")
    },
    "fused": {kind: Ranking.of(weights) for kind, weights in _FUSED_WEIGHTS.items()},
    "hybrid": {
        kind: Ranking.of(
            _HYBRID_WEIGHTS, query_forms="both", bonuses=(GENERAL_OCCUPATION_BONUS,) if kind == "job_title" else ()
        )
        for kind in get_args(Kind)
    },
}
"""Each strategy's ranking per query kind."""
DEFAULT_STRATEGIES: dict[str, Strategy] = {"job_title": "hybrid", "skills": "fused", "text": "fused"}
"""The strategy per query kind when none is given."""
_KIND_SIDE: dict[str, Side] = {"job_title": "anchor", "skills": "positive"}

DEFAULT_MIN_SCORES: dict[str, float] = {"job_title": 0.5, "skills": 0.0, "text": 0.0}
"""Per query kind, the default score (of the kind's default strategy) below which no occupation fits.

Job titles: 0.5, chosen on the dev split of the job-ad titles (``benchmarks/job_ads.py``): 90% of
the titles reached it, and 96% of those ranked right first did; with compound words split (BM25 meets
more labels, so scores rise) 94% and 98%. Skill lists and free text have no
default threshold (0): their fused scores were not calibrated on such a set; pass ``min_score``."""


def min_score(kind: str, requested: float | None) -> float:
    """The threshold a match of ``kind`` reports ``no_fit`` under: ``requested``, else the default; 0: none."""
    if requested is None:
        return DEFAULT_MIN_SCORES[kind]
    if math.isnan(requested):
        raise InvalidQuery("min_score is NaN", field="min_score")
    return max(requested, 0.0)


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """One vector to search, its family, and the head that embeds the query for it (None: BM25 terms)."""

    vector: str
    family: str
    side: Side | None
    multi: bool
    language: str | None


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """What a query searches: its probes, the weight of each probed family, the query forms, the bonuses."""

    probes: tuple[ProbeSpec, ...]
    weights: tuple[FamilyWeight, ...]
    query_forms: QueryForms = "raw"
    bonuses: tuple[PayloadBonus, ...] = ()

    @property
    def sides(self) -> set[Side]:
        """The heads the query must be embedded with."""
        return {p.side for p in self.probes if p.side is not None}


def plan_search(layout: Layout, kind: str, strategy: str | Ranking | None, languages: tuple[str, ...]) -> SearchSpec:
    """The probes and weights of ``strategy`` (a name, a :class:`Ranking`, or None: the kind's default)."""
    if kind not in get_args(Kind):
        raise InvalidQuery(f"kind must be one of {', '.join(get_args(Kind))}, not {kind!r}", field="kind")
    ranking = _ranking(kind, strategy)
    families = [w for w in ranking.families if layout.family(w.family, languages)]
    if not families:
        wanted = "/".join(w.family for w in ranking.families)
        have = ", ".join(sorted(layout.families()))
        raise InvalidQuery(f"strategy {strategy!r} needs {wanted} vectors; this index has: {have}")
    probes = tuple(
        ProbeSpec(spec.name, w.family, _query_side(kind, spec), spec.multi, spec.language)
        for w in families
        for spec in layout.family(w.family, languages)
    )
    forms = ranking.query_forms if kind == "job_title" else "raw"
    return SearchSpec(probes, tuple(families), forms, ranking.bonuses)


def _query_side(kind: str, spec: VectorSpec) -> Side | None:
    """The head that embeds a query of ``kind`` for ``spec``: the kind's, else the vector's own; None for BM25."""
    return None if spec.sparse else _KIND_SIDE.get(kind, spec.side)


def _ranking(kind: str, strategy: str | Ranking | None) -> Ranking:
    if isinstance(strategy, Ranking):
        return strategy
    name = strategy or DEFAULT_STRATEGIES[kind]
    if name not in STRATEGIES:
        raise InvalidQuery(f"strategy must be one of {', '.join(STRATEGIES)}, not {name!r}")
    return STRATEGIES[name][kind]  # type: ignore[index]
