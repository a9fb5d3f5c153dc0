"""The worker's and scheduler's metrics and liveness endpoint: prometheus_client's HTTP server.

Off unless LINLI_METRICS_PORT is set; bound to LINLI_METRICS_HOST (127.0.0.1 by default) so it is
never public by accident. Any path answers the metrics text, so compose's healthcheck polls it."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

from services.config import Settings

log = logging.getLogger(__name__)


def serve_metrics(settings: Settings) -> None:
    if settings.metrics_port is None:
        return
    start_http_server(settings.metrics_port, addr=settings.metrics_host)
    log.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)
