"""Pure ASGI middleware: request id, body-size limit, Prometheus metrics and the access log."""

from __future__ import annotations

import logging
import re
import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response, unexpected
from services.i18n import negotiate, use_locale
from services.logs import request_id_var

log = logging.getLogger("linli.access")

REQUESTS = Counter("linli_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "linli_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# File uploads (`POST /v1/tickets/{id}/attachments`, `/v1/notices/{id}/attachments`, ...) get a larger body
# limit than the JSON API; the attachment service then checks each file precisely.
UPLOAD_PATHS = re.compile(r"^/v1/(?:[A-Za-z0-9_-]+/)+attachments/?$")
# Camera doors: an event with one or two detection JPEGs; their own limit (services/alarms).
ALARM_INGEST_PATHS = re.compile(r"^/v1/alarm-ingest/")


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        upload_paths: re.Pattern[str] | None = None,
        upload_max_bytes: int | None = None,
        path_limits: tuple[tuple[re.Pattern[str], int], ...] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.upload_paths = upload_paths
        self.upload_max_bytes = upload_max_bytes if upload_max_bytes is not None else max_body_bytes
        self.path_limits = path_limits

    def body_limit(self, path: str) -> int:
        for pattern, limit in self.path_limits:
            if pattern.match(path):
                return limit
        if self.upload_paths is not None and self.upload_paths.match(path):
            return self.upload_max_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        use_locale(negotiate(headers.get("accept-language")))  # for labels in response models
        id_token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        limit = self.body_limit(scope.get("path", ""))

        declared = headers.get("content-length")
        too_large = declared is not None and declared.isdigit() and int(declared) > limit
        if not too_large:
            receive = _counting(receive, limit)

        started_response = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            if too_large:
                # Refuse a declared oversize body before routing or reading any of it.
                response = error_response(Request(scope), 413, "request.too_large", {"max_bytes": limit})
                await response(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            # An error no handler took: answer 500 in the error body here and do not re-raise. What
            # escapes the app (Starlette's catch-all handler re-raises) makes uvicorn close the
            # connection under the client's feet, failing the next request it sends on it.
            if started_response:
                raise
            await unexpected(Request(scope), exc)(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(elapsed)
            log.info(
                "%s %s %s %.1fms",
                method,
                scope.get("path"),
                status,
                elapsed * 1000,
                extra={"request_id": request_id, "status": status, "route": template},
            )
            request_id_var.reset(id_token)


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413)
        return message

    return wrapped
