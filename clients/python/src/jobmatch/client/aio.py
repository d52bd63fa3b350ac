"""asyncio client for the jobmatch gRPC API (grpc.aio)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence

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


class AsyncJobMatchClient:
    """asyncio twin of `JobMatchClient`; create and use it inside one running event loop."""

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
        channel: grpc.aio.Channel | None = None,
    ) -> None:
        self.timeout = timeout
        self.chunk_size = chunk_size
        self.max_in_flight = max_in_flight
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._metadata = auth_metadata(api_key)
        self._channel = channel or _open_channel(
            target,
            channel_options(max_attempts, max_message_bytes, load_balancing),
            channel_credentials(tls, ca_cert, client_cert, client_key),
        )
        self._stub = pb_grpc.EmbeddingServiceStub(self._channel)
        self._match = match_pb2_grpc.MatchServiceStub(self._channel)

    async def __aenter__(self) -> AsyncJobMatchClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def embed(
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
        """Vectors of `texts` as a (len(texts), dimension) float32 array, rows in input order."""
        options = EmbedOptions(side, model, normalize, truncate, dimensions)
        timeout = self.timeout if timeout is None else timeout

        async def one(offset: int, chunk: Sequence[str]) -> np.ndarray:
            async with self._in_flight:
                try:
                    return decode(
                        await self._stub.Embed(options.request(chunk), timeout=timeout, metadata=self._metadata)
                    )
                except grpc.RpcError as err:
                    raise JobMatchClientError.from_rpc_error(err).shifted(offset) from None

        pending = chunks(texts, self.chunk_size)
        return concat(list(await asyncio.gather(*(one(offset, chunk) for offset, chunk in pending))))

    async def embed_stream(
        self,
        texts: Iterable[str] | AsyncIterator[str],
        *,
        side: SideLike = None,
        model: str = "",
        normalize: bool = True,
        truncate: bool = False,
        timeout: float | None = None,
    ) -> AsyncIterator[np.ndarray]:
        """Stream texts one per message over EmbedStream; yield one vector per text, in order."""
        options = EmbedOptions(side, model, normalize, truncate)

        async def requests() -> AsyncIterator[pb.EmbedStreamRequest]:
            index = 0
            async for text in _aiter(texts):
                yield pb.EmbedStreamRequest(id=str(index), request=options.request([text]))
                index += 1

        try:
            async for response in self._stub.EmbedStream(requests(), timeout=timeout, metadata=self._metadata):
                if response.HasField("error"):
                    raise JobMatchClientError.from_stream_error(response.error)
                yield decode(response.response)[0]
        except grpc.RpcError as err:
            raise JobMatchClientError.from_rpc_error(err) from None

    async def list_models(self, *, timeout: float | None = None) -> list[ModelInfo]:
        try:
            response = await self._stub.ListModels(
                pb.ListModelsRequest(), timeout=timeout or self.timeout, metadata=self._metadata
            )
        except grpc.RpcError as err:
            raise JobMatchClientError.from_rpc_error(err) from None
        return [ModelInfo.from_proto(m) for m in response.models]

    async def match_occupations(
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
            response = await self._match.MatchOccupations(
                request, timeout=timeout or self.timeout, metadata=self._metadata
            )
        except grpc.RpcError as err:
            raise JobMatchClientError.from_rpc_error(err) from None
        return OccupationMatches.from_proto(response)

    async def match_occupations_batch(
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
        results = self.iter_match_occupations_batch(
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
        return [result async for result in results]

    async def iter_match_occupations_batch(
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
    ) -> AsyncIterator[MatchResult]:
        """Yield one `MatchResult` per query, in query order: `batch_size` queries per call, `max_in_flight`
        calls at once, each with its own deadline. Per-query errors and whole-call failures as in
        `JobMatchClient.iter_match_occupations_batch`."""
        defaults = MatchQuery("", kind, top_k, language, tuple(isco_prefixes), include_descriptions, min_score)
        timeout = self.timeout if timeout is None else timeout
        pending: deque[tuple[int, list[MatchQuery], grpc.aio.UnaryUnaryCall]] = deque()
        offset = 0
        try:
            for chunk in batch_chunks(batch_queries(queries, defaults), batch_size):
                call = self._match.MatchOccupationsBatch(batch_request(chunk), timeout=timeout, metadata=self._metadata)
                pending.append((offset, chunk, call))  # a grpc.aio call starts at once
                offset += len(chunk)
                if len(pending) >= self.max_in_flight:
                    for result in await _batch_answer(*pending.popleft()):
                        yield result
            while pending:
                for result in await _batch_answer(*pending.popleft()):
                    yield result
        finally:
            for _, _, call in pending:  # an error, or the caller stopped reading: drop what is in flight
                call.cancel()

    async def extract_skills(
        self,
        text: str,
        *,
        top_k: int | None = None,
        min_score: float | None = None,
        language: str = "",
        occupation_uri: str | None = None,
        timeout: float | None = None,
    ) -> SkillExtraction:
        """The ESCO skills `text` mentions, best first, with evidence; the skill gap with `occupation_uri`
        (see `JobMatchClient.extract_skills`)."""
        request = extract_request(text, top_k, min_score, language, occupation_uri)
        try:
            response = await self._match.ExtractSkills(
                request, timeout=self.timeout if timeout is None else timeout, metadata=self._metadata
            )
        except grpc.RpcError as err:
            raise JobMatchClientError.from_rpc_error(err) from None
        return SkillExtraction.from_proto(response)

    async def get_occupation(
        self, uri: str, *, language: str = "", timeout: float | None = None
    ) -> match_pb2.Occupation:
        """The occupation with this ESCO URI (NOT_FOUND if the index has none)."""
        request = match_pb2.GetOccupationRequest(uri=uri, language=language)
        try:
            return (
                await self._match.GetOccupation(request, timeout=timeout or self.timeout, metadata=self._metadata)
            ).occupation
        except grpc.RpcError as err:
            raise JobMatchClientError.from_rpc_error(err) from None

    async def match_skills(self, query: str, *, top_k: int = 10, timeout: float | None = None) -> list[SkillMatch]:
        """ESCO skills most relevant to a job title, best first."""
        request = match_pb2.MatchSkillsRequest(query=query, top_k=top_k)
        try:
            response = await self._match.MatchSkills(request, timeout=timeout or self.timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            raise JobMatchClientError.from_rpc_error(err) from None
        return [SkillMatch.from_proto(m) for m in response.matches]


async def _batch_answer(offset: int, chunk: list[MatchQuery], call: grpc.aio.UnaryUnaryCall) -> list[MatchResult]:
    try:
        return batch_results(offset, chunk, await call)
    except grpc.RpcError as err:
        raise JobMatchClientError.from_rpc_error(err) from None


async def _aiter(texts: Iterable[str] | AsyncIterator[str]) -> AsyncIterator[str]:
    if hasattr(texts, "__aiter__"):
        async for text in texts:  # type: ignore[union-attr]
            yield text
    else:
        for text in texts:  # type: ignore[union-attr]
            yield text


def _open_channel(
    target: str, options: list[tuple[str, object]], credentials: grpc.ChannelCredentials | None
) -> grpc.aio.Channel:
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(target, credentials, options=options)
