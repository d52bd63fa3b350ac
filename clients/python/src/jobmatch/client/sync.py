"""Blocking client for the jobmatch gRPC API."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence

import grpc
import numpy as np

from jobmatch.client._common import (
    EmbedOptions,
    JobMatchClientError,
    MatchQuery,
    MatchResult,
    ModelInfo,
    OccupationMatches,
    PemSource,
    SideLike,
    SkillExtraction,
    SkillMatch,
    auth_metadata,
    batch_chunks,
    batch_queries,
    batch_request,
    batch_results,
    channel_credentials,
    channel_options,
    chunks,
    concat,
    decode,
    extract_request,
    match_request,
)
from jobmatch.v1 import embedding_pb2 as pb
from jobmatch.v1 import embedding_pb2_grpc as pb_grpc
from jobmatch.v1 import match_pb2, match_pb2_grpc


class JobMatchClient:
    """Embed texts with a jobmatch server.

    >>> with JobMatchClient("127.0.0.1:50051") as client:
    ...     titles = client.embed(["data scientist"], side="anchor")   # (1, dimension) float32

    Security: `api_key` goes with every call as `authorization: Bearer KEY`; `ca_cert` (a PEM
    file or bytes; `tls=True` alone trusts the system roots) switches to TLS, and `client_cert`
    with `client_key` to mutual TLS. Replicas: `JobMatchClient("dns:///jobmatch:50051",
    load_balancing="round_robin")` spreads calls over every address the name resolves to.
    """

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        timeout: float | None = 30.0,
        max_attempts: int = 4,
        chunk_size: int = 256,
        max_in_flight: int = 4,
        max_message_bytes: int = 64 * 1024 * 1024,
        load_balancing: str = "pick_first",
        api_key: str | None = None,
        tls: bool = False,
        ca_cert: PemSource | None = None,
        client_cert: PemSource | None = None,
        client_key: PemSource | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        self.timeout = timeout
        self.chunk_size = chunk_size
        self.max_in_flight = max_in_flight
        self._metadata = auth_metadata(api_key)
        self._channel = channel or _open_channel(
            target,
            channel_options(max_attempts, max_message_bytes, load_balancing),
            channel_credentials(tls, ca_cert, client_cert, client_key),
        )
        self._stub = pb_grpc.EmbeddingServiceStub(self._channel)
        self._match = match_pb2_grpc.MatchServiceStub(self._channel)

    def __enter__(self) -> JobMatchClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def embed(
        self,
        texts: Sequence[str],
        *,
        side: SideLike = None,
        model: str = "",
        normalize: bool = True,
        truncate: bool = False,
        dimensions: int = 0,
        timeout: float | None = None,
    ) -> np.ndarray:
        """Vectors of `texts` as a (len(texts), dimension) float32 array, rows in input order.

        Long lists go out in chunks of `chunk_size`, up to `max_in_flight` at once.
        """
        options = EmbedOptions(side, model, normalize, truncate, dimensions)
        timeout = self.timeout if timeout is None else timeout
        pending = chunks(texts, self.chunk_size)
        parts: list[np.ndarray] = []
        for group_start in range(0, len(pending), self.max_in_flight):
            group = pending[group_start : group_start + self.max_in_flight]
            futures = [
                (offset, self._stub.Embed.future(options.request(chunk), timeout=timeout, metadata=self._metadata))
                for offset, chunk in group
            ]
            for offset, future in futures:
                try:
                    parts.append(decode(future.result()))
                except grpc.RpcError as err:
                    for _, other in futures:
                        other.cancel()
                    raise JobMatchClientError.from_rpc_error(err).shifted(offset) from None
        return concat(parts)

    def embed_stream(
        self,
        texts: Iterable[str],
        *,
        side: SideLike = None,
        model: str = "",
        normalize: bool = True,
        truncate: bool = False,
        timeout: float | None = None,
    ) -> Iterator[np.ndarray]:
        """Stream `texts` one per message over EmbedStream; yield one vector per text, in order.

        The server reads ahead a window of requests; a slow consumer slows the producer down.
        """
        options = EmbedOptions(side, model, normalize, truncate)
        requests = (pb.EmbedStreamRequest(id=str(i), request=options.request([t])) for i, t in enumerate(texts))
        try:
            for response in self._stub.EmbedStream(requests, timeout=timeout, metadata=self._metadata):
                if response.HasField("error"):
                    raise JobMatchClientError.from_stream_error(response.error)
                yield decode(response.response)[0]
        except grpc.RpcError as err:
            raise JobMatchClientError.from_rpc_error(err) from None

    def list_models(self, *, timeout: float | None = None) -> list[ModelInfo]:
        try:
            response = self._stub.ListModels(
                pb.ListModelsRequest(), timeout=timeout or self.timeout, metadata=self._metadata
            )
        except grpc.RpcError as err:
            raise JobMatchClientError.from_rpc_error(err) from None
        return [ModelInfo.from_proto(m) for m in response.models]

    def match_occupations(
        self,
        query: str,
        *,
        kind: str = "job_title",
        top_k: int = 10,
        language: str = "",
        isco_prefixes: Sequence[str] = (),
        include_descriptions: bool = False,
        min_score: float | None = None,
        timeout: float | None = None,
    ) -> OccupationMatches:
        """ESCO occupations closest to `query`, best first. `kind`: job_title, skills or text;
        `include_descriptions` fills each match's description (in its label's language).

        `min_score`: the score below which no occupation fits (None: the server's default for `kind`;
        0 or less: no threshold). The matches come back either way, as a list that also carries
        `no_fit` and the `min_score` applied; each match's `fits` says whether it clears it.
        """
        request = match_request(query, kind, top_k, language, isco_prefixes, include_descriptions, min_score)
        try:
            response = self._match.MatchOccupations(request, timeout=timeout or self.timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            raise JobMatchClientError.from_rpc_error(err) from None
        return OccupationMatches.from_proto(response)

    def match_occupations_batch(
        self,
        queries: Iterable[str | MatchQuery],
        *,
        kind: str = "job_title",
        top_k: int = 10,
        language: str = "",
        isco_prefixes: Sequence[str] = (),
        include_descriptions: bool = False,
        min_score: float | None = None,
        batch_size: int = 100,
        timeout: float | None = None,
    ) -> list[MatchResult]:
        """Many queries through MatchOccupationsBatch: one `MatchResult` per query, in query order, each with
        its matches or its own error (see `iter_match_occupations_batch`)."""
        return list(
            self.iter_match_occupations_batch(
                queries,
                kind=kind,
                top_k=top_k,
                language=language,
                isco_prefixes=isco_prefixes,
                include_descriptions=include_descriptions,
                min_score=min_score,
                batch_size=batch_size,
                timeout=timeout,
            )
        )

    def iter_match_occupations_batch(
        self,
        queries: Iterable[str | MatchQuery],
        *,
        kind: str = "job_title",
        top_k: int = 10,
        language: str = "",
        isco_prefixes: Sequence[str] = (),
        include_descriptions: bool = False,
        min_score: float | None = None,
        batch_size: int = 100,
        timeout: float | None = None,
    ) -> Iterator[MatchResult]:
        """Yield one `MatchResult` per query, in query order, as the answers come.

        `queries` is read lazily (a file of any length streams through), `batch_size` queries per call,
        `max_in_flight` calls at once, each with its own deadline (`timeout`). A string takes this call's
        options; a `MatchQuery` carries its own. A query that fails has `error` set (what
        `match_occupations` would raise) and the others are answered; a failure of a whole call (server
        unreachable, deadline, a batch over the server's limit) raises `JobMatchClientError`.
        """
        defaults = MatchQuery("", kind, top_k, language, tuple(isco_prefixes), include_descriptions, min_score)
        timeout = self.timeout if timeout is None else timeout
        pending: deque[tuple[int, list[MatchQuery], grpc.Future]] = deque()
        offset = 0
        try:
            for chunk in batch_chunks(batch_queries(queries, defaults), batch_size):
                call = self._match.MatchOccupationsBatch.future(
                    batch_request(chunk), timeout=timeout, metadata=self._metadata
                )
                pending.append((offset, chunk, call))
                offset += len(chunk)
                if len(pending) >= self.max_in_flight:
                    yield from _batch_answer(*pending.popleft())
            while pending:
                yield from _batch_answer(*pending.popleft())
        finally:
            for _, _, call in pending:  # an error, or the caller stopped reading: drop what is in flight
                call.cancel()

    def extract_skills(
        self,
        text: str,
        *,
        top_k: int | None = None,
        min_score: float | None = None,
        language: str = "",
        occupation_uri: str | None = None,
        timeout: float | None = None,
    ) -> SkillExtraction:
        """The ESCO skills `text` (a job ad, a CV) mentions, best first, each with its evidence spans.

        `top_k` None: the server's default (20); `min_score` None: the server's default threshold, 0 or
        less: none. With `occupation_uri`, each skill's relation to that occupation is set and the result
        carries the skill gap (`gap`: essential skills shown and missing, coverage).
        """
        request = extract_request(text, top_k, min_score, language, occupation_uri)
        try:
            response = self._match.ExtractSkills(
                request, timeout=self.timeout if timeout is None else timeout, metadata=self._metadata
            )
        except grpc.RpcError as err:
            raise JobMatchClientError.from_rpc_error(err) from None
        return SkillExtraction.from_proto(response)

    def get_occupation(self, uri: str, *, language: str = "", timeout: float | None = None) -> match_pb2.Occupation:
        """The occupation with this ESCO URI (NOT_FOUND if the index has none)."""
        request = match_pb2.GetOccupationRequest(uri=uri, language=language)
        try:
            return (
                self._match.GetOccupation(request, timeout=timeout or self.timeout, metadata=self._metadata)
            ).occupation
        except grpc.RpcError as err:
            raise JobMatchClientError.from_rpc_error(err) from None

    def match_skills(self, query: str, *, top_k: int = 10, timeout: float | None = None) -> list[SkillMatch]:
        """ESCO skills most relevant to a job title, best first."""
        request = match_pb2.MatchSkillsRequest(query=query, top_k=top_k)
        try:
            response = self._match.MatchSkills(request, timeout=timeout or self.timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            raise JobMatchClientError.from_rpc_error(err) from None
        return [SkillMatch.from_proto(m) for m in response.matches]


def _batch_answer(offset: int, chunk: list[MatchQuery], call: grpc.Future) -> list[MatchResult]:
    try:
        return batch_results(offset, chunk, call.result())
    except grpc.RpcError as err:
        raise JobMatchClientError.from_rpc_error(err) from None


def _open_channel(
    target: str, options: list[tuple[str, object]], credentials: grpc.ChannelCredentials | None
) -> grpc.Channel:
    if credentials is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, credentials, options=options)
