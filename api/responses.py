"""JSON responses rendered with orjson (fast, and datetimes keep their offset)."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response


class OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class ModelResponse(Response):
    """A pydantic model rendered by pydantic (with its aliases) without FastAPI validating it again:
    for large read models (a company dashboard is 192 periods) that the service built and typed."""

    media_type = "application/json"

    def __init__(self, model: BaseModel, status_code: int = 200) -> None:
        super().__init__(model.model_dump_json(by_alias=True), status_code)
