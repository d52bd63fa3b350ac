"""Free texts matched to their end (:mod:`jobmatch.server.index.long_text`): chunks, bounds, the best
chunk per family, with real weights (all-MiniLM-L6-v2) on a slice of ESCO."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from jobmatch.server.esco import EscoDataset
from jobmatch.server.index import EngineEmbedder, InvalidQuery, OccupationIndex, open_store, sync_esco
from jobmatch.server.index.long_text import DEFAULT_READING, TextReading, strongest, text_chunks
from jobmatch.server.index.segments import MAX_SEGMENT_WORDS
from tests.index.scoring import STORED_ATOL

DATA_SCIENTIST = "http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30"
GROUPS = ("25", "2221", "512", "8332", "5223", "2411")  # ICT, nurses, cooks, lorry drivers, shop, accountants
TRUNCATION = TextReading(max_chunks=1)

BOILERPLATE = [
    "Nordwerk GmbH is one of the leading providers in its market, with more than 4,000 employees in 12 countries.",
    "Since our founding in 1957 we have grown steadily and remain independent and family-owned.",
    "Our culture is built on trust, openness and mutual respect, and we celebrate successes together.",
    "Customers across Europe rely on our products and services every day.",
    "We are proud to have been named one of the best employers in the region for six years in a row.",
    "Sustainability is at the heart of everything we do, from our supply chain to our offices.",
    "Our headquarters are located in Hamburg, with further sites in Berlin, Munich and Vienna.",
    "We combine the stability of a large group with the short decision paths of a start-up.",
    "To strengthen our team we are looking for you (m/f/d), full-time or part-time, as soon as possible.",
    "What we offer:",
    "- A competitive salary with an annual bonus and 30 days of paid holiday.",
    "- Flexible working hours and the option to work from home two days a week.",
    "- A company pension scheme, bike leasing and a subsidised public transport ticket.",
    "- Regular team events, a summer party and a Christmas celebration.",
    "- A modern office in the city centre with good transport links and free parking.",
    "- An individual training budget and a structured onboarding with a personal mentor.",
    "We are an equal opportunity employer and welcome applications regardless of gender, age or origin.",
    "Applications from people with severe disabilities are particularly welcome.",
    "Your personal data will be processed in accordance with the General Data Protection Regulation.",
    "Recruitment agencies are kindly asked not to send unsolicited profiles.",
]
TASKS = [
    "Your tasks:",
    "- Find and interpret rich data sources and merge them into consistent data sets.",
    "- Build predictive and mathematical models from large amounts of data.",
    "- Create visualisations and present insights to a non-expert audience.",
    "- Python, SQL, statistics, machine learning and data mining.",
]
# ~340 words of boilerplate (past all-MiniLM's 256-token window), then the only evidence of the job
LATE_EVIDENCE = "\n".join([*BOILERPLATE, *TASKS])


@pytest.fixture(scope="module")
async def index(
    tmp_path_factory: pytest.TempPathFactory, snapshot: EscoDataset, minilm_embedder: EngineEmbedder, make_subset
) -> AsyncIterator[OccupationIndex]:
    uris = [uri for uri, o in snapshot.occupations.items() if o.isco_group.startswith(GROUPS)]
    async with await open_store(tmp_path_factory.mktemp("long-text") / "qdrant") as store:
        await sync_esco(make_subset(snapshot, uris), minilm_embedder, store)
        yield await OccupationIndex.open(store, minilm_embedder)


@pytest.fixture
async def counted(index: OccupationIndex, minilm_embedder: EngineEmbedder, counting) -> tuple[OccupationIndex, Any]:
    """An index over the same store whose embedder counts calls and texts."""
    embedder = counting(minilm_embedder)
    return await OccupationIndex.open(index.store, embedder), embedder


async def uris(index: OccupationIndex, text: str, reading: TextReading = DEFAULT_READING, top_k: int = 10) -> list:
    index.text_reading = reading
    try:
        return [m.uri for m in await index.match(text, kind="text", top_k=top_k)]
    finally:
        index.text_reading = DEFAULT_READING


# -- chunks ------------------------------------------------------------------------------------------


def test_a_text_within_one_chunk_is_read_as_sent() -> None:
    short = "  Python developer (m/f/d) with five years of Django experience  "
    assert text_chunks(short) == (short,)
    sentence = " ".join(["word"] * 40) + "."  # one unit of 40 words: longer than a chunk, still one
    assert text_chunks(sentence) == (sentence,)
    assert text_chunks(LATE_EVIDENCE, TRUNCATION) == (LATE_EVIDENCE,)


def test_chunks_pack_units_in_text_order_up_to_the_chunk_size() -> None:
    whole, *chunks = text_chunks(LATE_EVIDENCE)
    assert whole == LATE_EVIDENCE  # the text as one input comes first (what truncation read)
    assert text_chunks(LATE_EVIDENCE, TextReading(whole=False)) == tuple(chunks)
    assert len(chunks) > 10
    assert chunks[0].startswith("Nordwerk GmbH")
    assert chunks[-1].endswith("data mining")
    joined = " ".join(chunks)
    for line in (BOILERPLATE[3], TASKS[2].lstrip("- ")):  # every unit is read, in order
        assert line.rstrip(".") in joined
    assert joined.index("Nordwerk") < joined.index("predictive")
    lines = LATE_EVIDENCE.splitlines()
    for chunk in chunks:  # packed up to 24 words; only a unit that is longer (one line here) stands alone
        assert len(chunk.split()) <= DEFAULT_READING.chunk_words or any(chunk in line for line in lines)
    assert "Your tasks:\n- Find and interpret" in joined  # a heading and its item: one chunk, as written


def test_a_unit_longer_than_a_window_is_read_in_overlapping_windows() -> None:
    words = [f"w{i}" for i in range(200)]  # one line, no sentence end
    whole, *chunks = text_chunks(" ".join(words))
    assert len(whole.split()) == 200
    assert all(len(c.split()) <= MAX_SEGMENT_WORDS for c in chunks)
    assert chunks[0].split()[0] == "w0"
    assert chunks[-1].split()[-1] == "w199"


def test_repeated_chunks_are_read_once() -> None:
    repeated = "\n".join([*TASKS, *BOILERPLATE, *BOILERPLATE, *BOILERPLATE])
    chunks = text_chunks(repeated)
    assert len(chunks) == len(set(chunks))
    assert len(chunks) == len(text_chunks("\n".join([*TASKS, *BOILERPLATE])))


def test_past_max_chunks_the_chunks_are_spread_over_the_whole_text() -> None:
    lines = [f"Line number {i} tells about task {i} of the team." for i in range(3000)]  # ~100,000 characters
    text = "\n".join(lines)
    assert len(text) > 90_000
    whole, *chunks = text_chunks(text)
    assert whole == text
    assert len(chunks) == DEFAULT_READING.max_chunks - 1
    assert chunks[0].startswith("Line number 0 ")
    assert chunks[-1].endswith("task 2999 of the team")
    middle = text_chunks(text, TextReading(max_chunks=3, whole=False))[1]
    assert "task 1498 " in middle or "task 1500 " in middle


def test_the_strongest_chunks_keep_text_order_and_break_ties_by_position() -> None:
    assert strongest([0.1, 0.9, 0.5, 0.9, 0.2], 3) == [1, 2, 3]
    assert strongest([0.5, 0.5, 0.5], 2) == [0, 1]
    assert strongest([0.3, 0.1], 5) == [0, 1]


def test_a_reading_is_checked() -> None:
    for bad in ({"chunk_words": 1}, {"max_chunks": 0}, {"max_searched": 1}):
        with pytest.raises(ValueError, match="text reading"):
            TextReading(**bad)


# -- matching ----------------------------------------------------------------------------------------


async def test_a_text_is_read_to_its_end(index: OccupationIndex) -> None:
    """The only evidence of the job comes after the model's window: truncation misses it, chunks find it."""
    chunked = await uris(index, LATE_EVIDENCE, top_k=20)
    truncated = await uris(index, LATE_EVIDENCE, TRUNCATION, top_k=20)
    assert DATA_SCIENTIST in chunked[:3]
    assert DATA_SCIENTIST not in truncated[:10]
    tasks_only = await uris(index, "\n".join(TASKS), TRUNCATION, top_k=3)
    assert DATA_SCIENTIST in tasks_only  # the evidence alone, read whole, finds it too


