"""Server configuration: one settings object, read from flags and JOBMATCH_* variables.

Every field of `ServerSettings` is a `--flag` of `jobmatch serve` (see `add_settings_arguments`)
and an environment variable `JOBMATCH_<FIELD>`; flags win over the environment.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MODEL = "jobbert-v3=TechWolf/JobBERT-v3"


class ModelSpec(BaseModel, frozen=True):
    """A model to serve: the name clients use and where its weights are (path or hub id)."""

    name: str
    source: str

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """Parse `NAME=PATH_OR_HUB_ID`; a bare source is named after its last path component."""
        name, sep, source = text.partition("=")
        if not sep:
            source = text
            name = text.rstrip("/").rsplit("/", 1)[-1].lower()
        if not name.strip() or not source.strip():
            raise ValueError(f"model must be NAME=PATH_OR_HUB_ID, got {text!r}")
        return cls(name=name.strip(), source=source.strip())


class ServerSettings(BaseSettings):
    """Everything `jobmatch serve` can be told. Field descriptions are the flags' help."""

    model_config = SettingsConfigDict(env_prefix="JOBMATCH_", extra="forbid")

    models: Annotated[list[ModelSpec], NoDecode] = Field(
        default_factory=lambda: [ModelSpec.parse(DEFAULT_MODEL)],
        description="NAME=PATH_OR_HUB_ID, repeatable (env: comma-separated); the first is the default",
    )
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(50051, ge=0, le=65535, description="port to listen on (0 picks a free one)")
    device: str = Field("auto", description="auto (cuda when present), cpu, cuda or cuda:N")
    dtype: Literal["auto", "float32", "float16", "bfloat16", "int8"] = Field(
        "auto",
        description="weights dtype; auto is float16 on CUDA, float32 on CPU; int8: the transformer's weights "
        "quantized to int8 on ONNX Runtime (CPU only)",
    )
    backend: Literal["auto", "torch", "onnx"] = Field(
        "auto",
        description="what runs the transformer: onnx (ONNX Runtime, float32 CPU only), torch, or auto: onnx "
        "on a CPU when the export matches torch, torch otherwise",
    )
    cache_dir: Path | None = Field(None, description="where ONNX exports are kept (default: per-user cache dir)")
    trust_remote_code: bool = Field(False, description="let models run code from their repository")
    max_batch_size: int = Field(128, gt=0, description="most inputs in one forward pass")
    max_batch_tokens: int = Field(16384, gt=0, description="most padded tokens in one forward pass")
    max_batch_wait_ms: float = Field(2.0, ge=0, description="how long a batch waits to fill up")
    batch_overhead_tokens: float | None = Field(
        None,
        ge=0,
        description="fixed cost of one forward pass in padded tokens' worth: waiting inputs are cut into the "
        "batches of least padding plus overhead (huge: fewest batches); unset: 64 on a CPU, fewest batches elsewhere",
    )
    one_thread_tokens: int = Field(
        64,
        ge=0,
        description="torch backend on a CPU: batches of at most this many padded tokens run on one torch thread: "
        "waking the others costs more than they give (0: always all threads)",
    )
    device_workers: int | None = Field(
        None,
        gt=0,
        description="threads running forward passes on a CPU, sharing the models and splitting the CPU's threads "
        "between them; unset: 2 (at most one per core); a GPU keeps one",
    )
    max_queued_inputs: int = Field(8192, gt=0, description="inputs waiting for the device; beyond: backpressure")
    max_inputs_per_request: int = Field(2048, gt=0, description="most inputs in one request")
    max_input_chars: int = Field(100_000, gt=0, description="longest input in characters")
    stream_window: int = Field(256, gt=0, description="requests of one stream in flight at once")
    max_batch_queries: int = Field(
        1000, gt=0, description="most queries in one MatchOccupationsBatch call; beyond: INVALID_ARGUMENT"
    )
    batch_concurrency: int = Field(64, gt=0, description="queries of one MatchOccupationsBatch call answered at once")
    max_message_bytes: int = Field(16 * 1024 * 1024, gt=0, description="largest gRPC message")
    tokenizer_threads: int = Field(1, gt=0, description="threads that tokenize off the event loop")
    grace_period_s: float = Field(10.0, ge=0, description="how long in-flight calls may finish on shutdown")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="log level")
    log_format: Literal["text", "json"] = Field("text", description="text lines, or one JSON object per line")

    metrics_port: int | None = Field(
        None, ge=0, le=65535, description="serve Prometheus metrics over HTTP on this port (0 picks one); off if unset"
    )
    otel: bool = Field(False, description="OpenTelemetry gRPC server instrumentation (needs the otel extra)")
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="API key clients must send as 'authorization: Bearer KEY', repeatable (env: comma-separated); "
        "health and reflection stay open; none: no authentication",
    )
    tls_cert: Path | None = Field(None, description="PEM certificate chain of the server: serve TLS (with --tls-key)")
    tls_key: Path | None = Field(None, description="PEM private key of --tls-cert")
    tls_client_ca: Path | None = Field(
        None, description="PEM CA bundle: require client certificates signed by it (mutual TLS; needs --tls-cert)"
    )

    qdrant_path: Path | None = Field(None, description="embedded Qdrant data directory (default: per-user data dir)")
    qdrant_url: str | None = Field(None, description="Qdrant server URL (http://host:6333); replaces --qdrant-path")
    qdrant_api_key: SecretStr | None = Field(None, description="API key of the Qdrant server")
    qdrant_shard_number: int | None = Field(
        None, gt=0, description="shards of collections the sync creates on a Qdrant cluster (default: Qdrant's)"
    )
    qdrant_replication_factor: int | None = Field(
        None, gt=0, description="replicas of each shard of collections the sync creates (default: Qdrant's)"
    )
    occupations_collection: str = Field("esco_occupations", description="Qdrant alias of the occupation index")
    skills_collection: str = Field("esco_skills", description="Qdrant alias of the skill index")
    esco_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="ESCO CSV bundle folder, repeatable, one per language (env: comma-separated); "
        "default: the bundled ESCO v1.1.1 English snapshot",
    )
    match_model: str | None = Field(None, description="model that embeds the ESCO index (default: the first model)")
    auto_sync: bool = Field(True, description="sync the ESCO data into an empty index at start-up")
    index_descriptions: bool = Field(
        True,
        description="embed ESCO occupation descriptions into the index (better job-title matches; "
        "about twice the texts to embed at sync)",
    )

    @field_validator("esco_dirs", "api_keys", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("api_keys")
    @classmethod
    def _check_api_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        if any(len(key.get_secret_value()) < 8 for key in keys):
            raise ValueError("API keys must be at least 8 characters long")
        return keys

    @field_validator("tls_cert", "tls_key", "tls_client_ca")
    @classmethod
    def _check_file(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    @field_validator("models", mode="before")
    @classmethod
    def _parse_models(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [ModelSpec.parse(v) if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> ServerSettings:
        if not self.models:
            raise ValueError("at least one model must be configured")
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError(f"model names must be unique, got {names}")
        if self.max_inputs_per_request > self.max_queued_inputs:
            raise ValueError("max_inputs_per_request must not exceed max_queued_inputs")
        if self.match_model is not None and self.match_model not in names:
            raise ValueError(f"match_model {self.match_model!r} is not one of the models {names}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ValueError("tls_client_ca (mutual TLS) needs tls_cert and tls_key")
        if self.otel:
            from jobmatch.server.observability.tracing import otel_available

            if not otel_available():
                raise ValueError("otel needs opentelemetry-instrumentation-grpc: pip install 'jobmatch[otel]'")
        return self

    @property
    def default_model(self) -> str:
        return self.models[0].name

    @property
    def index_model(self) -> str:
        """The model whose vectors fill the ESCO index."""
        return self.match_model or self.default_model


# List settings take one value per flag, repeated.
_REPEATED_FLAGS = {"models": "--model", "esco_dirs": "--esco-dir", "api_keys": "--api-key"}


def flag_of(name: str) -> str:
    """The command-line flag of a settings field."""
    return _REPEATED_FLAGS.get(name) or "--" + name.replace("_", "-")


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one `--flag` per settings field; list fields take a repeatable singular flag."""
    for name, field in ServerSettings.model_fields.items():
        if name in _REPEATED_FLAGS:
            parser.add_argument(flag_of(name), dest=name, action="append", help=field.description)
        elif field.annotation is bool:
            parser.add_argument(flag_of(name), dest=name, action=argparse.BooleanOptionalAction, help=field.description)
        else:
            parser.add_argument(flag_of(name), dest=name, help=f"{field.description} (default {field.default})")


def settings_from_arguments(args: argparse.Namespace) -> ServerSettings:
    """Build settings from parsed flags over the environment; raise SystemExit on bad values."""
    given = {name: getattr(args, name) for name in ServerSettings.model_fields if getattr(args, name, None) is not None}
    try:
        return ServerSettings(**given)
    except ValidationError as err:
        raise SystemExit(f"jobmatch: invalid settings:\n{err}") from None


def _shown_default(name: str) -> str:
    field = ServerSettings.model_fields[name]
    value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
    if value is None or value == []:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(f"{v.name}={v.source}" if isinstance(v, ModelSpec) else str(v) for v in value)
    return str(value)


def settings_table() -> str:
    """The README's settings table (Markdown), one row per field, from the fields themselves."""
    rows = ["| flag | environment variable | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in ServerSettings.model_fields.items():
        flag = flag_of(name)
        if field.annotation is bool:
            flag += f" / --no-{flag[2:]}"
        meaning = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{flag}` | `JOBMATCH_{name.upper()}` | {_shown_default(name)} | {meaning} |")
    return "\n".join(rows) + "\n"
