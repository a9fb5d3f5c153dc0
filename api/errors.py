"""Every error leaves as {"error": {"code", "message", "details"}} in the caller's language."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.responses import OrjsonResponse
from services.errors import DomainError
from services.i18n import message, negotiate
from services.logs import request_id_var
from services.outages import as_outage
from services.validation_messages import field_message

log = logging.getLogger("linli.api")

_HTTP_CODES = {
    404: "request.not_found",
    405: "request.method_not_allowed",
    413: "request.too_large",
    401: "auth.required",
    403: "access.forbidden",
}


def error_response(
    request: Request,
    status: int,
    code: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> OrjsonResponse:
    locale = negotiate(request.headers.get("accept-language"))
    error = {"code": code, "message": message(code, locale), "details": details or {}}
    # The id the response's X-Request-Id header and every log line of the request carry, so a user's
    # screenshot of an error leads to the server's log of it.
    request_id = getattr(request.state, "request_id", None) or request_id_var.get()
    if request_id:
        error["request_id"] = request_id
    body = {"error": error}
    return OrjsonResponse(body, status_code=status, headers=headers)


async def _domain(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, DomainError)
    return error_response(request, exc.status, exc.code, exc.details, exc.headers)


async def _validation(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, RequestValidationError)
    locale = negotiate(request.headers.get("accept-language"))
    fields = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "type": err.get("type"),
            "msg": field_message(err, locale),
        }
        for err in exc.errors()
    ]
    return error_response(request, 422, "request.invalid", {"fields": fields})


async def _http(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "request.invalid")
    return error_response(request, exc.status_code, code, headers=getattr(exc, "headers", None))


# deadlock_detected, serialization_failure, lock_not_available
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


async def _database(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, DBAPIError)
    # SQLite (the embedded default) gives up on its write lock after busy_timeout: the request can
    # be retried, so say so instead of a 500.
    # PostgreSQL broke a deadlock or a serialization conflict by aborting this transaction: nothing
    # was written and a retry succeeds, which is what 503 + Retry-After says.
    transient = getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES
    if transient or (isinstance(exc, OperationalError) and "database is locked" in str(exc)):
        log.warning(
            "database busy", extra={"path": request.url.path, "sqlstate": getattr(exc.orig, "sqlstate", None)}
        )
        return error_response(request, 503, "request.busy", headers={"Retry-After": "1"})
    return await _dependency(request, exc)


async def _dependency(request: Request, exc: Exception) -> OrjsonResponse:
    outage = as_outage(exc)
    if outage is None:
        return unexpected(request, exc)
    log.warning(
        "%s unavailable: %s",
        outage.details["dependency"],
        type(exc).__name__,
        extra={"path": request.url.path},
    )
    return await _domain(request, outage)


def unexpected(request: Request, exc: BaseException) -> OrjsonResponse:
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return error_response(request, 500, "request.internal")


async def _unexpected(request: Request, exc: Exception) -> OrjsonResponse:
    return unexpected(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    # Registered by type rather than caught in _unexpected: Starlette re-raises whatever reaches the
    # catch-all handler, and the server then closes the connection (see api.middleware).
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(SqlTimeoutError, _dependency)
    app.add_exception_handler(RedisConnectionError, _dependency)
    app.add_exception_handler(RedisTimeoutError, _dependency)
    app.add_exception_handler(Exception, _unexpected)
