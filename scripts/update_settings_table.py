"""Rewrite the settings table in README.md from ServerSettings (tests/test_settings_table.py checks it)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from jobmatch.server.config import settings_table

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- settings-table:start.*?-->\n)(.*?)(<!-- settings-table:end -->)", re.S)


def updated(text: str) -> str:
    if not BLOCK.search(text):
        raise SystemExit("README.md has no <!-- settings-table:start --> ... <!-- settings-table:end --> block")
    return BLOCK.sub(lambda m: m.group(1) + settings_table() + m.group(3), text)


if __name__ == "__main__":
    text = README.read_text()
    README.write_text(updated(text))
    sys.exit(0)
