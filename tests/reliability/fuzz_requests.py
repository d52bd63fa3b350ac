"""Coverage-guided fuzzing of request decoding and validation with atheris (by hand, not in CI).

A live in-process server (tiny JobBERT, synced 30-occupation index) gets every fuzzer input as raw
bytes on each jobmatch RPC; atheris instruments the server's Python code and steers inputs toward
new branches. A status other than OK / INVALID_ARGUMENT / NOT_FOUND, or a failure without a jobmatch
ErrorInfo reason, raises and atheris saves the input (crash-*). Needs `pip install -e ".[fuzz]"`.

    python tests/reliability/fuzz_requests.py -atheris_runs=20000
    python tests/reliability/fuzz_requests.py corpus_dir/ -max_total_time=600
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import atheris
import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

with atheris.instrument_imports(include=["jobmatch"]):
    from tests.conftest import make_settings
    from tests.support.esco_bundle import write_bundle
    from tests.support.server import ServerThread
    from tests.support.tiny_models import build_tiny_jobbert

METHODS = (
    "/jobmatch.v1.EmbeddingService/Embed",
    "/jobmatch.v1.EmbeddingService/ListModels",
    "/jobmatch.v1.MatchService/MatchOccupations",
    "/jobmatch.v1.MatchService/GetOccupation",
    "/jobmatch.v1.MatchService/MatchSkills",
)
DOCUMENTED = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}


def has_reason(err: grpc.RpcError) -> bool:
    status = rpc_status.from_call(err)
    return status is not None and any(d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) for d in status.details)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="jobmatch-fuzz-"))
    model = build_tiny_jobbert(work / "jobbert")
    settings = make_settings([f"jobbert={model}"], auto_sync=True, esco_dirs=[write_bundle(work / "esco", 30)])
    server = ServerThread(settings).__enter__()
    channel = grpc.insecure_channel(server.target)
    calls = [channel.unary_unary(method) for method in METHODS]

    def one_input(data: bytes) -> None:
        if not data:
            return
        call, payload = calls[data[0] % len(calls)], data[1:]
        try:
            call(payload, timeout=30)
        except grpc.RpcError as err:
            if err.code() not in DOCUMENTED or not has_reason(err):
                raise AssertionError(f"{METHODS[data[0] % len(calls)]}: {err.code()} {err.details()}") from None

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
