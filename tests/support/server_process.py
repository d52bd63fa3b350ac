"""`jobmatch serve` in a subprocess on 127.0.0.1: for tests and scripts that need a separate process
(its own CPU and memory to measure, signals to send)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`with ServerProcess(["--model", "x=/path", ...]) as server:` waits until health is SERVING.

    Unless given, `--qdrant-path` is a fresh temporary directory and `--no-auto-sync` is set, so the
    process never touches the user's data directory. stderr goes to `log_path`.
    """

    def __init__(self, arguments: Sequence[str], *, env: dict[str, str] | None = None, start_s: float = 180) -> None:
        self.port = free_port()
        self._start_s = start_s
        self._workdir = Path(tempfile.mkdtemp(prefix="jobmatch-server-"))
        self.log_path = self._workdir / "server.log"
        defaults: list[str] = []
        if "--qdrant-path" not in arguments and "--qdrant-url" not in arguments:
            defaults += ["--qdrant-path", str(self._workdir / "qdrant")]
        if not any(a in arguments for a in ("--auto-sync", "--no-auto-sync")):
            defaults.append("--no-auto-sync")
        self.command = [
            sys.executable, "-m", "jobmatch.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
            *defaults, *arguments,
        ]  # fmt: skip
        self._env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
        self.process: subprocess.Popen | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> ServerProcess:
        if self.process is None:
            self.start()
        try:
            self.wait_serving()
        except BaseException:
            self.kill()
            raise
        return self

    def start(self) -> ServerProcess:
        """Launch without waiting (do other work while it loads; `with` then waits for SERVING)."""
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(self.command, env=self._env, stderr=log, stdout=subprocess.DEVNULL)
        return self

    def wait_serving(self) -> None:
        deadline = time.monotonic() + self._start_s
        with grpc.insecure_channel(self.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(f"server exited during start-up:\n{self.log()[-3000:]}")
                try:
                    if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        raise TimeoutError(f"server not SERVING after {self._start_s} s:\n{self.log()[-3000:]}")

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, then wait for the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def __exit__(self, *exc: object) -> None:
        try:
            self.terminate()
        finally:
            self.kill()


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")
