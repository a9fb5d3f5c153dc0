"""Base classes for request and response bodies shared by every area."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class RequestBody(BaseModel):
    """Unknown fields are an error, not silently dropped: a typo must not pass as success."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseBody(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(ResponseBody, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
