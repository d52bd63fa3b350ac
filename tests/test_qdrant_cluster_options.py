"""Collections created on a Qdrant server carry the configured shards and replicas.

No Qdrant server runs here, so a stand-in on 127.0.0.1 answers the one REST call this needs and
records its body: the real qdrant-client builds and sends the request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from qdrant_client import models as qm

from jobmatch.server.config import ServerSettings
from jobmatch.server.matching import open_configured_store


class _Recorder(BaseHTTPRequestHandler):
    bodies: ClassVar[list[tuple[str, str, dict]]] = []

    def do_PUT(self) -> None:
        length = int(self.headers.get("content-length", 0))
        _Recorder.bodies.append(("PUT", self.path, json.loads(self.rfile.read(length) or b"{}")))
        payload = json.dumps({"result": True, "status": "ok", "time": 0.0}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def qdrant_stand_in() -> Iterator[str]:
    _Recorder.bodies.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("shards", "replicas"), [(6, 2), (None, None)])
async def test_created_collections_carry_shards_and_replicas(
    qdrant_stand_in: str, shards: int | None, replicas: int | None
) -> None:
    settings = ServerSettings(
        qdrant_url=qdrant_stand_in, qdrant_shard_number=shards, qdrant_replication_factor=replicas
    )
    store = await open_configured_store(settings)
    try:
        await store.create_collection(
            "esco_test", {"title_en": qm.VectorParams(size=4, distance=qm.Distance.COSINE)}, {}
        )
    finally:
        await store.close()
    ((method, path, body),) = _Recorder.bodies
    assert (method, path.split("?")[0]) == ("PUT", "/collections/esco_test")
    assert body.get("shard_number") == shards
    assert body.get("replication_factor") == replicas
    assert body["vectors"]["title_en"]["size"] == 4


def test_cluster_options_must_be_positive() -> None:
    with pytest.raises(ValueError, match="qdrant_shard_number"):
        ServerSettings(qdrant_shard_number=0)
