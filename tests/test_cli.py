"""The `jobmatch` command end to end: serve in a subprocess, embed and models against it."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from jobmatch import bulk
from jobmatch.cli import main
from tests.conftest import make_settings
from tests.support.esco_bundle import ESCO_FIXTURE, write_bundle
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


# --- bulk matching (`match --input`) and --json -----------------------------------------------------

TECHNICAL_DIRECTOR = "http://data.europa.eu/esco/occupation/00030d09-2b3a-4efd-87cc-c4ea39d27c34"


@pytest.fixture(scope="module")
def esco_server(jobbert_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """The tiny JobBERT over the small cut of ESCO v1.1.1 (5 occupations, their skills)."""
    settings = make_settings(
        [f"jobbert={jobbert_path}"],
        qdrant_path=tmp_path_factory.mktemp("qdrant-cli"),
        esco_dirs=[ESCO_FIXTURE / "v1.1.1"],
        auto_sync=True,
    )
    with ServerThread(settings) as running:
        yield running


def _json_match(server: ServerThread, query: str, capsys: pytest.CaptureFixture[str], *flags: str) -> dict:
    assert main(["match", query, "--json", "--server", server.target, *flags]) == 0
    return json.loads(capsys.readouterr().out)


def test_match_a_csv_file_into_a_csv_file(esco_server: ServerThread, tmp_path: Path, capsys) -> None:
    source = tmp_path / "titles.csv"
    source.write_text(
        'id,title\n1,technical director\n2,\n3,"radiographer, ""senior"""\n4,art director,extra\n\n5,fleet commander\n',
        encoding="utf-8",
    )
    output = tmp_path / "matches.csv"
    args = ["match", "--input", str(source), "--output", str(output), "--column", "title", "--top-k", "2"]
    assert main([*args, "--server", esco_server.target, "--batch-size", "2"]) == 3  # written, some lines failed
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{source}:3: INVALID_ARGUMENT: the query is empty (INVALID_QUERY)",
        f"{source}:5: 3 fields where the header has 2",
        "jobmatch: 2 of 5 lines failed",
    ]
    with output.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "title", *bulk.OUTPUT_COLUMNS]
    assert [(r["id"], r["input_line"], r["match_rank"]) for r in rows] == [
        ("1", "2", "1"), ("1", "2", "2"), ("2", "3", ""), ("3", "4", "1"), ("3", "4", "2"), ("4", "5", ""),
        ("5", "7", "1"), ("5", "7", "2"),
    ]  # fmt: skip
    assert rows[4]["title"] == 'radiographer, "senior"'
    assert rows[2]["match_error"] == "INVALID_ARGUMENT: the query is empty (INVALID_QUERY)"
    assert rows[5]["match_error"] == f"{source}:5: 3 fields where the header has 2"
    alone = _json_match(esco_server, "technical director", capsys, "--top-k", "2")
    assert [(r["match_uri"], r["match_label"]) for r in rows[:2]] == [
        (m["uri"], m["preferred_label"]) for m in alone["matches"]
    ]
    assert rows[0]["match_uri"] == TECHNICAL_DIRECTOR
    assert float(rows[0]["match_score"]) == pytest.approx(alone["matches"][0]["score"], abs=1e-5)
    assert not list(tmp_path.glob(".matches.csv.*")), "no temporary file left behind"


def test_match_jsonl_from_stdin_to_stdout(esco_server: ServerThread, monkeypatch, capsys) -> None:
    lines = [
        {"title": "technical director", "id": 1},
        "not json",
        {"id": 3},
        [1, 2],
        {"title": 7},
        {"title": "radiographer"},
    ]
    data = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    args = ["match", "--input", "-", "--format", "jsonl", "--field", "title", "--top-k", "1"]
    assert main([*args, "--server", esco_server.target]) == 3
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3, 4, 5, 6]
    assert out[0]["input"] == {"title": "technical director", "id": 1}
    assert out[0]["matches"][0]["uri"] == TECHNICAL_DIRECTOR
    assert out[5]["matches"][0]["preferred_label"] == "radiographer"
    problems = {o["line"]: o["error"]["message"] for o in out if "error" in o}
    assert problems == {
        2: "<stdin>:2: not valid JSON: Expecting value (column 1)",
        3: "<stdin>:3: no field 'title'; see --field",
        4: "<stdin>:4: not a JSON object",
        5: "<stdin>:5: field 'title' is not a string; see --field",
    }
    assert captured.err.splitlines() == [*problems.values(), "jobmatch: 4 of 6 lines failed"]


def test_a_file_without_the_query_column_writes_nothing(esco_server: ServerThread, tmp_path: Path, capsys) -> None:
    source = tmp_path / "titles.csv"
    source.write_text("id,name\n1,cook\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    output.write_text("kept\n")
    assert main(["match", "--input", str(source), "--output", str(output), "--server", esco_server.target]) == 2
    assert capsys.readouterr().err == (
        f"jobmatch: {source}:1: no column 'query' in the header (columns: 'id', 'name'); see --column\n"
    )
    assert output.read_text() == "kept\n"
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["match", "--input", str(empty), "--output", str(output), "--server", esco_server.target]) == 2
    assert capsys.readouterr().err == f"jobmatch: {empty}:1: empty file: a CSV needs a header with a 'query' column\n"
    assert main(["match", "--input", str(tmp_path / "unknown.txt"), "--server", esco_server.target]) == 2
    assert "cannot tell the format" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.csv", "out.csv", "titles.csv"]
    assert output.read_text() == "kept\n"


