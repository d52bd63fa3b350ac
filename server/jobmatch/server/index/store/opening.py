"""Opening a store: a Qdrant server by URL, or Qdrant Edge in a directory (here or in a process of its own)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import platformdirs

from jobmatch.server.index.store.base import Backend
from jobmatch.server.index.store.facade import QdrantStore

__all__ = ["default_store_path", "open_store"]


def default_store_path() -> Path:
    """``<user data dir>/jobmatch/qdrant``, e.g. ``~/.local/share/jobmatch/qdrant`` on Linux."""
    return Path(platformdirs.user_data_dir("jobmatch")) / "qdrant"


async def open_store(
    location: str | Path | None = None,
    *,
    api_key: str | None = None,
    timeout: int = 30,
    shard_number: int | None = None,
    replication_factor: int | None = None,
    replace_local_mode: bool = False,
    own_process: bool = False,
) -> QdrantStore:
    """Open ``location``: an ``http(s)://`` URL or ``":memory:"`` (qdrant-client), else a directory (Edge).

    ``None`` opens :func:`default_store_path`. A directory raises StoreLocked when another process
    holds it, and IncompatibleIndex when it is not a jobmatch Edge store; ``replace_local_mode``
    moves a store written by qdrant-client's local mode aside first (its files are kept);
    ``own_process`` runs it in a child process (:mod:`.process`: Edge keeps the GIL while it
    searches, which a server's threads must not wait for). A server
    is not contacted until the first call; ``shard_number`` and ``replication_factor`` apply to the
    collections created on a distributed one.
    """
    backend: Backend
    if isinstance(location, str) and (re.match(r"https?://", location) or location == ":memory:"):
        from jobmatch.server.index.store.server import ServerBackend

        backend = await asyncio.to_thread(
            ServerBackend,
            location,
            api_key=api_key,
            timeout=timeout,
            shard_number=shard_number,
            replication_factor=replication_factor,
        )
        return QdrantStore(backend, embedded=False)

    backend = await asyncio.to_thread(_open_edge, location, replace_local_mode, own_process)
    return QdrantStore(backend, embedded=True)


def _open_edge(location: str | Path | None, replace_local_mode: bool, own_process: bool) -> Backend:
    from jobmatch.server.index.store.edge import EdgeBackend, is_local_mode_dir, move_aside_local_mode

    path = Path(location).expanduser() if location is not None else default_store_path()
    if replace_local_mode and is_local_mode_dir(path):
        move_aside_local_mode(path)
    if own_process:
        from jobmatch.server.index.store.process import ProcessBackend

        return ProcessBackend(path)
    return EdgeBackend(path)
