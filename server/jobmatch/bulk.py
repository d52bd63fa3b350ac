"""`jobmatch match --input FILE|- --output FILE|-`: a CSV or JSONL file of queries through MatchOccupationsBatch.

What happens to bad input (docs/api.md, README):

- **A CSV without the query column** (or an empty file): nothing is sent and nothing written; the error names
  ``FILE:1`` and the columns found. Exit 2.
- **A broken line** (a JSONL line that is not a JSON object or lacks the query field, a CSV row with another
  number of fields than the header): reported as ``FILE:LINE: ...`` on stderr and as an error record in the
  output, in its place; the other lines are processed. A query the server refuses (empty, too long, ...) is
  reported the same way. Exit 3 when any line failed, with the whole output written.
- **A failure of the run itself** (the server unreachable, a deadline, Ctrl-C): the output file is not created
  (or left as it was): results go to a temporary file beside it, renamed into place only at the end. Exit 1.
  Written to stdout (``--output -``), the lines already printed stay printed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO

from jobmatch.client import JobMatchClient, JobMatchClientError, MatchResult, OccupationMatches

Format = Literal["csv", "jsonl"]
FORMATS: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
OUTPUT_COLUMNS = (
    "input_line",
    "match_rank",
    "match_score",
    "match_fits",
    "match_uri",
    "match_label",
    "match_isco_group",
    "match_code",
    "match_error",
)
SHOWN_PROBLEMS = 20  # per-line problems printed on stderr; the rest are counted


class BulkInputError(Exception):
    """The input cannot be processed at all (an unknown format, a CSV without the query column): nothing is
    sent or written."""


@dataclass(frozen=True)
class Record:
    """One input record: the line it starts on, its fields, and its query, or why it is broken."""

    line: int
    fields: dict[str, Any] | None
    query: str | None = None
    problem: str | None = None


@dataclass
class BulkReport:
    records: int = 0
    failed: int = 0
    first_problems: tuple[str, ...] = ()


def format_of(path: str, given: str | None, fallback: Format | None = None) -> Format:
    """`given`, else the format the file's extension names, else `fallback`."""
    if given:
        return given  # type: ignore[return-value]
    found = FORMATS.get(Path(path).suffix.lower()) if path != "-" else None
    if found or fallback:
        return found or fallback  # type: ignore[return-value]
    where = "stdin" if path == "-" else f"{path!r}"
    raise BulkInputError(f"cannot tell the format of {where}: name it .csv or .jsonl, or pass --format csv|jsonl")


# -- reading -------------------------------------------------------------------------------------


def read_records(stream: TextIO, name: str, fmt: Format, column: str) -> tuple[list[str], Iterator[Record]]:
    """The input's columns (a CSV's header, read now: BulkInputError without `column`; JSONL: just `column`)
    and its records, read lazily; a broken record has `problem` set."""
    if fmt == "jsonl":
        return [column], _jsonl_records(stream, name, column)
    reader = csv.reader(stream)
    header = _csv_header(reader, name, column)
    return header, _csv_records(reader, header, name, column)


def _csv_records(reader: Any, header: list[str], name: str, column: str) -> Iterator[Record]:
    position = header.index(column)
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield Record(line, None, problem=f"{name}:{line}: not a CSV row: {err}")
            line = reader.line_num + 1
            continue
        if row:  # blank lines are no records
            fields = dict(zip(header, row, strict=False))
            if len(row) != len(header):
                problem = f"{name}:{line}: {len(row)} fields where the header has {len(header)}"
                yield Record(line, fields, problem=problem)
            else:
                yield Record(line, fields, query=row[position])
        line = reader.line_num + 1


def _csv_header(reader: Iterator[list[str]], name: str, column: str) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise BulkInputError(f"{name}:1: empty file: a CSV needs a header with a {column!r} column") from None
    except csv.Error as err:
        raise BulkInputError(f"{name}:1: not a CSV header: {err}") from None
    if column not in header:
        found = ", ".join(repr(c) for c in header) or "none"
        raise BulkInputError(f"{name}:1: no column {column!r} in the header (columns: {found}); see --column")
    return header


def _jsonl_records(stream: TextIO, name: str, field: str) -> Iterator[Record]:
    for line, text in enumerate(stream, 1):
        if text.strip():
            yield _jsonl_record(text, f"{name}:{line}", line, field)


def _jsonl_record(text: str, where: str, line: int, field: str) -> Record:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        return Record(line, None, problem=f"{where}: not valid JSON: {err.msg} (column {err.colno})")
    if not isinstance(value, dict):
        return Record(line, None, problem=f"{where}: not a JSON object")
    query = value.get(field)
    if not isinstance(query, str):
        problem = f"no field {field!r}" if query is None else f"field {field!r} is not a string"
        return Record(line, value, problem=f"{where}: {problem}; see --field")
    return Record(line, value, query=query)


def count_records(path: str, fmt: Format) -> int | None:
    """How many records a regular file holds (for the progress bar), or None when unknown or unreadable."""
    if path == "-":
        return None
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            if fmt == "jsonl":
                return sum(1 for text in handle if text.strip())
            return max(0, sum(1 for row in csv.reader(handle) if row) - 1)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


# -- writing -------------------------------------------------------------------------------------


