"""Generate the Python gRPC stubs of proto/ into clients/python/src/jobmatch/v1 (or another root).

Run after editing a .proto file:  python scripts/generate_stubs.py
The stubs are committed; tests/test_stubs_current.py fails when they are stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grpc_tools import protoc

REPO = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO / "proto"
DEFAULT_OUT = REPO / "clients" / "python" / "src"


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_root: Path) -> None:
    """Write <out_root>/jobmatch/v1/*_pb2*.py(i) for every proto file."""
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *(str(p) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        sys.exit("protoc failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
