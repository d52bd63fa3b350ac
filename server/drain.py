"""Shutdown without CANCELLED: keep listening until calls stop arriving.

grpc's `Server.stop` cancels every call it has received but not yet handed to a handler. Under
load the event loop is behind, and hundreds of calls sent before SIGTERM sit in that state: their
callers would get CANCELLED, which clients (rightly) do not retry. While the server keeps listening
after shutdown began, those calls reach the services and are refused with UNAVAILABLE /
SHUTTING_DOWN, which clients retry elsewhere. `CallClock` notices when the last call arrived.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

# Calls are taken as no longer arriving once none came for this long.
QUIET_S = 0.3


class CallClock(grpc.aio.ServerInterceptor):
    """An interceptor that records when the latest call arrived; adds nothing else to a call."""

    def __init__(self) -> None:
        self.last_call = time.monotonic()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        self.last_call = time.monotonic()
        return await continuation(handler_call_details)

    async def wait_quiet(self, limit_s: float, quiet_s: float = QUIET_S) -> None:
        """Return once no call arrived for `quiet_s` seconds, or after `limit_s` at most."""
        deadline = time.monotonic() + limit_s
        while True:
            wake = min(self.last_call + quiet_s, deadline)  # the earliest moment it can be quiet
            now = time.monotonic()
            if now >= wake:
                return
            await asyncio.sleep(wake - now)
