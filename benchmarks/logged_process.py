"""A server under test as a subprocess: its output in a log file, stopped with SIGTERM."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path


class LoggedProcess:
    """`command` started with stdout and stderr in `log_path`."""

    def __init__(self, command: Sequence[str], log_path: Path, env: dict[str, str]) -> None:
        self.command = list(command)
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s; safe to call twice."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
