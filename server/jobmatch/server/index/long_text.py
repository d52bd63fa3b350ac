"""A free text (a job ad, a CV) matched to occupations to its end: read whole and in chunks.

One embedding of a whole text reads at most the model's window (64 tokens for JobBERT-v3, 256 for
all-MiniLM-L6-v2) and blurs what it reads: an ad that opens with the company's blurb is matched on
the blurb. A text of kind ``text`` is read as one input, as before, **and in chunks**
(:func:`text_chunks`):

1. the units of :func:`~jobmatch.server.index.segments.segment` (lines, bullet items, sentences,
   48-word windows of longer ones), packed in text order into chunks of up to ``chunk_words``
   (24) words; a unit longer than that is a chunk of its own. A chunk is the text's own span from
   its first unit to its last (line breaks and bullets kept); repeated chunks count once;
2. a text that is one chunk (up to 24 words, or one sentence) is read as sent, as one input: the
   plan and its cost are those of before;
3. otherwise the inputs are the whole text (``whole``; the model cuts it at its window) and its
   chunks, embedded in one embedder call per head (the strategy's heads). Each input is a probe of
   every vector the strategy searches, in one query plan that Qdrant's engine fuses: within a
   family a point keeps its best probe, so an occupation scores as its **best input per family**,
   and the families as the strategy weighs them (:mod:`plan`). With the whole text among the
   inputs, no family scores an occupation lower than the one-input reading did.

Why the best chunk, not the mean: on the dev split of the ESCO-built set (``benchmarks/long_text.py``,
all-MiniLM-L6-v2) the mean of the chunk vectors fell below the one-input reading with the same
weights (boilerplate chunks outnumber the telling ones and pull the mean to generic occupations);
so did, in an exploratory run, Qdrant's MAX_SIM of the chunk vectors as one multivector query
against the ``labels`` (a sum over chunks). The best input per family raised MRR@100 over the
one-input reading on every length and part of the set (English 0.53 -> 0.83, German 0.28 ->
0.53). Chunks of 24 words matched 16 (half as many again to embed) and beat 32 and 48; BM25 over
the labels with every chunk's terms lowered it; the whole text as one more input changed it by
under 0.01, and keeps an exact text's score (an occupation's own description scores 1).

**Bounds** (:class:`TextReading`): at most ``max_chunks`` (256, the whole text included: ~6,000
words of chunks) inputs are embedded; a longer text is read whole and in 255 chunks spread evenly
over it, first and last included. At most ``max_searched`` (64) inputs are probes of the final
plan; with more, each chunk is first searched alone (one small plan per chunk, all queued at once
so the engine searches them in batches) and the whole text plus the 63 chunks with the highest
best score are kept, in text order (:func:`keep_strongest`): the chunks that match some
occupation best. On the dev set, keeping the 32 strongest of ~50 chunks matched reading all of
them (the 16 strongest: -0.01); in an exploratory run 16 evenly spread chunks lost over a third of
the MRR, and the first 16 held up only because the set's templates put the tasks first. A text of
the server's ``--max-input-chars`` (100,000 characters) therefore costs 256 embeddings per head,
255 one-chunk plans and one plan of 64 inputs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from jobmatch.server.index._aio import gather_or_cancel
from jobmatch.server.index.embedder import Side
from jobmatch.server.index.segments import Segment, segment

__all__ = ["DEFAULT_READING", "TextReading", "keep_strongest", "strongest", "text_chunks"]

ChunkScore = Callable[[tuple[str, ...], Mapping[Side, np.ndarray]], Awaitable[float]]
"""The best score of one chunk searched alone: its text (a 1-tuple) and its ``(1, dim)`` vector per head."""


@dataclass(frozen=True, slots=True)
class TextReading:
    """How a free text is read: chunk size in words, inputs embedded, inputs searched in the final
    plan, and whether the whole text is one of them.

    ``max_chunks=1`` reads every text as one input, cut at the model's window (as before chunking).
    """

    chunk_words: int = 24
    max_chunks: int = 256
    max_searched: int = 64
    whole: bool = True

    def __post_init__(self) -> None:
        if self.chunk_words < 2 or self.max_chunks < 1 or self.max_searched < 2:
            raise ValueError(
                "a text reading needs chunk_words >= 2, max_chunks >= 1 and max_searched >= 2, not "
                f"{self.chunk_words}, {self.max_chunks}, {self.max_searched}"
            )


DEFAULT_READING = TextReading()


def text_chunks(text: str, reading: TextReading = DEFAULT_READING) -> tuple[str, ...]:
    """The inputs ``text`` is read in (the module doc): the whole text (with ``reading.whole``), then its
    chunks in text order; ``(text,)`` when it is one chunk."""
    if reading.max_chunks == 1 or len(text.split()) <= reading.chunk_words:
        return (text,)
    units = [piece for piece in segment(text) if piece.kind == "unit"]
    chunks = list(dict.fromkeys(text[start:end] for start, end in _packed(units, reading.chunk_words)))
    if len(chunks) <= 1:
        return (text,)
    if reading.whole:
        return (text, *_spread(chunks, reading.max_chunks - 1))
    return tuple(_spread(chunks, reading.max_chunks))


def _packed(units: Sequence[Segment], words: int) -> list[tuple[int, int]]:
    """Spans of consecutive units, each as long as it stays within ``words`` words (or one longer unit).

    A span runs from its first unit's start to its last unit's end, so it keeps the text's own line
    breaks, bullets and punctuation between the units.
    """
    spans: list[tuple[int, int]] = []
    start, end, count = 0, 0, 0
    for unit in units:
        size = len(unit.text.split())
        if count and count + size > words:
            spans.append((start, end))
            count = 0
        if not count:
            start = unit.start
        end, count = max(end, unit.end), count + size
    if count:
        spans.append((start, end))
    return spans


def _spread(items: Sequence[str], count: int) -> list[str]:
    """``count`` items spaced evenly from the first to the last (all of them when there are no more)."""
    if len(items) <= count:
        return list(items)
    if count == 1:
        return [items[0]]
    step = (len(items) - 1) / (count - 1)
    return [items[round(i * step)] for i in range(count)]


def strongest(scores: Sequence[float], count: int) -> list[int]:
    """The indexes of the ``count`` highest scores, in index order; equal scores keep the earlier."""
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(ranked[:count])


async def keep_strongest(
    inputs: tuple[str, ...], vectors: Mapping[Side, np.ndarray], reading: TextReading, score: ChunkScore
) -> tuple[tuple[str, ...], dict[Side, np.ndarray]]:
    """At most ``reading.max_searched`` of the inputs of :func:`text_chunks`, with their rows of ``vectors``:
    the whole text (first, with ``reading.whole``) and the chunks whose own best score is highest, in
    text order.

    ``vectors`` holds, per head, ``(len(inputs), dim)``: row ``i`` embeds ``inputs[i]``. With at most
    ``max_searched`` inputs, all are kept and ``score`` is not called; else it is called once per
    chunk, concurrently (so the engine searches them in shared batches).
    """
    if len(inputs) <= reading.max_searched:
        return inputs, dict(vectors)
    fixed = int(reading.whole)
    rows = [{side: matrix[i : i + 1] for side, matrix in vectors.items()} for i in range(len(inputs))]
    scores = await gather_or_cancel([score((inputs[i],), rows[i]) for i in range(fixed, len(inputs))])
    keep = [*range(fixed), *(fixed + i for i in strongest(scores, reading.max_searched - fixed))]
    return tuple(inputs[i] for i in keep), {side: matrix[keep] for side, matrix in vectors.items()}
