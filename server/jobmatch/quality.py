"""A held-out evaluation of occupation matching built from ESCO itself: label split, job-ad noise, query sets.

ESCO gives every occupation a preferred label plus alternative and hidden labels. The evaluation
holds some of those labels out of the index and asks the index to find their occupation again.

**The split** (:func:`split_dataset`), deterministic and independent of Python's hash seed:

1. *Candidates*: the alt and hidden labels, per language, of the occupations that have at least
   :data:`MIN_ALT_LABELS` (2) alt labels in that language; preferred labels are never held out.
2. *Unique labels only*: a candidate qualifies only if its normalized text (:func:`normalize_label`:
   NFKC, case-folded, whitespace collapsed) occurs exactly once among all the labels (preferred, alt,
   hidden) of all occupations in all languages of the dataset. ESCO repeats labels: across
   occupations ("data scientist" is also an alt label of another occupation in some releases),
   within one occupation (v1.1.1 often lists the preferred label among the alt labels too) and
   across languages ("Data Scientist" is a German alt label). Such a label has no single right
   answer, and holding it out of one owner would leave its text indexed under another, so the
   decision is: **ambiguous labels are never held out and never queried; they stay in the index.**
3. *Held out*: a qualifying label when :func:`stable_fraction` of ``(salt, uri, language, label)``
   (the first 8 bytes of a SHA-256, as a fraction of 2**64) is below ``share`` (default 0.2).

The index is then synced from :attr:`Split.dataset`: the same dataset with the held-out labels
removed (``dataclasses.replace`` of each :class:`Occupation` and of the :class:`EscoDataset`), so no
query text is an indexed label, in any language. (Descriptions are not changed: a held-out label
may still occur inside its occupation's description, which only the baseline embeds.)

**Noise** (:func:`noisy_title`) turns a held-out label into a job-ad title. Every choice comes from
a ``random.Random`` seeded with the SHA-256 of the label's key, so the same label always gets the
same title. Recipe:

* two decorations drawn without replacement from: a seniority prefix (``Senior``, ``Junior``,
  ``Lead``), a gender tag (``(m/w/d)`` in German; ``(m/f/d)`` or ``(f/m/x)`` in English), a
  location (``- Berlin``, ...), a shift or contract (``night shift``, ``Nachtschicht``, ...), and,
  for ICT and engineering occupations only (ISCO 21, 25, 31, 35), a tech stack (``(Python/AWS)``);
* with probability 1/2, one one-character misspelling (a deletion, a swap of two neighbours, a
  doubled letter or a substituted letter) inside a word of at least 4 letters, never its first;
* English only, with probability 1/2, Title Case (``Senior Data Engineer (m/f/d) - London``).

**Skill-list queries** (:func:`skill_queries`): up to 8 of an occupation's essential (or optional)
skills, picked and shuffled at random (seeded per occupation), as a comma-separated list; only
occupations with at least 4 such skills. Skills are not held out: the essential-skill list is what
the ``skills`` vector indexes, so the essential variant measures recognition of a subset of an
indexed list, and the optional variant (optional skills are embedded nowhere) a leak-free one.

**Free-text queries** (:func:`description_queries`): occupation descriptions, which the default
index does not embed (a stand-in for job ads; they often name the occupation in their first words).

**Baseline** (:func:`baseline_text`): the approach of the PyPI package esco-skill-extractor, one
vector per occupation of its preferred label, alt labels and description joined by spaces, ranked
by cosine to the query.

This evaluation uses the ESCO classification of the European Commission.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jobmatch.evaluation import LabelledQuery
from jobmatch.server.esco import EscoDataset, Occupation

__all__ = [
    "DEFAULT_SALT",
    "DEFAULT_SHARE",
    "MIN_ALT_LABELS",
    "MIN_SKILLS",
    "SKILLS_PER_QUERY",
    "HeldOutLabel",
    "Split",
    "baseline_text",
    "description_queries",
    "label_counts",
    "label_queries",
    "misspell",
    "noisy_title",
    "normalize_label",
    "sample",
    "skill_queries",
    "split_dataset",
    "stable_fraction",
    "write_queries",
]

DEFAULT_SHARE = 0.2
DEFAULT_SALT = "jobmatch-quality-v1"
MIN_ALT_LABELS = 2
SKILLS_PER_QUERY = 8
MIN_SKILLS = 4

LabelKind = Literal["alt", "hidden"]

_SPACES = re.compile(r"\s+")
_TECH_GROUPS = ("21", "25", "31", "35")  # engineering and ICT professionals and technicians
_SENIORITY = ("Senior", "Junior", "Lead")
_TECH_STACKS = ("(Python/AWS)", "(Java/Spring)", "(C++/Linux)", "(React/TypeScript)", "(SAP)", "(.NET/Azure)")
_GENDER = {"en": ("(m/f/d)", "(f/m/x)"), "de": ("(m/w/d)", "(w/m/d)")}
_LOCATIONS = {
    "en": ("- Berlin", "- London", "- Dublin", "- Amsterdam", "- remote"),
    "de": ("- Berlin", "- München", "- Hamburg", "- Köln", "- Frankfurt am Main"),
}
_SHIFTS = {
    "en": ("night shift", "part-time", "full-time", "weekend shifts"),
    "de": ("Nachtschicht", "Teilzeit", "Vollzeit", "im Schichtdienst"),
}
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_WORD = re.compile(r"[^\W\d_]{4,}")


def normalize_label(label: str) -> str:
    """The form labels are compared in: NFKC, case-folded, runs of whitespace as one space, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", label)).strip().casefold()


