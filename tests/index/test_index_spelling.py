"""Typo correction against an index's vocabulary (:mod:`jobmatch.server.index.spelling`), case by case."""

from __future__ import annotations

import pytest

from jobmatch.server.index.spelling import MIN_LETTERS, Vocabulary, max_edits, words

LABELS = [
    "accountant",
    "tax accountant",
    "warehouse operative",
    "warehouse worker",
    "removal worker",
    "Pflegefachkraft",
    "Fensterbauer/Fensterbauerin",
    "printer",
    "painter",
    "painter",  # more frequent than printer
    "Koch/Köchin",
]
DESCRIPTIONS = ["Accountants examine the financial records of companies during night shifts."]
VOCABULARY = Vocabulary.of(LABELS, DESCRIPTIONS)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Acountant", "accountant"),  # one edit: a letter missing
        ("Warehouse Opperative", "Warehouse operative"),  # one letter too many; known words kept as written
        ("Warehouse Oeprative", "Warehouse operative"),  # two letters swapped: one Damerau edit
        ("Pfleegefachkraftt", "pflegefachkraft"),  # 10 letters or more: two edits
        ("Acuontantt", "Acuontantt"),  # under 10 letters: two edits are too many
        ("Removals Porter", "Removals Porter"),  # an inflection of a label word, not a typo; no candidate for porter
        ("Fensterbau", "Fensterbau"),  # a shorter compound, not a typo
        ("Kurierfahrer Sprinter", "Kurierfahrer Sprinter"),  # printer with a letter before it: a compound, not a typo
        ("Bainter", "painter"),  # a changed first letter is a typo still
        ("CSCS Acountant", "CSCS accountant"),  # capitals are codes, never corrected
        ("ACOUNTANT", "ACOUNTANT"),
        ("Painer", "painter"),  # the most frequent of the closest words
        ("Koch", "Koch"),  # under MIN_LETTERS letters
        ("night shifts", "night shifts"),  # known from a description, though in no label
        ("Köchim", "köchin"),  # letters of any script
        ("Acountant (m/w/d) - 13,50 €/h", "accountant (m/w/d) - 13,50 €/h"),  # only the words change
        ("", ""),
    ],
)
def test_unknown_words_are_corrected_to_the_closest_most_frequent_label_word(query: str, expected: str) -> None:
    assert VOCABULARY.correct(query) == expected


def test_the_vocabulary_knows_labels_and_descriptions_and_corrects_to_label_words_only() -> None:
    assert {"accountant", "accountants", "financial", "köchin"} <= VOCABULARY.known
    assert "financial" not in VOCABULARY.targets  # description words are known, never a correction
    assert set(VOCABULARY.targets[:4]) == {"accountant", "warehouse", "worker", "painter"}  # twice each: first
    assert VOCABULARY.targets.index("painter") < VOCABULARY.targets.index("printer")
    empty = Vocabulary.of(())
    assert empty.correct("Acountant") == "Acountant"  # nothing to correct to


def test_words_and_reach() -> None:
    assert words("Koch/Köchin (m/w/d) 3-Schicht") == ["koch", "köchin", "m", "w", "d", "schicht"]
    assert [max_edits("a" * n) for n in (MIN_LETTERS, 9, 10, 20)] == [1, 1, 2, 2]
