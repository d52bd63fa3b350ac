"""The one exception type of the ESCO loader."""

from __future__ import annotations

from pathlib import Path

__all__ = ["EscoFormatError"]


class EscoFormatError(ValueError):
    """An ESCO file or bundle cannot be used; ``str()`` reads ``path:line: message``."""

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        where = ""
        if self.path is not None:
            where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        super().__init__(where + message)
