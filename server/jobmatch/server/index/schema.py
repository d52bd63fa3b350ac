"""The shape of the ESCO collections: named vectors, payload indexes, the manifest, and names.

Occupations (one point per occupation, id ``uuid5(NAMESPACE_URL, uri)``), per indexed language:

* ``title_<lang>``   anchor side, the preferred label (title-to-title matching on the main name);
* ``labels_<lang>``  anchor side, multivector (MAX_SIM) of preferred + alt + hidden labels: a query
                     scores as its closest label, so "Datenwissenschaftlerin" or "data engineer"
                     find their occupation without diluting a mean vector;
* ``description_<lang>``  positive side, opt-in (``descriptions=True``): ~3x the embedding cost of
                     the titles with long texts that JobBERT truncates at 64 tokens; meant for
                     description-trained models (CareerBERT-G) and free-text queries;
* ``bm25_<lang>``    no head (lexical): a sparse BM25 vector of the same labels with the parts of
                     their compound words, in the language's own tokenizer and stemmer
                     (:mod:`lexical`, :mod:`compounds`), IDF applied by the engine;

and once, if the dataset has skills: ``skills``, positive side, the essential skill labels as
JobBERT's comma-separated list, most specific first (occupation-specific, sector-specific,
cross-sector, transversal), so truncation drops the least telling ones.

Skills (one point per skill), in the skills' language:

* ``label``   positive side, the skill's preferred label (MatchSkills: a job title meets it across
              the heads);
* ``labels``  positive side, multivector (MAX_SIM) of the preferred + alternative labels: a span of
              text scores as its closest label ("ML" finds "utilise machine learning");
* ``bm25``    no head (lexical): BM25 of the same labels, IDF applied by the engine.

ExtractSkills searches ``labels`` and ``bm25`` (:mod:`extraction`).

The manifest lives in the collection's ``metadata`` (a Qdrant server's own; the Edge store's catalog):
model name, source, dimension, asymmetry, vectors and their sides, languages, schema version.
Its fingerprint (everything but the data) names the collection: ``<alias>__<model>__<fingerprint>``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import uuid
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any, Literal

from jobmatch.client.manifest import MANIFEST_KEY, OCCUPATIONS_ALIAS, SKILLS_ALIAS
from jobmatch.server.index.embedder import ModelIdentity, Side
from jobmatch.server.index.errors import IncompatibleIndex, ModelMismatch
from jobmatch.server.index.store import CollectionSpec, DenseSpec

__all__ = [
    "INTEGER_INDEXES",
    "KEYWORD_INDEXES",
    "MANIFEST_KEY",
    "OCCUPATIONS_ALIAS",
    "SCHEMA_VERSION",
    "SKILLS_ALIAS",
    "IndexKind",
    "Layout",
    "Manifest",
    "VectorSpec",
    "collection_name",
    "collection_spec",
    "point_id",
]

SCHEMA_VERSION = 6
"""2: BM25 vectors, and the store on Qdrant Edge; 3: skills get labels and bm25; 4: float16 vectors;
5: an integer index on ``esco_depth`` (:data:`INTEGER_INDEXES`); 6: the occupations' BM25 vectors read
the parts of compound words (:mod:`~jobmatch.server.index.compounds`)."""

IndexKind = Literal["occupations", "skills"]
Family = Literal["title", "labels", "bm25", "description", "skills", "label"]

KEYWORD_INDEXES: dict[IndexKind, tuple[str, ...]] = {
    "occupations": ("isco_prefixes", "languages"),
    "skills": (),
}
"""The payload fields a search filters on, indexed as keywords; only these and :data:`INTEGER_INDEXES` are.
Qdrant Edge keeps 5 MiB of each keyword index resident even in a shard's empty appendable segment (issue 13:
the store process held 20 MiB for the occupations' four indexes, two of them on fields nothing filters by)."""
INTEGER_INDEXES: dict[IndexKind, tuple[str, ...]] = {
    "occupations": ("esco_depth",),
    "skills": (),
}
"""The payload fields a ranking's bonuses read (:class:`~jobmatch.server.index.plan.PayloadBonus`), indexed: the
engine then checks a candidate's condition in the index. Read from each candidate's payload instead, the
general-occupation bonus cost 3-4 ms a job-title match (11 -> 14.5 ms, one client, in-process Edge)."""


