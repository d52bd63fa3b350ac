"""Compact ESCO snapshot: round trip, bundled v1.1.1 English file, size, CLI."""

from __future__ import annotations

import gzip
import json
import os
import runpy
import sys
from pathlib import Path

import pytest

from jobmatch.server.esco import (
    ATTRIBUTION,
    EscoDataset,
    EscoFormatError,
    build_snapshot,
    content_hash,
    default_snapshot_path,
    load_bundles,
    load_snapshot,
    read_snapshot_metadata,
)

ROOT = Path(__file__).resolve().parents[2]
MAX_SNAPSHOT_BYTES = 3 * 1024 * 1024


def _esco_dir() -> Path | None:
    candidates = [os.environ.get("ESCO_DATA_DIR"), ROOT / "shared" / "esco", ROOT.parent / "shared" / "esco"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "v1.1.1" / "occupations_en.csv").is_file():
            return Path(candidate)
    return None


ESCO = _esco_dir()
needs_esco = pytest.mark.skipif(ESCO is None, reason="ESCO CSV releases (shared/esco) not found")


@pytest.fixture(scope="module")
def v111() -> EscoDataset:
    assert ESCO is not None
    return load_bundles([ESCO / "v1.1.1"])


@pytest.fixture(scope="module")
def bundled() -> EscoDataset:
    return load_snapshot()


def test_bundled_snapshot_metadata_and_size() -> None:
    path = default_snapshot_path()
    assert path.name == "esco-v1.1.1-en.json.gz"
    assert path.stat().st_size < MAX_SNAPSHOT_BYTES
    meta = read_snapshot_metadata()
    assert (
        meta["attribution"] == ATTRIBUTION == ("This service uses the ESCO classification of the European Commission.")
    )
    assert meta["esco_version"] == "v1.1.1"
    assert meta["languages"] == ["en"]
    assert meta["counts"] == {
        "occupations": 3007,
        "skills": 13123,  # the skills some occupation references (of 13,896)
        "isco_groups": 619,
        "essential": 64891,
        "optional": 58897,
    }
    assert len(meta["problems"]) == 2
    assert all(not p.startswith("/") for p in meta["problems"])  # no local paths in the committed file


def test_bundled_snapshot_loads(bundled: EscoDataset) -> None:
    assert bundled.version == "v1.1.1"
    assert len(bundled.occupations) == 3007
    assert len(bundled.isco_groups) == 619
    director = bundled.occupations["http://data.europa.eu/esco/occupation/00030d09-2b3a-4efd-87cc-c4ea39d27c34"]
    assert director.preferred_label == {"en": "technical director"}
    assert "organise rehearsals" in bundled.skill_labels(director, "en")
    assert bundled.isco_groups["0110"].code == "0110"


@needs_esco
def test_snapshot_round_trip_equals_csv_load(v111: EscoDataset, bundled: EscoDataset, tmp_path: Path) -> None:
    path = tmp_path / "snap.json.gz"
    size = build_snapshot(v111, path)
    assert size == path.stat().st_size < MAX_SNAPSHOT_BYTES
    loaded = load_snapshot(path)
    assert (loaded.version, loaded.languages, loaded.problems) == (
        v111.version,
        v111.languages,
        v111.problems,
    )
    assert loaded.occupations == v111.occupations  # every Occupation field is kept
    assert loaded.isco_groups == v111.isco_groups
    referenced = {uri for o in v111.occupations.values() for uri in o.skill_uris()}
    assert set(loaded.skills) == referenced
    for uri, skill in loaded.skills.items():
        full = v111.skills[uri]
        assert (skill.preferred_label, skill.skill_type, skill.reuse_level) == (
            full.preferred_label,
            full.skill_type,
            full.reuse_level,
        )
    sample = list(v111.occupations.values())[::10]
    assert all(content_hash(o, loaded) == content_hash(o, v111) for o in sample)
    # The bundled file is up to date: the same bytes as a fresh build from the CSV files.
    assert path.read_bytes() == default_snapshot_path().read_bytes()
    assert bundled.occupations == v111.occupations


@needs_esco
def test_build_snapshot_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    assert ESCO is not None
    out = tmp_path / "cli.json.gz"
    argv = ["build_snapshot", "--esco-dir", str(ESCO / "v1.1.1"), "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as info:
        runpy.run_module("jobmatch.server.esco.build_snapshot", run_name="__main__")
    assert info.value.code == 0
    printed = capsys.readouterr().out
    assert "3007 occupations" in printed
    assert ATTRIBUTION in printed
    assert out.read_bytes() == default_snapshot_path().read_bytes()


def test_corrupt_snapshots(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(EscoFormatError, match="not a readable snapshot"):
        load_snapshot(bad)
    bad.write_bytes(gzip.compress(json.dumps({"format": "other"}).encode()))
    with pytest.raises(EscoFormatError, match="not a jobmatch-esco-snapshot file"):
        load_snapshot(bad)
    document = {"format": "jobmatch-esco-snapshot", "format_version": 1, "skills": [], "occupations": [{}]}
    bad.write_bytes(gzip.compress(json.dumps(document).encode()))
    with pytest.raises(EscoFormatError, match="corrupt snapshot"):
        load_snapshot(bad)
    with pytest.raises(FileNotFoundError):
        load_snapshot(tmp_path / "missing.json.gz")
