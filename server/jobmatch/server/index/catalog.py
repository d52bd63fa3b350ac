"""Where an index lives: an alias naming one complete collection, and how a sync replaces it.

Readers always go through the alias. A sync writes in place when the live collection has the same
fingerprint (model and layout); otherwise it builds ``<alias>__<model>__<fingerprint>``, fills it,
and only then points the alias at it and drops the old collection, so readers see either the old
complete index or the new complete one. A build interrupted half-way is resumed by the next sync
(the name is deterministic); until then the alias still serves the old one, or nothing. ``reindex``
always builds anew, even for the same model and layout (an index whose files were damaged): into the
same name with :data:`REBUILT` added, or taken off when the live one has it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from jobmatch.server.index.errors import IncompatibleIndex, IndexNotFound
from jobmatch.server.index.schema import (
    SCHEMA_VERSION,
    IndexKind,
    Manifest,
    collection_name,
    collection_spec,
)
from jobmatch.server.index.store import QdrantStore

__all__ = ["REBUILT", "Target", "open_index", "prepare_target", "publish"]

logger = logging.getLogger(__name__)
REBUILT = "__rebuilt"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a sync writes, and what the alias serves meanwhile."""

    alias: str
    collection: str
    live: str | None  # the alias's collection before the sync (None: no index yet)

    @property
    def rebuild(self) -> bool:
        """True when the sync fills a collection that is not live, and switches the alias at the end."""
        return self.collection != self.live


def _where(store: QdrantStore, alias: str, collection: str | None = None) -> str:
    shown = f"{alias!r} (collection {collection!r})" if collection and collection != alias else repr(alias)
    return f"the index {shown} in {store.location}"


def _check_alias_name(store: QdrantStore, alias: str, names: list[str]) -> None:
    if alias in names:
        raise IncompatibleIndex(
            f"{store.location} has a collection named {alias!r}; the ESCO index needs that name for an alias: "
            "rename or drop the collection, or choose another alias"
        )


async def prepare_target(store: QdrantStore, alias: str, manifest: Manifest, *, reindex: bool) -> Target:
    """Pick (and create if needed) the collection a sync of ``manifest`` writes to.

    Raises ModelMismatch when the live index was built with another model and ``reindex`` is off;
    a new layout or schema (e.g. a language added) rebuilds without asking; ``reindex`` rebuilds always.
    """
    names = await store.collection_names()
    _check_alias_name(store, alias, names)
    live = (await store.aliases()).get(alias)
    if live is not None:
        current = Manifest.from_metadata(await store.metadata(live), _where(store, alias, live))
        if not reindex:
            current.check_model(manifest.model, _where(store, alias, live))
        if current.model.source != manifest.model.source:
            where = _where(store, alias)
            logger.warning("%s: model source was %r, now %r", where, current.model.source, manifest.model.source)
        if current.compatible(manifest) and not reindex:
            return Target(alias, live, live)
    name = _build_name(alias, manifest, live)
    if name in names:  # an interrupted build of the same model and layout: resume it
        existing = Manifest.from_metadata(await store.metadata(name), _where(store, alias, name))
        if not existing.compatible(manifest):
            raise IncompatibleIndex(f"{_where(store, alias, name)} holds another layout than its name says: drop it")
        return Target(alias, name, live)
    spec = collection_spec(manifest.layout, manifest.model.dimension)
    await store.create_collection(name, spec, manifest.to_metadata())
    return Target(alias, name, live)


def _build_name(alias: str, manifest: Manifest, live: str | None) -> str:
    """The collection a build fills: :func:`collection_name`, with :data:`REBUILT` added when that is
    the live one (a rebuild of the same model and layout), so the names alternate between rebuilds."""
    name = collection_name(alias, manifest)
    return name + REBUILT if name == live else name


async def publish(store: QdrantStore, target: Target, manifest: Manifest, *, points: int) -> None:
    """Mark the collection ready, point the alias at it, and drop every other build of this alias."""
    await store.finish_build(target.collection)
    await store.update_metadata(target.collection, replace(manifest, points=points, state="ready").to_metadata())
    if target.rebuild:
        await store.switch_alias(target.alias, target.collection)
    for name in await store.collection_names():
        if name.startswith(f"{target.alias}__") and name != target.collection:
            await store.drop_collection(name)
            logger.info("dropped %s, replaced by %s", name, target.collection)


async def open_index(store: QdrantStore, alias: str, kind: IndexKind) -> tuple[str, Manifest]:
    """The collection an alias serves and its manifest, for reading.

    ``alias`` may also name a collection directly. Raises IndexNotFound (nothing synced, or the
    first sync not finished) or IncompatibleIndex (not a jobmatch index, another kind or schema).
    """
    collection = (await store.aliases()).get(alias)
    if collection is None:
        names = await store.collection_names()
        if alias not in names:
            building = [n for n in names if n.startswith(f"{alias}__")]
            hint = " (a sync has started but not finished: run it again)" if building else ": run a sync first"
            raise IndexNotFound(f"no ESCO {kind} index {alias!r} in {store.location}{hint}")
        collection = alias
    where = _where(store, alias, collection)
    manifest = Manifest.from_metadata(await store.metadata(collection), where)
    if manifest.layout.kind != kind:
        raise IncompatibleIndex(f"{where} is an index of {manifest.layout.kind}, not of {kind}")
    if manifest.schema_version != SCHEMA_VERSION:
        raise IncompatibleIndex(
            f"{where} has schema version {manifest.schema_version}, this jobmatch needs {SCHEMA_VERSION}: "
            "sync again to rebuild it"
        )
    return collection, manifest
