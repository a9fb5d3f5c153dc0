"""JSON responses rendered with orjson (fast, and datetimes keep their offset)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

from api.timestamps import format_instant
from services.schemas import KeptBody


def _default(value: Any) -> Any:
    # Instants in the one format every answer uses (api/timestamps.py), written here directly so the
    # hot lists leave nothing for that middleware to rewrite; dates and times of day as ISO 8601.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return format_instant(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    raise TypeError


class OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(
            content, default=_default, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
        )


class ModelResponse(Response):
    """A pydantic model rendered by pydantic (with its aliases) without FastAPI validating it again:
    for large read models (a company dashboard is 192 periods) that the service built and typed."""

    media_type = "application/json"

    def __init__(self, model: BaseModel, status_code: int = 200) -> None:
        body = model.json_once() if isinstance(model, KeptBody) else model.model_dump_json(by_alias=True)
        super().__init__(body, status_code)
