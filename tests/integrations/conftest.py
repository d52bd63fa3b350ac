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
# Three of the data scientist's essential skills, named as a CV names them (the tiny model knows exact labels).
DATA_SCIENTIST_SKILLS = ("statistics", "data mining", "query languages")
SKILLS_TEXT = (
    f"Analyst, 5 years.\nSkills: {DATA_SCIENTIST_SKILLS[0]}, {DATA_SCIENTIST_SKILLS[1]} and {DATA_SCIENTIST_SKILLS[2]}."
)


@pytest.fixture(scope="package")
def esco_server(jobbert_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    settings = make_settings(
        [f"jobbert={jobbert_path}"],
        qdrant_path=tmp_path_factory.mktemp("qdrant-langchain"),
        auto_sync=True,
        metrics_port=0,  # tests count the calls an integration makes
    )
    with ServerThread(settings) as running:
        yield running


@pytest.fixture(scope="package")
def target(esco_server: ServerThread) -> str:
    return esco_server.target


def calls_made(server: ServerThread, method: str) -> float:
    """How many MatchService `method` calls the server has finished so far."""
    assert server.app.metrics is not None
    labels = {"service": "jobmatch.v1.MatchService", "method": method}
    return server.app.metrics.registry.get_sample_value("jobmatch_rpc_duration_seconds_count", labels) or 0.0
