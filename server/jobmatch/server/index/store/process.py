"""The embedded store in a process of its own: Qdrant Edge searching beside the server, not inside it.

qdrant-edge-py 0.9.0 keeps the GIL while it searches (measured: a Python thread spinning beside
``EdgeShard.query`` calls got half its loop count, and the process used one core in all). In the
server's process every search would stop the event loop, the gRPC handlers and the tokenizer for
its whole duration. :class:`ProcessBackend` runs :class:`~.edge.EdgeBackend` in a child process
and forwards each :class:`~.base.Backend` call to it over a pipe, so a search takes the child's
core and the server's threads go on meanwhile.

The child owns the store (its lock, its shards) and lives as long as the backend: it exits when
:meth:`ProcessBackend.close` asks, or when the pipe closes because the server died. Errors cross
the pipe as they are (the index's errors pickle with their kind and fields). A child that dies
(killed, out of memory) makes every later call StoreUnavailable, never a hang.
"""

from __future__ import annotations

import contextlib
import multiprocessing.connection
import pickle
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jobmatch.server.index.errors import StoreUnavailable
from jobmatch.server.index.plan import Hit, QueryPlan
from jobmatch.server.index.store.base import CollectionSpec, PointData, StoredPoint

__all__ = ["ProcessBackend"]

_STOP = "__stop__"
_START_TIMEOUT_S = 120.0  # opening a large shard reads its segments; a hung child must not hang the server


class ProcessBackend:
    """An :class:`~.edge.EdgeBackend` in a child process, called through a pipe (one call at a time)."""

    threads = 1  # one pipe: calls are answered in order

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        ours, theirs = socket.socketpair()
        # A fresh interpreter running this module (not multiprocessing's spawn, which re-imports the
        # caller's __main__): no torch, no server threads; it answers on the inherited socket.
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(theirs.fileno()), str(path)], pass_fds=[theirs.fileno()]
        )
        theirs.close()
        self._pipe = multiprocessing.connection.Connection(ours.detach())
        self._lock = threading.Lock()
        self._dead: str | None = None
        if not self._pipe.poll(_START_TIMEOUT_S):
            self._process.kill()
            raise StoreUnavailable(f"the store process for {path} did not open it within {_START_TIMEOUT_S:.0f} s")
        try:
            self._receive()  # the child's first message: opened, or why not
        except BaseException:
            self._process.wait(5)
            self._pipe.close()
            raise

    # -- catalog --------------------------------------------------------------------------

    def collection_names(self) -> list[str]:
        return self._call("collection_names")

    def aliases(self) -> dict[str, str]:
        return self._call("aliases")

    def metadata(self, collection: str) -> dict[str, Any]:
        return self._call("metadata", collection)

    def create_collection(self, collection: str, spec: CollectionSpec, metadata: Mapping[str, Any]) -> None:
        self._call("create_collection", collection, spec, dict(metadata))

    def update_metadata(self, collection: str, metadata: Mapping[str, Any]) -> None:
        self._call("update_metadata", collection, dict(metadata))

    def switch_alias(self, alias: str, collection: str) -> None:
        self._call("switch_alias", alias, collection)

    def drop_collection(self, collection: str) -> None:
        self._call("drop_collection", collection)

    # -- points ---------------------------------------------------------------------------

    def upsert(self, collection: str, points: Sequence[PointData]) -> None:
        self._call("upsert", collection, list(points))

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        self._call("delete", collection, list(ids))

    def read_payload(self, collection: str, fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        return self._call("read_payload", collection, list(fields))

    def count(self, collection: str) -> int:
        return self._call("count", collection)

    def retrieve(
        self, collection: str, ids: Sequence[str], fields: Sequence[str] | bool, *, with_vectors: bool
    ) -> list[StoredPoint]:
        return self._call("retrieve", collection, list(ids), fields, with_vectors=with_vectors)

    def query_batch(self, collection: str, plans: Sequence[QueryPlan]) -> list[list[Hit]]:
        return self._call("query_batch", collection, list(plans))

    def finish_build(self, collection: str) -> None:
        self._call("finish_build", collection)

    def close(self) -> None:
        """Close the store in the child (flush, release the lock) and wait for it to exit."""
        try:
            if self._dead is None and self._process.poll() is None:
                self._call(_STOP)
        finally:
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._pipe.close()

    # -- the pipe -------------------------------------------------------------------------

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._dead is not None:
                raise StoreUnavailable(self._dead)
            try:
                self._pipe.send((method, args, kwargs))
            except (BrokenPipeError, ConnectionResetError, EOFError):
                raise self._died() from None
            return self._receive()

    def _receive(self) -> Any:
        try:
            failed, value = self._pipe.recv()
        except (EOFError, ConnectionResetError, OSError):
            raise self._died() from None
        if failed:
            raise value
        return value

    def _died(self) -> StoreUnavailable:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(5)
        self._dead = (
            f"the embedded Qdrant store process for {self.path} exited (code {self._process.returncode}); "
            "restart the server"
        )
        return StoreUnavailable(self._dead)


def _serve(path: Path, pipe: multiprocessing.connection.Connection) -> None:
    """The child: open the store, answer calls until told to stop or the server goes away."""
    from jobmatch.server.index.store.edge import EdgeBackend

    try:
        backend = EdgeBackend(path)
    except BaseException as exc:
        _reply(pipe, True, exc)
        return
    _reply(pipe, False, None)
    try:
        _answer(backend, pipe)
    finally:
        backend.close()
    with contextlib.suppress(OSError):
        pipe.send((False, None))  # closed, as the stop asked (the server may be gone already)


def _answer(backend: Any, pipe: multiprocessing.connection.Connection) -> None:
    """Run each call the pipe brings; return on the stop, or when the server's end is closed."""
    while True:
        try:
            method, args, kwargs = pipe.recv()
        except EOFError:
            return
        if method == _STOP:
            return
        try:
            result = getattr(backend, method)(*args, **kwargs)
        except Exception as exc:
            _reply(pipe, True, exc)
        else:
            _reply(pipe, False, result)


def _reply(pipe: multiprocessing.connection.Connection, failed: bool, value: Any) -> None:
    try:
        pipe.send((failed, value))
    except (pickle.PicklingError, TypeError, AttributeError) as exc:  # an error object that cannot cross
        pipe.send((True, RuntimeError(f"{value!r} (not picklable: {exc})")))


if __name__ == "__main__":  # the child: python -m jobmatch.server.index.store.process FD PATH
    # Ctrl-C, or a SIGTERM sent to the whole process group (systemd, a terminal), is for the server:
    # it then closes this store (a flush), or dies and this process closes it when the pipe closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _serve(Path(sys.argv[2]), multiprocessing.connection.Connection(int(sys.argv[1])))