async def test_past_max_searched_the_strongest_chunks_are_searched(index: OccupationIndex) -> None:
    """With room for 4 inputs the search keeps the whole text and the 3 task chunks (the text's last
    ones), not the first chunks."""
    assert len(text_chunks(LATE_EVIDENCE)) > 8
    for reading in (TextReading(max_searched=4), TextReading(max_searched=3, whole=False)):
        assert DATA_SCIENTIST in (await uris(index, LATE_EVIDENCE, reading))[:3]
    first_three = "\n".join(text_chunks(LATE_EVIDENCE)[1:4])
    assert DATA_SCIENTIST not in await uris(index, first_three, TRUNCATION)


async def test_the_text_as_one_input_is_read_too(index: OccupationIndex, snapshot: EscoDataset) -> None:
    """A text is also read whole, so what truncation found is never lost: the exact description of an
    occupation, longer than a chunk, scores 1 in the description family."""
    description = snapshot.occupations[DATA_SCIENTIST].description["en"]
    assert len(text_chunks(description)) > 2
    (best,) = await index.match(description, kind="text", top_k=1, strategy="description")
    assert best.uri == DATA_SCIENTIST
    assert best.score == pytest.approx(1.0, abs=STORED_ATOL)
    index.text_reading = TextReading(whole=False)
    try:
        (chunked,) = await index.match(description, kind="text", top_k=1, strategy="description")
    finally:
        index.text_reading = DEFAULT_READING
    assert chunked.uri == DATA_SCIENTIST
    assert chunked.score < 0.99  # its best chunk alone is not the whole description


