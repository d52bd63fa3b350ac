"""Shared fixtures: tiny models built at test time, the packaged MiniLM, and a live server."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# ONNX exports of the test models, made once per run and shared by every server (and subprocess).
os.environ.setdefault("JOBMATCH_CACHE_DIR", tempfile.mkdtemp(prefix="jobmatch-test-cache-"))

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmatch.client import JobMatchClient
from jobmatch.server.config import ServerSettings
from tests.support.server import ServerThread
from tests.support.tiny_models import build_tiny_jobbert, build_tiny_symmetric, minilm_path


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def jobbert_path(models_dir: Path) -> Path:
    """A tiny random model with JobBERT-v3's architecture (Router with anchor/positive heads)."""
    return build_tiny_jobbert(models_dir / "jobbert")


@pytest.fixture(scope="session")
def legacy_jobbert_path(models_dir: Path) -> Path:
    """The same weights in the hub checkpoint's legacy `2_Asym/` layout."""
    return build_tiny_jobbert(models_dir / "jobbert-legacy", legacy_asym_layout=True)


@pytest.fixture(scope="session")
def symmetric_path(models_dir: Path) -> Path:
    """A tiny symmetric BERT standing for CareerBERT-G."""
    return build_tiny_symmetric(models_dir / "careerbert")


@pytest.fixture(scope="session")
def minilm() -> Path:
    return minilm_path()


@pytest.fixture(scope="session")
def model_specs(jobbert_path: Path, legacy_jobbert_path: Path, symmetric_path: Path, minilm: Path) -> list[str]:
    return [
        f"jobbert={jobbert_path}",
        f"jobbert-legacy={legacy_jobbert_path}",
        f"careerbert={symmetric_path}",
        f"minilm={minilm}",
    ]


def make_settings(specs: list[str], **overrides) -> ServerSettings:
    """Settings for a test server: its own embedded Qdrant directory, no ESCO sync unless asked."""
    overrides.setdefault("qdrant_path", Path(tempfile.mkdtemp(prefix="jobmatch-qdrant-")))
    overrides.setdefault("auto_sync", False)
    return ServerSettings(models=specs, **overrides)


@pytest.fixture(scope="session")
def server(model_specs: list[str]) -> Iterator[ServerThread]:
    """One live server with every test model, shared by the tests that only call it."""
    with ServerThread(make_settings(model_specs)) as running:
        yield running


@pytest.fixture
def client(server: ServerThread) -> Iterator[JobMatchClient]:
    with JobMatchClient(server.target, timeout=60) as c:
        yield c
