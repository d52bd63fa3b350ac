"""The error enum against the API's documented contract: docs/api.md's table of codes and reasons.

`server/errors.py` names each kind's gRPC code (grpc is imported only where a status is sent), so a
misspelt name would fail only when that kind is raised; here every kind is resolved, and each one's
code and retry delay must be the ones the documentation promises clients.
"""

from __future__ import annotations

import re
from pathlib import Path

import grpc

from jobmatch.server.errors import ErrorKind

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
_CODE_CELL = re.compile(r"^`([A-Z_]+)` \((\d+)\)$")
NO_RETRY_INFO = "\u2013"  # the table's en dash
SYNC_ONLY = {ErrorKind.INVALID_DATASET}
"""Kinds no caller receives: a sync refusing its ESCO input fails the CLI, or the server's start, which
callers then see as START_FAILED (``app.load_models``)."""


def documented_errors() -> dict[str, tuple[str, int, str]]:
    """Reason -> (code name, code number, RetryInfo cell) from the table under "Status codes and reasons"."""
    section = API_DOC.read_text().split("## Status codes and reasons", 1)[1]
    table = section.split("\n| code (number) |", 1)[1].split("\n\n", 1)[0]
    found: dict[str, tuple[str, int, str]] = {}
    code = ("", 0)
    for row in table.splitlines()[2:]:  # the header's rest, then its rule
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        match = _CODE_CELL.match(cells[0])
        if match:
            code = (match.group(1), int(match.group(2)))
        for reason in re.findall(r"`([A-Z_]+)`", cells[1]):
            found[reason] = (*code, cells[-1])
    return found


def test_every_kind_is_documented_with_its_code_and_retry_delay() -> None:
    documented = documented_errors()
    assert set(documented) == {kind.value for kind in ErrorKind if kind not in SYNC_ONLY}
    for kind in ErrorKind:
        assert isinstance(kind.status_code, grpc.StatusCode)  # every code name resolves
        if kind in SYNC_ONLY:
            continue
        name, number, retry = documented[kind.value]
        assert (kind.status_code.name, kind.status_code.value[0]) == (name, number), kind
        assert retry == _retry_cell(kind.retry_delay_s), kind


def _retry_cell(delay_s: float | None) -> str:
    """How the table writes a retry delay: "100 ms", "1 s", or an en dash for none."""
    if delay_s is None:
        return NO_RETRY_INFO
    return f"{delay_s * 1000:.0f} ms" if delay_s < 1 else f"{delay_s:.0f} s"
