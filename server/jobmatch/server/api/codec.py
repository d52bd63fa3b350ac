"""Conversions between jobmatch.v1 messages and the engine's calls and results."""

from __future__ import annotations

import time

from jobmatch.client.sides import SIDE_NUMBERS, side_name
from jobmatch.server.api.status import stream_error
from jobmatch.server.batching import EmbedCall, EmbedResult, ModelDescription, OutputOptions
from jobmatch.server.errors import ErrorKind, JobMatchError
from jobmatch.v1 import embedding_pb2 as pb

_ENCODINGS = {pb.ENCODING_UNSPECIFIED, pb.ENCODING_FLOAT, pb.ENCODING_PACKED_FLOAT32}


def embed_call(request: pb.EmbedRequest) -> EmbedCall:
    if request.encoding not in _ENCODINGS:
        raise JobMatchError(ErrorKind.INVALID_ARGUMENT, f"unknown encoding {request.encoding}", field="encoding")
    return EmbedCall(
        model=request.model,
        side=side_name(request.side),
        texts=list(request.inputs),
        truncate=request.truncate,
        options=OutputOptions(
            normalize=request.normalize if request.HasField("normalize") else True,
            dimensions=request.dimensions,
        ),
    )


def embed_response(result: EmbedResult, encoding: int, received_ns: int) -> pb.EmbedResponse:
    """One Embedding per row of `result.vectors`, packed or as floats as `encoding` asks."""
    if encoding == pb.ENCODING_PACKED_FLOAT32:
        little_endian = result.vectors.astype("<f4", copy=False)
        embeddings = [pb.Embedding(packed=row.tobytes()) for row in little_endian]
    else:
        embeddings = [pb.Embedding(values=row) for row in result.vectors.tolist()]
    return pb.EmbedResponse(
        model=result.model,
        dimension=result.vectors.shape[1],
        embeddings=embeddings,
        metadata=pb.Metadata(
            prompt_tokens=result.prompt_tokens,
            tokenization_time_ns=result.tokenization_ns,
            queue_time_ns=result.queue_ns,
            inference_time_ns=result.inference_ns,
            total_time_ns=time.perf_counter_ns() - received_ns,
        ),
    )


def stream_error_response(request_id: str, err: JobMatchError) -> pb.EmbedStreamResponse:
    return pb.EmbedStreamResponse(id=request_id, error=stream_error(err))


def model_info(model: ModelDescription) -> pb.ModelInfo:
    return pb.ModelInfo(
        name=model.name,
        source=model.source,
        dimension=model.dimension,
        asymmetric=model.asymmetric,
        sides=[SIDE_NUMBERS[side] for side in model.sides],
        max_input_tokens=model.max_input_tokens,
        device=model.device,
        dtype=model.dtype,
        backend=model.backend,
        is_default=model.is_default,
    )
