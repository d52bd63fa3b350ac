"""Optional OpenTelemetry tracing of gRPC calls (the `otel` extra).

With `--otel`, every call gets a server span from opentelemetry-instrumentation-grpc. Spans go to
the global tracer provider; when none is configured (no `opentelemetry-instrument` wrapper), one
is set up that exports over OTLP as the standard OTEL_* variables say.
"""

from __future__ import annotations

import importlib.util

import grpc

INSTRUMENTATION = "opentelemetry.instrumentation.grpc"


def otel_available() -> bool:
    return (
        importlib.util.find_spec("opentelemetry") is not None and importlib.util.find_spec(INSTRUMENTATION) is not None
    )


def otel_interceptor() -> grpc.aio.ServerInterceptor:
    """The grpc.aio server interceptor that opens a span per call."""
    from opentelemetry import trace
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    if not _has_sdk_provider(trace.get_tracer_provider()):
        _install_otlp_provider()
    return aio_server_interceptor()


def _has_sdk_provider(provider: object) -> bool:
    return type(provider).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider")


def _install_otlp_provider() -> None:
    """An SDK provider exporting in batches over OTLP, where the SDK and exporter are installed."""
    if importlib.util.find_spec("opentelemetry.sdk") is None:
        return
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "jobmatch"}))
    if importlib.util.find_spec("opentelemetry.exporter.otlp.proto.grpc") is not None:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
