"""Faults around the server: Qdrant unreachable, a sync killed midway or out of disk, corrupted ESCO
files, broken model directories. Each gives a clear error and a non-zero exit, never a traceback,
and a later run ends consistent with the source data (point count and content hashes).

The embedded store is Qdrant Edge. It maps its files into memory, so a full disk must be refused
before Edge writes (a write into a block the disk cannot give is SIGBUS, not an error): the
out-of-disk test fills a real, small ext4 file system (root only) besides the per-file size limit."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmatch.cli import main
from jobmatch.server.esco import load_bundles
from jobmatch.server.index import OCCUPATIONS_ALIAS, SKILLS_ALIAS, open_store
from jobmatch.server.index.documents import occupation_documents, occupations_layout, skill_documents, skills_layout
from jobmatch.server.index.store.edge import DISK_HEADROOM
from tests.support.esco_bundle import write_bundle
from tests.support.server_process import free_port
from tests.support.slow_model import build_slow_jobbert

OCCUPATIONS = 1100  # three sync chunks of 512: a kill after the first leaves a partial index
SYNC_CHUNK = 512


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bundle(tmp_path_factory.mktemp("esco"), OCCUPATIONS)


@pytest.fixture(scope="module")
def slow_path(models_dir: Path) -> Path:
    """Tiny JobBERT at 100 ms per forward pass: a sync of the bundle takes seconds, not milliseconds."""
    return build_slow_jobbert(models_dir / "slow-sync-jobbert", 0.1)


def sync_command(model: Path, bundle: Path, qdrant: Path, *extra: str) -> list[str]:
    return ["sync", "--model", f"slow={model}", "--trust-remote-code", "--esco-dir", str(bundle),
            "--qdrant-path", str(qdrant), "--max-batch-size", "64", *extra]  # fmt: skip


def run_cli(command: list[str], **popen: object) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen([sys.executable, "-m", "jobmatch.cli", *command], env=env, text=True, **popen)


Hashes = dict[str, str]  # point id -> content hash


def stored_vs_source(qdrant: Path, bundle: Path) -> tuple[Hashes, Hashes, Hashes, Hashes]:
    """(stored occupation hashes, source ones, stored skill hashes, source ones)."""
    dataset = load_bundles([bundle])
    occupations = {d.id: d.content_hash for d in occupation_documents(dataset, occupations_layout(dataset))}
    layout = skills_layout(dataset)
    assert layout is not None
    skills = {d.id: d.content_hash for d in skill_documents(dataset, layout)}

    async def read() -> tuple[dict[str, str], dict[str, str]]:
        async with await open_store(qdrant) as store:
            found = []
            for alias in (OCCUPATIONS_ALIAS, SKILLS_ALIAS):
                payloads = await store.read_payload(alias, ["content_hash"])
                assert await store.count(alias) == len(payloads)
                found.append({pid: payload["content_hash"] for pid, payload in payloads.items()})
            return found[0], found[1]

    stored_occupations, stored_skills = asyncio.run(read())
    return stored_occupations, occupations, stored_skills, skills


def assert_consistent(qdrant: Path, bundle: Path) -> None:
    stored_occupations, occupations, stored_skills, skills = stored_vs_source(qdrant, bundle)
    assert len(occupations) == OCCUPATIONS
    assert stored_occupations == occupations
    assert stored_skills == skills


def resync(slow_path: Path, bundle: Path, qdrant: Path, capsys: pytest.CaptureFixture) -> dict[str, int]:
    """Run the sync again in-process; the occupations' (added, unchanged) from its report line."""
    capsys.readouterr()
    assert main(sync_command(slow_path, bundle, qdrant, "--log-level", "INFO")) == 0
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if f"{OCCUPATIONS_ALIAS}:" in line and "added" in line)
    words = line.split(f"{OCCUPATIONS_ALIAS}:")[1].replace(",", "").split()
    return {words[i + 1]: int(words[i]) for i in range(0, 8, 2)}


