"""Assemble the gRPC server: services, health, reflection, and the start/stop sequence.

Health is reported per service. `jobmatch.v1.EmbeddingService` is SERVING once every model is loaded
and warm; `jobmatch.v1.MatchService` once the ESCO index is open, which on a first start means
synced first (Embed is answered meanwhile; match calls get UNAVAILABLE / NOT_READY saying how far
the sync is); the whole server (`""`) once both are. Everything is NOT_SERVING again from the moment
shutdown begins.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from jobmatch.server.api.auth import ApiKeyInterceptor, server_credentials
from jobmatch.server.api.embedding_service import EmbeddingServicer
from jobmatch.server.api.handlers import service_handler
from jobmatch.server.api.match_service import MatchServicer
from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.drain import CallTracker
from jobmatch.server.heap import return_freed_heap
from jobmatch.server.index import EngineEmbedder, QdrantStore, SyncProgress
from jobmatch.server.matching import open_configured_store, prepare_index
from jobmatch.server.observability import ServerMetrics
from jobmatch.server.observability.tracing import otel_interceptor
from jobmatch.v1 import embedding_pb2, match_pb2

logger = logging.getLogger(__name__)

EMBEDDING_SERVICE = embedding_pb2.DESCRIPTOR.services_by_name["EmbeddingService"]
MATCH_SERVICE = match_pb2.DESCRIPTOR.services_by_name["MatchService"]
# Health is reported for the whole server ("") and for each jobmatch service.
HEALTH_SERVICES = ("", EMBEDDING_SERVICE.full_name, MATCH_SERVICE.full_name)
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class JobMatchServer:
    """A grpc.aio server over an `EmbeddingEngine` and the ESCO index.

    `start` (listen), then `load_models` (models, then the index), then `stop`.
    """

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.engine = EmbeddingEngine(settings)
        self.match = MatchServicer(settings)
        self.health = health.aio.HealthServicer()
        self.port: int | None = None
        self.serving = False
        self.metrics = (
            ServerMetrics(self.engine, settings, lambda: self.serving) if settings.metrics_port is not None else None
        )
        self.metrics_port: int | None = None
        self._server: grpc.aio.Server | None = None
        self._store: QdrantStore | None = None
        self._calls = CallTracker()

    async def start(self) -> int:
        """Listen and answer (health NOT_SERVING, calls UNAVAILABLE) before models are loaded."""
        limit = self.settings.max_message_bytes
        server = grpc.aio.server(
            interceptors=self._interceptors(),
            options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)],
        )
        servicer = EmbeddingServicer(self.engine, self.settings.stream_window)
        server.add_generic_rpc_handlers(
            [service_handler(EMBEDDING_SERVICE, servicer), service_handler(MATCH_SERVICE, self.match)]
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            [*HEALTH_SERVICES[1:], health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
            server,
        )
        for service in HEALTH_SERVICES:
            await self.health.set(service, _NOT_SERVING)
        address = f"{self.settings.host}:{self.settings.port}"
        credentials = server_credentials(self.settings)
        if credentials is None:
            self.port = server.add_insecure_port(address)
        else:
            self.port = server.add_secure_port(address, credentials)
        await server.start()
        self._server = server
        if self.metrics is not None:
            self.metrics_port = self.metrics.serve_http(self.settings.host, self.settings.metrics_port or 0)
            logger.info("metrics on http://%s:%d/metrics", self.settings.host, self.metrics_port)
        security = "plaintext" if credentials is None else "mutual TLS" if self.settings.tls_client_ca else "TLS"
        auth = f", {len(self.settings.api_keys)} API key(s)" if self.settings.api_keys else ""
        logger.info("listening on %s:%d (%s%s)", self.settings.host, self.port, security, auth)
        return self.port

    def _interceptors(self) -> list[grpc.aio.ServerInterceptor]:
        """Outermost first: the call tracker (drain.py), metrics see every call (refused ones too), then
        traces, then the key check."""
        interceptors: list[grpc.aio.ServerInterceptor] = [self._calls]
        if self.metrics is not None:
            interceptors.append(self.metrics.interceptor)
        if self.settings.otel:
            interceptors.append(otel_interceptor())
        if self.settings.api_keys:
            interceptors.append(ApiKeyInterceptor([key.get_secret_value() for key in self.settings.api_keys]))
        return interceptors

    async def load_models(self) -> None:
        """Load and warm every model (EmbeddingService SERVING), then open the ESCO index, syncing an
        empty one first (MatchService SERVING, and the whole server).

        If the models fail, nothing serves: every call gets START_FAILED with the reason. If only the
        index fails, EmbeddingService stays SERVING and Embed is answered; MatchService (and "") stay
        NOT_SERVING and match calls get START_FAILED. Either way the error is raised: `serve` then
        shuts down and `jobmatch serve` exits 1 (see docs/api.md, "Health")."""
        try:
            await self.engine.start()
        except Exception as err:
            reason = f"{type(err).__name__}: {err}"
            self.match.start_failure = reason
            self.engine.fail_start(reason)  # both services: nothing can answer without the models
            raise
        return_freed_heap()  # what loading and checking the models allocated for a moment
        await self.health.set(EMBEDDING_SERVICE.full_name, _SERVING)
        logger.info("embedding with %s", ", ".join(m.name for m in self.settings.models))
        try:
            self._store = await open_configured_store(self.settings, own_process=True)
            embedder = EngineEmbedder(self.engine, self.settings.index_model)
            self.match.sync = SyncProgress()
            self.match.index = await prepare_index(self.settings, embedder, self._store, tracker=self.match.sync)
        except Exception as err:
            self.match.start_failure = f"{type(err).__name__}: {err}"  # MatchService only: Embed goes on
            raise
        finally:
            self.match.sync = None
        return_freed_heap()  # and what opening (or first syncing) the index did
        await self.health.set(MATCH_SERVICE.full_name, _SERVING)
        await self.health.set("", _SERVING)
        self.serving = True
        logger.info("serving %s and ESCO matching", ", ".join(m.name for m in self.settings.models))

    async def begin_shutdown(self) -> None:
        """Health NOT_SERVING and new calls UNAVAILABLE; admitted calls go on."""
        self.serving = False
        await self.health.enter_graceful_shutdown()
        self.engine.begin_shutdown()

    async def stop(self, grace: float | None = None) -> None:
        """Graceful stop: in-flight calls get `grace` seconds (default from settings) to finish."""
        grace = self.settings.grace_period_s if grace is None else grace
        started = time.monotonic()
        await self.begin_shutdown()
        if self._server is not None:
            # calls in transit get UNAVAILABLE, not CANCELLED, and responses are read before
            # connections close (drain.py); calls still running when the grace ends are cancelled
            await self._calls.wait_drained(grace)
            await self._server.stop(max(0.0, grace - (time.monotonic() - started)))
        await self.engine.close()
        if self._store is not None:
            await self._store.close()
        if self.metrics is not None:
            self.metrics.close()

    async def serve(self) -> None:
        """Start, load, and run until SIGINT or SIGTERM; then stop gracefully."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await self.start()
        loading = asyncio.create_task(self.load_models())
        await asyncio.wait([loading, asyncio.create_task(stopping.wait())], return_when=asyncio.FIRST_COMPLETED)
        if loading.done() and loading.exception() is None:
            await stopping.wait()
        logger.info("shutting down (grace %.1f s)", self.settings.grace_period_s)
        interrupted = not loading.done()
        if interrupted:
            # A signal during start-up, a first sync say: new embed calls are refused, so the sync stops
            # after the chunks in flight (complete points only; the next start resumes it). Wait for
            # it before the store closes.
            await self.begin_shutdown()
            await asyncio.wait([loading], timeout=self.settings.grace_period_s)
            logger.info("start-up interrupted by the signal")
        await self.stop()
        if loading.done() and not loading.cancelled():
            error = loading.exception()
            if error is not None and not interrupted:
                raise error  # a failed start, re-raised once the server is down