def point_id(uri: str) -> str:
    """The point id of an ESCO concept: ``uuid5(NAMESPACE_URL, uri)``, stable everywhere."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, uri))


@dataclass(frozen=True, slots=True)
class VectorSpec:
    """One named vector: what it embeds (family, language) and through which head (side).

    A ``sparse`` vector is lexical (BM25): no model, so no head; ``side`` is None.
    """

    name: str
    family: Family
    side: Side | None
    multi: bool = False
    language: str | None = None
    sparse: bool = False


@dataclass(frozen=True)
class Layout:
    """Which named vectors a collection has; derived from the dataset and the sync options."""

    kind: IndexKind
    languages: tuple[str, ...] = ()
    skills_language: str | None = None  # language of skill labels; None: the dataset has no skills
    descriptions: bool = False

    @cached_property
    def vectors(self) -> tuple[VectorSpec, ...]:
        if self.kind == "skills":
            lang = self.skills_language
            return (
                VectorSpec("label", "label", "positive", language=lang),
                VectorSpec("labels", "labels", "positive", multi=True, language=lang),
                VectorSpec("bm25", "bm25", None, language=lang, sparse=True),
            )
        specs = []
        for lang in self.languages:
            specs.append(VectorSpec(f"title_{lang}", "title", "anchor", language=lang))
            specs.append(VectorSpec(f"labels_{lang}", "labels", "anchor", multi=True, language=lang))
            specs.append(VectorSpec(f"bm25_{lang}", "bm25", None, language=lang, sparse=True))
            if self.descriptions:
                specs.append(VectorSpec(f"description_{lang}", "description", "positive", language=lang))
        if self.skills_language is not None:
            specs.append(VectorSpec("skills", "skills", "positive", language=self.skills_language))
        return tuple(specs)

    def families(self) -> set[str]:
        return {spec.family for spec in self.vectors}

    def family(self, family: str, languages: tuple[str, ...] | None = None) -> list[VectorSpec]:
        """The vectors of a family, restricted to ``languages`` where they have one."""
        return [
            s
            for s in self.vectors
            if s.family == family and (languages is None or s.language is None or s.language in languages)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "languages": list(self.languages),
            "skills_language": self.skills_language,
            "descriptions": self.descriptions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Layout:
        return cls(
            kind=data["kind"],
            languages=tuple(data["languages"]),
            skills_language=data.get("skills_language"),
            descriptions=bool(data.get("descriptions", False)),
        )


def collection_spec(layout: Layout, dimension: int) -> CollectionSpec:
    """The collection a layout needs: cosine vectors (MAX_SIM multivectors for label sets), keyword indexes."""
    return CollectionSpec(
        dense={spec.name: DenseSpec(dimension, spec.multi) for spec in layout.vectors if not spec.sparse},
        sparse=tuple(spec.name for spec in layout.vectors if spec.sparse),
        keyword_indexes=KEYWORD_INDEXES[layout.kind],
        integer_indexes=INTEGER_INDEXES[layout.kind],
    )


@dataclass(frozen=True)
class Manifest:
    """What a collection holds, stored in its metadata under :data:`MANIFEST_KEY`."""

    layout: Layout
    model: ModelIdentity
    schema_version: int = SCHEMA_VERSION
    esco_version: str = ""
    points: int = 0
    state: Literal["building", "ready"] = "building"

    @property
    def fingerprint(self) -> str:
        """Hash of what makes vectors comparable and the layout identical (not of the data)."""
        identity = {
            "schema_version": self.schema_version,
            "layout": self.layout.to_json(),
            "model": [self.model.name, self.model.dimension, self.model.asymmetric],
        }
        canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:10]

    def compatible(self, other: Manifest) -> bool:
        """True when ``other`` can be synced into this collection in place."""
        return self.fingerprint == other.fingerprint

    def check_model(self, model: ModelIdentity, where: str) -> None:
        """Raise :class:`ModelMismatch` unless ``model`` embeds into this index's space."""
        if not self.model.same_space(model):
            spec = shlex.quote(f"{model.name}={model.source}")
            raise ModelMismatch(
                f"{where} was built with model {self.model}, but the embedder is {model}: vectors of "
                f"different models are not comparable. Query it with {self.model.name!r}, or rebuild it "
                f"for {model.name!r}: `jobmatch sync --reindex --model {spec}` (with the same Qdrant "
                "options; from Python, sync_esco(..., reindex=True))"
            )

    def to_metadata(self) -> dict[str, Any]:
        return {
            MANIFEST_KEY: {
                "schema_version": self.schema_version,
                "fingerprint": self.fingerprint,
                "layout": self.layout.to_json(),
                "model": asdict(self.model),
                "vectors": {
                    s.name: {"side": s.side, "multi": s.multi, "sparse": s.sparse} for s in self.layout.vectors
                },
                "esco_version": self.esco_version,
                "points": self.points,
                "state": self.state,
            }
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any], where: str) -> Manifest:
        """Parse a collection's metadata; IncompatibleIndex if it is not a readable manifest."""
        data = metadata.get(MANIFEST_KEY)
        if not isinstance(data, dict):
            raise IncompatibleIndex(f"{where} has no jobmatch manifest: it was not built by jobmatch's ESCO sync")
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise IncompatibleIndex(
                f"{where} has schema version {version!r}; this jobmatch reads up to {SCHEMA_VERSION}: upgrade it"
            )
        try:
            return cls(
                layout=Layout.from_json(data["layout"]),
                model=ModelIdentity(**data["model"]),
                schema_version=version,
                esco_version=str(data.get("esco_version", "")),
                points=int(data.get("points", 0)),
                state="ready" if data.get("state") == "ready" else "building",
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IncompatibleIndex(f"{where} has an unreadable manifest ({type(exc).__name__}: {exc})") from None


def _vector_json(spec: VectorSpec) -> dict[str, Any]:
    return {"side": spec.side, "multi": spec.multi, "sparse": spec.sparse}


def collection_name(alias: str, manifest: Manifest) -> str:
    """``<alias>__<model slug>__<fingerprint>``: one physical collection per model and layout."""
    slug = re.sub(r"[^a-z0-9]+", "-", manifest.model.name.lower()).strip("-")[:40] or "model"
    return f"{alias}__{slug}__{manifest.fingerprint}"
