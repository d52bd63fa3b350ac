"""Matching quality with real weights (all-MiniLM-L6-v2) on a slice of ESCO: ICT, nursing, cooks, drivers..."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jobmatch.server.esco import EscoDataset
from jobmatch.server.index import EngineEmbedder, OccupationIndex, open_store, sync_esco
from tests.index.scoring import STORED_ATOL

DATA_SCIENTIST = "http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30"
GROUPS = ("25", "2221", "512", "8332", "5223", "2411")  # ICT, nurses, cooks, lorry drivers, shop, accountants


@pytest.fixture(scope="module")
async def index(
    tmp_path_factory: pytest.TempPathFactory, snapshot: EscoDataset, minilm_embedder: EngineEmbedder, make_subset
) -> AsyncIterator[OccupationIndex]:
    uris = [uri for uri, o in snapshot.occupations.items() if o.isco_group.startswith(GROUPS)]
    dataset = make_subset(snapshot, uris)
    async with await open_store(tmp_path_factory.mktemp("minilm") / "qdrant") as store:
        report = await sync_esco(dataset, minilm_embedder, store)
        occupations, skills = report.occupations, report.skills
        assert skills is not None
        print(
            f"\nMiniLM sync: {occupations.total} occupations {occupations.seconds:.1f} s, skills {skills.seconds:.1f} s"
        )
        yield await OccupationIndex.open(store, minilm_embedder)


async def groups(index: OccupationIndex, query: str, kind: str, top_k: int, **kwargs) -> list[str]:
    return [m.isco_group for m in await index.match(query, kind=kind, top_k=top_k, **kwargs)]


async def test_job_titles_find_their_occupation(index: OccupationIndex) -> None:
    top = await index.match("data scientist", top_k=5)
    assert top[0].uri == DATA_SCIENTIST
    (labelled,) = await index.match("data scientist", top_k=1, strategy="labels")  # its own label: cosine 1
    assert (labelled.uri, labelled.score) == (DATA_SCIENTIST, pytest.approx(1.0, abs=STORED_ATOL))
    assert next(m.preferred_label for m in await index.match("chef", top_k=3)) == "cook"  # not a label of it
    assert (await index.match("lorry driver", top_k=1))[0].preferred_label == "cargo vehicle driver"
    assert set(await groups(index, "registered nurse", "job_title", 3)) == {"2221"}
    ml_engineer = await groups(index, "machine learning engineer", "job_title", 5)
    assert set(ml_engineer[:3]) <= {"2511", "2512", "2513", "2519"}  # software and analysis
    assert {g[:2] for g in ml_engineer} == {"25"}  # BM25 lets "engineer" bring ICT engineers in at 4-5


async def test_skill_lists_find_occupations_that_need_them(index: OccupationIndex) -> None:
    cooks = await groups(index, "cook meals, prepare ingredients, food safety", "skills", 3)
    assert {g[:3] for g in cooks} == {"512"}
    data = await groups(index, "Python, SQL, statistics, machine learning, data mining", "skills", 5)
    assert {g[:2] for g in data} == {"25"}
    for strategy in ("labels", "skills"):
        assert {g[:3] for g in await groups(index, "cook meals, food safety", "skills", 2, strategy=strategy)} == {
            "512"
        }


async def test_free_text_finds_the_occupation_it_describes(index: OccupationIndex) -> None:
    ad = "We are looking for someone who builds predictive models from large datasets and presents insights."
    assert DATA_SCIENTIST in [m.uri for m in await index.match(ad, kind="text", top_k=3)]
    resume = "Experienced nurse caring for patients in a hospital ward, administering medication."
    assert (await groups(index, resume, "text", 1)) == ["2221"]


async def test_isco_filter_and_titles_to_skills(index: OccupationIndex) -> None:
    assert set(await groups(index, "data scientist", "job_title", 5, isco_prefixes=["2411"])) == {"2411"}
    nursing = [s.label for s in await index.match_skills("nurse", top_k=5)]
    assert sum("nurs" in label for label in nursing) >= 4
    data = [s.label for s in await index.match_skills("data scientist", top_k=5)]
    assert sum("data" in label for label in data) >= 3