async def test_a_short_text_matches_as_before(counted) -> None:
    index, embedder = counted
    text = "Experienced nurse caring for patients in a hospital ward, administering medication."
    before = await index.match(text, kind="text", top_k=5)
    assert (embedder.calls, embedder.texts) == (1, 1)  # one input, one call: the cost of before
    index.text_reading = TRUNCATION
    try:
        assert await index.match(text, kind="text", top_k=5) == before
    finally:
        index.text_reading = DEFAULT_READING
    assert before[0].isco_group == "2221"


async def test_every_chunk_is_embedded_in_one_call(counted) -> None:
    index, embedder = counted
    await index.match(LATE_EVIDENCE, kind="text", top_k=5)
    assert embedder.calls == 1  # one head (a symmetric model): one batched call for all chunks
    assert embedder.texts == len(text_chunks(LATE_EVIDENCE))


async def test_a_text_of_100000_characters_embeds_at_most_max_chunks(counted) -> None:
    index, embedder = counted
    text = "\n".join([*TASKS, *(f"Site {i}: {line}" for i in range(60) for line in BOILERPLATE)])[:100_000]
    assert len(text) == 100_000
    matches = await index.match(text, kind="text", top_k=5)
    assert embedder.texts == DEFAULT_READING.max_chunks
    assert embedder.calls == 1
    assert len(matches) == 5


@pytest.mark.parametrize("text", ["", "   \n\t ", "1234 !!! --- 56", "€ 45.000 / 2025\n+49 30 1234567"])
async def test_a_text_without_letters_is_invalid(index: OccupationIndex, text: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        await index.match(text, kind="text")
    assert raised.value.field == "query"


async def test_a_long_text_in_a_filter_keeps_to_it(index: OccupationIndex) -> None:
    matches = await index.match(LATE_EVIDENCE, kind="text", top_k=5, isco_prefixes=["2221"])
    assert matches
    assert {m.isco_group for m in matches} == {"2221"}
