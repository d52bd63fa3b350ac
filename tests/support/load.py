"""Concurrent load with per-vector verification: the core of the CI soak test and benchmarks/soak.py.

Every simulated caller owns distinct texts of one (model, side) lane and checks each vector it gets
back against a reference embedding of its own text, computed in this process with the same model and
side. A vector meant for another caller (another text, side or model) fails that check. Unary calls
answered RESOURCE_EXHAUSTED (the intended overload signal) are retried with backoff and counted
apart; every other failure is an error.

With `stop_after_s`, the server is told to stop (SIGTERM) while the callers go on: from then on
UNAVAILABLE is a refusal, not an error, and a caller stops after its first one; but a stream the
server had already answered must still end cleanly, each message answered with its vector or a
SHUTTING_DOWN error: a response lost in the drain is an error.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
from sentence_transformers import SentenceTransformer

from jobmatch.client._common import side_value
from jobmatch.v1 import embedding_pb2 as pb
from jobmatch.v1 import embedding_pb2_grpc as pb_grpc
from tests.support.server_process import rss_mb
from tests.support.tiny_models import training_corpus

COSINE_TOLERANCE = 1e-4  # batch composition changes float results slightly, never by this much
_DISTINCT_COSINE = 1 - 10 * COSINE_TOLERANCE  # two callers' texts must differ by more than that


@dataclass(frozen=True)
class Lane:
    """One caller's work: a model, a side, its own texts and their unit reference vectors."""

    model: str
    side: str | None
    texts: tuple[str, ...]
    references: np.ndarray


@dataclass(frozen=True)
class LoadShape:
    """How callers behave: call mix, sizes, retries, duration."""

    duration_s: float = 20.0
    stream_share: float = 0.4  # chance that a caller's next call is a stream rather than a unary call
    max_unary_inputs: int = 8
    max_stream_messages: int = 6
    max_stream_inputs: int = 4
    max_stream_gap_s: float = 0.05  # callers pause up to this long between stream messages
    call_timeout_s: float = 60.0
    max_backoff_s: float = 0.2


