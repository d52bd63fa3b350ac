"""Compound words split against the index's own words: ``Fahrzeuglackierer`` -> ``lackierer``, ``fahrzeug``.

German writes an occupation as one word where English writes two (``Kfz-Lackierer``,
``Produktionsmitarbeiter``), and job ads coin compounds no label holds (``Lokführer``,
``Reinigungskraft``). BM25 reads each compound as one term, so ``Produktionsmitarbeiter Lebensmittel``
shares no term with ``Lebensmittelproduktionsmitarbeiter``. :class:`Compounds` holds the words of
one language of the index (its occupations' labels and descriptions) and splits a word into the
known words it ends with and starts with:

* the head: the longest known ending of :data:`MIN_PART` letters or more (``lackierer``);
* the rest, less a linking element (:data:`LINKS`: ``Produktions|mitarbeiter`` -> ``produktion``),
  where it is a known word, else the parts of the rest (``Lebensmittelproduktions|mitarbeiter`` ->
  ``produktion``, ``lebensmittel``); a rest of neither (``Lok|führer``) still leaves the head;
* each part split again, so ``Triebfahrzeugführer`` gives ``fahrzeugführer``, ``führer``, ``fahrzeug``.

:mod:`lexical` adds the parts to what BM25 reads on both sides: an occupation's labels when it is
synced, a query when it is searched. The words are the index's own: nothing here names a title. A
language that writes compounds apart (English) has few words that end in another known word, so
it gets few parts (``firefighter`` -> ``fighter``, ``fire``).

Measured on the dev split of the job-ad titles (``benchmarks/job_ads.py``), every synced language
split: German R@1 0.584 -> 0.596, R@5 0.753 -> 0.787, MRR@10 0.667 -> 0.684 (BM25 alone: R@1 0.360 ->
0.427); English R@1 0.821 -> 0.833, R@5 0.926 -> 0.938. Splitting German only won no English title;
parts of 5 letters or more lost German ones; a rest that is no word left unsplit kept German R@5 at 0.764.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Protocol

from jobmatch.server.index.spelling import words

__all__ = [
    "LINKS",
    "MIN_PART",
    "NONE_BY_LANGUAGE",
    "NO_COMPOUNDS",
    "Compounds",
    "Described",
    "compounds_by_language",
    "occupation_labels",
]

MIN_PART = 4
"""A part has 4 letters or more (``lok`` is a head's rest, never a part): shorter endings are mostly
suffixes (``-er``, ``-ung``), not words."""
_MIN_REST = 3
LINKS = ("s", "es", "en", "n", "e", "")
"""Linking elements between the parts of a German compound (Fugenelemente), tried longest-stripped
first: ``Produktions-``, ``Straßen-``, ``Schule-``; none last."""
_MAX_DEPTH = 4


class Compounds:
    """The words of one language of the index, and the known words a compound of them is made of."""

    __slots__ = ("_known",)

    def __init__(self, known: Iterable[str]) -> None:
        """``known``: the language's words, lower-cased (shorter than :data:`MIN_PART` are dropped)."""
        self._known = frozenset(word for word in known if len(word) >= MIN_PART)

    def __len__(self) -> int:
        return len(self._known)

    def parts(self, word: str) -> list[str]:
        """The known words ``word`` is made of, head first (none for a word that is no compound)."""
        return self._parts(word.lower(), 0)

    def expand(self, text: str) -> str:
        """``text`` followed by the parts of its compounds (``text`` itself when it has none)."""
        parts = [part for word in words(text) for part in self._parts(word, 0)]
        return " ".join((text, *parts)) if parts else text

    def _parts(self, word: str, depth: int) -> list[str]:
        if depth >= _MAX_DEPTH or len(word) < MIN_PART + _MIN_REST:
            return []
        for start in range(_MIN_REST, len(word) - MIN_PART + 1):  # the longest known head first
            head = word[start:]
            if head in self._known:
                return [head, *self._parts(head, depth + 1), *self._rest(word[:start], depth)]
        return []

    def _rest(self, prefix: str, depth: int) -> list[str]:
        """The parts before a head, less its linking element: the known word and its parts, else the
        parts of a rest that is itself an unknown compound (``lebensmittelproduktion``)."""
        stems = [prefix[: len(prefix) - len(link)] for link in LINKS if prefix.endswith(link)]
        for stem in stems:
            if stem in self._known:
                return [stem, *self._parts(stem, depth + 1)]
        for stem in stems:
            if parts := self._parts(stem, depth + 1):
                return parts
        return []


NO_COMPOUNDS = Compounds(())
"""Splits nothing: BM25 of the words as written (the skills index, an index opened without its words)."""
NONE_BY_LANGUAGE: Mapping[str, Compounds] = MappingProxyType({})
"""No language's words: every language gets :data:`NO_COMPOUNDS`."""


class Described(Protocol):
    """An occupation as the dataset (:class:`~jobmatch.server.esco.Occupation`) or the index
    (``OccupationRecord``) holds it: its labels and description per language."""

    @property
    def preferred_label(self) -> Mapping[str, str]: ...
    @property
    def alt_labels(self) -> Mapping[str, Sequence[str]]: ...
    @property
    def hidden_labels(self) -> Mapping[str, Sequence[str]]: ...
    @property
    def description(self) -> Mapping[str, str]: ...


def compounds_by_language(occupations: Iterable[Described]) -> dict[str, Compounds]:
    """One :class:`Compounds` per language, of the words of the occupations' labels and descriptions.

    The sync reads them from the dataset, the search from the stored payloads: the same texts, so a
    word is split alike on both sides."""
    known: defaultdict[str, set[str]] = defaultdict(set)
    for occupation in occupations:
        for language, text in (*occupation_labels(occupation), *occupation.description.items()):
            known[language].update(words(text))
    return {language: Compounds(found) for language, found in known.items()}


def occupation_labels(occupation: Described) -> Iterator[tuple[str, str]]:
    """``(language, label)`` for every label of ``occupation``: preferred, alternative, hidden."""
    yield from occupation.preferred_label.items()
    for labels in (occupation.alt_labels, occupation.hidden_labels):
        yield from ((language, label) for language, group in labels.items() for label in group)
