"""The three distributions: files where their import path says, versions that move together, and light
clients that never pull in the server or torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parent.parent
PROJECTS = {
    "jobmatch": REPO / "pyproject.toml",
    "jobmatch-client": REPO / "clients" / "python" / "pyproject.toml",
    "langchain-jobmatch": REPO / "integrations" / "langchain" / "pyproject.toml",
}


def _project(name: str) -> dict:
    return tomllib.loads(PROJECTS[name].read_text())["project"]


def test_the_versions_move_together_and_pin_each_other() -> None:
    versions = {name: _project(name)["version"] for name in PROJECTS}
    assert len(set(versions.values())) == 1, versions
    (version,) = set(versions.values())
    assert f"jobmatch-client=={version}" in _project("jobmatch")["dependencies"]
    assert f"jobmatch-client=={version}" in _project("langchain-jobmatch")["dependencies"]
    assert _project("jobmatch")["optional-dependencies"]["langchain"] == [f"langchain-jobmatch=={version}"]


@pytest.mark.parametrize(
    ("module", "folder"),
    [
        ("jobmatch.server", "server/jobmatch/server"),
        ("jobmatch.cli", "server/jobmatch"),
        ("jobmatch.client", "clients/python/src/jobmatch/client"),
        ("jobmatch.v1", "clients/python/src/jobmatch/v1"),
        ("langchain_jobmatch", "integrations/langchain/src/langchain_jobmatch"),
    ],
)
def test_each_module_is_where_its_import_path_says(module: str, folder: str) -> None:
    imported = __import__(module, fromlist=["_"])
    assert Path(imported.__file__).resolve().parent == REPO / folder


@pytest.mark.parametrize("module", ["jobmatch.client", "langchain_jobmatch"])
def test_the_light_packages_import_neither_the_server_nor_torch(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sentence_transformers', "
        "'qdrant_client', 'onnxruntime') or m.startswith('jobmatch.server')); print(heavy); sys.exit(bool(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd="/")
    assert result.returncode == 0, result.stdout + result.stderr
