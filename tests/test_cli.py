"""The `jobmatch` command end to end: serve in a subprocess, embed and models against it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from jobmatch.cli import main
from tests.conftest import make_settings
from tests.support.esco_bundle import write_bundle
from tests.support.server import ServerThread
from tests.support.server_process import ServerProcess
from tests.support.tiny_models import reference_embedding


def test_embed_prints_one_json_line_per_text(server: ServerThread, jobbert_path: Path, capsys) -> None:
    texts = ["data scientist", "Python, SQL"]
    assert main(["embed", *texts, "--side", "positive", "--model", "jobbert", "--server", server.target]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["text"] for line in lines] == texts
    got = np.array([line["embedding"] for line in lines], dtype=np.float32)
    want = reference_embedding(jobbert_path, texts, "positive")
    np.testing.assert_allclose(got, want / np.linalg.norm(want, axis=1, keepdims=True), atol=1e-5)


def test_embed_reports_errors_with_status_and_exit_code(server: ServerThread, capsys) -> None:
    assert main(["embed", "nurse", "--model", "jobbert", "--server", server.target]) == 1
    assert "INVALID_ARGUMENT" in capsys.readouterr().err


def test_models_lists_the_models(server: ServerThread, capsys) -> None:
    assert main(["models", "--server", server.target]) == 0
    out = capsys.readouterr().out
    assert "jobbert [default]: 48-d, asymmetric (anchor|positive), max 64 tokens, cpu/float32" in out
    assert "careerbert: 32-d, symmetric" in out


def test_serve_runs_until_sigterm_and_exits_cleanly(jobbert_path: Path, capsys) -> None:
    arguments = ["--model", f"tiny={jobbert_path}", "--auto-sync"]
    with ServerProcess(arguments, env={"JOBMATCH_MAX_BATCH_SIZE": "16"}, start_s=120) as server:
        assert main(["embed", "nurse", "--side", "anchor", "--server", server.target]) == 0
        assert json.loads(capsys.readouterr().out)["text"] == "nurse"
        assert server.terminate(timeout=30) == 0
    assert "shutting down" in server.log()


def test_serve_with_a_missing_model_path_fails_clearly(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "jobmatch.cli", "serve", "--model", f"x={tmp_path / 'nope'}", "--port", "0"]
    env = {**os.environ, "JOBMATCH_QDRANT_PATH": str(tmp_path / "qdrant")}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1
    assert f"jobmatch: cannot load model 'x' from {tmp_path / 'nope'}" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_rejects_invalid_settings() -> None:
    command = [sys.executable, "-m", "jobmatch.cli", "serve", "--max-batch-size", "-1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "invalid settings" in result.stderr
    assert "max_batch_size" in result.stderr


def test_sync_then_match_and_eval_through_the_cli(jobbert_path: Path, tmp_path: Path, capsys) -> None:
    qdrant = tmp_path / "qdrant"
    sync = ["sync", "--model", f"jobbert={jobbert_path}", "--qdrant-path", str(qdrant), "--log-level", "WARNING"]
    assert main(sync) == 0
    assert main(sync) == 0  # a no-op re-sync
    capsys.readouterr()
    queries = tmp_path / "queries.csv"
    queries.write_text(
        "query,expected_uri,language\n"
        "technical director,http://data.europa.eu/esco/occupation/00030d09-2b3a-4efd-87cc-c4ea39d27c34,en\n",
        encoding="utf-8",
    )
    settings = make_settings([f"jobbert={jobbert_path}"], qdrant_path=qdrant)
    with ServerThread(settings) as server:
        assert main(["match", "technical director", "--top-k", "3", "--min-score", "0", "--server", server.target]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 3
        # The fused score of an exact label: its cosine 1 weighed with BM25 and the description.
        assert re.match(
            r" 1\. 0\.\d{3}  technical director  \(ISCO 2654, http://data.europa.eu/esco/occupation/00030d09", lines[0]
        )
        assert main(["eval", "--queries", str(queries), "--server", server.target]) == 0
        out = capsys.readouterr().out
        assert "1 queries" in out
        assert "recall@1 1.000" in out
        assert main(["sync", "--model", f"jobbert={jobbert_path}", "--qdrant-path", str(qdrant)]) == 1
        assert "locked" in capsys.readouterr().err  # the running server holds the embedded store


def test_sync_with_a_missing_esco_dir_fails_before_writing(jobbert_path: Path, tmp_path: Path, capsys) -> None:
    qdrant = tmp_path / "qdrant"
    command = ["sync", "--model", f"jobbert={jobbert_path}", "--qdrant-path", str(qdrant), "--esco-dir", "/nope"]
    assert main(command) == 1
    assert "/nope" in capsys.readouterr().err


def test_a_sync_with_another_model_names_the_command_that_rebuilds(
    jobbert_path: Path, symmetric_path: Path, tmp_path: Path, capsys
) -> None:
    """The model-mismatch message reaches a CLI user with the command to run, and that command works."""
    bundle = write_bundle(tmp_path / "esco", occupations=5, skills=6)
    base = ["sync", "--esco-dir", str(bundle), "--qdrant-path", str(tmp_path / "qdrant"), "--log-level", "WARNING"]
    assert main([*base, "--model", f"jobbert={jobbert_path}"]) == 0
    capsys.readouterr()
    assert main([*base, "--model", f"careerbert={symmetric_path}"]) == 1
    err = capsys.readouterr().err
    assert "jobmatch: the index 'esco_occupations'" in err
    assert f"`jobmatch sync --reindex --model careerbert={symmetric_path}`" in err
    assert "reindex=True" in err  # and what a Python caller passes
    assert main([*base, "--reindex", "--model", f"careerbert={symmetric_path}"]) == 0
