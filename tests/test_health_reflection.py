"""Health follows the models (NOT_SERVING -> SERVING -> NOT_SERVING); reflection lists services."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from jobmatch.v1 import embedding_pb2 as pb
from jobmatch.v1 import embedding_pb2_grpc as pb_grpc
from tests.conftest import make_settings
from tests.support.server import ServerThread

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def health_of(channel: grpc.Channel, service: str = "") -> int:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def test_health_transitions_with_model_loading_and_shutdown(jobbert_path) -> None:
    with (
        ServerThread(make_settings([f"jobbert={jobbert_path}"]), load_models=False) as server,
        grpc.insecure_channel(server.target) as channel,
    ):
        stub = pb_grpc.EmbeddingServiceStub(channel)
        assert health_of(channel) == NOT_SERVING
        assert health_of(channel, "jobmatch.v1.EmbeddingService") == NOT_SERVING
        with pytest.raises(grpc.RpcError) as caught:
            stub.Embed(pb.EmbedRequest(side=pb.SIDE_ANCHOR, inputs=["nurse"]), timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "loading" in caught.value.details()

        server.run(server.app.load_models())
        assert health_of(channel) == SERVING
        assert health_of(channel, "jobmatch.v1.EmbeddingService") == SERVING
        assert len(stub.Embed(pb.EmbedRequest(side=pb.SIDE_ANCHOR, inputs=["nurse"])).embeddings) == 1

        server.run(server.app.begin_shutdown())
        assert health_of(channel) == NOT_SERVING
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
        assert health_of(channel) == NOT_SERVING
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
