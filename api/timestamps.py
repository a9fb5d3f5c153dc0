"""One time format in every JSON answer: RFC 3339 in UTC with `Z` and always six fraction digits
(`2026-12-03T08:30:00.000000Z`).

JSON leaves the app by several roads (pydantic response models, orjson for the hot lists, stored
idempotent replays, `isoformat()` strings in error details and notification data), and each writes
instants its own way: pydantic drops a zero fraction, orjson and `isoformat()` write `+00:00`. Rather
than teach every road (and every route added tomorrow) the rule, this pure ASGI middleware rewrites the
instants of each JSON body on its way out: a JSON string that is exactly an RFC 3339 date-time with an
offset. Six digits keep the microseconds the database stores (an app echoing `created_at` back as a
filter bound loses nothing); a string without an offset is not an instant and is left alone.
It sits inside the ETag middleware, so the ETag is that of the bytes sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# An instant not yet in the form sent (the lookahead lets those already in it pass at scanning speed).
_INSTANT = re.compile(rb'"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?!\.\d{6}Z")(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})"')
# What every instant looks like once sent (for tests and clients).
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def format_instant(value: datetime) -> str:
    """The rule itself: also what api/responses.py writes for every instant of the hot lists."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat is C and twice as fast as strftime here (a list page writes ~100 instants); in UTC
    # it always ends in "+00:00", and it pads the year to four digits as RFC 3339 asks.
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


def _rewrite(match: re.Match[bytes]) -> bytes:
    wall, fraction, offset = match.group(1), match.group(2) or b"", match.group(3)
    if offset in (b"Z", b"+00:00", b"-00:00"):
        return b'"' + wall + b"." + fraction[:6].ljust(6, b"0") + b'Z"'
    try:
        at = datetime.fromisoformat(f"{wall.decode()}.{fraction[:6].decode().ljust(6, '0')}{offset.decode()}")
        return b'"' + format_instant(at).encode() + b'"'
    except (ValueError, OverflowError):
        return match.group(0)


def normalise(body: bytes) -> bytes:
    return _INSTANT.sub(_rewrite, body)


class TimestampMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "HEAD":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_wrapper(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                if headers.get("content-type", "").startswith("application/json"):
                    start = message
                    return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            sent = b"".join(chunks)
            body = normalise(sent)
            headers = MutableHeaders(raw=list(start["headers"]))
            if body != sent and "content-length" in headers:
                headers["Content-Length"] = str(len(body))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_wrapper)
