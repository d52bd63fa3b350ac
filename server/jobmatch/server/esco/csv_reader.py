"""Read ESCO CSV files by header name, with file:line on every error.

ESCO CSV files are RFC 4180 files in UTF-8: records end with CRLF (English) or LF (German), and
multi-value fields hold one value per line inside a quoted field. Only Python's :mod:`csv` module
with ``newline=""`` reads them correctly; this module wraps it so that callers get

* columns by header name (extra columns are ignored, missing required ones are an error),
* the line on which each record *starts* (records span several lines),
* :class:`EscoFormatError` naming the file and the line for a malformed record.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Protocol

from .errors import EscoFormatError

__all__ = ["read_rows", "split_multi"]


class _Reader(Protocol):
    """What this module uses of a :func:`csv.reader`."""

    line_num: int

    def __next__(self) -> list[str]: ...


def read_rows(
    path: Path, columns: Sequence[str], *, optional: Sequence[str] = ()
) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Yield ``(line, values)`` for each record of ``path``.

    ``values`` holds the fields of ``columns`` then of ``optional``, in that order; an optional
    column absent from the header reads as ``""``. ``line`` is the 1-based line where the record
    starts. Blank lines are skipped. A BOM, if any, is ignored.

    Raises:
        EscoFormatError: empty file, a required column missing or duplicated, a record with a
            field count different from the header's, broken quoting, or invalid UTF-8.
    """
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        header = _next_record(reader, path, 1)
        if header is None:
            raise EscoFormatError("empty file: no header row", path=path, line=1)
        positions = {name: index for index, name in enumerate(header)}
        for name in columns:
            if name not in positions:
                raise EscoFormatError(
                    f"missing required column {name!r} (header: {','.join(header)})", path=path, line=1
                )
            if header.count(name) > 1:
                raise EscoFormatError(f"column {name!r} appears more than once", path=path, line=1)
        wanted = [positions[name] for name in columns] + [positions.get(name, -1) for name in optional]
        pick = _picker(wanted)
        width = len(header)
        last = reader.line_num
        try:
            for row in reader:
                start, last = last + 1, reader.line_num
                if len(row) != width:
                    if not row:
                        continue
                    raise EscoFormatError(
                        f"expected {width} fields as in the header, found {len(row)}", path=path, line=start
                    )
                yield start, pick(row)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise _broken(path, last + 1, reader.line_num, exc) from exc


def _picker(indices: Sequence[int]) -> Callable[[list[str]], tuple[str, ...]]:
    """A fast ``row -> tuple of the fields at indices`` (index -1 reads as "")."""
    if len(indices) > 1 and min(indices) >= 0:
        return itemgetter(*indices)  # type: ignore[return-value]
    return lambda row: tuple(row[i] if i >= 0 else "" for i in indices)


def _broken(path: Path, start: int, detected: int, exc: Exception) -> EscoFormatError:
    """The EscoFormatError for a record that the csv module or the UTF-8 decoder refused."""
    if isinstance(exc, UnicodeDecodeError):
        line = _invalid_utf8_line(path)  # the decoder works on buffered blocks: its position is not the line's
        return EscoFormatError(f"not valid UTF-8 ({exc.reason})", path=path, line=line)
    return EscoFormatError(f"malformed CSV record ({exc}; detected at line {detected})", path=path, line=start)


def _invalid_utf8_line(path: Path) -> int:
    """The 1-based line of the first byte that is not valid UTF-8 in `path`."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return 1


def _next_record(reader: _Reader, path: Path, start: int) -> list[str] | None:
    """Return the next record, None at the end, or raise EscoFormatError for a broken one."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise _broken(path, start, reader.line_num, exc) from exc


def split_multi(value: str) -> tuple[str, ...]:
    """Split a multi-value field on newlines: strip each value, drop empties and duplicates."""
    if not value:
        return ()
    seen: dict[str, None] = {}
    for part in value.split("\n"):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return tuple(seen)
