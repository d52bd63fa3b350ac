"""Optional OpenTelemetry: with --otel every call gets a server span (needs the otel extra)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.instrumentation.grpc", reason="the otel extra is not installed")
pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jobmatch.client import JobMatchClient, JobMatchClientError
from tests.conftest import make_settings
from tests.support.server import ServerThread


def test_every_call_gets_a_server_span(jobbert_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # what `opentelemetry-instrument` or an application would do
    with ServerThread(make_settings([f"jobbert={jobbert_path}"], otel=True)) as server:
        with JobMatchClient(server.target, timeout=30, max_attempts=1) as client:
            client.embed(["nurse"], side="anchor")
            with pytest.raises(JobMatchClientError):
                client.embed([""], side="anchor")
        provider.force_flush()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert "/jobmatch.v1.EmbeddingService/Embed" in spans, list(spans)
    span = spans["/jobmatch.v1.EmbeddingService/Embed"]
    assert span.kind == trace.SpanKind.SERVER
    assert span.attributes["rpc.service"] == "jobmatch.v1.EmbeddingService"
    codes = sorted(s.attributes["rpc.grpc.status_code"] for s in exporter.get_finished_spans() if s.name == span.name)
    assert codes == [0, 3]  # OK, and INVALID_ARGUMENT for the empty input
