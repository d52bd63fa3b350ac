"""Compound words split against an index's words (:mod:`jobmatch.server.index.compounds`), case by case."""

from __future__ import annotations

import pytest

from jobmatch.server.esco import Occupation
from jobmatch.server.index.compounds import NO_COMPOUNDS, Compounds, compounds_by_language
from jobmatch.server.index.lexical import document_vector, query_vector

WORDS = Compounds(
    [
        "fahrzeug",
        "lackierer",
        "mitarbeiter",
        "arbeiter",
        "produktion",
        "lebensmittel",
        "führer",
        "fahrzeugführer",
        "straße",
        "bauer",
        "fire",
        "fighter",
        "kfz",  # under MIN_PART letters: never a part
    ]
)


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("Fahrzeuglackierer", ["lackierer", "fahrzeug"]),  # head, then the rest
        ("Produktionsmitarbeiter", ["mitarbeiter", "arbeiter", "produktion"]),  # linking s; the head split again
        ("Straßenbauer", ["bauer", "straße"]),  # linking n
        ("Lokführer", ["führer"]),  # an unknown rest still leaves the head
        ("Triebfahrzeugführer", ["fahrzeugführer", "führer", "fahrzeug"]),  # the longest known head first
        # a rest that is no word is split in turn: lebensmittelproduktion(s)
        ("Lebensmittelproduktionsmitarbeiter", ["mitarbeiter", "arbeiter", "produktion", "lebensmittel"]),
        ("firefighter", ["fighter", "fire"]),  # any language: English writes few compounds
        ("Kfzlackierer", ["lackierer"]),  # a rest under MIN_PART letters is no part
        ("Lackierer", []),  # no known ending
        ("Bauer", []),  # too short to be two parts
        ("", []),
    ],
)
def test_a_word_splits_into_the_known_words_it_ends_and_starts_with(word: str, parts: list[str]) -> None:
    assert WORDS.parts(word) == parts


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("Fahrzeuglackierer (m/w/d)", "Fahrzeuglackierer (m/w/d) lackierer fahrzeug"),
        ("Kfz-Lackierer", "Kfz-Lackierer"),  # a hyphen already parts the words
        ("Maler", "Maler"),
    ],
)
def test_a_text_is_read_with_the_parts_of_its_compounds(text: str, expanded: str) -> None:
    assert WORDS.expand(text) == expanded
    assert NO_COMPOUNDS.expand(text) == text


def test_the_words_of_each_language_split_only_that_language() -> None:
    occupation = Occupation(
        uri="u",
        code="7132.1",
        isco_group="7132",
        preferred_label={"de": "Fahrzeuglackierer/Fahrzeuglackiererin", "en": "transport equipment painter"},
        alt_labels={"de": ("Lackierer",)},
        hidden_labels={"en": ("spray painter",)},
        description={"de": "Fahrzeug lackieren", "en": "They paint vehicles."},
    )
    compounds = compounds_by_language([occupation])
    assert set(compounds) == {"de", "en"}
    assert compounds["en"].parts("spraypainter") == ["painter", "spray"]  # hidden labels count
    assert compounds["en"].parts("vehiclespaint") == ["paint", "vehicles"]  # so does the description
    assert compounds["de"].parts("Busfahrzeuglackierer") == ["fahrzeuglackierer", "lackierer", "fahrzeug"]
    assert compounds["en"].parts("Busfahrzeuglackierer") == []


def test_bm25_meets_a_compound_through_its_parts_on_both_sides() -> None:
    label, query = ("Lebensmittelproduktionsmitarbeiter",), "Produktionsmitarbeiter Lebensmittel"
    plain = set(document_vector(label, "de").indices) & set(query_vector(query, "de").indices)
    split = set(document_vector(label, "de", WORDS).indices) & set(query_vector(query, "de", WORDS).indices)
    assert not plain  # one term each: nothing shared
    assert len(split) >= 3  # mitarbeiter, produktion, lebensmittel (stemmed)
