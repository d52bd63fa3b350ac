"""The two sides of an asymmetric model (JobBERT-v3's heads), named once for every layer.

``anchor`` embeds job titles, ``positive`` skill lists and other descriptive text; a symmetric
model serves both alike. The server (models, index, API), the clients and the LangChain package
all take the names and their ``jobmatch.v1.Side`` numbers from here.
"""

from __future__ import annotations

from typing import Literal

from jobmatch.v1 import embedding_pb2 as pb

__all__ = ["SIDES", "SIDE_NUMBERS", "Side", "side_name"]

Side = Literal["anchor", "positive"]
SIDES: tuple[Side, ...] = ("anchor", "positive")
SIDE_NUMBERS: dict[Side, int] = {"anchor": pb.SIDE_ANCHOR, "positive": pb.SIDE_POSITIVE}
_NAMES: dict[int, Side] = {number: name for name, number in SIDE_NUMBERS.items()}


def side_name(number: int) -> str | None:
    """The name of a ``jobmatch.v1.Side`` number: None for SIDE_UNSPECIFIED, the number itself as text
    when it is none of the sides (the engine, which checks sides once, says what is wrong with it)."""
    if number == pb.SIDE_UNSPECIFIED:
        return None
    return _NAMES.get(number, str(number))
