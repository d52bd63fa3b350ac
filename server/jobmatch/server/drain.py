"""Shutdown that loses no call: stop only once calls stopped arriving and the running ones ended.

Two races in grpc's `Server.stop` make the drain wait before calling it:
- `stop` cancels every call the server received but did not yet hand to a handler. Under load the
  event loop is behind, and hundreds of calls sent before SIGTERM sit in that state: their callers
  would get CANCELLED, which clients (rightly) do not retry. While the server keeps listening after
  shutdown began, those calls reach the services and are refused with UNAVAILABLE / SHUTTING_DOWN,
  which clients retry elsewhere.
- once `stop` began, a connection is closed as soon as its last call ended on the server. The
  client may not have read that call's response yet, and its window updates still arriving make
  the kernel answer the close with a reset, which throws the unread response away: the caller
  gets UNAVAILABLE for work that was done. So the drain also waits for running calls to end and
  then a moment more, for their responses to be read, before `stop` closes anything.

`CallTracker` sees every call arrive and end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc

from jobmatch.server.api.call_hooks import around_each_call

# Calls are taken as no longer arriving once none came for this long, and a response as read by
# its caller this long after its call ended.
QUIET_S = 0.3
# How often a drain waiting for running calls looks again.
POLL_S = 0.05
# Calls that last as long as their client wants, not as long as work takes: never waited for.
OPEN_ENDED_METHODS = frozenset({"/grpc.health.v1.Health/Watch"})


class CallTracker(grpc.aio.ServerInterceptor):
    """An interceptor that counts running calls and notes when the latest one arrived and ended."""

    def __init__(self) -> None:
        self.running = 0
        self.last_event = time.monotonic()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        self.last_event = time.monotonic()
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method in OPEN_ENDED_METHODS:
            return handler
        return around_each_call(handler, self._counted)

    @asynccontextmanager
    async def _counted(self, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self.last_event = time.monotonic()

    async def wait_drained(self, limit_s: float, quiet_s: float = QUIET_S) -> None:
        """Return once no call runs and none arrived or ended for `quiet_s` seconds, or after
        `limit_s` at most."""
        deadline = time.monotonic() + limit_s
        while True:
            now = time.monotonic()
            # the earliest moment it can be drained
            wake = now + POLL_S if self.running else self.last_event + quiet_s
            if now >= deadline or now >= wake:
                return
            await asyncio.sleep(min(wake, deadline) - now)
