"""The request checks every index query shares, each raising InvalidQuery that names its field."""

from __future__ import annotations

from jobmatch.server.index.cleaning import has_letters
from jobmatch.server.index.errors import InvalidQuery

__all__ = ["check_text", "check_top_k"]


def check_text(text: str, field: str) -> str:
    """``text`` without surrounding whitespace; InvalidQuery if it is not a string, empty or has no letter."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidQuery(f"the {field} is empty", field=field)
    if not has_letters(text):
        raise InvalidQuery(f"the {field} has no letters: {text.strip()[:80]!r}", field=field)
    return text.strip()


def check_top_k(top_k: int, most: int) -> int:
    """``top_k`` when it is an integer from 1 to ``most``; InvalidQuery (field ``top_k``) otherwise."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= most:
        raise InvalidQuery(f"top_k must be an integer from 1 to {most}, not {top_k!r}", field="top_k")
    return top_k
