"""The Node client (clients/node) against a live server: `npm ci`, then its `node --test` suite.

The Python client computes the expected vectors for the same inputs and sides; the Node tests read
them from a JSON file and compare within 1e-6. Skipped only when node or npm is missing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmatch.client import JobMatchClient
from jobmatch.server.index import DEFAULT_EXTRACT_MIN_SCORE
from jobmatch.server.index.strategies import DEFAULT_MIN_SCORES
from tests.conftest import make_settings
from tests.support.certs import write_certs
from tests.support.server import ServerThread

NODE_DIR = Path(__file__).resolve().parent.parent / "clients" / "node"
# Node tests that may be skipped, and why; any other skip fails this test.
ALLOWED_SKIP_REASONS: tuple[str, ...] = ()

TITLES = ["data scientist", "Pflegefachkraft", "software engineer (m/w/d)", "nurse", "Python, SQL, statistics"]
SYMMETRIC_TEXTS = ["Datenanalyst", "Krankenpfleger auf der Intensivstation", "cook"]
LONG_SKILLS = "lead a team, manage budgets, Python, " * 30


@pytest.fixture(scope="module")
def npm() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the Node client tests")
    return npm


@pytest.fixture(scope="module")
def npm_ci(npm: str) -> Iterator[subprocess.Popen[str]]:
    """`npm ci` in clients/node, started early so it overlaps with the model building and start-up."""
    process = subprocess.Popen(
        [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=NODE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


SECURE_KEY = "node-client-key-0123"


@pytest.fixture(scope="module")
def secure_env(tmp_path_factory: pytest.TempPathFactory, jobbert_path: Path) -> Iterator[dict[str, str]]:
    """A server with mutual TLS and an API key, and the JOBMATCH_SECURE_* variables for its tests."""
    certs = write_certs(tmp_path_factory.mktemp("node-certs"))
    settings = make_settings(
        [f"jobbert={jobbert_path}"],
        api_keys=[SECURE_KEY],
        tls_cert=certs.server_cert,
        tls_key=certs.server_key,
        tls_client_ca=certs.ca,
    )
    with ServerThread(settings) as secure:
        yield {
            "JOBMATCH_SECURE_TARGET": secure.target,
            "JOBMATCH_SECURE_API_KEY": SECURE_KEY,
            "JOBMATCH_SECURE_CA": str(certs.ca),
            "JOBMATCH_SECURE_CLIENT_CERT": str(certs.client_cert),
            "JOBMATCH_SECURE_CLIENT_KEY": str(certs.client_key),
            "JOBMATCH_SECURE_OTHER_CA": str(certs.other_ca),
        }


@pytest.fixture(scope="module")
def servers(npm_ci, jobbert_path: Path, symmetric_path: Path) -> Iterator[tuple[ServerThread, ServerThread]]:
    """A serving server (small stream window, to exercise backpressure; the bundled ESCO snapshot synced
    for MatchService) and one whose models never load."""
    specs = [f"jobbert={jobbert_path}", f"careerbert={symmetric_path}"]
    with (
        ServerThread(make_settings(specs, stream_window=8, auto_sync=True)) as serving,
        ServerThread(make_settings(specs), load_models=False) as loading,
    ):
        yield serving, loading


def expected_cases(client: JobMatchClient) -> dict[str, dict]:
    """Inputs and options per case, with the Python client's vectors for them."""
    cases = {
        "anchor": {"model": "jobbert", "side": "anchor", "inputs": TITLES},
        "positive": {"model": "jobbert", "side": "positive", "inputs": TITLES},
        "symmetric": {"model": "careerbert", "side": None, "inputs": SYMMETRIC_TEXTS},
        "options": {"model": "jobbert", "side": "anchor", "inputs": TITLES[:2], "dimensions": 16, "normalize": False},
        "truncated": {"model": "jobbert", "side": "positive", "inputs": [LONG_SKILLS, "nurse"], "truncate": True},
        "many": {"model": "jobbert", "side": "anchor", "inputs": [f"{TITLES[i % 5]} {i}" for i in range(300)]},
    }
    for name, case in cases.items():
        options = {key: case[key] for key in ("side", "model", "normalize", "truncate", "dimensions") if key in case}
        case["name"] = name
        case["vectors"] = client.embed(case["inputs"], **options).tolist()
    return cases


def tap_summary(output: str) -> dict[str, int]:
    """The counts node's TAP reporter prints last ("# pass 30", "# fail 0", ...)."""
    counts = re.findall(r"^# (tests|pass|fail|cancelled|skipped) (\d+)$", output, re.M)
    return {key: int(value) for key, value in counts}


def test_node_client_against_live_server(npm: str, npm_ci, servers, secure_env, tmp_path: Path) -> None:
    serving, loading = servers
    with JobMatchClient(serving.target, timeout=60) as client:
        expected = {
            "cases": expected_cases(client),
            "models": [dataclasses.asdict(model) for model in client.list_models()],
            "defaultMinScores": DEFAULT_MIN_SCORES,  # MatchOccupations' threshold per kind without min_score
            "defaultExtractMinScore": DEFAULT_EXTRACT_MIN_SCORE,  # ExtractSkills' without min_score
        }
    expected_file = tmp_path / "expected.json"
    expected_file.write_text(json.dumps(expected))

    install_output, _ = npm_ci.communicate(timeout=180)
    assert npm_ci.returncode == 0, f"npm ci failed:\n{install_output}"

    env = {
        **os.environ,
        "JOBMATCH_TARGET": serving.target,
        "JOBMATCH_NOT_READY_TARGET": loading.target,
        "JOBMATCH_EXPECTED": str(expected_file),
        "NO_COLOR": "1",
        **secure_env,
    }
    result = subprocess.run(
        [npm, "test", "--silent"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=180
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"npm test failed:\n{output}"

    summary = tap_summary(output)
    assert summary.get("fail") == 0, output
    assert summary.get("cancelled") == 0, output
    assert summary.get("pass", 0) >= 25, output
    skipped = re.findall(r"^ok \d+ - (.*) # SKIP ?(.*)$", output, re.M)
    unexpected = [(name, reason) for name, reason in skipped if reason not in ALLOWED_SKIP_REASONS]
    assert not unexpected, f"unexpected skips: {unexpected}\n{output}"
