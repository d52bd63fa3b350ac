"""csv_reader: columns by header name, record start lines, multi-value fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobmatch.server.esco import EscoFormatError, read_rows, split_multi


def test_split_multi() -> None:
    assert split_multi("") == ()
    assert split_multi("a\nb") == ("a", "b")
    assert split_multi(" a \r\n\n b\nb\n") == ("a", "b")


def test_rows_by_header_with_crlf_records_and_lf_inside(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b'b,a,c\r\n1,"x\ny\nz",3\r\n\r\n4,5,6\r\n')
    rows = list(read_rows(path, ("a", "b"), optional=("c", "missing")))
    assert rows == [(2, ("x\ny\nz", "1", "3", "")), (6, ("5", "4", "6", ""))]


def test_single_column(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    assert list(read_rows(path, ("b",))) == [(2, ("2",))]


def test_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"")
    with pytest.raises(EscoFormatError, match=r"x\.csv:1: empty file"):
        list(read_rows(path, ("a",)))
    path.write_bytes(b"a,a\n1,2\n")
    with pytest.raises(EscoFormatError, match="appears more than once"):
        list(read_rows(path, ("a",)))
    path.write_bytes(b"a,b\n1,2\n\xff,3\n")
    with pytest.raises(EscoFormatError, match=r"x\.csv:\d+: not valid UTF-8"):
        list(read_rows(path, ("a",)))
