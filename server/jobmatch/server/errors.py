"""The one error type the server raises, and its mapping to gRPC status codes.

Every layer (models, batcher, API) raises `JobMatchError` with an `ErrorKind`; the status
code a caller sees is decided here and nowhere else.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import grpc

StatusName = Literal[
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "FAILED_PRECONDITION",
    "UNAVAILABLE",
    "RESOURCE_EXHAUSTED",
    "DEADLINE_EXCEEDED",
    "CANCELLED",
    "UNAUTHENTICATED",
    "INTERNAL",
]
"""The gRPC status codes the server answers with, by their `grpc.StatusCode` names. grpc is imported
where a status is sent, not here: the store's own process raises these errors too, and grpc would
cost it ~16 MiB resident (`store/process.py`)."""


class ErrorKind(enum.Enum):
    """What went wrong, from the caller's point of view. The value is a stable reason string."""

    EMPTY_INPUT = "EMPTY_INPUT"
    INPUT_TOO_LONG = "INPUT_TOO_LONG"
    TOO_MANY_INPUTS = "TOO_MANY_INPUTS"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    MISSING_SIDE = "MISSING_SIDE"
    MALFORMED_REQUEST = "MALFORMED_REQUEST"
    UNKNOWN_MODEL = "UNKNOWN_MODEL"
    OCCUPATION_NOT_FOUND = "OCCUPATION_NOT_FOUND"
    INVALID_QUERY = "INVALID_QUERY"
    INVALID_FILTER = "INVALID_FILTER"
    INVALID_DATASET = "INVALID_DATASET"
    RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"
    INDEX_NOT_FOUND = "INDEX_NOT_FOUND"
    INDEX_EMPTY = "INDEX_EMPTY"
    INDEX_INCOMPATIBLE = "INDEX_INCOMPATIBLE"
    MODEL_MISMATCH = "MODEL_MISMATCH"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    STORE_LOCKED = "STORE_LOCKED"
    QUEUE_FULL = "QUEUE_FULL"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    CANCELLED = "CANCELLED"
    NOT_READY = "NOT_READY"
    START_FAILED = "START_FAILED"
    SHUTTING_DOWN = "SHUTTING_DOWN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INTERNAL = "INTERNAL"

    @property
    def status_code(self) -> grpc.StatusCode:
        import grpc  # loaded already wherever a status is sent (see StatusName)

        return grpc.StatusCode[_STATUS_CODES[self]]

    @property
    def retryable(self) -> bool:
        """True when the same request may succeed later (overload, start-up, shutdown)."""
        return self in _RETRY_DELAYS_S

    @property
    def retry_delay_s(self) -> float | None:
        """How long a client should wait before retrying, or None when retrying cannot help."""
        return _RETRY_DELAYS_S.get(self)


_STATUS_CODES: dict[ErrorKind, StatusName] = {
    ErrorKind.EMPTY_INPUT: "INVALID_ARGUMENT",
    ErrorKind.INPUT_TOO_LONG: "INVALID_ARGUMENT",
    ErrorKind.TOO_MANY_INPUTS: "INVALID_ARGUMENT",
    ErrorKind.INVALID_ARGUMENT: "INVALID_ARGUMENT",
    ErrorKind.MISSING_SIDE: "INVALID_ARGUMENT",
    ErrorKind.MALFORMED_REQUEST: "INVALID_ARGUMENT",
    ErrorKind.UNKNOWN_MODEL: "NOT_FOUND",
    ErrorKind.OCCUPATION_NOT_FOUND: "NOT_FOUND",
    ErrorKind.INVALID_QUERY: "INVALID_ARGUMENT",
    ErrorKind.INVALID_FILTER: "INVALID_ARGUMENT",
    ErrorKind.INVALID_DATASET: "INVALID_ARGUMENT",
    # A batch whose answers do not fit in one message: the same request would fail again, so not
    # RESOURCE_EXHAUSTED (which clients retry); send fewer queries per call.
    ErrorKind.RESPONSE_TOO_LARGE: "INVALID_ARGUMENT",
    # The index is missing, empty or built for another model: the system is not in the state the
    # call needs, and retrying will not help until someone runs a sync.
    ErrorKind.INDEX_NOT_FOUND: "FAILED_PRECONDITION",
    ErrorKind.INDEX_EMPTY: "FAILED_PRECONDITION",
    ErrorKind.INDEX_INCOMPATIBLE: "FAILED_PRECONDITION",
    ErrorKind.MODEL_MISMATCH: "FAILED_PRECONDITION",
    ErrorKind.STORE_UNAVAILABLE: "UNAVAILABLE",
    ErrorKind.STORE_LOCKED: "UNAVAILABLE",
    ErrorKind.QUEUE_FULL: "RESOURCE_EXHAUSTED",
    ErrorKind.OUT_OF_MEMORY: "RESOURCE_EXHAUSTED",
    ErrorKind.DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED",
    ErrorKind.CANCELLED: "CANCELLED",
    ErrorKind.NOT_READY: "UNAVAILABLE",
    # Loading the models or the index failed: retrying cannot help until the server is restarted.
    ErrorKind.START_FAILED: "FAILED_PRECONDITION",
    ErrorKind.SHUTTING_DOWN: "UNAVAILABLE",
    ErrorKind.UNAUTHENTICATED: "UNAUTHENTICATED",
    ErrorKind.INTERNAL: "INTERNAL",
}


_RETRY_DELAYS_S: dict[ErrorKind, float] = {
    ErrorKind.QUEUE_FULL: 0.1,
    ErrorKind.NOT_READY: 1.0,
    ErrorKind.SHUTTING_DOWN: 1.0,
    ErrorKind.STORE_UNAVAILABLE: 1.0,
}


class ModelLoadError(RuntimeError):
    """A configured model could not be loaded (missing path, no hub access, broken files).

    Defined here, not beside the loader, so the CLI can catch it without importing torch.
    """


class JobMatchError(Exception):
    """A failure with a kind (its status code) and a message meant for the caller.

    `field` names the request field at fault (e.g. "inputs[3]"), for INVALID_ARGUMENT kinds.
    """

    def __init__(self, kind: ErrorKind, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field

    @property
    def status_code(self) -> grpc.StatusCode:
        return self.kind.status_code

    def __repr__(self) -> str:
        return f"JobMatchError({self.kind.name}, {self.message!r})"


def start_failed(reason: str) -> JobMatchError:
    """What every call gets once starting the server (loading the models or the index) failed."""
    return JobMatchError(ErrorKind.START_FAILED, f"the server failed to start: {reason}")
