"""A real jobmatch gRPC server on 127.0.0.1, run in its own thread and event loop for tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from jobmatch.server.app import JobMatchServer
from jobmatch.server.config import ServerSettings

T = TypeVar("T")


class ServerThread:
    """Start with `with ServerThread(settings) as server:`; clients connect to `server.target`.

    With `load_models=False` the server listens but has not loaded its models yet (health
    NOT_SERVING); call `server.run(server.app.load_models())` to finish starting it, or
    `server.start_loading()` to watch health and call the server while it loads.
    """

    def __init__(self, settings: ServerSettings, *, load_models: bool = True) -> None:
        self.app = JobMatchServer(settings.model_copy(update={"host": "127.0.0.1", "port": 0}))
        self._load_models = load_models
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-server", daemon=True)
        self.port: int | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def engine(self):
        return self.app.engine

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def start_loading(self) -> Future[None]:
        """Begin `load_models` on the server's loop without waiting; the future ends with it."""
        return asyncio.run_coroutine_threadsafe(self.app.load_models(), self._loop)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self.port = self.run(self.app.start())
        if self._load_models:
            self.run(self.app.load_models())
        return self

    def stop(self, grace: float = 1.0) -> None:
        if self._loop.is_running():
            self.run(self.app.stop(grace))
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __exit__(self, *exc: object) -> None:
        self.stop()
