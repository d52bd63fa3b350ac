"""The committed stubs in clients/python/src/jobmatch/v1 are what protoc makes of proto/ today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_generated_stubs_match_the_proto(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("generate_stubs", REPO / "scripts" / "generate_stubs.py")
    assert spec is not None
    assert spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    generator.generate(tmp_path)
    fresh = sorted(p.relative_to(tmp_path) for p in (tmp_path / "jobmatch" / "v1").iterdir())
    assert fresh, "protoc wrote nothing"
    for relative in fresh:
        committed = REPO / "clients" / "python" / "src" / relative
        assert committed.exists(), f"{relative} is not committed: run python scripts/generate_stubs.py"
        assert committed.read_bytes() == (tmp_path / relative).read_bytes(), (
            f"{relative} is stale: run python scripts/generate_stubs.py"
        )
