"""Security: API keys on every jobmatch RPC, TLS and mutual TLS, message size limits, and models only
by configured name. Certificates are made at test time (tests/support/certs.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from jobmatch.cli import main as cli_main
from jobmatch.client import AsyncJobMatchClient, JobMatchClient, JobMatchClientError
from jobmatch.server.app import EMBEDDING_SERVICE, MATCH_SERVICE
from jobmatch.server.config import ServerSettings
from jobmatch.server.esco import load_bundles
from jobmatch.server.index import open_store
from tests.conftest import make_settings
from tests.support.certs import CertFiles, write_certs
from tests.support.esco_bundle import write_bundle
from tests.support.server import ServerThread

KEYS = ["first-key-0123456789", "second-key-9876543210"]
MESSAGE_LIMIT = 64 * 1024
PROTECTED = [(service, method) for service in (EMBEDDING_SERVICE, MATCH_SERVICE) for method in service.methods]
# Metadata that must be refused: nothing, a wrong key both ways, a right key in the wrong scheme, an empty key.
BAD_METADATA = {
    "missing": (),
    "wrong bearer": (("authorization", "Bearer not-the-key-000"),),
    "wrong x-api-key": (("x-api-key", "not-the-key-000"),),
    "basic scheme": (("authorization", f"Basic {KEYS[0]}"),),
    "empty bearer": (("authorization", "Bearer "),),
    "key prefix": (("authorization", f"Bearer {KEYS[0][:-1]}"),),
}


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return write_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def keyed(jobbert_path: Path) -> Iterator[ServerThread]:
    """Plaintext, two API keys, a small message limit."""
    settings = make_settings([f"jobbert={jobbert_path}"], api_keys=KEYS, max_message_bytes=MESSAGE_LIMIT)
    with ServerThread(settings) as server:
        yield server


@pytest.fixture(scope="module")
def tls(jobbert_path: Path, certs: CertFiles) -> Iterator[ServerThread]:
    """TLS and an API key."""
    settings = make_settings(
        [f"jobbert={jobbert_path}"], api_keys=KEYS[:1], tls_cert=certs.server_cert, tls_key=certs.server_key
    )
    with ServerThread(settings) as server:
        yield server


@pytest.fixture(scope="module")
def mtls(jobbert_path: Path, certs: CertFiles) -> Iterator[ServerThread]:
    """Mutual TLS: client certificates signed by the test CA are required."""
    settings = make_settings(
        [f"jobbert={jobbert_path}"],
        tls_cert=certs.server_cert,
        tls_key=certs.server_key,
        tls_client_ca=certs.ca,
    )
    with ServerThread(settings) as server:
        yield server


def raw_call(
    channel: grpc.Channel, service: descriptor.ServiceDescriptor, method: descriptor.MethodDescriptor, metadata
) -> grpc.StatusCode:
    """Call `method` with a default (empty) request and return the status code it ends with."""
    path = f"/{service.full_name}/{method.name}"
    kind = {
        (False, False): channel.unary_unary,
        (False, True): channel.unary_stream,
        (True, False): channel.stream_unary,
        (True, True): channel.stream_stream,
    }[(method.client_streaming, method.server_streaming)]
    call = kind(path, request_serializer=None, response_deserializer=None)
    request = iter([b""]) if method.client_streaming else b""
    try:
        result = call(request, metadata=metadata, timeout=30)
        if method.server_streaming:
            list(result)
    except grpc.RpcError as err:
        return err.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("case", sorted(BAD_METADATA))
def test_every_jobmatch_rpc_refuses_a_missing_or_wrong_key(keyed: ServerThread, case: str) -> None:
    assert len(PROTECTED) >= 6  # Embed, EmbedStream, ListModels, MatchOccupations, GetOccupation, MatchSkills
    with grpc.insecure_channel(keyed.target) as channel:
        codes = {method.name: raw_call(channel, service, method, BAD_METADATA[case]) for service, method in PROTECTED}
    assert set(codes.values()) == {grpc.StatusCode.UNAUTHENTICATED}, codes


@pytest.mark.parametrize("metadata", [("authorization", f"Bearer {KEYS[1]}"), ("x-api-key", KEYS[0])])
def test_every_jobmatch_rpc_accepts_a_configured_key(keyed: ServerThread, metadata: tuple[str, str]) -> None:
    with grpc.insecure_channel(keyed.target) as channel:
        codes = {method.name: raw_call(channel, service, method, (metadata,)) for service, method in PROTECTED}
    assert grpc.StatusCode.UNAUTHENTICATED not in codes.values(), codes
    assert codes["ListModels"] == grpc.StatusCode.OK
    assert codes["Embed"] == grpc.StatusCode.INVALID_ARGUMENT  # reached the servicer: no inputs


def test_refusal_carries_the_reason_and_the_client_sends_its_key(keyed: ServerThread) -> None:
    with (
        JobMatchClient(keyed.target, timeout=30, max_attempts=1) as anonymous,
        pytest.raises(JobMatchClientError) as caught,
    ):
        anonymous.embed(["nurse"], side="anchor")
    assert caught.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert caught.value.reason == "UNAUTHENTICATED"
    assert "missing API key" in caught.value.message
    wrong = JobMatchClient(keyed.target, timeout=30, api_key="a-wrong-key-0000")
    with wrong, pytest.raises(JobMatchClientError, match="invalid API key"):
        list(wrong.embed_stream(["nurse"], side="anchor"))
    with JobMatchClient(keyed.target, timeout=30, api_key=KEYS[0]) as client:
        assert client.embed(["nurse", "cook"], side="anchor").shape == (2, 48)
        assert len(list(client.embed_stream(["nurse", "cook"], side="positive"))) == 2


def test_health_and_reflection_stay_open(keyed: ServerThread) -> None:
    with grpc.insecure_channel(keyed.target) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        (response,) = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
    names = {s.name for s in response.list_services_response.service}
    assert EMBEDDING_SERVICE.full_name in names


def test_message_size_limits_hold_both_ways(keyed: ServerThread) -> None:
    with JobMatchClient(keyed.target, timeout=30, api_key=KEYS[0], max_attempts=1, chunk_size=4096) as client:
        with pytest.raises(JobMatchClientError) as too_big_request:
            client.embed(["x" * (MESSAGE_LIMIT + 1)], side="anchor")
        assert too_big_request.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        # A small request whose answer (1500 x 48 floats) exceeds the server's send limit.
        with pytest.raises(JobMatchClientError) as too_big_response:
            client.embed(["nurse"] * 1500, side="anchor")
        assert too_big_response.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert client.embed(["nurse"] * 100, side="anchor").shape == (100, 48)  # still serving


def test_a_request_never_loads_a_path_or_an_unconfigured_model(
    keyed: ServerThread, symmetric_path: Path, minilm: Path
) -> None:
    with JobMatchClient(keyed.target, timeout=30, api_key=KEYS[0], max_attempts=1) as client:
        for name in (str(symmetric_path), str(minilm), "sentence-transformers/all-MiniLM-L6-v2", "../jobbert"):
            with pytest.raises(JobMatchClientError) as caught:
                client.embed(["nurse"], model=name)
            assert (caught.value.code, caught.value.reason) == (grpc.StatusCode.NOT_FOUND, "UNKNOWN_MODEL")
        assert [m.name for m in client.list_models()] == ["jobbert"]
    assert [m.name for m in keyed.engine.describe_models()] == ["jobbert"]


def test_tls_with_the_right_ca_and_key(tls: ServerThread, certs: CertFiles) -> None:
    with JobMatchClient(tls.target, timeout=30, api_key=KEYS[0], ca_cert=certs.ca) as client:
        assert client.embed(["nurse"], side="anchor").shape == (1, 48)
    with grpc.secure_channel(tls.target, grpc.ssl_channel_credentials(certs.ca.read_bytes())) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING  # open over TLS too


async def test_async_client_over_tls_with_a_key(tls: ServerThread, certs: CertFiles) -> None:
    async with AsyncJobMatchClient(tls.target, timeout=30, api_key=KEYS[0], ca_cert=certs.ca.read_bytes()) as client:
        assert (await client.embed(["nurse"], side="positive")).shape == (1, 48)
        assert [m.name for m in await client.list_models()] == ["jobbert"]
    async with AsyncJobMatchClient(tls.target, timeout=30, ca_cert=certs.ca, max_attempts=1) as anonymous:
        with pytest.raises(JobMatchClientError) as caught:
            await anonymous.list_models()
    assert caught.value.code == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("how", ["wrong CA", "plaintext"])
def test_tls_fails_without_the_servers_ca(tls: ServerThread, certs: CertFiles, how: str) -> None:
    options = {"ca_cert": certs.other_ca} if how == "wrong CA" else {}
    client = JobMatchClient(tls.target, timeout=5, api_key=KEYS[0], max_attempts=1, **options)
    with client, pytest.raises(JobMatchClientError) as caught:
        client.list_models()
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_accepts_a_client_certificate_from_its_ca(mtls: ServerThread, certs: CertFiles) -> None:
    with JobMatchClient(
        mtls.target, timeout=30, ca_cert=certs.ca, client_cert=certs.client_cert, client_key=certs.client_key
    ) as client:
        assert client.embed(["nurse"], side="anchor").shape == (1, 48)


@pytest.mark.parametrize("how", ["no client certificate", "certificate from another CA"])
def test_mutual_tls_refuses_other_clients(mtls: ServerThread, certs: CertFiles, how: str) -> None:
    options = {}
    if how == "certificate from another CA":
        options = {"client_cert": certs.other_client_cert, "client_key": certs.other_client_key}
    client = JobMatchClient(mtls.target, timeout=5, ca_cert=certs.ca, max_attempts=1, **options)
    with client, pytest.raises(JobMatchClientError) as caught:
        client.list_models()
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    # Health is no way around it: the handshake fails before any call.
    channel = grpc.secure_channel(mtls.target, grpc.ssl_channel_credentials(certs.ca.read_bytes()))
    with channel, pytest.raises(grpc.RpcError) as health_error:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health_error.value.code() == grpc.StatusCode.UNAVAILABLE


def test_cli_client_commands_take_the_key_and_ca(
    tls: ServerThread, certs: CertFiles, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["--server", tls.target, "--ca-cert", str(certs.ca)]
    assert cli_main(["models", *base, "--api-key", KEYS[0]]) == 0
    assert "jobbert [default]" in capsys.readouterr().out
    monkeypatch.setenv("JOBMATCH_API_KEY", KEYS[0])
    assert cli_main(["embed", "nurse", "--side", "anchor", *base]) == 0
    assert '"text": "nurse"' in capsys.readouterr().out
    assert cli_main(["models", *base, "--api-key", "wrong-key-0000"]) == 1
    assert "UNAUTHENTICATED" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"tls_cert": "server.pem"}, "tls_cert and tls_key go together"),
        ({"tls_client_ca": "ca.pem"}, "needs tls_cert"),
        ({"tls_cert": "missing.pem", "tls_key": "server.key"}, "no such file"),
        ({"api_keys": "short"}, "at least 8 characters"),
    ],
)
def test_bad_security_settings_are_rejected(
    certs: CertFiles, overrides: dict[str, str], words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(certs.ca.parent)
    with pytest.raises(ValueError, match=words):
        ServerSettings(**overrides)


def test_api_keys_come_from_the_environment_and_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBMATCH_API_KEYS", ",".join(KEYS))
    settings = ServerSettings()
    assert [key.get_secret_value() for key in settings.api_keys] == KEYS
    assert KEYS[0] not in repr(settings)
    assert KEYS[0] not in str(settings.model_dump())


def test_sync_through_a_secured_server(
    tls: ServerThread, certs: CertFiles, jobbert_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = write_bundle(tmp_path / "esco", occupations=5, skills=6)
    base = ["sync", "--server", tls.target, "--ca-cert", str(certs.ca), "--model", f"jobbert={jobbert_path}"]
    base += ["--esco-dir", str(bundle), "--qdrant-path", str(tmp_path / "qdrant")]
    assert cli_main([*base, "--api-key", "a-wrong-key-0000"]) == 1
    assert "UNAUTHENTICATED" in capsys.readouterr().err
    assert cli_main([*base, "--api-key", KEYS[0]]) == 0
    count, uris = asyncio.run(stored_uris(tmp_path / "qdrant", "esco_occupations"))
    assert count == 5
    assert uris == set(load_bundles([bundle]).occupations)  # embedded through the secured server


async def stored_uris(path: Path, alias: str) -> tuple[int, set[str]]:
    """The point count and stored URIs of an index in the embedded store at ``path``."""
    async with await open_store(path) as store:
        payloads = await store.read_payload(alias, ["uri"])
        return await store.count(alias), {p["uri"] for p in payloads.values()}
