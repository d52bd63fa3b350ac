"""Health per service: EmbeddingService follows the models, MatchService the ESCO index, "" both
(NOT_SERVING -> SERVING -> NOT_SERVING); a first sync does not hold up Embed; reflection lists services."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from jobmatch.client import JobMatchClientError
from jobmatch.v1 import embedding_pb2 as pb
from jobmatch.v1 import embedding_pb2_grpc as pb_grpc
from jobmatch.v1 import match_pb2, match_pb2_grpc
from tests.conftest import make_settings
from tests.support.esco_bundle import write_bundle
from tests.support.server import ServerThread
from tests.support.server_process import ServerProcess
from tests.support.slow_model import build_slow_jobbert

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
EMBEDDING = "jobmatch.v1.EmbeddingService"
MATCH = "jobmatch.v1.MatchService"


def health_of(channel: grpc.Channel, service: str = "") -> int:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def statuses(channel: grpc.Channel) -> tuple[int, int, int]:
    """Health of ("", EmbeddingService, MatchService)."""
    return health_of(channel), health_of(channel, EMBEDDING), health_of(channel, MATCH)


def match_error(channel: grpc.Channel) -> JobMatchClientError:
    with pytest.raises(grpc.RpcError) as caught:
        match_pb2_grpc.MatchServiceStub(channel).MatchOccupations(
            match_pb2.MatchOccupationsRequest(query="nurse"), timeout=10
        )
    return JobMatchClientError.from_rpc_error(caught.value)


def wait_until(condition: Callable[[], bool], loading: Future[None], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if loading.done():
            loading.result()  # raises the start-up error, if any
            raise AssertionError(f"start-up finished before {what}")
        if condition():
            return
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.05)


def test_health_transitions_with_model_loading_and_shutdown(jobbert_path) -> None:
    with (
        ServerThread(make_settings([f"jobbert={jobbert_path}"]), load_models=False) as server,
        grpc.insecure_channel(server.target) as channel,
    ):
        stub = pb_grpc.EmbeddingServiceStub(channel)
        assert statuses(channel) == (NOT_SERVING, NOT_SERVING, NOT_SERVING)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Embed(pb.EmbedRequest(side=pb.SIDE_ANCHOR, inputs=["nurse"]), timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "loading" in caught.value.details()

        server.run(server.app.load_models())
        assert statuses(channel) == (SERVING, SERVING, SERVING)
        assert len(stub.Embed(pb.EmbedRequest(side=pb.SIDE_ANCHOR, inputs=["nurse"])).embeddings) == 1

        server.run(server.app.begin_shutdown())
        assert statuses(channel) == (NOT_SERVING, NOT_SERVING, NOT_SERVING)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Embed(pb.EmbedRequest(side=pb.SIDE_ANCHOR, inputs=["nurse"]), timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "shutting down" in caught.value.details()


def test_a_failed_start_says_so_instead_of_still_loading(tmp_path) -> None:
    from jobmatch.server.models import ModelLoadError
    from jobmatch.v1 import match_pb2, match_pb2_grpc

    missing = tmp_path / "no-such-model"
    with (
        ServerThread(make_settings([f"broken={missing}"]), load_models=False) as server,
        grpc.insecure_channel(server.target) as channel,
    ):
        with pytest.raises(ModelLoadError):
            server.run(server.app.load_models())
        assert statuses(channel) == (NOT_SERVING, NOT_SERVING, NOT_SERVING)  # without models nothing serves
        calls = [
            lambda: pb_grpc.EmbeddingServiceStub(channel).Embed(pb.EmbedRequest(inputs=["nurse"]), timeout=5),
            lambda: match_pb2_grpc.MatchServiceStub(channel).MatchOccupations(
                match_pb2.MatchOccupationsRequest(query="nurse"), timeout=5
            ),
        ]
        for call in calls:
            with pytest.raises(grpc.RpcError) as caught:
                call()
            assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "failed to start" in caught.value.details()
            assert "no-such-model" in caught.value.details()


def test_a_failed_index_start_fails_match_calls_only(jobbert_path: Path, tmp_path: Path) -> None:
    """The models are fine, the ESCO data is not: Embed goes on, match calls say why they cannot."""
    from jobmatch.server.esco import EscoFormatError

    settings = make_settings([f"jobbert={jobbert_path}"], auto_sync=True, esco_dirs=[tmp_path / "no-such-esco"])
    with (
        ServerThread(settings, load_models=False) as server,
        grpc.insecure_channel(server.target) as channel,
    ):
        with pytest.raises(EscoFormatError):
            server.run(server.app.load_models())
        assert statuses(channel) == (NOT_SERVING, SERVING, NOT_SERVING)
        embedded = pb_grpc.EmbeddingServiceStub(channel).Embed(
            pb.EmbedRequest(side=pb.SIDE_ANCHOR, inputs=["nurse"]), timeout=30
        )
        assert len(embedded.embeddings) == 1
        error = match_error(channel)
        assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "START_FAILED")
        assert "failed to start" in error.message
        assert "no-such-esco" in error.message


def test_embed_is_answered_while_the_first_sync_builds_the_index(models_dir: Path, tmp_path: Path) -> None:
    """An empty index and auto-sync, with a model slowed to 0.1 s a forward pass: EmbeddingService is
    SERVING and Embed answers while MatchService is NOT_SERVING and match calls say how far the sync is."""
    slow = build_slow_jobbert(models_dir / "slow-first-sync", 0.1)
    settings = make_settings(
        [f"slow={slow}"],
        trust_remote_code=True,
        backend="torch",
        auto_sync=True,
        esco_dirs=[write_bundle(tmp_path / "esco", occupations=80, skills=20)],
        max_batch_size=8,
        max_inputs_per_request=8,
        max_batch_wait_ms=0,
    )
    with (
        ServerThread(settings, load_models=False) as server,
        grpc.insecure_channel(server.target) as channel,
    ):
        loading = server.start_loading()
        wait_until(lambda: health_of(channel, EMBEDDING) == SERVING, loading, "EmbeddingService SERVING")
        wait_until(lambda: "being built" in match_error(channel).message, loading, "sync progress")

        error = match_error(channel)
        assert (error.code, error.reason) == (grpc.StatusCode.UNAVAILABLE, "NOT_READY")
        progress = r"(\d+ of 80 occupations|occupations done, \d+ of 20 skills) embedded"
        assert re.fullmatch(f"the ESCO index is being built: {progress}; retry later", error.message), error.message
        assert statuses(channel) == (NOT_SERVING, SERVING, NOT_SERVING)
        embedded = pb_grpc.EmbeddingServiceStub(channel).Embed(
            pb.EmbedRequest(side=pb.SIDE_ANCHOR, inputs=["nurse"]), timeout=30
        )
        assert len(embedded.embeddings) == 1
        assert not loading.done()  # answered before the index was built
        assert health_of(channel, MATCH) == NOT_SERVING

        loading.result(timeout=300)
        assert statuses(channel) == (SERVING, SERVING, SERVING)
        matches = match_pb2_grpc.MatchServiceStub(channel).MatchOccupations(
            match_pb2.MatchOccupationsRequest(query="software engineer grade 0", top_k=3), timeout=30
        )
        assert matches.matches[0].preferred_label == "software engineer grade 0"


def test_sigterm_during_the_first_sync_exits_cleanly(models_dir: Path, tmp_path: Path) -> None:
    """`jobmatch serve` stopped while it embeds the index (Embed already serving): exit 0, no traceback."""
    slow = build_slow_jobbert(models_dir / "slow-first-sync-sigterm", 0.1)
    bundle = write_bundle(tmp_path / "esco", occupations=80, skills=20)
    arguments = ["--model", f"slow={slow}", "--trust-remote-code", "--backend", "torch", "--auto-sync"]
    arguments += ["--esco-dir", str(bundle), "--max-batch-size", "8", "--max-inputs-per-request", "8"]
    server = ServerProcess(arguments, env={"PYTHONPATH": str(Path(__file__).resolve().parents[1])}).start()
    try:
        deadline = time.monotonic() + 180
        while True:  # it listens before loading: connect then, not after a channel's reconnect backoff
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
                break
            except OSError:
                assert server.process is not None
                assert server.process.poll() is None, server.log()[-3000:]
                assert time.monotonic() < deadline, server.log()[-3000:]
                time.sleep(0.1)
        with grpc.insecure_channel(server.target) as channel:

            def syncing() -> bool:
                try:
                    return "being built" in match_error(channel).message
                except grpc.RpcError:  # not listening yet
                    return False

            while not syncing():
                assert server.process is not None
                assert server.process.poll() is None, server.log()[-3000:]
                assert time.monotonic() < deadline, server.log()[-3000:]
                time.sleep(0.1)
            assert health_of(channel, EMBEDDING) == SERVING
        assert server.terminate(timeout=60) == 0, server.log()[-3000:]
    finally:
        server.kill()
    log = server.log()
    assert "start-up interrupted by the signal" in log
    assert "Traceback" not in log


def test_unknown_health_service_is_not_found(server: ServerThread) -> None:
    with grpc.insecure_channel(server.target) as channel, pytest.raises(grpc.RpcError) as caught:
        health_of(channel, "no.such.Service")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_and_describes_the_services(server: ServerThread) -> None:
    with grpc.insecure_channel(server.target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        assert {"jobmatch.v1.EmbeddingService", "grpc.health.v1.Health"} <= services
        described = database.FindFileContainingSymbol("jobmatch.v1.EmbeddingService")
    methods = {m.name for m in described.service[0].method}
    assert methods == {"Embed", "EmbedStream", "ListModels"}
