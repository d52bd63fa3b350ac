"""Collections created on a Qdrant server carry the configured shards and replicas.

No Qdrant server runs here, so a stand-in on 127.0.0.1 answers the REST calls this needs (create a
collection, create a payload index) and records their bodies: the store's server adapter
(``open_store(url, shard_number=..., replication_factor=...)``, qdrant-client inside) builds and
sends the requests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from jobmatch.server.config import ServerSettings
from jobmatch.server.index.store import CollectionSpec, DenseSpec
from jobmatch.server.matching import open_configured_store

SPEC = CollectionSpec(dense={"title_en": DenseSpec(4), "labels_en": DenseSpec(4, multi=True)}, keyword_indexes=("uri",))


class _Recorder(BaseHTTPRequestHandler):
    bodies: ClassVar[list[tuple[str, str, dict]]] = []

    def do_PUT(self) -> None:
        length = int(self.headers.get("content-length", 0))
        _Recorder.bodies.append(("PUT", self.path, json.loads(self.rfile.read(length) or b"{}")))
        created = {"operation_id": 1, "status": "completed"} if "/index" in self.path else True
        payload = json.dumps({"result": created, "status": "ok", "time": 0.0}).encode()
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
        assert not store.embedded
        assert _Recorder.bodies == []  # opening contacts nothing
        await store.create_collection("esco_test", SPEC, {"jobmatch_index": {"schema_version": 2}})
    finally:
        await store.close()
    (method, path, body), (index_method, index_path, index_body) = _Recorder.bodies
    assert (method, path.split("?")[0]) == ("PUT", "/collections/esco_test")
    assert body.get("shard_number") == shards
    assert body.get("replication_factor") == replicas
    assert body["vectors"]["title_en"] == {"size": 4, "distance": "Cosine", "datatype": "float16"}  # as on Edge
    assert body["vectors"]["labels_en"]["multivector_config"] == {"comparator": "max_sim"}
    assert body["vectors"]["labels_en"]["hnsw_config"] == {"m": 0}  # no graph: multivectors are scanned
    assert body["metadata"] == {"jobmatch_index": {"schema_version": 2}}
    assert (index_method, index_path.split("?")[0]) == ("PUT", "/collections/esco_test/index")
    assert index_body == {"field_name": "uri", "field_schema": "keyword"}


def test_cluster_options_must_be_positive() -> None:
    with pytest.raises(ValueError, match="qdrant_shard_number"):
        ServerSettings(qdrant_shard_number=0)
