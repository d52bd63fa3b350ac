"""ESCO records as index documents: the texts to embed, the payload to store, and their hash.

The hash of a document covers everything that is embedded or stored: the loader's
:func:`~jobmatch.server.esco.content_hash` (labels, descriptions, codes, skills with their labels
and types), plus what that leaves out but the index uses: the ESCO version (stored) and the
skills' reuse levels (they order the embedded skill list), and the schema version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from jobmatch.server.esco import EscoDataset, Occupation, Skill, content_hash, pick_label
from jobmatch.server.index.errors import InvalidDataset
from jobmatch.server.index.schema import SCHEMA_VERSION, Layout, VectorSpec, point_id

__all__ = [
    "OccupationDocument",
    "SkillDocument",
    "isco_prefixes",
    "occupation_documents",
    "occupations_layout",
    "skill_documents",
    "skills_layout",
]

# Most telling first: JobBERT reads 64 tokens, so only the first ~8-10 skills of a list count.
_REUSE_RANK = {"occupation-specific": 0, "sector-specific": 1, "cross-sector": 2, "transversal": 3}
_SHOWN = 5
# In the content hash: a change of the stored payload's shape rewrites every point at the next sync.
# 2: LangChain's ``page_content`` and ``metadata`` keys; 3: ``esco_depth``, which job-title matches read.
_PAYLOAD_FORMAT = 3


@dataclass(frozen=True, slots=True)
class OccupationDocument:
    uri: str
    id: str
    content_hash: str
    labels: dict[str, tuple[str, ...]]  # per language with a preferred label; the preferred label first
    descriptions: dict[str, str]
    skills_text: str  # "" when the occupation has no essential skill with a label
    payload: dict[str, Any]

    def texts(self, spec: VectorSpec) -> tuple[str, ...]:
        """What the vector ``spec`` embeds for this occupation; () for none (the point lacks it)."""
        if spec.family == "title":
            return self.labels.get(spec.language or "", ())[:1]
        if spec.family in ("labels", "bm25"):
            return self.labels.get(spec.language or "", ())
        if spec.family == "description":
            text = self.descriptions.get(spec.language or "")
            return (text,) if text else ()
        if spec.family == "skills":
            return (self.skills_text,) if self.skills_text else ()
        raise ValueError(f"occupations have no {spec.family!r} vector")


@dataclass(frozen=True, slots=True)
class SkillDocument:
    uri: str
    id: str
    content_hash: str
    text: str  # the preferred label
    payload: dict[str, Any]
    labels: tuple[str, ...] = ()  # the preferred label first, then the alternative ones, each once

    def texts(self, spec: VectorSpec) -> tuple[str, ...]:
        """What the vector ``spec`` embeds for this skill: its preferred label, or all its labels."""
        if spec.family == "label":
            return (self.text,)
        if spec.family in ("labels", "bm25"):
            return self.labels or (self.text,)
        raise ValueError(f"skills have no {spec.family!r} vector")


def isco_prefixes(isco_group: str) -> list[str]:
    """``"2512"`` -> ``["2", "25", "251", "2512"]``: filter by any level of the ISCO hierarchy."""
    return [isco_group[:n] for n in range(1, len(isco_group) + 1)]


def _skills_language(dataset: EscoDataset) -> str:
    return "en" if "en" in dataset.languages else dataset.languages[0]


def occupations_layout(dataset: EscoDataset, *, descriptions: bool = False) -> Layout:
    """The vectors an occupations collection gets for this dataset."""
    has_skills = any(o.essential_skills for o in dataset.occupations.values()) and bool(dataset.skills)
    return Layout(
        kind="occupations",
        languages=tuple(dataset.languages),
        skills_language=_skills_language(dataset) if has_skills else None,
        descriptions=descriptions,
    )


def skills_layout(dataset: EscoDataset) -> Layout | None:
    """The skills collection's layout, or None when the dataset has no skills."""
    return Layout(kind="skills", skills_language=_skills_language(dataset)) if dataset.skills else None


def _skill_label(skill: Skill | None, lang: str) -> str:
    if skill is None:
        return ""
    return pick_label(skill.preferred_label, lang, sorted(skill.preferred_label)) or ""


def _hash(*parts: Any) -> str:
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _labels(occupation: Occupation, lang: str) -> tuple[str, ...]:
    """The preferred label first, then the alternative and hidden ones, then each gendered pair's halves."""
    preferred = occupation.preferred_label.get(lang, "").strip()
    if not preferred:
        return ()
    merged = [preferred, *occupation.alt_labels.get(lang, ()), *occupation.hidden_labels.get(lang, ())]
    labels = [label.strip() for label in merged if label.strip()]
    halves = [half for label in labels for half in gendered_pair(label)]
    return tuple(dict.fromkeys([*labels, *halves]))


def gendered_pair(label: str) -> tuple[str, ...]:
    """``"Koch/Köchin"`` -> ``("Koch", "Köchin")``: the two forms of a masculine/feminine pair, else ().

    ESCO writes most German labels (2,791 of 3,039 occupations in v1.2.0) and a few English ones
    (``steward/stewardess``) as such pairs; a job ad names one form. A pair is two halves of as
    many words, each word sharing at least half of the shorter one as a prefix with its partner
    (umlauts folded): ``rigger/banksman`` or ``graphic designer/digital printer`` are two roles, kept whole.
    """
    if label.count("/") != 1:
        return ()
    first, second = (half.strip() for half in label.split("/"))
    words = list(zip(first.split(), second.split(), strict=False))
    if not first or not second or len(first.split()) != len(second.split()):
        return ()
    return (first, second) if all(_shared_prefix(a, b) for a, b in words) else ()


