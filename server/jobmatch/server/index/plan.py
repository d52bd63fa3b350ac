"""A match as one query plan: what Qdrant's engine searches and how it fuses the evidence.

One :class:`QueryPlan` is one Query API request, the same on Qdrant Edge and on a Qdrant server
(each store adapter translates it, :mod:`~jobmatch.server.index.store`):

* a **prefetch per probe**: one named vector searched with the query's vector (dense, or a MAX_SIM
  multivector queried with one row, or a sparse BM25 vector), ``depth`` candidates each, under the
  plan's payload filter;
* the **fusion** of the candidates in the engine, by a formula over the prefetch scores::

      score = sum over families f of  weight_f * max(scale * score of f's probes)  /  sum of weights

  Within a family (the same texts in several languages) a point keeps its best score; across
  families the weighted mean. A point that a prefetch did not return counts 0 there. A one-family
  plan therefore scores the family's best cosine. BM25 scores, unbounded, are first saturated
  (:class:`FamilyWeight`) so that they mix with cosines.

  A plan may add **payload bonuses** (:class:`PayloadBonus`): a constant for the points whose payload
  field holds a value, in the same formula.

The weights are data (:class:`FamilyWeight`, :class:`PayloadBonus`), never encoded in names;
:mod:`strategies` decides them per query kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

__all__ = ["FamilyWeight", "FusionTerm", "Hit", "PayloadBonus", "PayloadFilter", "Probe", "QueryPlan", "SparseVector"]


@dataclass(frozen=True, slots=True)
class SparseVector:
    """A sparse vector: BM25 term ids and their weights (a document's term frequencies, or a query's terms)."""

    indices: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Probe:
    """One prefetch: the named ``vector`` searched with ``query``.

    ``query`` holds a dense ``(dim,)`` float32 row (for a multivector too: it is queried as a one-row
    multivector, so MAX_SIM is the best cosine over the point's rows) or a :class:`SparseVector`.
    ``scale`` multiplies the probe's scores in the fusion (a probe of several query forms at once
    scores their mean cosine with it, :func:`~jobmatch.server.index.search.forms_probe`).
    """

    vector: str
    family: str
    query: np.ndarray | SparseVector
    multi: bool = False
    scale: float = 1.0


@dataclass(frozen=True, slots=True)
class FamilyWeight:
    """The weight of one family's best score in the fused mean.

    ``saturation`` (for unbounded scores, BM25's): the score ``s`` enters as ``s / (s + saturation)``,
    in [0, 1) like a cosine, half way at ``s = saturation``.
    """

    family: str
    weight: float
    saturation: float | None = None

    def __post_init__(self) -> None:
        if not self.weight > 0:
            raise ValueError(f"a family weight must be positive, not {self.weight}")
        if self.saturation is not None and not self.saturation > 0:
            raise ValueError(f"a saturation must be positive, not {self.saturation}")


@dataclass(frozen=True, slots=True)
class PayloadBonus:
    """``weight`` added to the fused score of the points whose payload ``key`` equals ``value``."""

    key: str
    value: int  # the field holds an integer, indexed (schema.INTEGER_INDEXES)
    weight: float


@dataclass(frozen=True, slots=True)
class PayloadFilter:
    """Keyword conditions, all of which must hold: payload key -> the values accepted (any of them);
    ``ids``: and only these points (empty: any). Restricting by point id is cheaper for the engine than
    by a keyword: skill extraction's scoring plans took 0.6-0.85x the time (four runs), the same hits."""

    any_of: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.any_of or self.ids)


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """One search: probes, the family weights that fuse them, the filter, and what to return."""

    probes: tuple[Probe, ...]
    weights: tuple[FamilyWeight, ...]
    limit: int
    depth: int  # candidates per prefetch
    filter: PayloadFilter = field(default_factory=PayloadFilter)
    fields: tuple[str, ...] = ()  # payload fields of the hits
    exact: bool = False  # dense prefetches score every point instead of walking the HNSW graph
    min_score: float | None = None  # the engine returns only hits whose fused score reaches it
    bonuses: tuple[PayloadBonus, ...] = ()  # added to the fused score, bonuses included in min_score

    def __post_init__(self) -> None:
        families = {p.family for p in self.probes}
        weighted = {w.family for w in self.weights}
        if not self.probes or families != weighted:
            raise ValueError(f"every probed family needs one weight: probes {families}, weights {weighted}")

    def fusion_terms(self) -> list[FusionTerm]:
        """One term per family: the formula's ``weight * saturated(max(family's prefetch scores))``."""
        total = sum(w.weight for w in self.weights)
        return [
            FusionTerm(
                w.weight / total,
                [i for i, p in enumerate(self.probes) if p.family == w.family],
                [p.scale for p in self.probes if p.family == w.family],
                w.saturation,
            )
            for w in self.weights
        ]


@dataclass(frozen=True, slots=True)
class FusionTerm:
    """``weight * f(max over prefetches of scale * score)``; ``f(s) = s / (s + saturation)``, or ``s``."""

    weight: float
    prefetches: list[int]
    scales: list[float]
    saturation: float | None


class Hit(NamedTuple):
    """A point the engine ranked: its id, fused score and the requested payload fields.

    A named tuple, not a dataclass: the store adapters build one per hit (a CV's extraction ~17,000)
    and the embedded store's process pickles them back; a tuple builds in half the time of a frozen
    dataclass and pickles as its fields."""

    id: str
    score: float
    payload: Mapping[str, object]
