"""The names :mod:`jobmatch.server.index.store` exports, for type checkers and for the lazy loader (``__init__.py``)."""

from .base import CollectionSpec, DenseSpec, PointData, StoredPoint
from .facade import QdrantStore
from .opening import default_store_path, open_store

__all__ = [
    "CollectionSpec",
    "DenseSpec",
    "PointData",
    "QdrantStore",
    "StoredPoint",
    "default_store_path",
    "open_store",
]
