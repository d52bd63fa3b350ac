"""Run every call of a grpc.aio handler inside an async context manager, whatever the RPC's kind.

Server interceptors that need to see a call end (metrics time it, the drain counts it) wrap the
handler's behavior; this module does that wrapping once for the four kinds of RPC.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc

CallHook = Callable[[grpc.aio.ServicerContext], AbstractAsyncContextManager[None]]
"""Called as each call starts; the call's behavior runs inside what it returns, which sees its
exception (if any) and its end. Streaming calls end when their last response was produced."""


def around_each_call(handler: grpc.RpcMethodHandler, hook: CallHook) -> grpc.RpcMethodHandler:
    """`handler` with each call run inside `hook(context)`."""
    if handler.unary_unary is not None:
        return handler._replace(unary_unary=_around(handler.unary_unary, hook))
    if handler.stream_unary is not None:
        return handler._replace(stream_unary=_around(handler.stream_unary, hook))
    if handler.unary_stream is not None:
        return handler._replace(unary_stream=_around_streaming(handler.unary_stream, hook))
    return handler._replace(stream_stream=_around_streaming(handler.stream_stream, hook))


def _around_streaming(behavior: Callable[..., Any], hook: CallHook) -> Callable[..., Any]:
    """Streaming behaviors either yield responses or write them with context.write() (health Watch)."""
    if inspect.isasyncgenfunction(behavior):
        return _around_generator(behavior, hook)
    return _around(behavior, hook)


def _around(behavior: Callable[..., Awaitable[Any]], hook: CallHook) -> Callable[..., Awaitable[Any]]:
    async def hooked(request: Any, context: grpc.aio.ServicerContext) -> Any:
        async with hook(context):
            return await behavior(request, context)

    return hooked


def _around_generator(behavior: Callable[..., AsyncIterator[Any]], hook: CallHook) -> Callable[..., AsyncIterator[Any]]:
    async def hooked(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async with hook(context):
            async for response in behavior(request, context):
                yield response

    return hooked
