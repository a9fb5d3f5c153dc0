"""The app's published OpenAPI for the tests/api/test_openapi_*.py checks (built once per session)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from api.main import create_app
from services.config import Settings
from tests import factories as f

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@cache
def spec() -> dict[str, Any]:
    settings = Settings(env="test", jwt_secret=f.SECRET)  # type: ignore[arg-type]
    return create_app(settings).openapi()


def operations(s: dict[str, Any] | None = None) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) of every published operation."""
    for path, ops in (s or spec())["paths"].items():
        for method, op in ops.items():
            if method in METHODS:
                yield method.upper(), path, op


def operation(operation_id: str) -> dict[str, Any]:
    return next(op for _, _, op in operations() if op["operationId"] == operation_id)
