"""The shutdown drain waits for calls to stop arriving, and never longer than its limit."""

from __future__ import annotations

import asyncio
import time

from jobmatch.server.drain import CallClock


async def test_wait_quiet_returns_once_no_call_arrived_for_the_quiet_time() -> None:
    clock = CallClock()
    started = time.monotonic()
    await clock.wait_quiet(limit_s=5, quiet_s=0.2)
    assert 0.15 < time.monotonic() - started < 1


async def test_wait_quiet_gives_up_at_its_limit_while_calls_keep_arriving() -> None:
    clock = CallClock()

    async def keep_calling() -> None:
        while True:
            clock.last_call = time.monotonic()  # what intercept_service records for each call
            await asyncio.sleep(0.05)

    caller = asyncio.create_task(keep_calling())
    started = time.monotonic()
    try:
        await clock.wait_quiet(limit_s=0.6, quiet_s=0.2)
    finally:
        caller.cancel()
    assert 0.55 < time.monotonic() - started < 1.5
