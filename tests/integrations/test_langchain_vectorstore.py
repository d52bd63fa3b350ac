"""langchain-qdrant's QdrantVectorStore over a collection written by the ESCO sync (through the live server).

QdrantVectorStore needs a qdrant-client client, so the sync writes through the store's server adapter
into qdrant-client's in-memory mode (the same client API as a Qdrant server; no server binary runs
here), and the tests hand that adapter's client to langchain-qdrant.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import pytest
from langchain_qdrant import QdrantVectorStore
from qdrant_client import QdrantClient

from jobmatch.client import AsyncJobMatchClient
from jobmatch.server.esco import EscoDataset, load_snapshot
from jobmatch.server.index import OCCUPATIONS_ALIAS, QdrantStore, RemoteEmbedder, sync_occupations
from jobmatch.server.index.documents import occupation_documents, occupations_layout
from jobmatch.server.index.store.server import ServerBackend
from langchain_jobmatch import JobMatchEmbeddings, occupation_vector_store
from tests.integrations.conftest import DATA_SCIENTIST

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")  # in-memory mode


@pytest.fixture(scope="module")
def dataset() -> EscoDataset:
    """The data scientist and 40 other occupations (a small sync, with every payload field)."""
    full = load_snapshot()
    uris = [DATA_SCIENTIST, *[uri for uri in full.occupations if uri != DATA_SCIENTIST][:40]]
    return dataclasses.replace(full, occupations={uri: full.occupations[uri] for uri in uris})


@pytest.fixture(scope="module")
async def synced(dataset: EscoDataset, target: str) -> AsyncIterator[ServerBackend]:
    """A collection synced the way `jobmatch sync --server` does it, into qdrant-client's in-memory mode."""
    backend = ServerBackend(":memory:")
    store = QdrantStore(backend, embedded=False)
    try:
        async with AsyncJobMatchClient(target, timeout=60) as client:
            report = await sync_occupations(dataset, RemoteEmbedder(client, "jobbert"), store)
        assert report.added == len(dataset.occupations)
        yield backend
    finally:
        await store.close()


@pytest.fixture
def qdrant(synced: ServerBackend) -> QdrantClient:
    """The qdrant-client client the sync wrote through (the sync is done: nothing else uses it now)."""
    return synced.client


@pytest.fixture
def embeddings(target: str) -> JobMatchEmbeddings:
    return JobMatchEmbeddings(target=target, model="jobbert", timeout=30)


def test_points_carry_langchain_payload_keys(dataset: EscoDataset) -> None:
    documents = {d.uri: d for d in occupation_documents(dataset, occupations_layout(dataset))}
    payload = documents[DATA_SCIENTIST].payload
    assert payload["page_content"].startswith("data scientist\n\nData scientists find and interpret")
    assert payload["metadata"] == {
        "uri": DATA_SCIENTIST,
        "preferred_label": "data scientist",
        "code": "2511.4",
        "isco_group": "2511",
        "skills": payload["essential_skills"],
        "esco_version": "v1.1.1",
    }


def test_a_plain_qdrant_vector_store_reads_the_synced_collection(
    qdrant: QdrantClient, embeddings: JobMatchEmbeddings
) -> None:
    store = QdrantVectorStore(
        client=qdrant, collection_name=OCCUPATIONS_ALIAS, embedding=embeddings, vector_name="title_en"
    )
    (top, score), *_ = store.similarity_search_with_score("data scientist", k=3)
    assert score == pytest.approx(1.0, abs=2e-3)  # float noise between batched and single forward passes
    assert top.page_content.startswith("data scientist\n\nData scientists")
    assert top.metadata["uri"] == DATA_SCIENTIST
    assert top.metadata["isco_group"] == "2511"
    assert "statistics" in top.metadata["skills"]


def test_the_helper_embeds_queries_through_the_vectors_head(
    qdrant: QdrantClient, embeddings: JobMatchEmbeddings, dataset: EscoDataset
) -> None:
    layout = occupations_layout(dataset)
    skills_text = next(d.skills_text for d in occupation_documents(dataset, layout) if d.uri == DATA_SCIENTIST)
    by_skills = occupation_vector_store(qdrant, embeddings.model_copy(update={"model": ""}), vector_name="skills")
    assert (by_skills.embeddings.query_side, by_skills.embeddings.model) == ("positive", "jobbert")
    (top, score), *_ = by_skills.similarity_search_with_score(skills_text, k=1)
    assert top.metadata["uri"] == DATA_SCIENTIST
    assert score == pytest.approx(1.0, abs=2e-3)
    # The same text through the anchor head is another vector: the head matters.
    anchored = QdrantVectorStore(
        client=qdrant, collection_name=OCCUPATIONS_ALIAS, embedding=embeddings, vector_name="skills"
    )
    anchored_score = anchored.similarity_search_with_score(skills_text, k=1)[0][1]
    assert anchored_score < 0.9  # 0.12 here
    retriever = occupation_vector_store(qdrant, embeddings).as_retriever(search_kwargs={"k": 2})
    assert retriever.invoke("data scientist")[0].metadata["uri"] == DATA_SCIENTIST


def test_the_helper_rejects_vectors_it_cannot_query(qdrant: QdrantClient, embeddings: JobMatchEmbeddings) -> None:
    with pytest.raises(ValueError, match="MAX_SIM multivector"):
        occupation_vector_store(qdrant, embeddings, vector_name="labels_en")
    with pytest.raises(ValueError, match="sparse BM25 vector"):
        occupation_vector_store(qdrant, embeddings, vector_name="bm25_en")
    with pytest.raises(ValueError, match="has no vector 'title_de'; it has ") as caught:
        occupation_vector_store(qdrant, embeddings, vector_name="title_de")
    listed = re.sub(r".*; it has ", "", str(caught.value)).split(", ")  # the synced collection's vectors
    assert listed == sorted(listed)
    assert {"labels_en", "skills", "title_en"} <= set(listed)
    assert not any(name.endswith("_de") for name in listed)
