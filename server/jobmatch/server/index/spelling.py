"""Typos in a job title, corrected against the words of the index: ``Acountant`` -> ``accountant``.

Job ads carry misspellings (``Warehouse Opperative``, ``Elektoniker``). The model reads a
misspelt word as unrelated word pieces and BM25 finds no stem for it, so a single typo can lose the
occupation. A :class:`Vocabulary` holds the words of what the index holds: ``known`` (every word of
the occupations' labels and descriptions, in every synced language) and ``targets`` (the label
words, most frequent first). :meth:`Vocabulary.correct` replaces a word of the query that is

* unknown: in no label and no description of the index;
* a word, not a code: :data:`MIN_LETTERS` letters or more, not all capitals (``CSCS``, ``FMCG``);

by the most frequent label word at the smallest edit distance (rapidfuzz's optimal string alignment:
a letter added, dropped, changed, or two neighbours swapped is one edit), at most 1 edit for words
under 10 letters and 2 from 10 (:func:`max_edits`). A candidate that only extends or
shortens the word, at its end or its start (``removals`` / ``removal``, ``Fensterbau`` / ``fensterbauer``,
``Sprinter`` / ``printer``), is an inflection or a compound, not a typo, and is not taken. A word with no
candidate stays as it is.

The search uses it on the cleaned form of a job title only (:mod:`cleaning`); the title as sent is
searched too, so a correction adds evidence and removes none. On the dev split of the job-ad titles
(``benchmarks/job_ads.py``) it corrected 3 of 251 cleaned titles (``Acountant``, ``Opperative``,
``ambulanter`` -> ``ambulanten``) and won 2 English titles at R@1; German was unchanged. A fourth,
``Sprinter`` -> ``printer`` (a van taken for a typo of a label word with a letter before it), is no longer
made: the same dev and test rankings. The vocabulary is the index's own: nothing here names a title.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

__all__ = ["MIN_LETTERS", "Vocabulary", "max_edits", "words"]

MIN_LETTERS = 6
"""Shorter words are mostly abbreviations (``Sous``, ``Kfz``) and have many neighbours one edit away."""
_WORD = re.compile(r"[^\W\d_]+")


def words(text: str) -> list[str]:
    """The words of ``text``: runs of letters (any script), lower-cased."""
    return [w.lower() for w in _WORD.findall(text)]


def max_edits(word: str) -> int:
    """The edits a typo in ``word`` may be away from the right word: 1, or 2 for a word of 10 letters or more."""
    return 1 if len(word) < 10 else 2


class Vocabulary:
    """The words an index knows (``known``) and those a typo is corrected to (label words, by frequency)."""

    __slots__ = ("_by_length", "_rank", "known")

    def __init__(self, known: Iterable[str], targets: Iterable[str]) -> None:
        """``targets``: the words a typo may be corrected to, most frequent first (known too). Only the
        words a correction can involve are kept: known ones of :data:`MIN_LETTERS` letters or more,
        targets one letter shorter at the least."""
        reachable = (word for word in targets if len(word) >= MIN_LETTERS - 1)
        self._rank = {word: rank for rank, word in enumerate(reachable)}
        self.known = frozenset(word for word in known if len(word) >= MIN_LETTERS) | self._rank.keys()
        by_length: dict[int, list[str]] = defaultdict(list)
        for word in self._rank:
            by_length[len(word)].append(word)
        # A word n edits away differs in length by n at most: only those lengths are compared, ~10x faster.
        self._by_length = {length: tuple(group) for length, group in by_length.items()}

    @classmethod
    def of(cls, labels: Iterable[str], texts: Iterable[str] = ()) -> Vocabulary:
        """From the index's labels (known, and targets) and other texts such as descriptions (known only)."""
        counts = Counter(w for label in labels for w in words(label))
        return cls((w for text in texts for w in words(text)), (w for w, _ in counts.most_common()))

    @property
    def targets(self) -> tuple[str, ...]:
        """The words a typo may be corrected to, most frequent first."""
        return tuple(self._rank)

    def correct(self, text: str) -> str:
        """``text`` with each unknown word replaced by its correction, where there is one."""
        return _WORD.sub(lambda found: self._correction(found.group(0)), text)

    def _correction(self, word: str) -> str:
        lower = word.lower()
        if len(lower) < MIN_LETTERS or word.isupper() or lower in self.known:
            return word
        reach = max_edits(lower)
        near = [w for n in range(len(lower) - reach, len(lower) + reach + 1) for w in self._by_length.get(n, ())]
        from rapidfuzz import process  # on the first unknown word: most titles never need it (4 MiB)
        from rapidfuzz.distance import OSA

        found = process.extract(lower, near, scorer=OSA.distance, score_cutoff=reach, limit=None)
        typos = [(edits, self._rank[target], target) for target, edits, _ in found if not _inflection(lower, target)]
        return min(typos)[2] if typos else word  # the fewest edits, then the most frequent


def _inflection(word: str, other: str) -> bool:
    """One word is the other with letters added at its end (an inflection) or its start (a compound's modifier)."""
    return word.startswith(other) or other.startswith(word) or word.endswith(other) or other.endswith(word)
