# jobmatch server image. Two variants of one build:
#   docker build -t jobmatch:cpu .                           # CPU torch wheel (small)
#   docker build -t jobmatch:cuda --build-arg VARIANT=cuda . # CUDA torch wheel (needs the NVIDIA runtime)
# Models are fetched into the /models volume on first start (HF_HOME), and on a CPU exported to ONNX
# there once (JOBMATCH_CACHE_DIR); the embedded Qdrant index, when no JOBMATCH_QDRANT_URL is set,
# lives in the /data volume.
ARG VARIANT=cpu
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10001 jobmatch \
    && useradd --system --uid 10001 --gid jobmatch --create-home --home-dir /home/jobmatch jobmatch

# torch first, in its own layer: it is by far the largest and changes least often.
FROM base AS torch-cpu
ARG TORCH_VERSION=2.13.0
RUN pip install --no-cache-dir "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu

FROM base AS torch-cuda
ARG TORCH_VERSION=2.13.0
# The Linux wheel on PyPI bundles the CUDA runtime libraries; the host provides the driver.
RUN pip install --no-cache-dir "torch==${TORCH_VERSION}"

# The variant stage above, not an image from a registry:
# hadolint ignore=DL3006
FROM torch-${VARIANT} AS runtime
WORKDIR /opt/jobmatch
COPY pyproject.toml README.md ./
COPY server ./server
COPY clients/python ./clients/python
RUN pip install --no-cache-dir ./clients/python . \
    && mkdir -p /models /data \
    && chown 10001:10001 /models /data

ENV HF_HOME=/models \
    JOBMATCH_CACHE_DIR=/models/jobmatch \
    JOBMATCH_HOST=0.0.0.0 \
    JOBMATCH_PORT=50051 \
    JOBMATCH_SERVER=127.0.0.1:50051 \
    JOBMATCH_METRICS_PORT=9090 \
    JOBMATCH_QDRANT_PATH=/data/qdrant \
    JOBMATCH_LOG_FORMAT=json
VOLUME ["/models", "/data"]
USER 10001:10001
EXPOSE 50051 9090

# grpc.health.v1 of the whole server (service ""): SERVING once every model is warm (that alone makes
# jobmatch.v1.EmbeddingService SERVING: Embed is answered) and the ESCO index is open
# (jobmatch.v1.MatchService). A first start may download a model and embed ESCO, hence the long start
# period. A deployment that only embeds asks for its service instead (docker run --health-cmd
# "jobmatch health --service jobmatch.v1.EmbeddingService"). With TLS, set JOBMATCH_CA_CERT.
HEALTHCHECK --interval=15s --timeout=10s --start-period=30m --retries=3 CMD ["jobmatch", "health", "--timeout", "5"]

ENTRYPOINT ["jobmatch"]
CMD ["serve"]
