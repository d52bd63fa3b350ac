"""The wire form of a `JobMatchError`: status code, message, and google.rpc details.

Details let any client tell a too-long input (BadRequest naming the field) from an overloaded
server (RetryInfo saying when to retry); ErrorInfo carries the machine-readable reason.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from jobmatch.server.errors import JobMatchError

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
