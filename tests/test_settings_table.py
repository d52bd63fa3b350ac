"""The README's settings table is the one ServerSettings generates: it cannot drift from the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from jobmatch.server.config import ServerSettings, flag_of

ROOT = Path(__file__).resolve().parent.parent


def _updater():
    spec = importlib.util.spec_from_file_location("update_settings_table", ROOT / "scripts/update_settings_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_settings_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    assert _updater().updated(readme) == readme, "stale settings table: run python scripts/update_settings_table.py"


def test_table_has_one_row_per_setting_with_its_flag_and_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in ServerSettings.model_fields:
        assert f"| `{flag_of(name)}" in readme, name
        assert f"`JOBMATCH_{name.upper()}`" in readme, name
