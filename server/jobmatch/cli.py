"""The `jobmatch` command: serve models, embed texts, match text to ESCO occupations and skills."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobmatch.client import SkillExtraction
    from jobmatch.server.config import ServerSettings
    from jobmatch.server.index import Embedder

DEFAULT_TARGET = os.environ.get("JOBMATCH_SERVER", "127.0.0.1:50051")
logger = logging.getLogger("jobmatch.sync")


def _connection(args: argparse.Namespace) -> dict:
    """Client keyword arguments from the connection flags (API key, TLS files)."""
    return {
        "api_key": getattr(args, "api_key", None),
        "ca_cert": args.ca_cert,
        "client_cert": args.client_cert,
        "client_key": args.client_key,
        "tls": args.tls,
    }


def add_connection_arguments(parser: argparse.ArgumentParser, *, api_key_flag: bool = True) -> None:
    """Flags (and JOBMATCH_* variables) of a command that calls a server."""
    env = os.environ.get
    if api_key_flag:
        parser.add_argument("--api-key", default=env("JOBMATCH_API_KEY"), help="API key (env JOBMATCH_API_KEY)")
    parser.add_argument("--tls", action="store_true", help="connect with TLS, trusting the system's root certificates")
    parser.add_argument(
        "--ca-cert",
        default=env("JOBMATCH_CA_CERT"),
        help="PEM CA of the server's certificate: TLS (env JOBMATCH_CA_CERT)",
    )
    parser.add_argument(
        "--client-cert",
        default=env("JOBMATCH_CLIENT_CERT"),
        help="PEM client certificate, mutual TLS (env JOBMATCH_CLIENT_CERT)",
    )
    parser.add_argument(
        "--client-key", default=env("JOBMATCH_CLIENT_KEY"), help="PEM key of --client-cert (env JOBMATCH_CLIENT_KEY)"
    )


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def add_bulk_arguments(parser: argparse.ArgumentParser) -> None:
    """`match --input FILE|-`: the flags of a file of queries (bulk.py)."""
    bulk = parser.add_argument_group("a file of queries (through MatchOccupationsBatch)")
    bulk.add_argument("--input", metavar="FILE|-", help="CSV (with a header) or JSONL file of queries; '-': stdin")
    bulk.add_argument(
        "--output", metavar="FILE|-", default="-", help="where the results go (default stdout); written whole or not"
    )
    bulk.add_argument(
        "--format",
        choices=["csv", "jsonl"],
        help="format of --input (default: from its extension); the output's "
        "format follows --output's extension, else the input's",
    )
    bulk.add_argument(
        "--column",
        "--field",
        dest="column",
        default="query",
        help="CSV column / JSON field of the query (default query)",
    )
    bulk.add_argument(
        "--batch-size", type=int, default=100, help="queries per MatchOccupationsBatch call (default 100)"
    )
    bulk.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, help="progress bar on stderr (default: when a terminal)"
    )


def _serve(args: argparse.Namespace) -> int:
    from jobmatch.server.config import settings_from_arguments

    settings = settings_from_arguments(args)  # before torch loads: bad values fail at once

    from jobmatch.server.app import JobMatchServer
    from jobmatch.server.errors import JobMatchError, ModelLoadError
    from jobmatch.server.esco import EscoFormatError
    from jobmatch.server.observability import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(JobMatchServer(settings).serve())
    # e.g. Qdrant unreachable, store locked, model mismatch, unreadable ESCO data for the first sync
    except (ModelLoadError, JobMatchError, EscoFormatError) as err:
        print(f"jobmatch: {err}", file=sys.stderr)
        return 1
    return 0


def _embed(args: argparse.Namespace) -> int:
    from jobmatch.client import JobMatchClient

    with JobMatchClient(args.server, timeout=args.timeout, **_connection(args)) as client:
        vectors = client.embed(args.texts, side=args.side, model=args.model, truncate=args.truncate)
    for text, vector in zip(args.texts, vectors, strict=True):
        print(json.dumps({"text": text, "embedding": [round(float(x), 6) for x in vector]}))
    return 0


def _health(args: argparse.Namespace) -> int:
    """Exit 0 when the server reports SERVING for `--service` (the container health check)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from jobmatch.client._common import channel_credentials

    credentials = channel_credentials(args.tls, args.ca_cert, args.client_cert, args.client_key)
    channel = (
        grpc.insecure_channel(args.server) if credentials is None else grpc.secure_channel(args.server, credentials)
    )
    with channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
        except grpc.RpcError as err:
            print(f"{args.server}: {err.code().name}: {err.details()}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    if args.json:
        print(json.dumps({"server": args.server, "service": args.service, "status": status}))
    else:
        print(f"{args.server}{f' {args.service}' if args.service else ''}: {status}")
    return 0 if response.status == health_pb2.HealthCheckResponse.SERVING else 1


def _models(args: argparse.Namespace) -> int:
    from jobmatch.client import JobMatchClient

    with JobMatchClient(args.server, timeout=args.timeout, **_connection(args)) as client:
        models = client.list_models()
    if args.json:
        print(json.dumps([dataclasses.asdict(m) for m in models]))
        return 0
    for m in models:
        kind = "asymmetric (anchor|positive)" if m.asymmetric else "symmetric"
        default = " [default]" if m.is_default else ""
        print(
            f"{m.name}{default}: {m.dimension}-d, {kind}, max {m.max_input_tokens} tokens, "
            f"{m.device}/{m.dtype} on {m.backend}, from {m.source}"
        )
    return 0


async def _sync_async(args: argparse.Namespace) -> int:
    from jobmatch.server.config import settings_from_arguments
    from jobmatch.server.matching import (
        configured_index_up_to_date,
        load_configured_dataset,
        open_configured_store,
        sync_configured,
    )
    from jobmatch.server.observability import configure_logging

    settings = settings_from_arguments(args)
    configure_logging(settings.log_level, settings.log_format)
    async with contextlib.AsyncExitStack() as stack:
        store = await open_configured_store(settings, replace_local_mode=args.reindex)
        stack.push_async_callback(store.close)
        dataset = await asyncio.to_thread(load_configured_dataset, settings)
        # Before torch and the model: a sync that would write nothing ends here.
        local_model = not args.server and not args.reindex
        if local_model and await configured_index_up_to_date(settings, store, dataset, prune=args.prune):
            logger.info("the ESCO index in %s is up to date with %s: nothing to embed", store.location, dataset.version)
            return 0
        embedder = await _sync_embedder(args, settings, stack)
        await sync_configured(settings, embedder, store, prune=args.prune, reindex=args.reindex, dataset=dataset)
    return 0


async def _sync_embedder(
    args: argparse.Namespace, settings: ServerSettings, stack: contextlib.AsyncExitStack
) -> Embedder:
    """Through a running jobmatch server (--server), else the index model loaded in-process."""
    from jobmatch.client import AsyncJobMatchClient
    from jobmatch.server.index import EngineEmbedder, RemoteEmbedder

    if args.server:
        # sync shares serve's flags: its --api-key (JOBMATCH_API_KEYS) is the server's key.
        api_key = settings.api_keys[0].get_secret_value() if settings.api_keys else None
        connection = _connection(args) | {"api_key": api_key}
        client = await stack.enter_async_context(AsyncJobMatchClient(args.server, timeout=600, **connection))
        return RemoteEmbedder(client, settings.match_model or "")
    from jobmatch.server.batching import EmbeddingEngine  # torch: only when something must be embedded

    spec = next(m for m in settings.models if m.name == settings.index_model)
    engine = EmbeddingEngine(settings.model_copy(update={"models": [spec]}))
    await engine.start()
    stack.push_async_callback(engine.close)
    return EngineEmbedder(engine, spec.name)


def _sync(args: argparse.Namespace) -> int:
    from jobmatch.server.errors import JobMatchError, ModelLoadError
    from jobmatch.server.esco import EscoFormatError

    try:
        return asyncio.run(_sync_async(args))
    except (JobMatchError, ModelLoadError, EscoFormatError) as err:
        print(f"jobmatch: {err}", file=sys.stderr)
        return 1


def _match(args: argparse.Namespace) -> int:
    """One query (printed), or a file of them (--input) through MatchOccupationsBatch."""
    if (args.query is None) == (args.input is None):
        print("jobmatch match: give a QUERY or --input FILE (not both)", file=sys.stderr)
        return 2
    if args.input is not None:
        return _match_file(args)
    from jobmatch.bulk import matches_json
    from jobmatch.client import JobMatchClient

    with JobMatchClient(args.server, timeout=args.timeout, **_connection(args)) as client:
        matches = client.match_occupations(
            args.query,
            kind=args.kind,
            top_k=args.top_k,
            language=args.language,
            isco_prefixes=args.isco,
            min_score=args.min_score,
        )
    if args.json:
        print(json.dumps({"query": args.query, **matches_json(matches)}, ensure_ascii=False))
        return 0
    if matches.no_fit:
        best = f"best score {matches[0].score:.3f} <" if matches else "no match,"
        print(f"no occupation fits ({best} min_score {matches.min_score:.3f})")
    for rank, m in enumerate(matches, 1):
        print(f"{rank:2d}. {m.score:.3f}  {m.preferred_label}  (ISCO {m.isco_group}, {m.uri})")
    return 0


def _match_file(args: argparse.Namespace) -> int:
    """Exit 0: every line answered; 3: the output is complete but some lines failed (FILE:LINE on stderr);
    2: the input cannot be processed (nothing written); 1: the run failed (nothing written)."""
    from tqdm import tqdm

    from jobmatch import bulk
    from jobmatch.client import JobMatchClient

    name = "<stdin>" if args.input == "-" else args.input
    try:
        in_format = bulk.format_of(args.input, args.format)
        out_format = bulk.format_of(args.output, None, fallback=in_format)
        total = bulk.count_records(args.input, in_format)
        with bulk.open_input(args.input) as stream:
            columns, records = bulk.read_records(stream, name, in_format, args.column)  # a bad header fails here
            with (
                JobMatchClient(args.server, timeout=args.timeout, **_connection(args)) as client,
                bulk.atomic_output(args.output) as out,
                tqdm(total=total, unit="query", file=sys.stderr, disable=not _progress(args)) as progress,
            ):
                writer = bulk.JsonlWriter(out) if out_format == "jsonl" else bulk.CsvWriter(out, columns)
                options = bulk.BulkOptions(
                    args.kind, args.top_k, args.language, tuple(args.isco), args.min_score, args.batch_size
                )
                report = bulk.match_records(client, records, writer, options, name=name, progress=progress)
    except bulk.BulkInputError as err:
        print(f"jobmatch: {err}", file=sys.stderr)
        return 2
    if report.failed:
        more = report.failed - len(report.first_problems)
        shown = f" ({more} not shown above)" if more > 0 else ""
        print(f"jobmatch: {report.failed} of {report.records} lines failed{shown}", file=sys.stderr)
        return 3
    return 0


def _progress(args: argparse.Namespace) -> bool:
    return sys.stderr.isatty() if args.progress is None else args.progress


def _skills(args: argparse.Namespace) -> int:
    from jobmatch.client import JobMatchClient

    with JobMatchClient(args.server, timeout=args.timeout, **_connection(args)) as client:
        skills = client.match_skills(args.query, top_k=args.top_k)
    if args.json:
        print(json.dumps({"query": args.query, "skills": [dataclasses.asdict(s) for s in skills]}, ensure_ascii=False))
        return 0
    for rank, s in enumerate(skills, 1):
        print(f"{rank:2d}. {s.score:.3f}  {s.label}  ({s.skill_type}, {s.uri})")
    return 0


def _extract_skills(args: argparse.Namespace) -> int:
    from jobmatch.client import JobMatchClient

    try:
        text = _text_argument(args)
    except OSError as err:
        print(f"jobmatch: cannot read {args.file}: {err.strerror}", file=sys.stderr)
        return 2
    if text is None:
        print("jobmatch extract-skills: give a TEXT or --file FILE|- (not both)", file=sys.stderr)
        return 2
    with JobMatchClient(args.server, timeout=args.timeout, **_connection(args)) as client:
        extraction = client.extract_skills(
            text,
            top_k=args.top_k,
            min_score=args.min_score,
            language=args.language,
            occupation_uri=args.occupation,
        )
    if args.json:
        print(json.dumps(dataclasses.asdict(extraction), ensure_ascii=False))
        return 0
    for line in _extraction_lines(extraction):
        print(line)
    return 0


def _text_argument(args: argparse.Namespace) -> str | None:
    """The text of `extract-skills`: the argument, or the file (stdin for "-"); None unless exactly one."""
    if (args.text is None) == (args.file is None):
        return None
    if args.file is None:
        return args.text
    if args.file == "-":
        return sys.stdin.read()
    return Path(args.file).read_text(encoding="utf-8-sig")


def _extraction_lines(extraction: SkillExtraction) -> list[str]:
    lines = [] if extraction.skills else [f"no skill found (min_score {extraction.min_score:.3f})"]
    for rank, skill in enumerate(extraction.skills, 1):
        where = "; ".join(f"{e.start}-{e.end} {e.text!r}" for e in skill.evidence[:3])
        relation = f", {skill.relation}" if skill.relation else ""
        lines.append(f"{rank:2d}. {skill.score:.3f}  {skill.label}  ({skill.skill_type}{relation})  {where}")
    gap = extraction.gap
    if gap is not None:
        shown, missing = len(gap.shown), len(gap.missing)
        lines.append(
            f"skill gap for {gap.occupation_label} ({gap.occupation_uri}): coverage {gap.coverage:.2f}, "
            f"{shown} of {shown + missing} essential skills shown"
        )
        lines += [f"    missing: {s.label}  ({s.uri})" for s in gap.missing]
    return lines


def _eval(args: argparse.Namespace) -> int:
    from jobmatch.client import JobMatchClient
    from jobmatch.evaluation import read_queries, score_rankings

    queries = read_queries(args.queries)
    rankings = []
    with JobMatchClient(args.server, timeout=args.timeout, **_connection(args)) as client:
        for q in queries:
            matches = client.match_occupations(q.query, kind=args.kind, top_k=10, language=q.language)
            rankings.append(([m.uri for m in matches], q.expected_uri, q.also_acceptable))
    scores = score_rankings(rankings)
    if args.json:
        print(json.dumps({"queries": scores.queries, "kind": args.kind, **scores.as_row()}))
        return 0
    print(f"{scores.queries} queries, kind {args.kind}")
    print("  ".join(f"{name} {value:.3f}" for name, value in scores.as_row().items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from jobmatch.server.config import add_settings_arguments

    parser = argparse.ArgumentParser(prog="jobmatch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gRPC server (flags also read from JOBMATCH_* variables)")
    add_settings_arguments(serve)
    serve.set_defaults(run=_serve)

    def client_command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument(
            "--server",
            default=DEFAULT_TARGET,
            help=f"host:port or dns:///host:port of the server (env JOBMATCH_SERVER; default {DEFAULT_TARGET})",
        )
        sub.add_argument("--timeout", type=float, default=60.0, help="deadline of each call in seconds")
        add_connection_arguments(sub)
        return sub

    embed = client_command("embed", "embed texts; prints one JSON line per text")
    embed.add_argument("texts", nargs="+", metavar="TEXT")
    embed.add_argument("--side", choices=["anchor", "positive"], help="anchor: job titles; positive: skill lists")
    embed.add_argument("--model", default="", help="model name (default: the server's default model)")
    embed.add_argument("--truncate", action="store_true", help="cut inputs longer than the model takes")
    embed.set_defaults(run=_embed)

    models = client_command("models", "list the models a server serves")
    add_json_argument(models)
    models.set_defaults(run=_models)

    health = client_command("health", "exit 0 when the server's grpc.health.v1 status is SERVING")
    health.add_argument(
        "--service",
        default="",
        help="jobmatch.v1.EmbeddingService (SERVING once the models are warm), jobmatch.v1.MatchService "
        "(once the ESCO index is open), or the whole server: both (default)",
    )
    add_json_argument(health)
    health.set_defaults(run=_health, timeout=5.0)

    sync = commands.add_parser("sync", help="embed ESCO occupations and skills into Qdrant (idempotent, resumable)")
    add_settings_arguments(sync)
    sync.add_argument("--prune", action="store_true", help="delete occupations and skills no longer in the data")
    sync.add_argument(
        "--reindex",
        action="store_true",
        help="rebuild into a new collection, then switch the alias (an embedded store written by "
        "qdrant-client's local mode is first moved aside to <path>.local-mode-<time>)",
    )
    sync.add_argument("--server", help="embed through a running jobmatch server (host:port) instead of in-process")
    add_connection_arguments(sync, api_key_flag=False)  # --api-key is already there, shared with serve
    sync.set_defaults(run=_sync)

    kinds = ["job-title", "skills", "text"]
    match = client_command(
        "match",
        "match a job title, skill list or free text to ESCO occupations; or a CSV/JSONL file of them (--input)",
    )
    match.add_argument("query", nargs="?", help="the text to match (or --input)")
    match.add_argument("--kind", choices=kinds, default="job-title", help="what the query is (default job-title)")
    match.add_argument("--top-k", type=int, default=10)
    match.add_argument("--language", default="", help="search and show labels of this language (default: all)")
    match.add_argument("--isco", action="append", default=[], help="ISCO group prefix to keep, repeatable")
    match.add_argument(
        "--min-score", type=float, help="score below which no occupation fits (default: the server's; 0: none)"
    )
    add_json_argument(match)
    add_bulk_arguments(match)
    match.set_defaults(run=_match)

    skills = client_command("skills", "the ESCO skills most relevant to a job title")
    skills.add_argument("query", help="a job title")
    skills.add_argument("--top-k", type=int, default=10)
    add_json_argument(skills)
    skills.set_defaults(run=_skills)

    extract = client_command(
        "extract-skills", "the ESCO skills a text (job ad, CV) mentions, with evidence; the skill gap with --occupation"
    )
    extract.add_argument("text", nargs="?", help="the text (or --file)")
    extract.add_argument("--file", help="read the text from this file ('-': stdin)")
    extract.add_argument("--occupation", help="an ESCO occupation URI: each skill's relation and the skill gap")
    extract.add_argument("--top-k", type=int, help="most skills (default: the server's, 20)")
    extract.add_argument("--min-score", type=float, help="threshold (default: the server's; 0: none)")
    extract.add_argument("--language", default="", help="the text's language (default: detected)")
    add_json_argument(extract)
    extract.set_defaults(run=_extract_skills)

    evaluate = client_command("eval", "Recall@1/5/10 and MRR@10 of a query file against a server")
    evaluate.add_argument("--queries", type=Path, required=True, help="CSV with query,expected_uri[,language]")
    evaluate.add_argument("--kind", choices=kinds, default="job-title")
    add_json_argument(evaluate)
    evaluate.set_defaults(run=_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from jobmatch.client import JobMatchClientError

    try:
        return args.run(args)
    except JobMatchClientError as err:
        print(f"jobmatch: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
