"""Prometheus metrics: what the server is doing, served over HTTP at /metrics.

Three sources, each as cheap as it can be on the hot path:
- queue depth, worker counters and model state are read from the engine at scrape time;
- batch size, padded tokens and forward-pass time are observed by the device worker per batch;
- per-RPC latency and errors by status code come from a grpc.aio server interceptor.
Every server has its own registry, so several servers in one process never share a series.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from jobmatch.server.api.call_hooks import around_each_call
from jobmatch.server.config import ServerSettings

if TYPE_CHECKING:  # the engine imports torch; what only configures logging (a no-op sync) should not
    from jobmatch.server.batching import EmbeddingEngine

RPC_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
BATCH_INPUTS_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
BATCH_TOKENS_BUCKETS = (16, 64, 256, 1024, 4096, 16384, 65536, 262144)
BATCH_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class EngineCollector(Collector):
    """Reads the engine's state when Prometheus scrapes: nothing is counted on the hot path."""

    def __init__(self, engine: EmbeddingEngine, settings: ServerSettings, serving: Callable[[], bool]) -> None:
        self._engine = engine
        self._settings = settings
        self._serving = serving

    def collect(self) -> Iterator[Metric]:
        engine, stats = self._engine, self._engine.worker_stats
        yield GaugeMetricFamily("jobmatch_queue_inputs", "Inputs waiting for the device.", value=engine.queued_inputs)
        yield GaugeMetricFamily(
            "jobmatch_queue_capacity_inputs", "Most inputs the queue holds.", value=self._settings.max_queued_inputs
        )
        yield CounterMetricFamily("jobmatch_embedded_inputs", "Inputs embedded.", value=stats.embedded_inputs)
        yield CounterMetricFamily(
            "jobmatch_dropped_inputs",
            "Queued inputs dropped: cancelled or past their deadline.",
            value=stats.dropped_inputs,
        )
        yield CounterMetricFamily(
            "jobmatch_oom_splits", "Batches split after running out of device memory.", value=stats.oom_splits
        )
        loaded = {model.name for model in engine.describe_models()}
        state = GaugeMetricFamily("jobmatch_model_loaded", "1 once the model is loaded and warm.", labels=["model"])
        for spec in self._settings.models:
            state.add_metric([spec.name], 1.0 if spec.name in loaded else 0.0)
        yield state
        yield GaugeMetricFamily("jobmatch_serving", "1 while health reports SERVING.", value=float(self._serving()))


class ServerMetrics:
    """The registry of one server, its batch observer, its RPC interceptor, and its HTTP endpoint."""

    def __init__(self, engine: EmbeddingEngine, settings: ServerSettings, serving: Callable[[], bool]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(EngineCollector(engine, settings, serving))
        self.batch_inputs = Histogram(
            "jobmatch_batch_inputs", "Inputs per forward pass.", buckets=BATCH_INPUTS_BUCKETS, registry=self.registry
        )
        self.batch_tokens = Histogram(
            "jobmatch_batch_tokens",
            "Padded tokens per forward pass (inputs x longest input).",
            buckets=BATCH_TOKENS_BUCKETS,
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "jobmatch_batch_duration_seconds",
            "Time of one forward pass.",
            buckets=BATCH_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.rpc_seconds = Histogram(
            "jobmatch_rpc_duration_seconds",
            "Time from the start to the end of a call, streams included.",
            ["service", "method"],
            buckets=RPC_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.rpc_errors = Counter(
            "jobmatch_rpc_errors",
            "Calls that ended with a status other than OK.",
            ["service", "method", "code"],
            registry=self.registry,
        )
        self._rpc_timers: dict[str, Any] = {}
        self.interceptor = RpcMetricsInterceptor(self)
        self._http: Any = None
        engine.observe_batches(self.observe_batch)

    def observe_batch(self, inputs: int, padded_tokens: int, seconds: float) -> None:
        self.batch_inputs.observe(inputs)
        self.batch_tokens.observe(padded_tokens)
        self.batch_seconds.observe(seconds)

    def observe_rpc(self, method: str, seconds: float, code: str) -> None:
        timer = self._rpc_timers.get(method)
        if timer is None:  # first call of this method: look its series up once
            timer = self._rpc_timers[method] = self.rpc_seconds.labels(*_service_and_name(method))
        timer.observe(seconds)
        if code != "OK":
            self.rpc_errors.labels(*_service_and_name(method), code).inc()

    def serve_http(self, host: str, port: int) -> int:
        """Serve /metrics on a daemon thread; returns the port (useful with port 0)."""
        self._http, _ = start_http_server(port, addr=host, registry=self.registry)
        return self._http.server_port

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None


def _service_and_name(method: str) -> tuple[str, str]:
    """("jobmatch.v1.EmbeddingService", "Embed") from "/jobmatch.v1.EmbeddingService/Embed"."""
    service, _, name = method.lstrip("/").partition("/")
    return service, name


def _final_code(context: grpc.aio.ServicerContext, error: BaseException | None) -> str:
    """The status a call ended with, as its name."""
    code = context.code()
    if code is not None:
        return code.name if isinstance(code, grpc.StatusCode) else grpc.StatusCode(code).name
    if error is None:
        return "OK"
    if isinstance(error, asyncio.CancelledError):
        remaining = context.time_remaining()
        return "DEADLINE_EXCEEDED" if remaining is not None and remaining <= 0 else "CANCELLED"
    return "UNKNOWN"


class RpcMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Times every call and counts the ones that fail, by method and status code."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return around_each_call(handler, functools.partial(self._timed, handler_call_details.method))

    @asynccontextmanager
    async def _timed(self, method: str, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
        started, error = time.perf_counter(), None
        try:
            yield
        except BaseException as err:
            error = err
            raise
        finally:
            self._metrics.observe_rpc(method, time.perf_counter() - started, _final_code(context, error))
