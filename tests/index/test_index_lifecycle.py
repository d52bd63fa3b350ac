"""Aliases and manifests: model mismatch, re-index behind the alias, layout changes, missing indexes."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from jobmatch.server.esco import EscoDataset
from jobmatch.server.index import (
    OCCUPATIONS_ALIAS,
    EmptyIndex,
    EngineEmbedder,
    IncompatibleIndex,
    IndexNotFound,
    InvalidQuery,
    ModelMismatch,
    OccupationIndex,
    QdrantStore,
    open_store,
    sync_occupations,
)
from jobmatch.server.index.catalog import REBUILT
from jobmatch.server.index.documents import occupation_documents, occupations_layout
from jobmatch.server.index.schema import MANIFEST_KEY
from jobmatch.server.index.store import CollectionSpec, DenseSpec
from tests.index.scoring import STORED_ATOL

# qdrant-client's in-memory mode (the adapter_store tests) says payload indexes do nothing there
pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")

DATA_SCIENTIST = "http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30"


async def test_another_model_is_refused_for_sync_and_for_queries(
    store: QdrantStore, small: EscoDataset, jobbert: EngineEmbedder, careerbert: EngineEmbedder, counting
) -> None:
    await sync_occupations(small, jobbert, store)
    before = await store.collection_names()
    embedder = counting(careerbert)
    with pytest.raises(ModelMismatch, match=r"built with model 'jobbert' \(48-d.*the embedder is 'careerbert' \(32-d"):
        await sync_occupations(small, embedder, store)
    assert embedder.calls == 0
    assert await store.collection_names() == before
    with pytest.raises(ModelMismatch, match="reindex=True") as caught:
        await OccupationIndex.open(store, careerbert)
    assert caught.value.status_code == grpc.StatusCode.FAILED_PRECONDITION


async def test_reindexing_for_a_new_model_switches_the_alias_only_when_the_new_index_is_complete(
    adapter_store: QdrantStore, small: EscoDataset, jobbert: EngineEmbedder, careerbert: EngineEmbedder, counting
) -> None:
    store = adapter_store  # on Qdrant Edge and on qdrant-client
    first = await sync_occupations(small, jobbert, store)
    reader = await OccupationIndex.open(store, jobbert)
    seen_during_build: list[tuple[str, str]] = []

    async def check_readers() -> None:  # runs inside every embedding call of the re-index
        (best,) = await reader.match("data scientist", top_k=1)
        seen_during_build.append(((await store.aliases())[OCCUPATIONS_ALIAS], best.uri))
        with pytest.raises(ModelMismatch):
            await OccupationIndex.open(store, careerbert)

    embedder = counting(careerbert)
    embedder.on_call = check_readers
    report = await sync_occupations(small, embedder, store, batch_size=10, reindex=True)

    assert report.rebuilt
    assert report.collection != first.collection
    assert report.written == 40
    assert len(seen_during_build) == embedder.calls == 4
    assert set(seen_during_build) == {(first.collection, DATA_SCIENTIST)}  # the old, complete index throughout
    assert (await store.aliases())[OCCUPATIONS_ALIAS] == report.collection
    assert await store.collection_names() == [report.collection]  # the old one was dropped after the switch
    assert (await store.metadata(OCCUPATIONS_ALIAS))[MANIFEST_KEY]["model"]["name"] == "careerbert"

    with pytest.raises(ModelMismatch):  # the old reader notices the switch instead of mixing models
        await reader.match("data scientist")
    (best,) = await (await OccupationIndex.open(store, careerbert)).match("data scientist", top_k=1, strategy="labels")
    assert (best.uri, best.score) == (DATA_SCIENTIST, pytest.approx(1.0, abs=STORED_ATOL))


async def test_reindex_rebuilds_an_index_of_the_same_model_which_heals_damaged_files(
    tmp_path: Path, small: EscoDataset, jobbert: EngineEmbedder, counting
) -> None:
    """The repair that a damaged shard's error names: ``reindex`` builds anew even when the model and the
    layout match. A plain sync reads the stored content hashes only, so it never sees damaged vectors."""
    path = tmp_path / "qdrant"
    async with await open_store(path) as store:
        first = await sync_occupations(small, jobbert, store)
    chunks = list(path.glob(f"collections/{first.collection}/segments/*/vector_storage-title_en/vectors/chunk_*"))
    assert chunks
    for chunk in chunks:  # with the store closed: Edge maps these files
        with chunk.open("r+b") as handle:
            handle.truncate(10)
    async with await open_store(path) as store:
        damaged = await OccupationIndex.open(store, jobbert)
        with pytest.raises(IncompatibleIndex, match="Rebuild it with `jobmatch sync --reindex`"):
            await damaged.match("data scientist", strategy="title")
        assert (await sync_occupations(small, jobbert, store)).written == 0  # nothing to do, it finds
        embedder = counting(jobbert)
        rebuilt = await sync_occupations(small, embedder, store, reindex=True)
        assert (rebuilt.rebuilt, rebuilt.written, rebuilt.collection) == (True, 40, first.collection + REBUILT)
        assert embedder.calls > 0
        assert await store.collection_names() == [rebuilt.collection]  # the damaged one dropped
        (best,) = await (await OccupationIndex.open(store, jobbert)).match("data scientist", top_k=1, strategy="title")
        assert best.uri == DATA_SCIENTIST
        again = await sync_occupations(small, jobbert, store, reindex=True)
        assert (again.rebuilt, again.collection) == (True, first.collection)  # the names alternate


async def test_a_new_layout_rebuilds_without_asking_and_readers_follow(
    store: QdrantStore, small: EscoDataset, jobbert: EngineEmbedder
) -> None:
    first = await sync_occupations(small, jobbert, store, descriptions=False)
    reader = await OccupationIndex.open(store, jobbert)
    assert reader.manifest is not None
    assert not reader.manifest.layout.descriptions
    description = next(
        d.descriptions["en"]
        for d in occupation_documents(small, occupations_layout(small, descriptions=True))
        if d.uri == DATA_SCIENTIST
    )
    with pytest.raises(InvalidQuery, match="needs description vectors"):
        await reader.match(description, kind="text", strategy="description")

    report = await sync_occupations(small, jobbert, store, descriptions=True)
    assert report.rebuilt
    assert report.written == 40
    assert report.collection != first.collection
    assert await store.collection_names() == [report.collection]
    # The reader follows the switch: the descriptions are searchable through it now, and the exact
    # description (embedded through the positive head, as a text query meets it) scores 1.
    (best,) = await reader.match(description, kind="text", top_k=1, strategy="description")
    assert best.uri == DATA_SCIENTIST
    assert best.score == pytest.approx(1.0, abs=STORED_ATOL)
    assert reader.manifest is not None
    assert reader.manifest.layout.descriptions
    assert len(await reader.match(description, kind="text", top_k=3)) == 3


async def test_missing_empty_and_foreign_indexes_raise_typed_errors(
    store: QdrantStore, small: EscoDataset, jobbert: EngineEmbedder
) -> None:
    with pytest.raises(
        IndexNotFound, match=r"no ESCO occupations index 'esco_occupations'.*run a sync first"
    ) as caught:
        await OccupationIndex.open(store, jobbert)
    assert caught.value.status_code == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(IndexNotFound):
        await OccupationIndex.open(store, jobbert, alias="elsewhere")

    report = await sync_occupations(small, jobbert, store)
    index = await OccupationIndex.open(store, jobbert)
    with pytest.raises(IndexNotFound, match="no ESCO skills index 'esco_skills'"):
        await index.match_skills("data scientist")  # occupations synced, skills not

    await store.delete(report.collection, list(await store.read_payload(report.collection, [])))
    with pytest.raises(EmptyIndex, match="is empty") as empty:
        await OccupationIndex.open(store, jobbert)
    assert empty.value.status_code == grpc.StatusCode.FAILED_PRECONDITION

    await store.create_collection("foreign", CollectionSpec({"v": DenseSpec(4)}), {"owner": "someone else"})
    with pytest.raises(IncompatibleIndex, match="has no jobmatch manifest"):
        await OccupationIndex.open(store, jobbert, alias="foreign")
    with pytest.raises(IncompatibleIndex, match="needs that name for an alias"):
        await sync_occupations(small, jobbert, store, alias="foreign")
