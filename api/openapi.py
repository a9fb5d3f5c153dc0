"""The published contract: operationIds, the bearer scheme, and every error an operation can answer.

FastAPI writes the paths and schemas; this adds what an app team generating a client needs and FastAPI
cannot know: which operations need the bearer token (those whose dependencies include the access-token
check), the one error body every failure carries (422 included: FastAPI's default `{"detail": [...]}` is
never sent), and per operation the error codes the code can raise (api/error_codes.py), as
`x-error-codes` on the operation and on each error response.
"""

from __future__ import annotations

import http
from typing import Any, get_args

from fastapi import FastAPI, routing
from fastapi.openapi.utils import get_openapi

from api import deps, error_codes
from api.operation_ids import OPERATION_IDS

BEARER = "bearerAuth"
ERROR_REF = "#/components/schemas/ErrorBody"

# Errors every operation of a kind can answer, raised outside the call graph (exception handlers,
# middleware): see api/errors.py and api/middleware.py.
UNAVAILABLE = [(503, "dependency.unavailable"), (503, "request.busy")]
TOO_LARGE = [(413, "request.too_large")]
INVALID = [(422, "request.invalid")]
BODY_METHODS = {"POST", "PUT", "PATCH"}

CONVENTIONS = """

**Errors.** Every failure answers `ErrorBody` (`{"error": {"code", "message", "details"}}`), validation
errors (422 `request.invalid`, `details.fields[]`) included. Each operation lists the codes it can
return in `x-error-codes` (and per response), read from the code.

**Auth.** `Authorization: Bearer <access_token>` (`bearerAuth`) on every operation whose `security`
names it; `security: []` marks the public ones.

**Times.** Every instant in a response is RFC 3339 in UTC with `Z` and six fraction digits
(`2026-12-03T08:30:00.000000Z`); send instants with an offset.
"""

ERROR_SCHEMAS: dict[str, Any] = {
    "ErrorBody": {
        "title": "ErrorBody",
        "description": "What every 4xx/5xx answer carries (validation errors included).",
        "type": "object",
        "properties": {"error": {"$ref": "#/components/schemas/Error"}},
        "required": ["error"],
    },
    "Error": {
        "title": "Error",
        "type": "object",
        "properties": {
            "code": {
                "type": "string",
                "description": "Stable dotted code (`ticket.invalid_transition`); the operation's "
                "`x-error-codes` lists those it can answer",
            },
            "message": {"type": "string", "description": "Localised (Accept-Language: zh-CN, en)"},
            "details": {"$ref": "#/components/schemas/ErrorDetails"},
            "request_id": {"type": "string", "description": "The X-Request-Id of the request"},
        },
        "required": ["code", "message", "details"],
    },
    "ErrorDetails": {
        "title": "ErrorDetails",
        "description": "Facts about the failure; `fields` on request.invalid, `retry_after` on 429/503.",
        "type": "object",
        "properties": {
            "fields": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
            "retry_after": {"type": "integer", "description": "Seconds; also the Retry-After header"},
        },
        "additionalProperties": True,
    },
    "FieldError": {
        "title": "FieldError",
        "type": "object",
        "properties": {
            "loc": {"type": "array", "items": {"type": "string"}, "description": "body / query / path, …"},
            "type": {"type": "string", "description": "pydantic's error type (missing, string_too_long, …)"},
            "msg": {"type": "string", "description": "Localised"},
        },
        "required": ["loc", "type", "msg"],
    },
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_id(route: Any) -> str:
    """`createTicket` from `tickets.create_ticket`; renames of unclear names in api/operation_ids.py."""
    module = route.endpoint.__module__.rsplit(".", 1)[-1]
    return OPERATION_IDS.get(f"{module}.{route.name}") or _camel(route.name)


def _is_protected(dependant: Any) -> bool:
    """True when a dependency (or anything it calls) checks the bearer access token."""
    return deps.bearer_claims in set(error_codes.reachable(error_codes.dependency_calls(dependant)))


def _error_refs(route: Any, method: str, operation: dict[str, Any]) -> set[error_codes.ErrorRef]:
    calls = list(error_codes.dependency_calls(route.dependant))
    found = error_codes.errors_reachable_from(calls)
    if get_args(deps.AnonCtx)[1].dependency in calls:  # the unit of work: database (and Redis)
        found.update(UNAVAILABLE)
    if method in BODY_METHODS:
        found.update(TOO_LARGE)
    if "422" in operation.get("responses", {}):
        found.update(INVALID)
    return found


def _describe(status: int, codes: list[str]) -> str:
    reason = http.HTTPStatus(status).phrase
    return f"{reason}: " + ", ".join(f"`{c}`" for c in codes) if codes else reason


def _document_errors(operation: dict[str, Any], refs: set[error_codes.ErrorRef]) -> None:
    by_status: dict[int, set[str]] = {}
    for status, code in refs:
        by_status.setdefault(status, set())
        if code is not None:
            by_status[status].add(code)
    responses = operation.setdefault("responses", {})
    for status in sorted(by_status):
        codes = sorted(by_status[status])
        response = responses.setdefault(str(status), {})
        response["description"] = _describe(status, codes)
        response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
        response["x-error-codes"] = codes
        if status in (429, 503):
            response["headers"] = {
                "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
            }
    operation["x-error-codes"] = sorted({code for codes in by_status.values() for code in codes})


def build(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    spec["info"]["description"] = (spec["info"].get("description", "") + CONVENTIONS).strip()
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(ERROR_SCHEMAS)
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The access_token from POST /v1/auth/login or /v1/auth/refresh",
        }
    }
    for route in routing.iter_route_contexts(app.routes):
        if not isinstance(route.original_route, routing.APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = spec["paths"][route.path_format][method.lower()]
            operation["security"] = [{BEARER: []}] if _is_protected(route.dependant) else []
            _document_errors(operation, _error_refs(route, method, operation))
    return spec


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
