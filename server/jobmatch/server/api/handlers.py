"""Turn servicer methods into gRPC handlers that decode requests themselves and map errors.

grpc.aio answers undecodable request bytes with UNKNOWN; these handlers hand the servicer a
`MalformedMessage` instead, so it can answer INVALID_ARGUMENT. Every `JobMatchError` becomes the
status its kind names (errors.py); anything else is logged and becomes INTERNAL.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf import descriptor, message, message_factory

from jobmatch.server.api.status import rich_status
from jobmatch.server.errors import ErrorKind, JobMatchError

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class MalformedMessage:
    """Stands in for a request whose bytes did not decode."""

    type_name: str
    reason: str

    def error(self) -> JobMatchError:
        return JobMatchError(ErrorKind.MALFORMED_REQUEST, f"malformed {self.type_name}: {self.reason}")


def require_decoded(request: T | MalformedMessage) -> T:
    """The decoded request, or raise MALFORMED_REQUEST."""
    if isinstance(request, MalformedMessage):
        raise request.error()
    return request


def _lenient_parser(message_class: type[message.Message]) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> message.Message | MalformedMessage:
        try:
            return message_class.FromString(data)
        except message.DecodeError as err:
            return MalformedMessage(message_class.DESCRIPTOR.full_name, str(err) or "cannot decode")

    return parse


def as_job_match_error(err: Exception) -> JobMatchError:
    """`err` itself when it is a `JobMatchError`; anything else is logged and becomes INTERNAL."""
    if isinstance(err, JobMatchError):
        return err
    logger.exception("unexpected error in a handler", exc_info=err)
    return JobMatchError(ErrorKind.INTERNAL, "internal error")


async def _abort(context: grpc.aio.ServicerContext, err: Exception) -> None:
    status = rich_status(as_job_match_error(err))
    await context.abort(status.code, status.details, status.trailing_metadata)


def _guard_unary(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(request, context)
        except Exception as err:
            await _abort(context, err)

    return handler


def _guard_stream(method: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def handler(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            async for response in method(request, context):
                yield response
        except Exception as err:
            await _abort(context, err)

    return handler


_HANDLER_FACTORIES = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def service_handler(service: descriptor.ServiceDescriptor, servicer: object) -> grpc.GenericRpcHandler:
    """A handler for every method of `service`, served by `servicer`'s method of the same name."""
    handlers = {}
    for method in service.methods:
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        implementation = getattr(servicer, method.name)
        guard = _guard_stream if method.server_streaming else _guard_unary
        factory = _HANDLER_FACTORIES[(method.client_streaming, method.server_streaming)]
        handlers[method.name] = factory(
            guard(implementation),
            request_deserializer=_lenient_parser(request_class),
            response_serializer=response_class.SerializeToString,
        )
    return grpc.method_handlers_generic_handler(service.full_name, handlers)
