"""How the LangChain classes reach a jobmatch server: one blocking client, one asyncio client per event loop."""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from jobmatch.client import AsyncJobMatchClient, JobMatchClient

DEFAULT_TARGET = "127.0.0.1:50051"


class JobMatchConnection(BaseModel):
    """Connection fields shared by the embeddings and the retriever; the clients are made on first use."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), use_attribute_docstrings=True)

    target: str = DEFAULT_TARGET
    """``host:port`` of the jobmatch gRPC server."""

    timeout: float | None = 30.0
    """Deadline of each gRPC call in seconds (None: no deadline); DEADLINE_EXCEEDED past it."""

    client_kwargs: dict[str, Any] = Field(default_factory=dict, repr=False)
    """Extra keyword arguments for ``JobMatchClient`` and ``AsyncJobMatchClient`` (``max_attempts``,
    ``max_in_flight``, ``max_message_bytes``, credentials, ...), passed through unchanged; not shown in repr."""

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _client: JobMatchClient | None = PrivateAttr(default=None)
    # grpc.aio channels belong to the loop that made them: one client per loop, dropped with it.
    _async_clients: weakref.WeakKeyDictionary = PrivateAttr(default_factory=weakref.WeakKeyDictionary)

    def _client_options(self) -> dict[str, Any]:
        return {"timeout": self.timeout, **self.client_kwargs}

    @property
    def client(self) -> JobMatchClient:
        """The blocking client (made on first use, then reused)."""
        with self._lock:
            if self._client is None:
                self._client = JobMatchClient(self.target, **self._client_options())
            return self._client

    @property
    def async_client(self) -> AsyncJobMatchClient:
        """The asyncio client of the running event loop (made on first use in that loop)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._async_clients.get(loop)
            if found is None:
                found = self._async_clients[loop] = AsyncJobMatchClient(self.target, **self._client_options())
            return found

    def close(self) -> None:
        """Close the blocking client's channel (asyncio clients close with ``aclose`` in their loop)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the running loop's asyncio client and the blocking client."""
        with self._lock:
            found = self._async_clients.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found.close()
        self.close()
