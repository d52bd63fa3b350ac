"""Cut a text (a job ad, a CV) into the pieces a skill or a role is named in, with their offsets.

A job ad names its skills in bullet items ("- 3+ years of Python"), in sentences ("You will
manage a team of five.") and in lists inside them ("Python, SQL and Airflow"). One embedding of
the whole text reads at most the model's window (64 tokens for JobBERT-v3) and blurs the rest;
the pieces are short enough to be read whole, and each is a place to point at.

:func:`segment` returns, in text order:

* ``unit``: a line, a bullet item or a sentence (a line holding several sentences is split at
  ``. ! ? ;`` followed by a space); a unit longer than ``max_words`` words is cut into windows of
  ``max_words`` words that overlap by half, so nothing past a model's limit goes unread;
* ``phrase``: the parts of a unit that lists several things: split at commas, semicolons, slashes
  between words of two letters or more (``AWS/GCP``, not ``m/w/d``), ``and``/``or``/``und``/
  ``oder``/``sowie`` and a colon after a lead-in (``Skills: Python, SQL``); only when the unit has
  at least two such parts, each with a letter.

Offsets are Python ``str`` indexes into the original text (``text[start:end] == segment.text``),
with surrounding whitespace, bullets and trailing punctuation trimmed. Rules are general
punctuation and connector words; they know no skill or occupation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = ["MAX_SEGMENT_WORDS", "Segment", "segment"]

MAX_SEGMENT_WORDS = 48
"""Words per unit window: about 64 subword tokens of English or German, JobBERT-v3's window."""

SegmentKind = Literal["unit", "phrase"]

_LINE = re.compile(r"[^\n\r]+")
# A sentence ends at . ! ? ; followed by whitespace, unless the dot ends a short abbreviation
# ("e.g.", "z.B.", "Dr.") or a number ("3.5").
_SENTENCE_END = re.compile(r"(?<!\b[A-Za-z])(?<!\b[A-Za-z][a-z])(?<!\d)[.!?;]+(?=\s+\S)")
_LIST_SEPARATOR = re.compile(
    r"\s*[,;•·|]\s*|(?<=\w\w)\s*/\s*(?=\w\w)|\s+(?:and|or|as well as|und|oder|sowie|bzw\.)\s+|:\s+",
    re.IGNORECASE,
)
_TRIM_LEAD = re.compile(r"^(?:[\s\-\u2013\u2014*•·>#+]|\d{1,2}[.)](?=\s))*")  # bullets, "1." / "2)" numbering
_TRIM_TAIL = re.compile(r"[\s.,;:!?\-\u2013\u2014]*$")
_WORD = re.compile(r"\S+")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a text: ``text == source[start:end]``; ``kind`` is ``unit`` or ``phrase``."""

    start: int
    end: int
    text: str
    kind: SegmentKind


def segment(text: str, max_words: int = MAX_SEGMENT_WORDS) -> list[Segment]:
    """The units and list phrases of ``text``, in text order, each once (duplicate spans dropped)."""
    if max_words < 2:
        raise ValueError(f"max_words must be at least 2, not {max_words}")
    seen: set[tuple[int, int]] = set()
    out: list[Segment] = []
    for start, end in _units(text):
        for piece in (*_windows(text, start, end, max_words), *_phrases(text, start, end)):
            if (piece.start, piece.end) not in seen:
                seen.add((piece.start, piece.end))
                out.append(piece)
    return out


def _units(text: str) -> Iterator[tuple[int, int]]:
    """Lines, then sentences within each line, trimmed; spans without a letter are skipped."""
    for line in _LINE.finditer(text):
        start = line.start()
        for end_mark in _SENTENCE_END.finditer(line.group()):
            yield from _trimmed(text, start, line.start() + end_mark.end())
            start = line.start() + end_mark.end()
        yield from _trimmed(text, start, line.end())


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` without bullets, numbering, whitespace and end punctuation; nothing if no letter."""
    span = text[start:end]
    lead = _TRIM_LEAD.match(span)
    left = lead.end() if lead else 0
    tail = _TRIM_TAIL.search(span, left)
    right = tail.start() if tail else len(span)
    if right > left and _LETTER.search(span, left, right):
        yield start + left, start + right


def _windows(text: str, start: int, end: int, max_words: int) -> Iterator[Segment]:
    """The unit itself, or overlapping windows of ``max_words`` words when it is longer."""
    words = list(_WORD.finditer(text, start, end))
    step = max(1, max_words // 2)
    if len(words) <= max_words:
        yield Segment(start, end, text[start:end], "unit")
        return
    for first in range(0, len(words) - step, step):
        last = min(first + max_words, len(words)) - 1
        for s, e in _trimmed(text, words[first].start(), words[last].end()):
            yield Segment(s, e, text[s:e], "unit")


def _phrases(text: str, start: int, end: int) -> Iterator[Segment]:
    """The list parts of a unit, when it lists at least two things."""
    parts: list[tuple[int, int]] = []
    cursor = start
    for separator in _LIST_SEPARATOR.finditer(text, start, end):
        parts.extend(_trimmed(text, cursor, separator.start()))
        cursor = separator.end()
    parts.extend(_trimmed(text, cursor, end))
    if len(parts) < 2:
        return
    for s, e in parts:
        yield Segment(s, e, text[s:e], "phrase")
