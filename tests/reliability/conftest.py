"""Fixtures of the reliability campaign: a second tiny JobBERT (other weights) for multi-model load."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tiny_models import build_tiny_jobbert


@pytest.fixture(scope="session")
def other_jobbert_path(models_dir: Path) -> Path:
    """Tiny JobBERT architecture with other random weights: a third model with two sides."""
    return build_tiny_jobbert(models_dir / "jobbert-seed1", seed=1)
