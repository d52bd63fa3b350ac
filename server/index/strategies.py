"""Which vectors a query searches, through which head: the retrieval strategies.

A strategy names vector families; each searched vector is a *probe*. The query's head follows its
kind: ``job_title`` -> anchor, ``skills`` -> positive, ``text`` -> the head the vector was built
with (anchor for labels, positive for skill lists and descriptions). So a skill list meets job
titles across the heads, the direction JobBERT was trained for, and a free text is compared with
each family in that family's own space.

* ``title``       preferred labels only (``title_<lang>``);
* ``labels``      every label, MAX_SIM (``labels_<lang>``);
* ``skills``      the essential-skill list (``skills``);
* ``description`` descriptions (``description_<lang>``, only in indexes synced with descriptions);
* ``fused``       labels + skills (+ descriptions when indexed): the weighted mean of their cosines
                  (:mod:`fusion`), led by the family that fits the query's kind
                  (:data:`FUSED_WEIGHTS`: labels for job titles and free text, the skill lists for
                  skill lists) while the others, at a quarter of its weight, break its near-ties.

Within a family, several languages merge by best cosine (same model, same space: comparable).

The defaults (:func:`default_strategy`) were chosen on held-out ESCO labels, skill lists and
descriptions (``benchmarks/quality.py``, with all-MiniLM-L6-v2). Job titles: ``labels``, ahead of
``title`` and ``skills``, and of one "labels + description" vector per occupation in Recall@5 in
English and German, clean and noisy, and in Recall@1 too except on clean English titles (a tie);
``fused`` does no better there without descriptions. Skill lists and free text: ``fused`` (the skill
lists alone do as well on lists drawn from the indexed essential skills but worse on others, and need
a skills vector, which a labels-only index lacks). On an index synced with descriptions, job titles use
``fused`` too: the descriptions added 3.7 points of Recall@1 on clean English titles and moved the
German ones by less than the noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from jobmatch.server.index.embedder import Side
from jobmatch.server.index.errors import InvalidQuery
from jobmatch.server.index.fusion import weighted
from jobmatch.server.index.schema import Layout

__all__ = [
    "DEFAULT_STRATEGIES",
    "DESCRIPTION_DEFAULTS",
    "FUSED_WEIGHTS",
    "Kind",
    "Probe",
    "Strategy",
    "default_strategy",
    "plan_probes",
]

Kind = Literal["job_title", "skills", "text"]
Strategy = Literal["title", "labels", "skills", "description", "fused"]

DEFAULT_STRATEGIES: dict[str, Strategy] = {"job_title": "labels", "skills": "fused", "text": "fused"}
"""The strategy per query kind when none is given, on an index without descriptions (the default layout)."""
DESCRIPTION_DEFAULTS: dict[str, Strategy] = {**DEFAULT_STRATEGIES, "job_title": "fused"}
"""The same on an index synced with descriptions: job titles meet them too, through ``fused``."""
_FUSED = ("labels", "skills", "description")
_SECONDARY = 0.25
FUSED_WEIGHTS: dict[str, dict[str, float]] = {
    "job_title": {"labels": 1.0, "skills": _SECONDARY, "description": _SECONDARY},
    "skills": {"skills": 1.0, "labels": _SECONDARY, "description": _SECONDARY},
    "text": {"labels": 1.0, "skills": _SECONDARY, "description": _SECONDARY},
}
"""Weight of each family in the ``fused`` mean, per query kind (see :mod:`fusion`)."""
_KIND_SIDE: dict[str, Side] = {"job_title": "anchor", "skills": "positive"}


@dataclass(frozen=True, slots=True)
class Probe:
    """One vector to search, the family it belongs to, and the head that embeds the query for it."""

    vector: str
    family: str
    side: Side
    multi: bool


def plan_probes(layout: Layout, kind: str, strategy: str | None, languages: tuple[str, ...]) -> list[Probe]:
    """The probes of ``strategy`` (default: by kind) over ``languages``; InvalidQuery if impossible."""
    if kind not in get_args(Kind):
        raise InvalidQuery(f"kind must be one of {', '.join(get_args(Kind))}, not {kind!r}")
    strategy = strategy or default_strategy(layout, kind)
    if strategy not in get_args(Strategy):
        raise InvalidQuery(f"strategy must be one of {', '.join(get_args(Strategy))}, not {strategy!r}")
    families = _FUSED if strategy == "fused" else (strategy,)
    probes = [
        Probe(
            spec.name,
            _fused_family(kind, family) if strategy == "fused" else family,
            _KIND_SIDE.get(kind, spec.side),
            spec.multi,
        )
        for family in families
        for spec in layout.family(family, languages)
    ]
    if not probes:
        have = ", ".join(sorted(layout.families()))
        raise InvalidQuery(f"strategy {strategy!r} needs {'/'.join(families)} vectors; this index has: {have}")
    return probes


def default_strategy(layout: Layout, kind: str) -> Strategy:
    """The strategy a query of ``kind`` gets on an index of ``layout`` when it names none."""
    return (DESCRIPTION_DEFAULTS if layout.descriptions else DEFAULT_STRATEGIES)[kind]


def _fused_family(kind: str, family: str) -> str:
    """The family name that tells :func:`~jobmatch.server.index.fusion.fuse` its weight in ``fused``."""
    return weighted(family, FUSED_WEIGHTS[kind][family])