def matches_json(matches: OccupationMatches) -> dict[str, Any]:
    """A `match_occupations` answer as JSON: the verdict and the ranked matches."""
    return {
        "no_fit": matches.no_fit,
        "min_score": round(matches.min_score, 6),
        "matches": [
            {
                "rank": rank,
                "score": round(m.score, 6),
                "fits": m.fits,
                "uri": m.uri,
                "preferred_label": m.preferred_label,
                "isco_group": m.isco_group,
                "code": m.code,
                "skills": list(m.skills),
                **({"description": m.description} if m.description else {}),
            }
            for rank, m in enumerate(matches, 1)
        ],
    }


def describe(error: JobMatchClientError) -> str:
    return f"{error} ({error.reason})" if error.reason else str(error)


def error_json(error: JobMatchClientError) -> dict[str, Any]:
    return {"code": error.code.name, "reason": error.reason, "message": error.message}


class Writer(Protocol):
    def answer(self, record: Record, result: MatchResult) -> None: ...

    def problem(self, record: Record, message: str) -> None: ...


class JsonlWriter:
    """One JSON object per input record, in input order: its line, the input record, and the answer or error."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def _write(self, record: Record, body: dict[str, Any]) -> None:
        line = {"line": record.line, "input": record.fields, "query": record.query, **body}
        self._out.write(json.dumps(line, ensure_ascii=False) + "\n")

    def answer(self, record: Record, result: MatchResult) -> None:
        if result.error is not None:
            self._write(record, {"error": error_json(result.error)})
        else:
            self._write(record, matches_json(result.result()))

    def problem(self, record: Record, message: str) -> None:
        self._write(record, {"error": {"code": "INVALID_ARGUMENT", "reason": "BROKEN_LINE", "message": message}})


class CsvWriter:
    """The input columns, then one row per match (`match_*` columns); a failed record gets one row with
    `match_error` set."""

    def __init__(self, out: TextIO, input_columns: list[str]) -> None:
        self._columns = [c for c in input_columns if c not in OUTPUT_COLUMNS]
        self._writer = csv.writer(out)
        self._writer.writerow([*self._columns, *OUTPUT_COLUMNS])

    def _row(self, record: Record, values: list[Any]) -> None:
        fields = record.fields or {}
        self._writer.writerow([*(_cell(fields.get(c, "")) for c in self._columns), record.line, *values])

    def answer(self, record: Record, result: MatchResult) -> None:
        if result.error is not None:
            self.problem(record, describe(result.error))
            return
        for rank, m in enumerate(result.result(), 1):
            self._row(record, [rank, f"{m.score:.6f}", m.fits, m.uri, m.preferred_label, m.isco_group, m.code, ""])

    def problem(self, record: Record, message: str) -> None:
        self._row(record, ["", "", "", "", "", "", "", message])


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[TextIO]:
    """stdout for "-"; else a temporary file beside `path`, renamed over it only when the block succeeds."""
    if path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent or ".")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def open_input(path: str) -> Iterator[TextIO]:
    """The input as text (UTF-8, a byte-order mark skipped), stdin for "-"."""
    if path == "-":
        yield io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        return
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed below)
    except OSError as err:
        raise BulkInputError(f"cannot read {path}: {err.strerror}") from None
    with handle:
        yield handle


# -- running ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkOptions:
    """What each query is sent with, and how: `batch_size` queries per MatchOccupationsBatch call."""

    kind: str = "job_title"
    top_k: int = 10
    language: str = ""
    isco_prefixes: tuple[str, ...] = ()
    min_score: float | None = None
    batch_size: int = 100


def match_records(
    client: JobMatchClient,
    records: Iterable[Record],
    writer: Writer,
    options: BulkOptions,
    *,
    name: str,
    progress: Any,
) -> BulkReport:
    """Send the good records' queries through the client's batch pipeline and write every record's outcome in
    input order (a broken record waits in line for the answers before it); problems are shown as `name:LINE`."""
    queue: deque[Record] = deque()
    report = BulkReport()
    problems: list[str] = []

    def queries() -> Iterator[str]:
        for record in records:
            queue.append(record)
            if record.problem is None:
                yield record.query or ""

    def flush_broken() -> None:
        while queue and queue[0].problem is not None:
            record = queue.popleft()
            writer.problem(record, record.problem or "")
            _count(report, problems, record.problem, progress)

    answers = client.iter_match_occupations_batch(
        queries(),
        kind=options.kind,
        top_k=options.top_k,
        language=options.language,
        isco_prefixes=options.isco_prefixes,
        min_score=options.min_score,
        batch_size=options.batch_size,
    )
    for result in answers:
        flush_broken()
        record = queue.popleft()
        writer.answer(record, result)
        failure = None if result.error is None else f"{name}:{record.line}: {describe(result.error)}"
        _count(report, problems, failure, progress)
    flush_broken()
    report.first_problems = tuple(problems)
    return report


def _count(report: BulkReport, problems: list[str], problem: str | None, progress: Any) -> None:
    report.records += 1
    progress.update(1)
    if problem is None:
        return
    report.failed += 1
    if len(problems) < SHOWN_PROBLEMS:
        problems.append(problem)
        progress.write(problem, file=sys.stderr)
