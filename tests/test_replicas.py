"""Several stateless replicas behind gRPC client-side load balancing (round_robin)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmatch.client import AsyncJobMatchClient, JobMatchClient
from tests.conftest import make_settings
from tests.support.server import ServerThread

CALLS = 20


@pytest.fixture(scope="module")
def replicas(jobbert_path: Path) -> Iterator[tuple[ServerThread, ServerThread]]:
    specs = [f"jobbert={jobbert_path}"]
    with ServerThread(make_settings(specs)) as first, ServerThread(make_settings(specs)) as second:
        yield first, second


def embedded(replicas: tuple[ServerThread, ServerThread]) -> list[int]:
    return [server.engine.worker_stats.embedded_inputs for server in replicas]


def both(replicas: tuple[ServerThread, ServerThread]) -> str:
    """One target naming both replicas: what a dns:/// name with two addresses resolves to."""
    return "ipv4:" + ",".join(f"127.0.0.1:{server.port}" for server in replicas)


def test_round_robin_spreads_calls_over_replicas(replicas: tuple[ServerThread, ServerThread]) -> None:
    before = embedded(replicas)
    with JobMatchClient(both(replicas), load_balancing="round_robin", timeout=30) as client:
        for i in range(CALLS):
            client.embed([f"nurse {i}"], side="anchor")
    gained = [after - start for after, start in zip(embedded(replicas), before, strict=True)]
    assert sum(gained) == CALLS
    assert min(gained) >= CALLS // 2 - 2, gained  # round robin: about half each


def test_pick_first_sticks_to_one_replica(replicas: tuple[ServerThread, ServerThread]) -> None:
    before = embedded(replicas)
    with JobMatchClient(both(replicas), timeout=30) as client:
        for i in range(CALLS):
            client.embed([f"cook {i}"], side="anchor")
    gained = sorted(after - start for after, start in zip(embedded(replicas), before, strict=True))
    assert gained == [0, CALLS]


async def test_dns_target_with_round_robin(replicas: tuple[ServerThread, ServerThread]) -> None:
    async with AsyncJobMatchClient(f"dns:///{replicas[0].target}", load_balancing="round_robin") as client:
        assert (await client.embed(["baker"], side="positive")).shape == (1, 48)


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="round_robin"):
        JobMatchClient("127.0.0.1:1", load_balancing="random")
