"""ESCO records as frozen dataclasses, and the canonical form that is embedded or stored.

Texts are keyed by language code (``{"en": "...", "de": "..."}``): URIs are identical across ESCO
languages, so one :class:`Occupation` carries the labels of every loaded language. Skill relations
are kept as skill URIs (sorted) and resolved through :attr:`EscoDataset.skills`.

The dataclasses are frozen but hold ``dict`` fields, so they are not hashable; treat them as
read-only values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "RELATION_TYPES",
    "EscoDataset",
    "IscoGroup",
    "Occupation",
    "Relation",
    "Skill",
    "content_hash",
    "occupation_record",
    "pick_label",
]

Relation = Literal["essential", "optional", "all"]
RELATION_TYPES: tuple[str, str] = ("essential", "optional")


def pick_label(texts: Mapping[str, str], lang: str, fallbacks: Sequence[str] = ()) -> str | None:
    """Return ``texts[lang]``, else the first of ``fallbacks`` present, else None."""
    for candidate in (lang, *fallbacks):
        text = texts.get(candidate)
        if text:
            return text
    return None


@dataclass(frozen=True, slots=True)
class Skill:
    """An ESCO skill or knowledge concept (``skills_<lang>.csv``)."""

    uri: str
    preferred_label: dict[str, str]
    skill_type: str = ""  # "skill/competence", "knowledge", or "" (a few ESCO concepts have none)
    reuse_level: str = ""  # "transversal", "cross-sector", "sector-specific", "occupation-specific" or ""
    alt_labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IscoGroup:
    """An ISCO-08 group; ``code`` has 1 to 4 digits and keeps its leading zeros ("01")."""

    uri: str
    code: str
    preferred_label: dict[str, str]


@dataclass(frozen=True, slots=True)
class Occupation:
    """An ESCO occupation with its labels per language and its skill URIs (sorted)."""

    uri: str
    code: str  # ESCO code, e.g. "2654.1.7"; starts with the ISCO unit group
    isco_group: str  # 4-digit ISCO unit group code, leading zeros kept ("0110")
    preferred_label: dict[str, str]
    alt_labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hidden_labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    essential_skills: tuple[str, ...] = ()
    optional_skills: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()  # URIs of the broader occupation or ISCO group

    @property
    def depth(self) -> int:
        """How far below its ISCO unit group ESCO places it, read from the code: 1 for the group's own
        occupations (``2654.1``), 2 for their specialisations (``2654.1.7``), and so on; 0 without a code."""
        return self.code.count(".")

    def skill_uris(self, relation: Relation = "all") -> tuple[str, ...]:
        """Skill URIs of one relation type, or of both (essential first)."""
        if relation == "essential":
            return self.essential_skills
        if relation == "optional":
            return self.optional_skills
        if relation == "all":
            return self.essential_skills + self.optional_skills
        raise ValueError(f"relation must be 'essential', 'optional' or 'all', not {relation!r}")


@dataclass(frozen=True, slots=True)
class EscoDataset:
    """A validated ESCO release: occupations and skills by URI, ISCO groups by code.

    ``problems`` lists what the loader reported but did not refuse (e.g. relation rows naming an
    occupation absent from the release, which were excluded); empty for a clean release.
    """

    version: str
    languages: tuple[str, ...]
    occupations: dict[str, Occupation]
    skills: dict[str, Skill]
    isco_groups: dict[str, IscoGroup]
    problems: list[str] = field(default_factory=list)

    def occupation(self, occupation: Occupation | str) -> Occupation:
        """The occupation itself, or the one with this URI (KeyError if unknown)."""
        return occupation if isinstance(occupation, Occupation) else self.occupations[occupation]

    def skill_labels(
        self,
        occupation: Occupation | str,
        lang: str,
        relation: Relation = "essential",
        *,
        fallbacks: Sequence[str] = (),
    ) -> tuple[str, ...]:
        """Preferred labels in ``lang`` (or a fallback language) of an occupation's skills.

        Skills that have no label in those languages are left out; order follows the skill URIs.
        """
        labels = []
        for uri in self.occupation(occupation).skill_uris(relation):
            skill = self.skills.get(uri)
            label = pick_label(skill.preferred_label, lang, fallbacks) if skill else None
            if label:
                labels.append(label)
        return tuple(labels)

    def isco_label(self, occupation: Occupation | str, lang: str, fallbacks: Sequence[str] = ()) -> str | None:
        """Preferred label of the occupation's ISCO unit group, if known."""
        group = self.isco_groups.get(self.occupation(occupation).isco_group)
        return pick_label(group.preferred_label, lang, fallbacks) if group else None

    def relation_counts(self) -> dict[str, int]:
        """Number of kept occupation-skill relations per type."""
        return {
            "essential": sum(len(o.essential_skills) for o in self.occupations.values()),
            "optional": sum(len(o.optional_skills) for o in self.occupations.values()),
        }

    def content_hash(self, occupation: Occupation | str) -> str:
        """:func:`content_hash` of an occupation (or URI) of this dataset."""
        return content_hash(self.occupation(occupation), self)


def _skill_entries(dataset: EscoDataset, uris: Sequence[str]) -> list[dict[str, Any]]:
    entries = []
    for uri in uris:
        skill = dataset.skills.get(uri)
        entries.append(
            {
                "uri": uri,
                "label": dict(skill.preferred_label) if skill else {},
                "type": skill.skill_type if skill else "",
            }
        )
    return entries


def occupation_record(occupation: Occupation, dataset: EscoDataset) -> dict[str, Any]:
    """Everything about an occupation that is embedded or stored, as plain JSON-able data.

    Covers the occupation's own texts (all loaded languages), code, ISCO group and its labels,
    broader concepts, and its skills with their preferred labels and types. Leaves out what is
    not embedded or stored (skill alt labels and descriptions, the ESCO version).
    """
    group = dataset.isco_groups.get(occupation.isco_group)
    return {
        "uri": occupation.uri,
        "code": occupation.code,
        "isco_group": occupation.isco_group,
        "isco_label": dict(group.preferred_label) if group else {},
        "preferred_label": dict(occupation.preferred_label),
        "alt_labels": {lang: list(v) for lang, v in occupation.alt_labels.items()},
        "hidden_labels": {lang: list(v) for lang, v in occupation.hidden_labels.items()},
        "description": dict(occupation.description),
        "broader": list(occupation.broader),
        "essential_skills": _skill_entries(dataset, occupation.essential_skills),
        "optional_skills": _skill_entries(dataset, occupation.optional_skills),
    }


def content_hash(occupation: Occupation, dataset: EscoDataset) -> str:
    """Hex sha256 of the canonical JSON of :func:`occupation_record`.

    Stable across runs, processes and Python versions (sorted keys, no whitespace, UTF-8), and
    equal for a CSV load and for the bundled snapshot of the same release. Use it to skip
    re-embedding and re-upserting occupations whose content did not change.
    """
    record = occupation_record(occupation, dataset)
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
