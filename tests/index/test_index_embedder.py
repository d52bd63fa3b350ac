"""Embedders: the in-process engine (chunked through the batcher) and a remote jobmatch server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from jobmatch.client import AsyncJobMatchClient, JobMatchClientError
from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.esco import EscoDataset
from jobmatch.server.index import (
    EngineEmbedder,
    ModelIdentity,
    OccupationIndex,
    RemoteEmbedder,
    identity,
    open_store,
    sync_occupations,
)
from tests.conftest import make_settings
from tests.index.scoring import STORED_ATOL
from tests.support.server import ServerThread
from tests.support.tiny_models import training_corpus

DATA_SCIENTIST = "http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30"


@pytest.fixture(scope="module")
def remote_server(jobbert_path: Path) -> Iterator[ServerThread]:
    with ServerThread(make_settings([f"jobbert={jobbert_path}"])) as running:  # no ESCO sync at start-up
        yield running


async def test_engine_embedder_chunks_long_inputs_through_the_batcher(
    engine: EmbeddingEngine, jobbert: EngineEmbedder
) -> None:
    texts = [f"{text} {i}" for i, text in enumerate(training_corpus() * 5)][:1300]
    assert len(texts) > 2 * engine.settings.max_inputs_per_request  # 3 chunks in flight
    before = engine.worker_stats.embedded_inputs
    anchor = await jobbert.embed(texts, "anchor")
    assert engine.worker_stats.embedded_inputs - before == len(texts)
    assert anchor.shape == (1300, 48)
    assert anchor.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(anchor, axis=1), 1.0, atol=1e-5)
    one_by_one = np.stack([(await jobbert.embed([t], "anchor"))[0] for t in texts[::250]])
    np.testing.assert_allclose(anchor[::250], one_by_one, atol=1e-5)
    positive = await jobbert.embed(texts[:5], "positive")
    assert not np.allclose(anchor[:5], positive)  # two heads
    assert (await jobbert.embed([], "anchor")).shape == (0, 48)
    long_skill_list = ", ".join(["manage budgets"] * 100)  # over the 64-token limit: truncated, not refused
    assert (await jobbert.embed([long_skill_list], "positive")).shape == (1, 48)


async def test_engine_embedder_describes_its_model(engine: EmbeddingEngine) -> None:
    default = EngineEmbedder(engine)
    await default.prepare()
    assert identity(default) == ModelIdentity("jobbert", default.source, 48, True)
    assert Path(default.source).name == "jobbert"
    careerbert = EngineEmbedder(engine, "careerbert")
    assert (careerbert.model, careerbert.dimension, careerbert.asymmetric) == ("careerbert", 32, False)
    with pytest.raises(Exception, match="unknown model 'nope'"):
        await EngineEmbedder(engine, "nope").prepare()


async def test_remote_embedder_matches_the_engine_and_syncs_through_the_server(
    remote_server: ServerThread, jobbert: EngineEmbedder, small: EscoDataset, tmp_path: Path
) -> None:
    async with AsyncJobMatchClient(remote_server.target, timeout=60) as client:
        remote = RemoteEmbedder(client)
        with pytest.raises(RuntimeError, match="prepare"):
            _ = remote.dimension
        await remote.prepare()
        assert (remote.model, remote.dimension, remote.asymmetric) == ("jobbert", 48, True)
        texts = ["data scientist", "Pflegefachkraft", "lead a team, Python, manage budgets"]
        for side in ("anchor", "positive"):
            np.testing.assert_allclose(await remote.embed(texts, side), await jobbert.embed(texts, side), atol=1e-5)

        with pytest.raises(JobMatchClientError, match="does not serve model 'other'"):
            await RemoteEmbedder(client, "other").prepare()

        async with await open_store(tmp_path / "qdrant") as store:
            report = await sync_occupations(small, remote, store)
            assert report.written == 40
            # the same model in-process reads what the remote one wrote: one embedding space
            index = await OccupationIndex.open(store, jobbert)
            (best,) = await index.match("data scientist", top_k=1, strategy="labels")  # an exact label: cosine 1
            assert best.score == pytest.approx(1.0, abs=STORED_ATOL)
