"""Watching the server: Prometheus metrics, structured logs, optional OpenTelemetry traces."""

from jobmatch.server.observability.logs import JsonFormatter, configure_logging
from jobmatch.server.observability.metrics import ServerMetrics

__all__ = ["JsonFormatter", "ServerMetrics", "configure_logging"]
