"""A tiny JobBERT whose every forward pass takes a fixed time: deadlines that expire while work is
queued or running become deterministic instead of timing-lucky.

The delay is a real sentence-transformers module (`SlowDown`) between pooling and the heads, loaded
from `modules.json` like any custom module (so the server needs `trust_remote_code`).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import ClassVar

from sentence_transformers.base.modules import Module
from torch import Tensor

from tests.support.tiny_models import build_tiny_jobbert


class SlowDown(Module):
    """Passes features through unchanged after sleeping `seconds` (once per forward pass)."""

    config_keys: ClassVar[list[str]] = ["seconds"]

    def __init__(self, seconds: float = 0.2) -> None:
        super().__init__()
        self.seconds = seconds

    def forward(self, features: dict[str, Tensor], **kwargs: object) -> dict[str, Tensor]:
        time.sleep(self.seconds)
        return features

    def save(self, output_path: str, *args: object, **kwargs: object) -> None:
        self.save_config(output_path)


def build_slow_jobbert(path: Path, seconds: float) -> Path:
    """Tiny JobBERT (see tiny_models) with a `SlowDown(seconds)` module before its heads."""
    build_tiny_jobbert(path)
    modules = json.loads((path / "modules.json").read_text())
    router = modules.pop()
    slow_dir = path / "2_SlowDown"
    slow_dir.mkdir()
    (slow_dir / "config.json").write_text(json.dumps({"seconds": seconds}))
    modules.append({"idx": 2, "name": "2", "path": "2_SlowDown", "type": f"{__name__}.SlowDown"})
    shutil.move(path / router["path"], path / "3_Router")
    modules.append({**router, "idx": 3, "name": "3", "path": "3_Router"})
    (path / "modules.json").write_text(json.dumps(modules, indent=2))
    return path
