"""Fixtures for the ESCO index tests: one in-process engine (tiny JobBERT, tiny symmetric, MiniLM),
real stores (Qdrant Edge under tmp_path by default; ``adapter_store`` runs a test on Edge and on
qdrant-client's in-memory mode), ESCO datasets, and an embedder wrapper that counts."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.config import ServerSettings
from jobmatch.server.esco import EscoDataset, load_bundles, load_snapshot
from jobmatch.server.index import EngineEmbedder, QdrantStore, Side, open_store
from tests.support.esco_bundle import ESCO_FIXTURE

ADAPTERS = ("edge", "edge-process", ":memory:")
"""The store adapters: Qdrant Edge in a directory, in this process and in a process of its own (as the
server runs it), and qdrant-client (its in-memory mode, which speaks the client API of a Qdrant
server; no Qdrant server binary runs on the build machines)."""
DATA_SCIENTIST = "http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30"


class EmbedderFailed(RuntimeError):
    """Raised by CountingEmbedder to interrupt a sync."""


class CountingEmbedder:
    """Wraps a real embedder; counts calls and texts, and can fail after ``fail_after`` calls."""

    def __init__(self, inner: EngineEmbedder, *, fail_after: int | None = None) -> None:
        self.inner = inner
        self.calls = 0
        self.texts = 0
        self.fail_after = fail_after
        self.on_call: Callable[[], object] | None = None

    model = property(lambda self: self.inner.model)
    source = property(lambda self: self.inner.source)
    dimension = property(lambda self: self.inner.dimension)
    asymmetric = property(lambda self: self.inner.asymmetric)

    async def prepare(self) -> None:
        await self.inner.prepare()

    async def embed(self, texts: Sequence[str], side: Side) -> np.ndarray:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise EmbedderFailed(f"interrupted after {self.calls} calls")
        self.calls += 1
        self.texts += len(texts)
        if self.on_call is not None:
            result = self.on_call()
            if hasattr(result, "__await__"):
                await result
        return await self.inner.embed(texts, side)


@pytest.fixture(scope="session")
async def engine(jobbert_path: Path, symmetric_path: Path, minilm: Path) -> AsyncIterator[EmbeddingEngine]:
    settings = ServerSettings(
        models=[f"jobbert={jobbert_path}", f"careerbert={symmetric_path}", f"minilm={minilm}"],
        max_batch_wait_ms=0,
        max_inputs_per_request=512,
    )
    running = EmbeddingEngine(settings)
    await running.start()
    yield running
    await running.close()


@pytest.fixture(scope="session")
def jobbert(engine: EmbeddingEngine) -> EngineEmbedder:
    return EngineEmbedder(engine, "jobbert")


@pytest.fixture(scope="session")
def careerbert(engine: EmbeddingEngine) -> EngineEmbedder:
    return EngineEmbedder(engine, "careerbert")


@pytest.fixture(scope="session")
def minilm_embedder(engine: EmbeddingEngine) -> EngineEmbedder:
    return EngineEmbedder(engine, "minilm")


@pytest.fixture(scope="session")
def counting() -> type[CountingEmbedder]:
    return CountingEmbedder


async def open_adapter(adapter: str, directory: Path) -> QdrantStore:
    """``adapter``'s store: Qdrant Edge in ``directory`` (here or in its own process), or ``:memory:``."""
    if adapter == ":memory:":
        return await open_store(adapter)
    return await open_store(directory, own_process=adapter == "edge-process")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[QdrantStore]:
    """The default embedded store: Qdrant Edge in a fresh directory."""
    async with await open_store(tmp_path / "qdrant") as opened:
        assert opened.embedded
        yield opened


@pytest.fixture(params=ADAPTERS, ids=["edge", "edge-process", "memory"])
async def adapter_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[QdrantStore]:
    """A fresh store on each adapter: the test runs on Qdrant Edge and on qdrant-client."""
    async with await open_adapter(request.param, tmp_path / "qdrant") as opened:
        yield opened


@pytest.fixture(scope="session")
def snapshot() -> EscoDataset:
    return load_snapshot()


@pytest.fixture(scope="session")
def v120_en_de() -> EscoDataset:
    """ESCO v1.2.0 English and German occupations (labels only, no skills), cut from the release."""
    return load_bundles([ESCO_FIXTURE / "v1.2.0" / "en", ESCO_FIXTURE / "v1.2.0" / "de"])


def subset(dataset: EscoDataset, uris: Sequence[str]) -> EscoDataset:
    """The dataset restricted to these occupations and the skills they reference."""
    occupations = {uri: dataset.occupations[uri] for uri in uris}
    referenced = {s for o in occupations.values() for s in o.skill_uris("all")}
    skills = {uri: skill for uri, skill in dataset.skills.items() if uri in referenced}
    return dataclasses.replace(dataset, occupations=occupations, skills=skills)


@pytest.fixture(scope="session")
def small(snapshot: EscoDataset) -> EscoDataset:
    """40 occupations spread over the ISCO groups, data scientist included."""
    uris = sorted(snapshot.occupations)[::75][:39]
    return subset(snapshot, [*uris, DATA_SCIENTIST])


@pytest.fixture(scope="session")
def make_subset() -> Callable[[EscoDataset, Sequence[str]], EscoDataset]:
    return subset
