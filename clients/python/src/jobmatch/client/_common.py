"""What the sync and asyncio clients share: channel options, request building, decoding, errors."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from jobmatch.client.sides import SIDE_NUMBERS, side_name
from jobmatch.v1 import embedding_pb2 as pb
from jobmatch.v1 import match_pb2

SideLike = str | int | None
_INPUT_INDEX = re.compile(r"(\binputs?\[?|\binput )(\d+)")
RETRYABLE = ("UNAVAILABLE", "RESOURCE_EXHAUSTED")


class JobMatchClientError(Exception):
    """A call failed.

    `code` is the gRPC status (INVALID_ARGUMENT, NOT_FOUND, ...); `reason` the server's
    machine-readable cause (INPUT_TOO_LONG, QUEUE_FULL, ...; "" when the server sent none);
    `field` the request field at fault; `retry_delay_s` is set when retrying may succeed.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: str = "",
        field: str | None = None,
        retry_delay_s: float | None = None,
    ) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.field = field
        self.retry_delay_s = retry_delay_s

    @classmethod
    def from_rpc_error(cls, err: grpc.RpcError) -> JobMatchClientError:
        error = cls(err.code(), err.details() or "")
        status = rpc_status.from_call(err) if hasattr(err, "trailing_metadata") else None
        for detail in status.details if status is not None else ():
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                error.reason = info.reason
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                error.field = bad.field_violations[0].field if bad.field_violations else None
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                error.retry_delay_s = retry.retry_delay.ToMilliseconds() / 1000
        return error

    def shifted(self, offset: int) -> JobMatchClientError:
        """This error with input indexes counted from the start of the caller's whole list.

        The client sends long lists in chunks; the server counts inputs within a chunk.
        """
        if offset:
            renumber = lambda match: f"{match.group(1)}{int(match.group(2)) + offset}"  # noqa: E731
            self.message = _INPUT_INDEX.sub(renumber, self.message)
            self.field = _INPUT_INDEX.sub(renumber, self.field) if self.field else self.field
            self.args = (f"{self.code.name}: {self.message}",)
        return self

    @classmethod
    def from_stream_error(cls, error: pb.StreamError) -> JobMatchClientError:
        code = next((c for c in grpc.StatusCode if c.value[0] == error.code), grpc.StatusCode.UNKNOWN)
        delay = error.retry_delay_ms / 1000 if error.retry_delay_ms else None
        return cls(code, error.message, reason=error.reason, field=error.field or None, retry_delay_s=delay)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    source: str
    dimension: int
    asymmetric: bool
    sides: tuple[str, ...]
    max_input_tokens: int
    device: str
    dtype: str
    is_default: bool
    backend: str = ""  # what runs the transformer: onnx or torch ('' from older servers)

    @classmethod
    def from_proto(cls, info: pb.ModelInfo) -> ModelInfo:
        return cls(
            name=info.name,
            source=info.source,
            dimension=info.dimension,
            asymmetric=info.asymmetric,
            sides=tuple(side_name(s) or str(s) for s in info.sides),
            max_input_tokens=info.max_input_tokens,
            device=info.device,
            dtype=info.dtype,
            is_default=info.is_default,
            backend=info.backend,
        )


QUERY_KINDS = {
    "job_title": match_pb2.QUERY_KIND_JOB_TITLE,
    "job-title": match_pb2.QUERY_KIND_JOB_TITLE,
    "skills": match_pb2.QUERY_KIND_SKILLS,
    "text": match_pb2.QUERY_KIND_TEXT,
}


@dataclass(frozen=True)
class OccupationMatch:
    """An ESCO occupation found for a query; `skills` are its essential skill labels, `description`
    is empty unless asked for (`include_descriptions`).

    `score` is the engine's fused similarity (higher is closer; docs/api.md). `fits` is True when the
    score clears the call's threshold (`OccupationMatches.min_score`), and always when there is none
    (min_score 0): a match with `fits` False is a nearest guess, not an answer.
    """

    uri: str
    preferred_label: str
    isco_group: str
    code: str
    score: float
    skills: tuple[str, ...]
    description: str = ""
    fits: bool = True

    @classmethod
    def from_proto(cls, match: match_pb2.OccupationMatch, *, fits: bool = True) -> OccupationMatch:
        return cls(
            match.uri,
            match.preferred_label,
            match.isco_group,
            match.code,
            match.score,
            tuple(match.skills),
            match.description,
            fits,
        )