@dataclass
class LoadReport:
    """What the callers saw. `errors` holds every failure except retried RESOURCE_EXHAUSTED."""

    callers: int = 0
    unary_calls: int = 0
    stream_messages: int = 0
    vectors: int = 0
    wrong_vectors: int = 0
    out_of_order: int = 0
    overload_retries: int = 0
    stopped_at: float | None = None  # time.monotonic() when the server was told to stop
    refused_after_stop: int = 0
    streams_drained: int = 0  # streams open at the stop that ended cleanly, every message answered
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    unary_latencies_s: list[float] = field(default_factory=list)
    stream_latencies_s: list[float] = field(default_factory=list)
    callers_served: set[int] = field(default_factory=set)
    rss_mb: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def error(self, kind: str, example: str) -> None:
        self.errors[kind] += 1
        if len(self.error_examples) < 10:
            self.error_examples.append(f"{kind}: {example}")

    def summary(self) -> dict[str, object]:
        def ms(values: list[float], q: float) -> float | None:
            return round(float(np.percentile(values, q)) * 1000, 1) if values else None

        return {
            "callers": self.callers,
            "callers_served": len(self.callers_served),
            "seconds": round(self.seconds, 1),
            "unary_calls": self.unary_calls,
            "stream_messages": self.stream_messages,
            "vectors": self.vectors,
            "vectors_per_s": round(self.vectors / self.seconds, 1) if self.seconds else None,
            "wrong_vectors": self.wrong_vectors,
            "out_of_order": self.out_of_order,
            "overload_retries": self.overload_retries,
            "refused_after_stop": self.refused_after_stop,
            "streams_drained": self.streams_drained,
            "errors": dict(self.errors),
            "error_examples": self.error_examples,
            "unary_p50_ms": ms(self.unary_latencies_s, 50),
            "unary_p99_ms": ms(self.unary_latencies_s, 99),
            "unary_max_ms": ms(self.unary_latencies_s, 100),
            "stream_p50_ms": ms(self.stream_latencies_s, 50),
            "stream_p99_ms": ms(self.stream_latencies_s, 99),
            "rss_first_mb": round(self.rss_mb[0], 1) if self.rss_mb else None,
            "rss_peak_mb": round(max(self.rss_mb), 1) if self.rss_mb else None,
            "rss_last_mb": round(self.rss_mb[-1], 1) if self.rss_mb else None,
            "rss_tenths_mb": self._rss_tenths(),
        }

    def _rss_tenths(self) -> list[float]:
        """The server's RSS at 0%, 10%, ..., 100% of the run: a leak shows as a steady climb."""
        if not self.rss_mb:
            return []
        picks = [self.rss_mb[len(self.rss_mb) * k // 10] for k in range(10)] + [self.rss_mb[-1]]
        return [round(mb, 1) for mb in picks]


def candidate_texts() -> list[str]:
    """Deterministic distinct texts: the tiny models' corpus, then pairs of its entries."""
    corpus = list(dict.fromkeys(training_corpus()))
    pairs = [f"{a}; {b}" for i, a in enumerate(corpus) for b in corpus[i + 1 :: 7]]
    return corpus + pairs


def build_lanes(
    models: Mapping[str, Path],
    targets: Sequence[tuple[str, str | None]],
    callers: int,
    texts_per_caller: int,
) -> list[Lane]:
    """One lane per caller, round-robin over `targets` (model name, side). Within a target every
    text is distinguishable from every other (cosine below 0.999), so a swapped vector is caught."""
    lanes: list[Lane] = []
    for offset, (model_name, side) in enumerate(targets):
        count = len(range(offset, callers, len(targets)))
        texts, vectors = _distinct_references(models[model_name], side, count * texts_per_caller)
        for k in range(count):
            part = slice(k * texts_per_caller, (k + 1) * texts_per_caller)
            lanes.append(Lane(model_name, side, tuple(texts[part]), vectors[part]))
    return lanes


def _distinct_references(model_path: Path, side: str | None, needed: int) -> tuple[list[str], np.ndarray]:
    model = SentenceTransformer(str(model_path), device="cpu")
    task = {"task": side} if side is not None else {}  # symmetric models ignore the task
    candidates = candidate_texts()
    texts: list[str] = []
    kept = np.empty((needed, model.get_embedding_dimension()), dtype=np.float32)
    for start in range(0, len(candidates), 512):
        chunk = candidates[start : start + 512]
        for text, vector in zip(chunk, model.encode(chunk, normalize_embeddings=True, **task), strict=True):
            if not texts or float(np.max(kept[: len(texts)] @ vector)) < _DISTINCT_COSINE:
                kept[len(texts)] = vector
                texts.append(text)
                if len(texts) == needed:
                    return texts, kept
    raise ValueError(f"only {len(texts)} distinguishable texts for {model_path} ({side}); {needed} needed")


class _Caller:
    """One simulated client on its own channel (its own TCP connection)."""

    def __init__(self, number: int, lane: Lane, target: str, shape: LoadShape, report: LoadReport) -> None:
        self.number = number
        self.lane = lane
        self.shape = shape
        self.report = report
        self.rng = random.Random(number)
        self.channel = grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        self.stub = pb_grpc.EmbeddingServiceStub(self.channel)
        self.sent = 0
        self.refused = False

    def _refusal(self, err: grpc.aio.AioRpcError) -> bool:
        """After the stop, UNAVAILABLE is the server refusing new work: count it and stop calling."""
        if self.report.stopped_at is None or err.code() != grpc.StatusCode.UNAVAILABLE:
            return False
        self.report.refused_after_stop += 1
        self.refused = True
        return True

    def _pick(self, most: int) -> list[int]:
        return [self.rng.randrange(len(self.lane.texts)) for _ in range(self.rng.randint(1, most))]

    def _request(self, picks: list[int]) -> pb.EmbedRequest:
        return pb.EmbedRequest(
            model=self.lane.model,
            side=side_value(self.lane.side),
            inputs=[self.lane.texts[i] for i in picks],
            encoding=pb.ENCODING_PACKED_FLOAT32,
        )

    def _check(self, response: pb.EmbedResponse, picks: list[int]) -> None:
        """Count every vector that is not the reference of the text this caller sent at its place."""
        if len(response.embeddings) != len(picks):
            self.report.error("WRONG_COUNT", f"caller {self.number}: {len(response.embeddings)} for {len(picks)}")
            return
        got = np.stack([np.frombuffer(e.packed, dtype="<f4") for e in response.embeddings])
        want = self.lane.references[picks]
        if got.shape != want.shape:
            self.report.wrong_vectors += len(picks)
            return
        cosines = np.sum(got * want, axis=1) / np.maximum(np.linalg.norm(got, axis=1), 1e-12)
        self.report.wrong_vectors += int(np.sum(cosines < 1 - COSINE_TOLERANCE))
        self.report.vectors += len(picks)
        self.report.callers_served.add(self.number)

    async def run(self, stop_at: float) -> None:
        try:
            while time.monotonic() < stop_at and not self.refused:
                if self.rng.random() < self.shape.stream_share:
                    await self._stream()
                else:
                    await self._unary()
        finally:
            await self.channel.close()

    async def _unary(self) -> None:
        picks = self._pick(self.shape.max_unary_inputs)
        request = self._request(picks)
        started = time.monotonic()
        for attempt in range(1000):
            try:
                response = await self.stub.Embed(request, timeout=self.shape.call_timeout_s)
            except grpc.aio.AioRpcError as err:
                if self._refusal(err):
                    return
                if err.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                    self.report.error(err.code().name, f"unary: {err.details()}")
                    return
                self.report.overload_retries += 1
                backoff = min(self.shape.max_backoff_s, 0.01 * 2**attempt)
                await asyncio.sleep(backoff * (0.5 + self.rng.random()))
                continue
            self.report.unary_latencies_s.append(time.monotonic() - started)
            self.report.unary_calls += 1
            self._check(response, picks)
            return

    async def _stream(self) -> None:
        count = self.rng.randint(1, self.shape.max_stream_messages)
        messages = [self._pick(self.shape.max_stream_inputs) for _ in range(count)]
        ids = [f"{self.number}-{self.sent + k}" for k in range(len(messages))]
        self.sent += len(messages)
        sent_at: dict[str, float] = {}

        async def requests():
            for request_id, picks in zip(ids, messages, strict=True):
                if sent_at:  # streams span time, as a client reading a file or a queue would
                    await asyncio.sleep(self.rng.uniform(0, self.shape.max_stream_gap_s))
                sent_at[request_id] = time.monotonic()
                yield pb.EmbedStreamRequest(id=request_id, request=self._request(picks))

        position = 0
        opened_before_stop = self.report.stopped_at is None
        answered_before_stop = False
        try:
            call = self.stub.EmbedStream(requests(), timeout=self.shape.call_timeout_s)
            async for answer in call:
                if position >= len(ids) or answer.id != ids[position]:
                    self.report.out_of_order += 1
                    return
                answered_before_stop |= self.report.stopped_at is None
                if answer.HasField("error"):
                    name = grpc.StatusCode.UNKNOWN.name
                    name = next((c.name for c in grpc.StatusCode if c.value[0] == answer.error.code), name)
                    if self.report.stopped_at is not None and answer.error.reason == "SHUTTING_DOWN":
                        self.report.refused_after_stop += 1
                        self.refused = True
                    else:
                        self.report.error(name, f"stream message: {answer.error.message}")
                else:
                    self.report.stream_latencies_s.append(time.monotonic() - sent_at[answer.id])
                    self.report.stream_messages += 1
                    self._check(answer.response, messages[position])
                position += 1
        except grpc.aio.AioRpcError as err:
            if not (answered_before_stop and self.report.stopped_at is not None) and self._refusal(err):
                return
            self.report.error(err.code().name, f"stream: {err.details()} after {position} of {len(ids)} answers")
            return
        if position != len(ids):
            self.report.error("MISSING_RESPONSES", f"stream: {position} of {len(ids)} answered")
        elif opened_before_stop and self.report.stopped_at is not None:
            self.report.streams_drained += 1


async def _sample_rss(pid: int, report: LoadReport, every_s: float) -> None:
    while report.stopped_at is None:
        report.rss_mb.append(rss_mb(pid))
        await asyncio.sleep(every_s)


async def run_load(
    target: str,
    lanes: Sequence[Lane],
    shape: LoadShape,
    *,
    server_pid: int | None = None,
    stop_server: Callable[[], None] | None = None,
    stop_after_s: float | None = None,
) -> LoadReport:
    """Run one caller per lane against `target` for `shape.duration_s`; sample the server's RSS.

    With `stop_server`, call it (it must not block, e.g. send SIGTERM) after `stop_after_s`."""
    report = LoadReport(callers=len(lanes))
    callers = [_Caller(number, lane, target, shape, report) for number, lane in enumerate(lanes)]
    sampler = asyncio.create_task(_sample_rss(server_pid, report, 0.5)) if server_pid else None
    if stop_server is not None and stop_after_s is not None:

        def stop() -> None:
            report.stopped_at = time.monotonic()
            stop_server()

        asyncio.get_running_loop().call_later(stop_after_s, stop)
    started = time.monotonic()
    try:
        await asyncio.gather(*(caller.run(started + shape.duration_s) for caller in callers))
    finally:
        report.seconds = time.monotonic() - started
        if sampler is not None:
            sampler.cancel()
            if report.stopped_at is None:
                report.rss_mb.append(rss_mb(server_pid))
    return report
