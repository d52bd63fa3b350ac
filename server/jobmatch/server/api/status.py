"""The wire forms of a `JobMatchError`: a call's status (code, message, google.rpc details), and the
`StreamError` of one request that failed inside a call that goes on (a stream, a batch).

Details let any client tell a too-long input (BadRequest naming the field) from an overloaded
server (RetryInfo saying when to retry); ErrorInfo carries the machine-readable reason.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from jobmatch.server.errors import JobMatchError
from jobmatch.v1 import embedding_pb2

ERROR_DOMAIN = "jobmatch.v1"


def _packed(message) -> any_pb2.Any:
    detail = any_pb2.Any()
    detail.Pack(message)
    return detail


def rich_status(err: JobMatchError) -> grpc.Status:
    """The grpc.Status for `err`, with ErrorInfo, and BadRequest / RetryInfo where they apply."""
    details = [_packed(error_details_pb2.ErrorInfo(reason=err.kind.value, domain=ERROR_DOMAIN))]
    if err.field is not None:
        violation = error_details_pb2.BadRequest.FieldViolation(field=err.field, description=err.message)
        details.append(_packed(error_details_pb2.BadRequest(field_violations=[violation])))
    if err.kind.retry_delay_s is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(err.kind.retry_delay_s * 1000))
        details.append(_packed(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=err.status_code.value[0], message=err.message, details=details)
    return rpc_status.to_status(status)


def stream_error(err: JobMatchError) -> embedding_pb2.StreamError:
    """The `StreamError` of one request of a stream or a batch: the code, message, reason, field at
    fault and retry delay the same request would get as a unary call."""
    error = embedding_pb2.StreamError(
        code=err.status_code.value[0], message=err.message, reason=err.kind.value, field=err.field or ""
    )
    if err.kind.retry_delay_s is not None:
        error.retry_delay_ms = int(err.kind.retry_delay_s * 1000)
    return error