def stable_fraction(*parts: str) -> float:
    """A number in [0, 1) fixed by ``parts``: the first 8 bytes of SHA-256 over the parts joined by U+001F."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _seeded(*parts: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()[:8], "big"))


def _labels(occupation: Occupation, language: str) -> list[str]:
    return [
        occupation.preferred_label.get(language, ""),
        *occupation.alt_labels.get(language, ()),
        *occupation.hidden_labels.get(language, ()),
    ]


def label_counts(dataset: EscoDataset) -> Counter[str]:
    """How often each normalized label occurs: every label of every occupation in every language."""
    counts: Counter[str] = Counter()
    for occupation in dataset.occupations.values():
        for language in dataset.languages:
            counts.update(text for label in _labels(occupation, language) if (text := normalize_label(label)))
    return counts


@dataclass(frozen=True, slots=True)
class HeldOutLabel:
    """A label removed from the index: the query text and the occupation it must find."""

    uri: str
    language: str
    label: str
    kind: LabelKind
    isco_group: str

    @property
    def key(self) -> str:
        """Identifies the label: seeds its noise and orders samples."""
        return f"{self.uri}\x1f{self.language}\x1f{self.label}"


@dataclass(frozen=True)
class Split:
    """The dataset to index (held-out labels removed) and what was held out."""

    dataset: EscoDataset
    held_out: tuple[HeldOutLabel, ...]
    candidates: int  # alt and hidden labels of eligible occupations, in the split languages
    ambiguous: int  # candidates excluded because their text occurs more than once in the dataset
    share: float
    salt: str
    languages: tuple[str, ...]

    def in_language(self, language: str) -> list[HeldOutLabel]:
        return [label for label in self.held_out if label.language == language]

    def summary(self) -> dict[str, object]:
        return {
            "share": self.share,
            "salt": self.salt,
            "languages": list(self.languages),
            "min_alt_labels": MIN_ALT_LABELS,
            "candidates": self.candidates,
            "ambiguous_excluded": self.ambiguous,
            "held_out": {lang: len(self.in_language(lang)) for lang in self.languages},
        }


def split_dataset(
    dataset: EscoDataset,
    *,
    share: float = DEFAULT_SHARE,
    salt: str = DEFAULT_SALT,
    languages: Sequence[str] | None = None,
    min_alt_labels: int = MIN_ALT_LABELS,
) -> Split:
    """Hold out ``share`` of the unique alt and hidden labels (see the module doc) in ``languages``.

    Returns the dataset without the held-out labels and the held-out labels, in dataset order.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be within [0, 1], not {share}")
    languages = tuple(languages) if languages is not None else dataset.languages
    counts = label_counts(dataset)
    held: list[HeldOutLabel] = []
    candidates = ambiguous = 0
    occupations: dict[str, Occupation] = {}
    for uri, occupation in dataset.occupations.items():
        alt = dict(occupation.alt_labels)
        hidden = dict(occupation.hidden_labels)
        for language in languages:
            if len(occupation.alt_labels.get(language, ())) < min_alt_labels:
                continue
            groups: tuple[tuple[LabelKind, dict[str, tuple[str, ...]]], ...] = (("alt", alt), ("hidden", hidden))
            for kind, labels in groups:
                kept = []
                for label in labels.get(language, ()):
                    candidates += 1
                    if counts[normalize_label(label)] != 1:
                        ambiguous += 1
                        kept.append(label)
                    elif stable_fraction(salt, uri, language, label) < share:
                        held.append(HeldOutLabel(uri, language, label, kind, occupation.isco_group))
                    else:
                        kept.append(label)
                if language in labels:
                    if kept:
                        labels[language] = tuple(kept)
                    else:
                        del labels[language]
        changed = alt != occupation.alt_labels or hidden != occupation.hidden_labels
        occupations[uri] = (
            dataclasses.replace(occupation, alt_labels=alt, hidden_labels=hidden) if changed else occupation
        )
    indexed = dataclasses.replace(dataset, occupations=occupations)
    return Split(indexed, tuple(held), candidates, ambiguous, share, salt, languages)


def sample(items: Sequence[HeldOutLabel], count: int, seed: int) -> list[HeldOutLabel]:
    """``count`` labels (all if fewer), chosen by ``random.Random(seed)`` from the labels sorted by key."""
    ordered = sorted(items, key=lambda item: item.key)
    if count >= len(ordered):
        return ordered
    return random.Random(seed).sample(ordered, count)


