"""What a collection synced by ``jobmatch sync`` says about itself, readable without the server.

The server writes a manifest into each ESCO collection's metadata under :data:`MANIFEST_KEY`
(``jobmatch.server.index.schema.Manifest``); tools that open the collection directly (LangChain's
``QdrantVectorStore``) read the model and each named vector's head from it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MANIFEST_KEY", "OCCUPATIONS_ALIAS", "SKILLS_ALIAS", "CollectionManifest", "VectorInfo"]

MANIFEST_KEY = "jobmatch_index"
OCCUPATIONS_ALIAS = "esco_occupations"
SKILLS_ALIAS = "esco_skills"


@dataclass(frozen=True, slots=True)
class VectorInfo:
    """One named vector: the head (``anchor``/``positive``) that embeds queries for it, None for sparse."""

    side: str | None
    multi: bool
    sparse: bool


@dataclass(frozen=True, slots=True)
class CollectionManifest:
    """The embedding model of a collection and its named vectors."""

    model: str
    vectors: Mapping[str, VectorInfo]

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any], where: str) -> CollectionManifest:
        """Read a collection's metadata; ValueError naming ``where`` if it holds no jobmatch manifest."""
        data = metadata.get(MANIFEST_KEY)
        try:
            vectors = {
                name: VectorInfo(spec.get("side"), bool(spec.get("multi")), bool(spec.get("sparse")))
                for name, spec in data["vectors"].items()
            }
            return cls(model=str(data["model"]["name"]), vectors=vectors)
        except (KeyError, TypeError, AttributeError):
            raise ValueError(f"{where} has no readable jobmatch manifest: was it synced by `jobmatch sync`?") from None
