"""Keyset cursors: opaque to clients, validated on the way in."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import orjson

from services.errors import InvalidInput

MAX_CURSOR_ID = 2**53 - 1


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).rstrip(b"=").decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if cursor is None or cursor == "":
        return None
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
        if not isinstance(values, dict):
            raise ValueError("not an object")
        return values
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise InvalidInput("pagination.invalid_cursor") from exc


def id_after(cursor: str | None) -> int | None:
    """The last id of the previous page, for `ORDER BY id DESC` lists."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    last = values.get("id")
    if not isinstance(last, int) or isinstance(last, bool) or not 0 < last <= MAX_CURSOR_ID:
        raise InvalidInput("pagination.invalid_cursor")
    return last


def next_id_cursor(ids: list[int], limit: int) -> str | None:
    return encode_cursor({"id": ids[-1]}) if len(ids) == limit and ids else None


def at_id_after(cursor: str | None) -> tuple[datetime, int] | None:
    """The last (instant, id) of the previous page, for lists in time order (`ORDER BY at, id`)."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    last, at = values.get("id"), values.get("at")
    if not isinstance(last, int) or isinstance(last, bool) or not 0 < last <= MAX_CURSOR_ID:
        raise InvalidInput("pagination.invalid_cursor")
    try:
        when = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise InvalidInput("pagination.invalid_cursor")
    return when, last


def next_at_id_cursor(last: tuple[datetime, int] | None, count: int, limit: int) -> str | None:
    if last is None or count < limit:
        return None
    return encode_cursor({"at": last[0].isoformat(), "id": last[1]})
