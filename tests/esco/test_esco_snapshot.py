"""Compact ESCO snapshot: round trip, bundled v1.1.1 English file, size, CLI.

The round trip and the CLI run on the records cut from the v1.1.1 release into tests/data/esco, and
check the bundled snapshot against them record by record. Whether the bundled file is exactly a
fresh build of the whole release needs the full release: set ``ESCO_DATA_DIR`` to a folder with
``v1.1.1/`` (the official CSV files) to run that test too.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import runpy
import sys
import time
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
from tests.support.esco_bundle import ESCO_FIXTURE

MAX_SNAPSHOT_BYTES = 3 * 1024 * 1024
MAX_FIXTURE_BYTES = 512 * 1024
FULL_RELEASE = os.environ.get("ESCO_DATA_DIR")
needs_full_release = pytest.mark.skipif(
    not FULL_RELEASE, reason="set ESCO_DATA_DIR to a folder with the full ESCO releases (v1.1.1/, v1.2.0/{en,de}/)"
)


@pytest.fixture(scope="module")
def v111() -> EscoDataset:
    return load_bundles([ESCO_FIXTURE / "v1.1.1"])


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
    assert all(content_hash(o, loaded) == content_hash(o, v111) for o in v111.occupations.values())
    # The bundled file agrees with the release: each occupation of the cut (complete: all its skills
    # and broader links) reads from it as from the CSV files, with the same skills and ISCO groups,
    # so a sync of either embeds the same texts (same content hashes).
    for uri, occupation in v111.occupations.items():
        assert bundled.occupations[uri] == occupation
        assert content_hash(occupation, bundled) == content_hash(occupation, v111)
    for uri in referenced:
        assert bundled.skills[uri].preferred_label == v111.skills[uri].preferred_label
    assert all(bundled.isco_groups[code] == group for code, group in v111.isco_groups.items())


def test_build_snapshot_cli(
    v111: EscoDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "cli.json.gz"
    argv = ["build_snapshot", "--esco-dir", str(ESCO_FIXTURE / "v1.1.1"), "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as info:
        runpy.run_module("jobmatch.server.esco.build_snapshot", run_name="__main__")
    assert info.value.code == 0
    printed = capsys.readouterr().out
    assert f"ESCO v1.1.1 (en): {len(v111.occupations)} occupations, {len(v111.skills)} skills" in printed
    assert printed.count("  problem: ") == 2  # the release's dangling rows, reported
    assert ATTRIBUTION in printed
    api = tmp_path / "api.json.gz"
    build_snapshot(v111, api)
    assert out.read_bytes() == api.read_bytes()  # deterministic: the same bytes as the library's build


def test_the_esco_fixture_is_small_and_attributed() -> None:
    files = [path for path in ESCO_FIXTURE.rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) < MAX_FIXTURE_BYTES
    assert ATTRIBUTION in (ESCO_FIXTURE / "README.md").read_text(encoding="utf-8")


@needs_full_release
def test_the_esco_fixture_is_a_cut_of_the_full_releases(tmp_path: Path) -> None:
    """Opt-in: scripts/cut_esco_fixture.py cuts exactly the committed files from the releases."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "cut_esco_fixture.py"
    spec = importlib.util.spec_from_file_location("cut_esco_fixture", script)
    assert spec is not None
    assert spec.loader is not None
    cut = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cut)
    assert FULL_RELEASE is not None
    cut.cut_v111(Path(FULL_RELEASE) / "v1.1.1", tmp_path / "v1.1.1")
    cut.cut_v120(Path(FULL_RELEASE) / "v1.2.0", tmp_path / "v1.2.0")
    made = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*.csv"))
    assert made == sorted(path.relative_to(ESCO_FIXTURE) for path in ESCO_FIXTURE.rglob("*.csv"))
    assert all((tmp_path / name).read_bytes() == (ESCO_FIXTURE / name).read_bytes() for name in made)


@needs_full_release
def test_the_bundled_snapshot_is_a_fresh_build_of_the_full_release(tmp_path: Path) -> None:
    """Opt-in: the whole v1.1.1 release loads completely and fast, and builds the bundled file byte for byte."""
    assert FULL_RELEASE is not None
    started = time.perf_counter()
    full = load_bundles([Path(FULL_RELEASE) / "v1.1.1"])
    seconds = time.perf_counter() - started
    assert (len(full.occupations), len(full.skills), len(full.isco_groups)) == (3007, 13896, 619)
    # the release README's 64,946 / 58,909 include the 55 + 12 dangling rows
    assert full.relation_counts() == {"essential": 64946 - 55, "optional": 58909 - 12}
    assert [p.split(": ")[0] for p in full.problems] == [
        "v1.1.1/occupationSkillRelations.csv:84425",
        "v1.1.1/broaderRelationsOccPillar.csv:3205",
    ]
    assert seconds < 10, f"full v1.1.1 load took {seconds:.2f} s"
    path = tmp_path / "snap.json.gz"
    build_snapshot(full, path)
    assert path.read_bytes() == default_snapshot_path().read_bytes()


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
