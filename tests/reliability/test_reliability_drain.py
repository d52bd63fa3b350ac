"""The shutdown drain waits for calls to stop arriving and running, then a moment more, and never
longer than its limit. A real grpc.aio server on 127.0.0.1 with the tracker as its interceptor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from jobmatch.server.drain import CallTracker

SLEEP_METHOD = "/test.Sleeper/Sleep"
Tracked = tuple[CallTracker, grpc.aio.Channel]


async def sleep(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    """Sleeps as many milliseconds as the request says, as ASCII digits; answers b"done"."""
    await asyncio.sleep(int(request.decode()) / 1000)
    return b"done"


@pytest.fixture
async def tracked() -> AsyncIterator[Tracked]:
    tracker = CallTracker()
    server = grpc.aio.server(interceptors=[tracker])
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("test.Sleeper", {"Sleep": grpc.unary_unary_rpc_method_handler(sleep)})]
    )
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield tracker, channel
    finally:
        await channel.close()
        await server.stop(None)


async def call_sleep(channel: grpc.aio.Channel, milliseconds: int) -> bytes:
    return await channel.unary_unary(SLEEP_METHOD)(str(milliseconds).encode(), timeout=10)


async def until(condition: Callable[[], bool], limit_s: float = 5) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def running_call(tracked: Tracked, milliseconds: int) -> asyncio.Task[bytes]:
    """A Sleep call, returned once the tracker counts it as running."""
    tracker, channel = tracked
    call = asyncio.create_task(call_sleep(channel, milliseconds))
    await until(lambda: tracker.running == 1)
    return call


async def drain_time(tracker: CallTracker, limit_s: float, quiet_s: float) -> float:
    """Seconds `wait_drained` took."""
    started = time.monotonic()
    await tracker.wait_drained(limit_s=limit_s, quiet_s=quiet_s)
    return time.monotonic() - started


async def test_drained_once_no_call_arrived_for_the_quiet_time(tracked: Tracked) -> None:
    tracker, _ = tracked
    assert 0.15 < await drain_time(tracker, limit_s=5, quiet_s=0.2) < 1


async def test_waits_for_a_running_call_to_end_and_then_the_quiet_time(tracked: Tracked) -> None:
    tracker, _ = tracked
    call = await running_call(tracked, 600)
    waited = await drain_time(tracker, limit_s=5, quiet_s=0.2)
    assert call.done()
    assert call.result() == b"done"
    assert tracker.running == 0
    assert 0.5 < waited < 2.5, f"waited {waited:.2f} s for a call with ~0.6 s left, plus 0.2 s"


async def test_gives_up_at_its_limit_while_a_call_runs(tracked: Tracked) -> None:
    tracker, _ = tracked
    call = await running_call(tracked, 3000)
    assert 0.45 < await drain_time(tracker, limit_s=0.5, quiet_s=0.1) < 1.5
    assert tracker.running == 1
    assert not call.done()
    call.cancel()


async def test_gives_up_at_its_limit_while_calls_keep_arriving(tracked: Tracked) -> None:
    tracker, channel = tracked

    async def keep_calling() -> None:
        while True:
            await call_sleep(channel, 0)
            await asyncio.sleep(0.05)

    caller = asyncio.create_task(keep_calling())
    await until(lambda: tracker.last_event > time.monotonic() - 0.05)
    try:
        assert 0.55 < await drain_time(tracker, limit_s=0.6, quiet_s=0.2) < 1.5
    finally:
        caller.cancel()


async def test_an_open_health_watch_is_not_waited_for(tracked: Tracked) -> None:
    tracker, channel = tracked
    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
    assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
    await asyncio.sleep(0.3)  # the Watch call's arrival is behind the quiet time
    assert await drain_time(tracker, limit_s=5, quiet_s=0.2) < 1
    assert tracker.running == 0
    watch.cancel()
