"""Infinity (`infinity-emb` from PyPI) as the peer server: its own virtual environment, a
subprocess on 127.0.0.1 serving the same model directory, and an HTTP load generator.

The virtual environment lives in `benchmarks/.venv-infinity` (git-ignored) and is created on first
use: torch==2.13.0 first (the CPU wheel this machine has on disk; a bare torch requirement would
pull a multi-GB CUDA build), then `infinity-emb[server]==0.0.78` with the library versions it was
released against (it crashes in its start-up warm-up with sentence-transformers >= 4 or
transformers > 5.0).
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import numpy as np
from logged_process import LoggedProcess

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-infinity"
INFINITY_VERSION = "0.0.78"
REQUIREMENTS = (
    ["torch==2.13.0"],
    [f"infinity-emb[server]=={INFINITY_VERSION}", "sentence-transformers<4", "transformers<4.50"],
)
READY_TIMEOUT_S = 240.0
INSTALL_TIMEOUT_S = 1500.0


def executable(venv: Path = VENV) -> Path:
    return venv / "bin" / "infinity_emb"


def ensure_installed(log_path: Path, venv: Path = VENV) -> Path:
    """Create the virtual environment and install Infinity unless it is there; returns the CLI path.

    Raises RuntimeError (with the tail of the pip log) when the installation fails.
    """
    cli = executable(venv)
    marker = venv / f".installed-{INFINITY_VERSION}"
    if cli.exists() and marker.exists():
        return cli
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, stdout=log, stderr=log)
        for requirement in REQUIREMENTS:
            done = subprocess.run(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *requirement],
                stdout=log,
                stderr=log,
                timeout=INSTALL_TIMEOUT_S,
                check=False,
            )
            if done.returncode != 0:
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
                raise RuntimeError(f"pip install {' '.join(requirement)} failed ({done.returncode}):\n{tail}")
    marker.touch()
    return cli


class InfinityProcess(LoggedProcess):
    """`infinity_emb v2` on 127.0.0.1 and a free port, the same model directory as jobmatch, CPU,
    offline; stopped with SIGTERM. Its OpenAI-style endpoint is `POST /embeddings`."""

    def __init__(self, cli: Path, model_path: str, port: int, log_path: Path, batch_size: int = 32) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.model = "minilm"
        command = [
            str(cli),
            "v2",
            "--model-id",
            model_path,
            "--served-model-name",
            self.model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--engine",
            "torch",
            "--device",
            "cpu",
            "--batch-size",
            str(batch_size),
            "--no-bettertransformer",
            "--log-level",
            "warning",  # as the jobmatch server: no per-request access log
        ]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0", "DO_NOT_TRACK": "1"}
        env.pop("OMP_WAIT_POLICY", None)  # set by jobmatch in this process; Infinity runs with torch's defaults
        super().__init__(command, log_path, env)

    async def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Poll `/health` until it answers 200; returns the seconds it took."""
        started = time.perf_counter()
        async with aiohttp.ClientSession() as session:
            while time.perf_counter() - started < timeout_s:
                if self.process.poll() is not None:
                    raise RuntimeError(f"infinity exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    async with session.get(f"{self.url}/health", timeout=aiohttp.ClientTimeout(total=2)) as reply:
                        if reply.status == 200:
                            return time.perf_counter() - started
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.5)
        raise RuntimeError(f"infinity not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    async def smoke_check(self, text: str) -> int:
        """One embedding; returns its dimension."""
        async with aiohttp.ClientSession() as session:
            vectors = await embed(session, self.url, self.model, [text])
        return len(vectors[0])


async def embed(session: aiohttp.ClientSession, url: str, model: str, texts: Sequence[str]) -> list[np.ndarray]:
    """The vectors of `texts` from Infinity's OpenAI-style endpoint; raises on an HTTP error."""
    payload = {"model": model, "input": list(texts), "encoding_format": "base64"}
    async with session.post(f"{url}/embeddings", json=payload) as reply:
        if reply.status != 200:
            raise HttpError(reply.status)
        body = await reply.json()
    # base64 of little-endian float32, as compact as jobmatch's packed encoding
    return [np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4") for item in body["data"]]


class HttpError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
