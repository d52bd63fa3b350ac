"""segment(): units and list phrases of a text, each with offsets that point back into it."""

from __future__ import annotations

import pytest

from jobmatch.server.index.segments import Segment, segment

AD = """Senior Data Engineer (m/w/d)

Your tasks:
1. Build data pipelines in Python, SQL and Airflow.
- 3+ years of experience with AWS/GCP; e.g. Kubernetes. Team player!
* Sehr gute Englischkenntnisse sowie Erfahrung mit SAP"""


def _texts(segments: list[Segment], kind: str) -> list[str]:
    return [s.text for s in segments if s.kind == kind]


def test_offsets_point_into_the_text() -> None:
    segments = segment(AD)
    assert segments
    for piece in segments:
        assert AD[piece.start : piece.end] == piece.text
    assert [s.start for s in segments] == sorted(s.start for s in segments)


def test_units_are_lines_and_sentences_without_bullets_or_end_punctuation() -> None:
    assert _texts(segment(AD), "unit") == [
        "Senior Data Engineer (m/w/d)",
        "Your tasks",
        "Build data pipelines in Python, SQL and Airflow",
        "3+ years of experience with AWS/GCP",
        "e.g. Kubernetes",
        "Team player",
        "Sehr gute Englischkenntnisse sowie Erfahrung mit SAP",
    ]


def test_lists_are_split_into_phrases_in_english_and_german() -> None:
    phrases = _texts(segment(AD), "phrase")
    assert phrases == [
        "Build data pipelines in Python",
        "SQL",
        "Airflow",
        "3+ years of experience with AWS",
        "GCP",
        "Sehr gute Englischkenntnisse",
        "Erfahrung mit SAP",
    ]


def test_a_unit_without_a_list_has_no_phrases_and_gender_slashes_are_not_lists() -> None:
    assert segment("Koch (m/w/d) gesucht") == [Segment(0, 20, "Koch (m/w/d) gesucht", "unit")]


def test_a_long_unit_is_read_in_overlapping_windows_to_its_end() -> None:
    text = " ".join(f"w{i}" for i in range(100))
    windows = segment(text, max_words=10)
    assert all(len(w.text.split()) <= 10 for w in windows)
    assert windows[0].text.startswith("w0 ")
    assert windows[-1].text.endswith(" w99")
    assert windows[1].text.startswith("w5 ")  # half overlap


@pytest.mark.parametrize("text", ["", "   ", "---\n***", "42, 17"])
def test_nothing_with_a_letter_gives_no_segments(text: str) -> None:
    assert segment(text) == []


def test_max_words_must_leave_room_for_a_window() -> None:
    with pytest.raises(ValueError, match="max_words"):
        segment("a b c", max_words=1)