class OccupationMatches(list[OccupationMatch]):
    """What `match_occupations` returns: a list of `OccupationMatch`, best first, that also carries the
    response's verdict.

    `min_score` is the threshold the server applied (the call's, else its default for the query kind;
    0: none). `no_fit` is True when the best match scores below it (or nothing matched): no occupation
    fits the query well, and the matches are only the nearest guesses.
    """

    no_fit: bool
    min_score: float

    def __init__(self, matches: Sequence[OccupationMatch] = (), *, no_fit: bool = False, min_score: float = 0.0):
        super().__init__(matches)
        self.no_fit = no_fit
        self.min_score = min_score

    @classmethod
    def from_proto(cls, response: match_pb2.MatchOccupationsResponse) -> OccupationMatches:
        # A match fits when it clears min_score; none does under no_fit (the server's verdict on the best
        # one wins over a float32 tie); with no threshold (0, also an older server's answer) all do.
        threshold = response.min_score
        matches = [
            OccupationMatch.from_proto(m, fits=threshold <= 0 or (not response.no_fit and m.score >= threshold))
            for m in response.matches
        ]
        return cls(matches, no_fit=response.no_fit, min_score=threshold)

    def __repr__(self) -> str:
        return f"OccupationMatches({list.__repr__(self)}, no_fit={self.no_fit}, min_score={self.min_score})"


@dataclass(frozen=True)
class SkillMatch:
    uri: str
    label: str
    skill_type: str
    score: float

    @classmethod
    def from_proto(cls, match: match_pb2.SkillMatch) -> SkillMatch:
        return cls(match.uri, match.label, match.skill_type, match.score)


@dataclass(frozen=True)
class SkillRef:
    uri: str
    label: str

    @classmethod
    def from_proto(cls, skill: match_pb2.SkillRef) -> SkillRef:
        return cls(skill.uri, skill.label)


