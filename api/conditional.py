"""Conditional GETs for the JSON an app polls: `ETag` on every 200 JSON answer to a GET, and `304 Not
Modified` when the app's `If-None-Match` already names it, so a feed polled over 4G costs a few header
bytes when nothing changed. One pure ASGI middleware, not per-route code: any GET under /v1 that answers
JSON gets it (notices feed, inbox, ticket lists, duty roster, ...).

The ETag is strong: a SHA-256 over the exact JSON bytes (before compression, which sits outside this
middleware). The body depends on who asks and in which language, hence `Vary`; `Cache-Control: private,
no-cache` lets the phone keep the answer but makes it revalidate every time. If-None-Match is compared
weakly (RFC 9110 §13.1.2), so an ETag a proxy weakened to `W/"..."` still matches.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_VARY = "Authorization, Accept-Language"
_CACHE_CONTROL = "private, no-cache"


def etag_for(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def none_match(if_none_match: str | None, etag: str) -> bool:
    """True when If-None-Match names `etag` (weak comparison) or is `*`."""
    if not if_none_match:
        return False
    wanted = _opaque(etag)
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or (candidate and _opaque(candidate) == wanted):
            return True
    return False


class ConditionalGetMiddleware:
    def __init__(self, app: ASGIApp, path_prefix: str = "/v1/") -> None:
        self.app = app
        self.path_prefix = path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in ("GET", "HEAD")
            or not str(scope.get("path", "")).startswith(self.path_prefix)
        ):
            await self.app(scope, receive, send)
            return
        if_none_match = Headers(scope=scope).get("if-none-match")
        start: Message | None = None
        chunks: list[bytes] = []
        passthrough = False

        async def send_wrapper(message: Message) -> None:
            nonlocal start, passthrough
            if passthrough:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = Headers(raw=message.get("headers", []))
                content_type = headers.get("content-type", "")
                if (
                    message["status"] != 200
                    or not content_type.startswith("application/json")
                    or "etag" in headers
                ):
                    passthrough = True
                    await send(message)
                    return
                start = message
                return
            if message["type"] != "http.response.body":  # pragma: no cover - other ASGI extensions
                await send(message)
                return
            # Buffer the (already fully rendered) JSON body to hash it; JSON responses come in one piece.
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            body = b"".join(chunks)
            etag = etag_for(body)
            headers = MutableHeaders(raw=list(start["headers"]))
            headers["ETag"] = etag
            headers.setdefault("Cache-Control", _CACHE_CONTROL)
            headers.add_vary_header(_VARY)
            if none_match(if_none_match, etag):
                # 304 keeps the validators and caching headers, drops the body and its framing.
                for name in ("content-length", "content-type"):
                    if name in headers:
                        del headers[name]
                await send({"type": "http.response.start", "status": 304, "headers": headers.raw})
                await send({"type": "http.response.body", "body": b""})
                return
            headers["Content-Length"] = str(len(body))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_wrapper)