def test_a_sync_killed_midway_resumes_and_ends_consistent(
    slow_path: Path, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    qdrant, log = tmp_path / "qdrant", tmp_path / "sync.log"
    with log.open("w") as err:
        process = run_cli(sync_command(slow_path, bundle, qdrant), stderr=err)
    try:
        deadline = time.monotonic() + 120
        while f"{SYNC_CHUNK}/{OCCUPATIONS}" not in log.read_text(errors="replace"):  # the first chunk is written
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the sync never wrote its first chunk"
            time.sleep(0.02)
        process.kill()  # SIGKILL: no cleanup, no lock release, no manifest
        process.wait(10)
    finally:
        process.kill()
    assert f"{OCCUPATIONS}/{OCCUPATIONS}" not in log.read_text(errors="replace")
    report = resync(slow_path, bundle, qdrant, capsys)
    assert report["unchanged"] >= SYNC_CHUNK  # the first run's points were kept, not embedded again
    assert report["added"] > 0
    assert report["added"] + report["unchanged"] == OCCUPATIONS
    assert_consistent(qdrant, bundle)


def assert_disk_full_error(err: str, qdrant: Path) -> None:
    """What reaches the terminal: one ``jobmatch:`` line naming the store, never a traceback."""
    assert f"jobmatch: the embedded Qdrant store at {qdrant}" in err, err
    assert "cannot be written: " in err
    assert "(the disk is full)" in err
    assert "Traceback" not in err


def test_a_sync_past_the_file_size_limit_fails_clearly_and_the_next_run_recovers(
    slow_path: Path, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """RLIMIT_FSIZE (this process, for the sync only): writes past 1 MiB fail with EFBIG, as on a full
    disk; Python ignores SIGXFSZ, so the process lives on. Edge sizes its WAL segments at 32 MiB, so
    the first collection already fails, inside Edge (its "File too large")."""
    assert signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN
    qdrant = tmp_path / "qdrant"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, hard))
    try:
        code = main(sync_command(slow_path, bundle, qdrant, "--log-level", "ERROR"))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    err = capsys.readouterr().err
    assert code == 1, err
    assert_disk_full_error(err, qdrant)
    assert "File too large" in err
    report = resync(slow_path, bundle, qdrant, capsys)  # over the half-created collection it left
    assert (report["added"], report["unchanged"]) == (OCCUPATIONS, 0)
    assert_consistent(qdrant, bundle)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 96 MiB ext4 file system, loop-mounted (root only: skipped elsewhere)."""
    image, mount = tmp_path / "disk.img", tmp_path / "disk"
    mount.mkdir()
    with image.open("wb") as handle:
        handle.truncate(96 << 20)
    if shutil.which("mkfs.ext4") is None or os.geteuid() != 0:
        pytest.skip("a small real file system needs root and mkfs.ext4 (loop mount)")
    made = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True)
    mounted = made.returncode == 0 and subprocess.run(["mount", "-o", "loop", str(image), str(mount)]).returncode == 0
    if not mounted:
        pytest.skip(f"cannot loop-mount an ext4 image here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """A ballast file that leaves ``leave`` bytes free on ``disk``."""
    ballast = disk / "ballast"
    with ballast.open("wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, shutil.disk_usage(disk).free - leave)
    assert abs(shutil.disk_usage(disk).free - leave) < 1 << 20
    return ballast


def test_a_sync_that_fills_the_disk_fails_clearly_and_the_next_run_recovers(
    slow_path: Path, bundle: Path, small_disk: Path, capsys: pytest.CaptureFixture
) -> None:
    """A real full disk: Edge's headroom plus 5 MiB free holds the collection and its first chunk of
    points, not the next one. Without the headroom check this was SIGBUS (exit -7, no message)."""
    qdrant = small_disk / "qdrant"
    ballast = fill(small_disk, DISK_HEADROOM + (5 << 20))
    sync = run_cli(sync_command(slow_path, bundle, qdrant, "--log-level", "ERROR"), stderr=subprocess.PIPE)
    _, err = sync.communicate(timeout=240)
    assert sync.returncode == 1, (sync.returncode, err)  # not killed by a signal
    assert_disk_full_error(err, qdrant)
    assert f"{DISK_HEADROOM >> 20} MiB needed" not in err  # past the collection's creation: midway

    ballast.unlink()  # the operator frees disk space
    report = resync(slow_path, bundle, qdrant, capsys)
    assert report["unchanged"] >= SYNC_CHUNK  # the chunk written before the disk filled is kept
    assert report["added"] + report["unchanged"] == OCCUPATIONS
    assert_consistent(qdrant, bundle)


def test_an_unreachable_qdrant_server_is_a_clear_error_for_sync_and_serve(
    jobbert_path: Path, capsys: pytest.CaptureFixture
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert main(["sync", "--model", f"jobbert={jobbert_path}", "--qdrant-url", url, "--log-level", "ERROR"]) == 1
    err = capsys.readouterr().err
    assert f"jobmatch: the Qdrant server at {url} cannot be reached" in err
    serve = ["serve", "--model", f"jobbert={jobbert_path}", "--port", "0", "--qdrant-url", url, "--log-level", "ERROR"]
    assert main(serve) == 1
    err = capsys.readouterr().err
    assert f"jobmatch: the Qdrant server at {url} cannot be reached" in err
    assert "Traceback" not in err


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    cut = data.index(b'"', len(data) // 2)  # inside a quoted multi-line field: an unterminated record
    path.write_bytes(data[: cut + 5])


def _bad_encoding(path: Path) -> None:
    """A Latin-1 byte in record 7, which starts on line 14 (each record spans two lines)."""
    records = path.read_bytes().split(b"\r\n")
    records[7] = records[7].replace(b"grade", "gr\u00e4de".encode("latin-1"))
    path.write_bytes(b"\r\n".join(records))


def _missing_column(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").split("\r\n")
    lines[0] = lines[0].replace("preferredLabel", "prefLabel")
    path.write_text("\r\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (_truncated, ["occupations_en.csv:", "malformed CSV record"]),
        (_bad_encoding, ["occupations_en.csv:14: not valid UTF-8"]),
        (_missing_column, ["occupations_en.csv:1: missing required column 'preferredLabel'"]),
    ],
    ids=["truncated", "bad-encoding", "missing-column"],
)
def test_a_corrupted_esco_file_fails_naming_file_and_line_and_writes_nothing(
    damage, words: list[str], jobbert_path: Path, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    broken = shutil.copytree(bundle, tmp_path / "en")
    damage(broken / "occupations_en.csv")
    qdrant = tmp_path / "qdrant"
    command = ["sync", "--model", f"jobbert={jobbert_path}", "--esco-dir", str(broken), "--qdrant-path", str(qdrant)]
    assert main([*command, "--log-level", "ERROR"]) == 1
    err = capsys.readouterr().err
    assert "jobmatch: " in err
    for word in words:
        assert word in err
    assert not (qdrant / "collections").exists() or not any((qdrant / "collections").iterdir())


def _garbage_config(path: Path) -> None:
    (path / "config.json").write_text("{not json")


def _truncated_weights(path: Path) -> None:
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])


def _untrusted_module(path: Path) -> None:
    """A module class outside sentence-transformers: loading it would run code; refused unless trusted."""
    modules = json.loads((path / "modules.json").read_text())
    modules[1]["type"] = "os.system"
    (path / "modules.json").write_text(json.dumps(modules))


@pytest.mark.parametrize("damage", [_garbage_config, _truncated_weights, _untrusted_module])
def test_a_broken_model_directory_fails_at_start_up_with_a_clear_error(
    damage, jobbert_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    broken = shutil.copytree(jobbert_path, tmp_path / "broken")
    damage(broken)
    command = ["serve", "--model", f"x={broken}", "--port", "0", "--qdrant-path", str(tmp_path / "q")]
    assert main([*command, "--log-level", "ERROR"]) == 1
    err = capsys.readouterr().err
    assert f"jobmatch: cannot load model 'x' from {broken}" in err
    assert "Traceback" not in err
