"""One live server for the integration tests: tiny JobBERT over the bundled ESCO snapshot, synced at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.support.server import ServerThread

DATA_SCIENTIST = "http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30"
# Alternative labels that belong to this occupation only (the random tiny model only knows exact texts).
DATA_SCIENTIST_LABEL = "data engineer"


@pytest.fixture(scope="package")
def esco_server(jobbert_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    settings = make_settings(
        [f"jobbert={jobbert_path}"], qdrant_path=tmp_path_factory.mktemp("qdrant-langchain"), auto_sync=True
    )
    with ServerThread(settings) as running:
        yield running


@pytest.fixture(scope="package")
def target(esco_server: ServerThread) -> str:
    return esco_server.target
