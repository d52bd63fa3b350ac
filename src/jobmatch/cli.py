"""The `jobmatch` command: serve models, embed texts, list models."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

DEFAULT_TARGET = "127.0.0.1:50051"


def _serve(args: argparse.Namespace) -> int:
    from jobmatch.server.app import JobMatchServer
    from jobmatch.server.config import settings_from_arguments
    from jobmatch.server.models import ModelLoadError

    settings = settings_from_arguments(args)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(JobMatchServer(settings).serve())
    except ModelLoadError as err:
        print(f"jobmatch: {err}", file=sys.stderr)
        return 1
    return 0


def _embed(args: argparse.Namespace) -> int:
    from jobmatch.client import JobMatchClient

    with JobMatchClient(args.server, timeout=args.timeout) as client:
        vectors = client.embed(args.texts, side=args.side, model=args.model, truncate=args.truncate)
    for text, vector in zip(args.texts, vectors, strict=True):
        print(json.dumps({"text": text, "embedding": [round(float(x), 6) for x in vector]}))
    return 0


def _models(args: argparse.Namespace) -> int:
    from jobmatch.client import JobMatchClient

    with JobMatchClient(args.server, timeout=args.timeout) as client:
        models = client.list_models()
    for m in models:
        kind = "asymmetric (anchor|positive)" if m.asymmetric else "symmetric"
        default = " [default]" if m.is_default else ""
        print(
            f"{m.name}{default}: {m.dimension}-d, {kind}, max {m.max_input_tokens} tokens, "
            f"{m.device}/{m.dtype}, from {m.source}"
        )
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
        sub.add_argument("--server", default=DEFAULT_TARGET, help=f"host:port of the server (default {DEFAULT_TARGET})")
        sub.add_argument("--timeout", type=float, default=60.0, help="deadline of each call in seconds")
        return sub

    embed = client_command("embed", "embed texts; prints one JSON line per text")
    embed.add_argument("texts", nargs="+", metavar="TEXT")
    embed.add_argument("--side", choices=["anchor", "positive"], help="anchor: job titles; positive: skill lists")
    embed.add_argument("--model", default="", help="model name (default: the server's default model)")
    embed.add_argument("--truncate", action="store_true", help="cut inputs longer than the model takes")
    embed.set_defaults(run=_embed)

    models = client_command("models", "list the models a server serves")
    models.set_defaults(run=_models)
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
