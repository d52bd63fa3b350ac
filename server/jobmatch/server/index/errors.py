"""The exceptions of the ESCO index: `JobMatchError`s whose kind decides the gRPC status (errors.py).

EscoIndexError                       base; never raised itself
├── IndexNotFound        INDEX_NOT_FOUND     no such alias/collection (nothing synced yet)
├── EmptyIndex           INDEX_EMPTY         the index exists but holds no point
├── IncompatibleIndex    INDEX_INCOMPATIBLE  no readable manifest, or a newer schema
│   └── ModelMismatch    MODEL_MISMATCH      built with another model (name or dimension)
├── StoreUnavailable     STORE_UNAVAILABLE   the Qdrant server cannot be reached
│   └── StoreLocked      STORE_LOCKED        a local store directory is held by another client
├── InvalidQuery         INVALID_QUERY       empty query, bad top_k, unknown kind/strategy
│   └── InvalidFilter    INVALID_FILTER      an ISCO prefix that is not 1-4 digits, an unsynced language
├── OccupationNotFound   OCCUPATION_NOT_FOUND  a request names an occupation URI the index lacks
└── InvalidDataset       INVALID_DATASET     a sync refused its input before writing anything
"""

from __future__ import annotations

from typing import Any, ClassVar

from jobmatch.server.errors import ErrorKind, JobMatchError

__all__ = [
    "EmptyIndex",
    "EscoIndexError",
    "IncompatibleIndex",
    "IndexNotFound",
    "InvalidDataset",
    "InvalidFilter",
    "InvalidQuery",
    "ModelMismatch",
    "OccupationNotFound",
    "StoreLocked",
    "StoreUnavailable",
]


class EscoIndexError(JobMatchError):
    """Base of the index errors; each subclass names its `ErrorKind`."""

    error_kind: ClassVar[ErrorKind] = ErrorKind.INTERNAL

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(self.error_kind, message, field=field)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with every attribute (kind, field, path): the embedded store's process sends them back."""
        return _rebuilt, (type(self), self.message), self.__dict__


def _rebuilt(cls: type[EscoIndexError], message: str) -> EscoIndexError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    return error


class IndexNotFound(EscoIndexError):
    error_kind = ErrorKind.INDEX_NOT_FOUND


class EmptyIndex(EscoIndexError):
    error_kind = ErrorKind.INDEX_EMPTY


class IncompatibleIndex(EscoIndexError):
    error_kind = ErrorKind.INDEX_INCOMPATIBLE


class ModelMismatch(IncompatibleIndex):
    """The index and the embedder are different embedding spaces: never mix them."""

    error_kind = ErrorKind.MODEL_MISMATCH


class StoreUnavailable(EscoIndexError):
    error_kind = ErrorKind.STORE_UNAVAILABLE


class StoreLocked(StoreUnavailable):
    """Qdrant local mode locks its directory: one client (one process) at a time."""

    error_kind = ErrorKind.STORE_LOCKED

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class InvalidQuery(EscoIndexError):
    error_kind = ErrorKind.INVALID_QUERY


class InvalidFilter(InvalidQuery):
    error_kind = ErrorKind.INVALID_FILTER


class OccupationNotFound(EscoIndexError):
    """An occupation URI that the occupations index does not hold (e.g. ExtractSkills' skill gap)."""

    error_kind = ErrorKind.OCCUPATION_NOT_FOUND


class InvalidDataset(EscoIndexError):
    error_kind = ErrorKind.INVALID_DATASET
