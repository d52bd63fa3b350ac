"""One label-language rule for every answer: the requested language when the occupation has a
preferred label in it, else English, else the first language in sorted order; the preferred label,
alternative labels and description all from that one language (never a mix)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from jobmatch.server.index.search import label_language
from jobmatch.v1 import match_pb2 as pb
from jobmatch.v1 import match_pb2_grpc as pb_grpc
from tests.conftest import make_settings
from tests.support.esco_bundle import OCCUPATION, write_bundle
from tests.support.server import ServerThread

URI = f"{OCCUPATION}o0"
FRENCH = {
    "preferred_label": "software engineer grade 0 (fr)",
    "alt_labels": ["software engineer grade 0 (fr) assistant", "engineer 0 (fr)"],
    "description": "works as software engineer grade 0 (fr)",
}
GERMAN = {
    "preferred_label": "software engineer grade 0 (de)",
    "alt_labels": ["software engineer grade 0 (de) assistant", "engineer 0 (de)"],
    "description": "works as software engineer grade 0 (de)",
}


@pytest.mark.parametrize(
    ("labels", "requested", "shown"),
    [
        ({"fr": "x", "de": "y"}, None, "de"),  # no English: the first in sorted order, not the first stored
        ({"fr": "x", "de": "y"}, "fr", "fr"),
        ({"fr": "x", "de": "y"}, "en", "de"),
        ({"fr": "x", "en": "y", "de": "z"}, "it", "en"),
        ({"fr": "x", "en": "y"}, "fr", "fr"),
        ({"fr": "", "de": "y"}, "fr", "de"),  # an empty label is no label
        ({}, "fr", ""),
    ],
)
def test_label_language_rule(labels: dict[str, str], requested: str | None, shown: str) -> None:
    assert label_language(labels, requested) == shown


@pytest.fixture(scope="module")
def french_german(jobbert_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server that synced a bundle of three occupations labelled in French and German only."""
    root = tmp_path_factory.mktemp("esco-fr-de")
    bundles = [write_bundle(root, 3, skills=6, lang=lang, tag=f" ({lang})") for lang in ("fr", "de")]
    settings = make_settings([f"jobbert={jobbert_path}"], auto_sync=True, esco_dirs=bundles)
    with ServerThread(settings) as running:
        yield running


def shown(occupation: pb.Occupation) -> dict[str, object]:
    return {
        "preferred_label": occupation.preferred_label,
        "alt_labels": list(occupation.alt_labels),
        "description": occupation.description,
    }


@pytest.mark.parametrize(("language", "expected"), [("", GERMAN), ("en", GERMAN), ("de", GERMAN), ("fr", FRENCH)])
def test_get_occupation_answers_in_one_language(french_german: ServerThread, language: str, expected: dict) -> None:
    with grpc.insecure_channel(french_german.target) as channel:
        response = pb_grpc.MatchServiceStub(channel).GetOccupation(
            pb.GetOccupationRequest(uri=URI, language=language), timeout=30
        )
    assert shown(response.occupation) == expected
    assert dict(response.occupation.preferred_labels) == {
        "fr": FRENCH["preferred_label"],
        "de": GERMAN["preferred_label"],
    }


@pytest.mark.parametrize(("language", "expected"), [("", GERMAN), ("fr", FRENCH)])
def test_matches_follow_the_same_rule(french_german: ServerThread, language: str, expected: dict) -> None:
    request = pb.MatchOccupationsRequest(
        query=expected["preferred_label"], top_k=1, language=language, include_descriptions=True
    )
    with grpc.insecure_channel(french_german.target) as channel:
        (match,) = pb_grpc.MatchServiceStub(channel).MatchOccupations(request, timeout=30).matches
    assert (match.uri, match.preferred_label, match.description) == (
        URI,
        expected["preferred_label"],
        expected["description"],
    )
