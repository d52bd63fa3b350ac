"""Structured logs: one JSON object per record, extra fields and tracebacks included."""

from __future__ import annotations

import json
import logging
import sys

from jobmatch.server.observability import JsonFormatter, configure_logging


def record(message: str, *args: object, exc_info=None, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("jobmatch.test")
    return logger.makeRecord("jobmatch.test", logging.WARNING, __file__, 1, message, args, exc_info, extra=extra)


def test_a_record_is_one_json_line_with_its_extra_fields() -> None:
    line = JsonFormatter().format(record("queue at %d%%", 93, replica="a", queued=7600))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "queue at 93%"
    assert (entry["level"], entry["logger"]) == ("WARNING", "jobmatch.test")
    assert (entry["replica"], entry["queued"]) == ("a", 7600)
    assert entry["time"].endswith("+00:00")


def test_an_exception_keeps_its_traceback_in_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        line = JsonFormatter().format(record("failed", exc_info=sys.exc_info()))
    entry = json.loads(line)
    assert "ValueError: boom" in entry["exception"]
    assert "\n" not in line


def test_configure_logging_installs_the_chosen_format() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("DEBUG", "json")
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
        assert root.level == logging.DEBUG
        configure_logging("INFO", "text")
        assert not isinstance(root.handlers[0].formatter, JsonFormatter)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
