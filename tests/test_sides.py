"""The side vocabulary is defined once (jobmatch.client.sides) and matches the proto's Side enum."""

from __future__ import annotations

import re
from pathlib import Path

from jobmatch.client.sides import SIDE_NUMBERS, SIDES, side_name
from jobmatch.v1 import embedding_pb2 as pb

REPO = Path(__file__).resolve().parent.parent
SOURCES = [*REPO.glob("server/jobmatch/**/*.py"), *REPO.glob("clients/python/src/jobmatch/client/*.py")]
SOURCES += [*REPO.glob("integrations/langchain/src/langchain_jobmatch/*.py")]


def test_the_names_are_the_proto_enums() -> None:
    assert tuple(SIDE_NUMBERS) == SIDES
    assert {pb.Side.Name(number) for number in SIDE_NUMBERS.values()} == {f"SIDE_{s.upper()}" for s in SIDES}


def test_numbers_map_back_and_unknown_ones_are_left_for_the_engine_to_refuse() -> None:
    assert [side_name(SIDE_NUMBERS[s]) for s in SIDES] == list(SIDES)
    assert side_name(pb.SIDE_UNSPECIFIED) is None
    assert side_name(7) == "7"


def test_no_other_module_defines_the_sides_again() -> None:
    definition = re.compile(
        r"""Literal\[\s*["']anchor["']\s*,\s*["']positive["']\s*\]|["']anchor["']\s*:\s*pb\.SIDE_"""
    )
    again = [p.relative_to(REPO) for p in SOURCES if p.name != "sides.py" and definition.search(p.read_text())]
    assert SOURCES
    assert again == []
