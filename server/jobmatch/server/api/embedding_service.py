"""The EmbeddingService servicer: unary Embed, bidirectional EmbedStream, ListModels."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc

from jobmatch.server.api import codec
from jobmatch.server.api.handlers import MalformedMessage, require_decoded
from jobmatch.server.batching import EmbeddingEngine
from jobmatch.server.errors import JobMatchError
from jobmatch.v1 import embedding_pb2 as pb


def deadline_of(context: grpc.aio.ServicerContext) -> float | None:
    """The call's deadline as a time.monotonic() value, or None when the client set none."""
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


class EmbeddingServicer:
    def __init__(self, engine: EmbeddingEngine, stream_window: int) -> None:
        self._engine = engine
        self._stream_window = stream_window

    async def Embed(self, request: pb.EmbedRequest | MalformedMessage, context: grpc.aio.ServicerContext):
        """Unary: a full queue fails fast with RESOURCE_EXHAUSTED."""
        received = time.perf_counter_ns()
        request = require_decoded(request)
        call = codec.embed_call(request)
        result = await self._engine.embed(call, deadline=deadline_of(context), wait_for_capacity=False)
        return codec.embed_response(result, request.encoding, received)

    async def EmbedStream(
        self, requests: AsyncIterator[pb.EmbedStreamRequest | MalformedMessage], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.EmbedStreamResponse]:
        """Answer each request in order. At most `stream_window` requests are in flight: beyond
        that the server stops reading, and HTTP/2 flow control slows the client down."""
        window = asyncio.Semaphore(self._stream_window)
        answers: asyncio.Queue[asyncio.Task[pb.EmbedStreamResponse] | None] = asyncio.Queue()
        deadline = deadline_of(context)

        async def read() -> None:
            try:
                async for message in requests:
                    await window.acquire()
                    answers.put_nowait(asyncio.create_task(self._answer(message, deadline)))
            finally:
                answers.put_nowait(None)

        reader = asyncio.create_task(read())
        try:
            while (answer := await answers.get()) is not None:
                response = await answer
                window.release()
                yield response
            await reader
        finally:
            reader.cancel()
            while not answers.empty():
                pending = answers.get_nowait()
                if pending is not None:
                    pending.cancel()

    async def _answer(
        self, message: pb.EmbedStreamRequest | MalformedMessage, deadline: float | None
    ) -> pb.EmbedStreamResponse:
        received = time.perf_counter_ns()
        request_id = "" if isinstance(message, MalformedMessage) else message.id
        try:
            request = require_decoded(message).request
            call = codec.embed_call(request)
            result = await self._engine.embed(call, deadline=deadline, wait_for_capacity=True)
        except JobMatchError as err:
            return codec.stream_error_response(request_id, err)
        return pb.EmbedStreamResponse(id=request_id, response=codec.embed_response(result, request.encoding, received))

    async def ListModels(self, request: object, context: grpc.aio.ServicerContext) -> pb.ListModelsResponse:
        require_decoded(request)
        return pb.ListModelsResponse(models=[codec.model_info(m) for m in self._engine.describe_models()])