def misspell(text: str, rng: random.Random) -> str:
    """One one-character edit (delete, swap with the next, double, substitute) in a word of 4+ letters, not
    its first letter; ``text`` unchanged if it has no such word."""
    words = list(_WORD.finditer(text))
    if not words:
        return text
    word = rng.choice(words)
    at = rng.randrange(word.start() + 1, word.end() - 1)  # never the first letter; a neighbour exists
    operation = rng.choice(("delete", "swap", "double", "substitute"))
    if operation == "delete":
        return text[:at] + text[at + 1 :]
    if operation == "swap":
        return text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    if operation == "double":
        return text[:at] + text[at] + text[at:]
    replacement = rng.choice([c for c in _LETTERS if c != text[at].lower()])
    return text[:at] + replacement + text[at + 1 :]


def _title_case(text: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in text.split(" "))


def noisy_title(label: str, *, language: str, isco_group: str = "", key: str = "") -> str:
    """A job-ad title made from ``label`` by the module's noise recipe, the same for the same key.

    ``key`` seeds the choices (default: the label); ``isco_group`` decides whether a tech stack
    may be added; ``language`` picks the vocabulary (German for ``de``, English otherwise).
    """
    rng = _seeded("noise", key or label)
    vocabulary = "de" if language == "de" else "en"
    decorations = ["seniority", "gender", "location", "shift"]
    if isco_group.startswith(_TECH_GROUPS):
        decorations.append("tech")
    chosen = set(rng.sample(decorations, 2))
    title = label.strip()
    if rng.random() < 0.5:
        title = misspell(title, rng)
    if vocabulary == "en" and rng.random() < 0.5:
        title = _title_case(title)
    parts = []
    if "seniority" in chosen:
        parts.append(rng.choice(_SENIORITY))
    parts.append(title)
    if "tech" in chosen:
        parts.append(rng.choice(_TECH_STACKS))
    if "gender" in chosen:
        parts.append(rng.choice(_GENDER[vocabulary]))
    if "location" in chosen:
        parts.append(rng.choice(_LOCATIONS[vocabulary]))
    if "shift" in chosen:
        shift = rng.choice(_SHIFTS[vocabulary])
        parts.append(f"({shift})" if "location" in chosen else f"- {shift}")
    return " ".join(parts)


def skill_queries(
    dataset: EscoDataset,
    *,
    count: int,
    seed: int,
    relation: Literal["essential", "optional"] = "essential",
    language: str = "en",
    per_query: int = SKILLS_PER_QUERY,
    min_skills: int = MIN_SKILLS,
) -> list[LabelledQuery]:
    """Skill-list queries: ``count`` occupations (seeded sample) with at least ``min_skills`` skills of
    ``relation``; each query is up to ``per_query`` of them, seeded per occupation, comma-separated."""
    eligible = []
    for uri in sorted(dataset.occupations):
        labels = sorted(set(dataset.skill_labels(uri, language, relation)))
        if len(labels) >= min_skills:
            eligible.append((uri, labels))
    chosen = eligible if count >= len(eligible) else random.Random(seed).sample(eligible, count)
    queries = []
    for uri, labels in chosen:
        rng = _seeded("skills", str(seed), relation, uri)
        picked = rng.sample(labels, min(per_query, len(labels)))
        queries.append(LabelledQuery(", ".join(picked), uri, language))
    return queries


def description_queries(dataset: EscoDataset, *, count: int, seed: int, language: str = "en") -> list[LabelledQuery]:
    """Free-text queries: the descriptions of ``count`` occupations (seeded sample).

    The default index does not embed descriptions (``descriptions=False``), so for its strategies these
    texts are unseen; the baseline embeds them verbatim, so its numbers on them are not comparable.
    """
    described = sorted(uri for uri, o in dataset.occupations.items() if o.description.get(language, "").strip())
    chosen = described if count >= len(described) else random.Random(seed).sample(described, count)
    return [LabelledQuery(dataset.occupations[uri].description[language].strip(), uri, language) for uri in chosen]


def baseline_text(occupation: Occupation, language: str) -> str:
    """esco-skill-extractor's occupation text: preferred label, alt labels and description, space-joined."""
    parts = [
        occupation.preferred_label.get(language, ""),
        *occupation.alt_labels.get(language, ()),
        occupation.description.get(language, ""),
    ]
    return " ".join(part.strip() for part in parts if part.strip())


def label_queries(labels: Iterable[HeldOutLabel], *, noisy: bool = False) -> list[LabelledQuery]:
    """Held-out labels as queries, as they are or as noisy job-ad titles."""
    return [
        LabelledQuery(
            noisy_title(h.label, language=h.language, isco_group=h.isco_group, key=h.key) if noisy else h.label,
            h.uri,
            h.language,
        )
        for h in labels
    ]


def write_queries(path: Path, queries: Iterable[LabelledQuery]) -> int:
    """Write a ``query,expected_uri,language`` CSV (what ``jobmatch eval --queries`` reads); returns rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query", "expected_uri", "language"])
        for query in queries:
            writer.writerow([query.query, query.expected_uri, query.language])
            rows += 1
    return rows
