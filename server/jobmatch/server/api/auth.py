"""Who may call: TLS / mutual-TLS server credentials and API keys in call metadata.

Clients send a key as `authorization: Bearer KEY` (or `x-api-key: KEY`). Health and reflection
stay open, so load balancers and tools work without one; every other method answers a missing
or wrong key with UNAUTHENTICATED before its request is even decoded.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import grpc

from jobmatch.server.api.status import rich_status
from jobmatch.server.config import ServerSettings
from jobmatch.server.errors import ErrorKind, JobMatchError

OPEN_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)
_BEARER = "bearer "


def server_credentials(settings: ServerSettings) -> grpc.ServerCredentials | None:
    """TLS credentials from the settings' PEM files (client certificates required with a client
    CA), or None for plaintext."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    pair = (settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())
    client_ca = settings.tls_client_ca.read_bytes() if settings.tls_client_ca is not None else None
    return grpc.ssl_server_credentials([pair], root_certificates=client_ca, require_client_auth=client_ca is not None)


def presented_key(metadata: Iterable[tuple[str, Any]] | None) -> str | None:
    """The API key a call carries, from `authorization: Bearer KEY` or `x-api-key: KEY`."""
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str) and value.lower().startswith(_BEARER):
            return value[len(_BEARER) :].strip()
        if key == "x-api-key" and isinstance(value, str):
            return value.strip()
    return None


class ApiKeyInterceptor(grpc.aio.ServerInterceptor):
    """Lets a call through when it carries one of `keys`, or targets an open service."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = [key.encode() for key in keys]

    def allows(self, method: str, metadata: Iterable[tuple[str, Any]] | None) -> bool:
        if method.lstrip("/").split("/", 1)[0] in OPEN_SERVICES:
            return True
        key = presented_key(metadata)
        if key is None:
            return False
        given = key.encode()
        # Compare with every key, in constant time each, so timing tells nothing about which matched.
        return any([hmac.compare_digest(given, expected) for expected in self._keys])

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None or self.allows(handler_call_details.method, handler_call_details.invocation_metadata):
            return handler
        return _refusing(handler, presented_key(handler_call_details.invocation_metadata) is None)


def _refusing(handler: grpc.RpcMethodHandler, missing: bool) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that answers UNAUTHENTICATED without reading."""
    message = "missing API key: send 'authorization: Bearer KEY'" if missing else "invalid API key"
    status = rich_status(JobMatchError(ErrorKind.UNAUTHENTICATED, message))

    async def refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(status.code, status.details, status.trailing_metadata)

    async def refuse_stream(request: Any, context: grpc.aio.ServicerContext):
        await refuse(request, context)
        yield  # pragma: no cover - makes this an async generator; abort raises first

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse_stream)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse_stream)
    return grpc.unary_unary_rpc_method_handler(refuse)
