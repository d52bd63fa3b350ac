"""langchain-qdrant's `QdrantVectorStore` over the occupations collection that `jobmatch sync` wrote.

Each point carries LangChain's default payload keys (``page_content``: label and description;
``metadata``: URI, code, ISCO group, label, skills, ESCO version), so a plain ``QdrantVectorStore``
reads it. What it needs from jobmatch is the named vector and the head that embeds queries for it,
both in the collection's manifest: :func:`occupation_vector_store` reads them.
"""

from __future__ import annotations

from typing import Any

from langchain_qdrant import QdrantVectorStore
from qdrant_client import QdrantClient

from jobmatch.client.manifest import OCCUPATIONS_ALIAS, CollectionManifest
from langchain_jobmatch.embeddings import JobMatchEmbeddings


def occupation_vector_store(
    client: QdrantClient,
    embeddings: JobMatchEmbeddings,
    *,
    vector_name: str = "title_en",
    collection_name: str = OCCUPATIONS_ALIAS,
    **kwargs: Any,
) -> QdrantVectorStore:
    """A ``QdrantVectorStore`` that searches the synced ESCO occupations by one named vector.

    ``vector_name``: ``title_<lang>`` (preferred labels, anchor head; job-title queries), ``skills``
    (essential skill lists, positive head; skill-list queries) or ``description_<lang>`` when synced.
    Queries are embedded through the head that vector was built with and, when ``embeddings.model`` is
    empty, by the model named in the manifest. ``labels_<lang>`` is a MAX_SIM multivector, which
    ``QdrantVectorStore`` cannot query: use :class:`JobMatchRetriever` for it. ``kwargs`` go to
    ``QdrantVectorStore`` (``validate_collection_config=False`` skips its one-text dimension check).
    """
    info = client.get_collection(collection_name)
    manifest = CollectionManifest.from_metadata(info.config.metadata or {}, f"collection {collection_name!r}")
    specs = manifest.vectors
    spec = specs.get(vector_name)
    if spec is None:
        raise ValueError(f"{collection_name!r} has no vector {vector_name!r}; it has {', '.join(sorted(specs))}")
    if spec.multi or spec.sparse or spec.side is None:
        raise ValueError(
            f"{vector_name!r} is a {'MAX_SIM multivector' if spec.multi else 'sparse BM25 vector'}, which "
            "QdrantVectorStore cannot query with JobMatchEmbeddings; use a title_<lang>, description_<lang> or "
            "skills vector, or JobMatchRetriever"
        )
    query_embeddings = embeddings.model_copy(
        update={"query_side": spec.side, "model": embeddings.model or manifest.model}
    )
    return QdrantVectorStore(
        client=client,
        collection_name=collection_name,
        embedding=query_embeddings,
        vector_name=vector_name,
        **kwargs,
    )