@dataclass(frozen=True)
class Evidence:
    """Where a text mentions a skill: ``text[start:end]`` of the text sent (code points, end exclusive)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ExtractedSkill:
    """An ESCO skill a text mentions: its similarity to its best evidence, the spans (best first), and its
    ``relation`` to the occupation asked about ("essential", "optional"; "" when unrelated or none asked)."""

    uri: str
    label: str
    score: float
    skill_type: str
    evidence: tuple[Evidence, ...]
    relation: str = ""

    @classmethod
    def from_proto(cls, skill: match_pb2.ExtractedSkill) -> ExtractedSkill:
        evidence = tuple(Evidence(e.start, e.end, e.text) for e in skill.evidence)
        return cls(skill.uri, skill.label, skill.score, skill.skill_type, evidence, skill.relation)


@dataclass(frozen=True)
class SkillGap:
    """A text against one occupation's essential skills: those it ``shown`` (with evidence), those
    ``missing`` (in ESCO's order), and ``coverage`` = shown / essential (0 when it lists none)."""

    occupation_uri: str
    occupation_label: str
    shown: tuple[ExtractedSkill, ...]
    missing: tuple[SkillRef, ...]
    coverage: float

    @classmethod
    def from_proto(cls, gap: match_pb2.SkillGap) -> SkillGap:
        return cls(
            gap.occupation_uri,
            gap.occupation_label,
            tuple(ExtractedSkill.from_proto(s) for s in gap.shown),
            tuple(SkillRef.from_proto(s) for s in gap.missing),
            gap.coverage,
        )


@dataclass(frozen=True)
class SkillExtraction:
    """What ``extract_skills`` returns: the skills, best first, the threshold applied (0: none), and the skill
    gap when an occupation was named."""

    skills: tuple[ExtractedSkill, ...]
    model: str
    esco_version: str
    min_score: float
    gap: SkillGap | None = None

    @classmethod
    def from_proto(cls, response: match_pb2.ExtractSkillsResponse) -> SkillExtraction:
        gap = SkillGap.from_proto(response.gap) if response.HasField("gap") else None
        skills = tuple(ExtractedSkill.from_proto(s) for s in response.skills)
        return cls(skills, response.model, response.esco_version, response.min_score, gap)


def extract_request(
    text: str, top_k: int | None, min_score: float | None, language: str, occupation_uri: str | None
) -> match_pb2.ExtractSkillsRequest:
    request = match_pb2.ExtractSkillsRequest(
        text=text, top_k=top_k or 0, language=language, occupation_uri=occupation_uri or ""
    )
    if min_score is not None:  # None: absent, the server's default
        request.min_score = min_score
    return request


@dataclass(frozen=True)
class MatchQuery:
    """One query of ``match_occupations_batch`` with its own options; a plain string takes the call's."""

    query: str
    kind: str = "job_title"
    top_k: int = 10
    language: str = ""
    isco_prefixes: Sequence[str] = ()
    include_descriptions: bool = False
    min_score: float | None = None

    def request(self) -> match_pb2.MatchOccupationsRequest:
        return match_request(
            self.query,
            self.kind,
            self.top_k,
            self.language,
            self.isco_prefixes,
            self.include_descriptions,
            self.min_score,
        )


@dataclass(frozen=True)
class MatchResult:
    """The answer to one query of a batch, in query order: ``matches`` when it succeeded, else ``error``
    (the status this query alone would get from ``match_occupations``; the other queries are answered)."""

    index: int
    query: str
    matches: OccupationMatches | None = None
    error: JobMatchClientError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def result(self) -> OccupationMatches:
        """The matches, or raise the query's error."""
        if self.error is not None:
            raise self.error
        assert self.matches is not None
        return self.matches

    @classmethod
    def from_proto(cls, index: int, query: str, result: match_pb2.MatchOccupationsResult) -> MatchResult:
        if result.HasField("error"):
            return cls(index, query, error=JobMatchClientError.from_stream_error(result.error))
        return cls(index, query, matches=OccupationMatches.from_proto(result.response))


def batch_queries(queries: Iterable[str | MatchQuery], defaults: MatchQuery) -> Iterator[MatchQuery]:
    """Each query as a `MatchQuery`: a string takes the call's options (`defaults`)."""
    if isinstance(queries, str):
        raise TypeError("queries must be an iterable of strings or MatchQuery, not one string")
    for query in queries:
        yield query if isinstance(query, MatchQuery) else dataclasses.replace(defaults, query=query)


def batch_chunks(queries: Iterator[MatchQuery], size: int) -> Iterator[list[MatchQuery]]:
    """Consecutive chunks of at most `size` queries, read lazily."""
    if size < 1:
        raise ValueError(f"batch_size must be at least 1, got {size}")
    while chunk := list(itertools.islice(queries, size)):
        yield chunk


def batch_request(chunk: Sequence[MatchQuery]) -> match_pb2.MatchOccupationsBatchRequest:
    return match_pb2.MatchOccupationsBatchRequest(queries=[q.request() for q in chunk])


def batch_results(
    offset: int, chunk: Sequence[MatchQuery], response: match_pb2.MatchOccupationsBatchResponse
) -> list[MatchResult]:
    if len(response.results) != len(chunk):
        raise JobMatchClientError(
            grpc.StatusCode.INTERNAL, f"{len(response.results)} results for a batch of {len(chunk)} queries"
        )
    pairs = zip(chunk, response.results, strict=True)
    return [MatchResult.from_proto(offset + i, query.query, result) for i, (query, result) in enumerate(pairs)]


def match_request(
    query: str,
    kind: str,
    top_k: int,
    language: str,
    isco_prefixes: Sequence[str],
    include_descriptions: bool,
    min_score: float | None = None,
) -> match_pb2.MatchOccupationsRequest:
    if kind not in QUERY_KINDS:
        raise ValueError(f"kind must be one of {sorted(QUERY_KINDS)}, got {kind!r}")
    request = match_pb2.MatchOccupationsRequest(
        query=query,
        kind=QUERY_KINDS[kind],
        top_k=top_k,
        language=language,
        isco_group_prefixes=isco_prefixes,
        include_descriptions=include_descriptions,
    )
    if min_score is not None:  # None: the field stays absent, and the server applies its default
        request.min_score = min_score
    return request


def side_value(side: SideLike) -> int:
    """Accept 'anchor' / 'positive', a jobmatch.v1.Side value, or None (unspecified)."""
    if side is None:
        return pb.SIDE_UNSPECIFIED
    if isinstance(side, str):
        try:
            return SIDE_NUMBERS[side.lower()]  # type: ignore[index]
        except KeyError:
            raise ValueError(f"side must be 'anchor' or 'positive', got {side!r}") from None
    return int(side)


PemSource = str | Path | bytes


def _pem(source: PemSource | None) -> bytes | None:
    """PEM bytes from bytes as they are, or from a file path."""
    if source is None or isinstance(source, bytes):
        return source
    return Path(source).read_bytes()


def channel_credentials(
    tls: bool, ca_cert: PemSource | None, client_cert: PemSource | None, client_key: PemSource | None
) -> grpc.ChannelCredentials | None:
    """TLS credentials (a CA, a client certificate for mutual TLS), or None for plaintext.

    Any certificate implies TLS; `tls=True` alone trusts the system's root certificates.
    """
    if (client_cert is None) != (client_key is None):
        raise ValueError("client_cert and client_key go together (mutual TLS)")
    if not (tls or ca_cert is not None or client_cert is not None):
        return None
    return grpc.ssl_channel_credentials(_pem(ca_cert), _pem(client_key), _pem(client_cert))


def auth_metadata(api_key: str | None) -> tuple[tuple[str, str], ...] | None:
    """Call metadata carrying the API key, as the server reads it."""
    return (("authorization", f"Bearer {api_key}"),) if api_key else None


def channel_options(
    max_attempts: int, max_message_bytes: int, load_balancing: str = "pick_first"
) -> list[tuple[str, object]]:
    """Channel options with gRPC's own retry policy: UNAVAILABLE and RESOURCE_EXHAUSTED are
    retried with exponential backoff and jitter by the gRPC runtime (at most 5 attempts).

    `load_balancing="round_robin"` with a `dns:///host:port` target spreads calls over every
    address the name resolves to (several server replicas).
    """
    if load_balancing not in ("pick_first", "round_robin"):
        raise ValueError(f"load_balancing must be 'pick_first' or 'round_robin', got {load_balancing!r}")
    service_config = {
        "loadBalancingConfig": [{load_balancing: {}}],
        "methodConfig": [
            {
                "name": [{"service": "jobmatch.v1.EmbeddingService"}, {"service": "jobmatch.v1.MatchService"}],
                "retryPolicy": {
                    "maxAttempts": max(2, min(max_attempts, 5)),
                    "initialBackoff": "0.05s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": list(RETRYABLE),
                },
            }
        ],
    }
    options: list[tuple[str, object]] = [
        ("grpc.service_config", json.dumps(service_config)),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]
    if max_attempts <= 1:
        options.append(("grpc.enable_retries", 0))
    return options


@dataclass(frozen=True)
class EmbedOptions:
    """Per-call options shared by every chunk of a call."""

    side: SideLike = None
    model: str = ""
    normalize: bool = True
    truncate: bool = False
    dimensions: int = 0

    def request(self, texts: Sequence[str]) -> pb.EmbedRequest:
        return pb.EmbedRequest(
            model=self.model,
            side=side_value(self.side),
            inputs=texts,
            normalize=self.normalize,
            truncate=self.truncate,
            encoding=pb.ENCODING_PACKED_FLOAT32,
            dimensions=self.dimensions,
        )


def chunks(texts: Sequence[str], size: int) -> list[tuple[int, Sequence[str]]]:
    """(offset, chunk) pairs covering `texts`; one empty chunk for an empty list, so the
    server answers it with its own INVALID_ARGUMENT."""
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string")
    return [(start, texts[start : start + size]) for start in range(0, len(texts), size)] or [(0, [])]


def decode(response: pb.EmbedResponse) -> np.ndarray:
    """(n, dimension) float32 array from a packed or float-list response."""
    if not response.embeddings:
        return np.empty((0, response.dimension), dtype=np.float32)
    if response.embeddings[0].packed:
        data = b"".join(e.packed for e in response.embeddings)
        return np.frombuffer(data, dtype="<f4").reshape(len(response.embeddings), -1).astype(np.float32)
    return np.asarray([list(e.values) for e in response.embeddings], dtype=np.float32)


def concat(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