def test_a_run_that_fails_leaves_no_output(tmp_path: Path, capsys) -> None:
    source = tmp_path / "titles.jsonl"
    source.write_text('{"query": "cook"}\n', encoding="utf-8")
    output = tmp_path / "out.jsonl"
    args = ["match", "--input", str(source), "--output", str(output), "--server", "127.0.0.1:1", "--timeout", "2"]
    assert main(args) == 1
    assert capsys.readouterr().err.startswith("jobmatch: UNAVAILABLE")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["titles.jsonl"]


def test_a_clean_file_exits_0_with_a_progress_bar_and_csv_output_from_jsonl(
    esco_server: ServerThread, tmp_path: Path, capsys
) -> None:
    source = tmp_path / "titles.jsonl"
    source.write_text("".join(json.dumps({"query": q}) + "\n" for q in ["art director", "fleet commander"] * 30))
    output = tmp_path / "out.csv"
    args = ["match", "--input", str(source), "--output", str(output), "--top-k", "1", "--progress"]
    assert main([*args, "--server", esco_server.target, "--batch-size", "7"]) == 0
    assert "60/60" in capsys.readouterr().err  # tqdm's bar, on stderr
    with output.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["query"] for r in rows] == ["art director", "fleet commander"] * 30
    assert {r["match_label"] for r in rows[::2]} == {"art director"}


def test_json_output_of_the_commands_that_print_results(esco_server: ServerThread, tmp_path: Path, capsys) -> None:
    target = ["--server", esco_server.target]
    answer = _json_match(esco_server, "technical director", capsys, "--top-k", "3", "--min-score", "0")
    assert (answer["query"], answer["no_fit"], answer["min_score"]) == ("technical director", False, 0)
    assert [m["rank"] for m in answer["matches"]] == [1, 2, 3]
    assert answer["matches"][0]["uri"] == TECHNICAL_DIRECTOR
    assert main(["skills", "technical director", "--top-k", "4", "--json", *target]) == 0
    skills = json.loads(capsys.readouterr().out)
    assert len(skills["skills"]) == 4
    assert set(skills["skills"][0]) == {"uri", "label", "skill_type", "score"}
    assert main(["models", "--json", *target]) == 0
    assert [m["name"] for m in json.loads(capsys.readouterr().out)] == ["jobbert"]
    assert main(["health", "--service", "jobmatch.v1.MatchService", "--json", *target]) == 0
    health = json.loads(capsys.readouterr().out)
    assert (health["service"], health["status"]) == ("jobmatch.v1.MatchService", "SERVING")
    queries = tmp_path / "queries.csv"
    queries.write_text(f"query,expected_uri\ntechnical director,{TECHNICAL_DIRECTOR}\n", encoding="utf-8")
    assert main(["eval", "--queries", str(queries), "--json", *target]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert (scores["queries"], scores["recall@1"]) == (1, 1.0)


STAGE_SKILLS = ["organise rehearsals", "theatre techniques"]  # 2 of the technical director's 8 essential skills
STAGE_CV = "Stage manager.\nSkills: {}, {}".format(*STAGE_SKILLS)


def test_extract_skills_from_an_argument_or_stdin(esco_server: ServerThread, monkeypatch, capsys) -> None:
    target = ["--server", esco_server.target]
    args = ["extract-skills", STAGE_CV, "--occupation", TECHNICAL_DIRECTOR, "--min-score", "0.85", "--json"]
    assert main([*args, *target]) == 0
    extraction = json.loads(capsys.readouterr().out)
    assert extraction["gap"]["occupation_label"] == "technical director"
    assert [s["label"] for s in extraction["gap"]["shown"]] == STAGE_SKILLS  # named verbatim: ~0.9, others < 0.8
    for skill in extraction["skills"]:
        assert all(STAGE_CV[e["start"] : e["end"]] == e["text"] for e in skill["evidence"])
    monkeypatch.setattr(sys, "stdin", io.StringIO(STAGE_CV))
    from_stdin = ["extract-skills", "--file", "-", "--occupation", TECHNICAL_DIRECTOR, "--min-score", "0.85"]
    assert main([*from_stdin, *target]) == 0
    lines = capsys.readouterr().out.splitlines()
    gap = extraction["gap"]
    named = re.compile(
        r" 2\. 0\.\d{3}  theatre techniques  \(knowledge, essential\)  15-62 'Skills: organise rehearsals, "
    )
    assert named.match(lines[1]), lines[1]  # rank, score, label, type, relation, evidence span and text
    summary = lines[-1 - len(gap["missing"])]
    assert summary.startswith(f"skill gap for technical director ({TECHNICAL_DIRECTOR}): coverage ")
    assert summary.endswith(f"{len(gap['shown'])} of {len(gap['shown']) + len(gap['missing'])} essential skills shown")
    assert lines[-len(gap["missing"]) :] == [f"    missing: {s['label']}  ({s['uri']})" for s in gap["missing"]]
    assert main(["extract-skills", *target]) == 2
    assert "give a TEXT or --file" in capsys.readouterr().err
    assert main(["extract-skills", "--file", "/nonexistent/cv.txt", *target]) == 2
    assert capsys.readouterr().err == "jobmatch: cannot read /nonexistent/cv.txt: No such file or directory\n"
    assert main(["extract-skills", "   ", *target]) == 1
    assert "INVALID_ARGUMENT" in capsys.readouterr().err