def _shared_prefix(first: str, second: str) -> bool:
    a, b = first.lower().translate(_FOLD), second.lower().translate(_FOLD)
    common = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return common >= 3 and common * 2 >= min(len(a), len(b))


_FOLD = str.maketrans("äöüß", "aous")


def _langchain_payload(occupation: Occupation, lang: str, skills: list[str], version: str) -> dict[str, Any]:
    """LangChain's default payload keys, so langchain-qdrant's QdrantVectorStore reads points as they are."""
    label = pick_label(occupation.preferred_label, lang, sorted(occupation.preferred_label)) or ""
    description = occupation.description.get(lang, "").strip()
    return {
        "page_content": f"{label}\n\n{description}" if description else label,
        "metadata": {
            "uri": occupation.uri,
            "preferred_label": label,
            "code": occupation.code,
            "isco_group": occupation.isco_group,
            "skills": [s for s in skills if s],
            "esco_version": version,
        },
    }


def _occupation_document(occupation: Occupation, dataset: EscoDataset, layout: Layout) -> OccupationDocument:
    lang = layout.skills_language or _skills_language(dataset)
    essential = [dataset.skills.get(uri) for uri in occupation.essential_skills]
    ranked = sorted(range(len(essential)), key=lambda i: _REUSE_RANK.get(getattr(essential[i], "reuse_level", ""), 4))
    skill_list = dict.fromkeys(label for i in ranked if (label := _skill_label(essential[i], lang)))
    labels = {language: found for language in layout.languages if (found := _labels(occupation, language))}
    descriptions = {
        language: text for language in layout.languages if (text := occupation.description.get(language, "").strip())
    }
    digest = _hash(
        SCHEMA_VERSION,
        _PAYLOAD_FORMAT,
        dataset.version,
        content_hash(occupation, dataset),
        [getattr(skill, "reuse_level", None) for skill in essential],
    )
    optional = [dataset.skills.get(uri) for uri in occupation.optional_skills]
    essential_labels = [_skill_label(skill, lang) for skill in essential]
    payload = {
        "uri": occupation.uri,
        "code": occupation.code,
        "isco_group": occupation.isco_group,
        "isco_prefixes": isco_prefixes(occupation.isco_group),
        "esco_depth": occupation.depth,
        "preferred_label": {k: v for k, v in occupation.preferred_label.items() if v},
        "alt_labels": {k: list(v) for k, v in occupation.alt_labels.items()},
        "hidden_labels": {k: list(v) for k, v in occupation.hidden_labels.items()},
        "description": dict(occupation.description),
        "essential_skills": essential_labels,
        "essential_skill_uris": list(occupation.essential_skills),
        "optional_skills": [_skill_label(skill, lang) for skill in optional],
        "optional_skill_uris": list(occupation.optional_skills),
        "esco_version": dataset.version,
        "languages": sorted(labels),
        "content_hash": digest,
        **_langchain_payload(occupation, lang, essential_labels, dataset.version),
    }
    return OccupationDocument(
        uri=occupation.uri,
        id=point_id(occupation.uri),
        content_hash=digest,
        labels=labels,
        descriptions=descriptions if layout.descriptions else {},
        skills_text=", ".join(skill_list) if layout.skills_language else "",
        payload=payload,
    )


def occupation_documents(dataset: EscoDataset, layout: Layout) -> list[OccupationDocument]:
    """One document per occupation, all validated: InvalidDataset if any cannot be indexed."""
    if not dataset.occupations:
        raise InvalidDataset(f"the ESCO {dataset.version} dataset has no occupations: nothing to index")
    documents = [_occupation_document(o, dataset, layout) for o in dataset.occupations.values()]
    unlabelled = [d.uri for d in documents if not d.labels]
    if unlabelled:
        raise InvalidDataset(
            f"{len(unlabelled)} occupation(s) have no preferred label in {', '.join(layout.languages)}, "
            f"e.g. {', '.join(unlabelled[:_SHOWN])}"
        )
    return documents


def skill_documents(dataset: EscoDataset, layout: Layout) -> list[SkillDocument]:
    """One document per skill with a label (skills without any label are left out); its labels are
    the preferred one and the alternative ones in the skills' language (the bundled snapshot has none)."""
    lang = layout.skills_language or _skills_language(dataset)
    documents = []
    for skill in dataset.skills.values():
        label = _skill_label(skill, lang).strip()
        if not label:
            continue
        alternatives = skill.alt_labels.get(lang, ())
        labels = tuple(dict.fromkeys(text for text in (label, *(a.strip() for a in alternatives)) if text))
        digest = _hash(
            SCHEMA_VERSION,
            dataset.version,
            skill.uri,
            skill.preferred_label,
            skill.skill_type,
            skill.reuse_level,
            labels,
        )
        payload = {
            "uri": skill.uri,
            "label": label,
            "preferred_label": dict(skill.preferred_label),
            "skill_type": skill.skill_type,
            "reuse_level": skill.reuse_level,
            "esco_version": dataset.version,
            "content_hash": digest,
        }
        documents.append(SkillDocument(skill.uri, point_id(skill.uri), digest, label, payload, labels))
    return documents
