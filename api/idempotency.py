"""Idempotency-Key for creating POSTs: the same key and body replay the first response."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated

import orjson
from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from api.deps import AuthCtx
from services import idempotency
from services.runtime import Ctx


class Idempotent:
    def __init__(self, ctx: Ctx, key: str | None, fingerprint: str) -> None:
        self.ctx = ctx
        self.key = key
        self.fingerprint = fingerprint

    async def run(self, create: Callable[[], Awaitable[BaseModel]], status_code: int = 201) -> Response:
        if self.key is not None:
            stored = await idempotency.find(self.ctx, self.key, self.fingerprint)
            if stored is not None:
                return Response(
                    stored.response_body,
                    status_code=stored.status_code,
                    media_type="application/json",
                    headers={"Idempotent-Replayed": "true"},
                )
        body = orjson.dumps((await create()).model_dump(mode="json"))
        if self.key is not None:
            await idempotency.save(self.ctx, self.key, self.fingerprint, status_code, body)
        return Response(body, status_code=status_code, media_type="application/json")


async def _idempotent(
    request: Request,
    ctx: AuthCtx,
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Idempotent:
    if key is not None:
        key = idempotency.check_key(key)
    fingerprint = idempotency.request_fingerprint(request.method, request.url.path, await request.body())
    return Idempotent(ctx, key, fingerprint)


async def _upload_fingerprint(request: Request) -> bytes:
    """A multipart body differs on every retry (a fresh boundary), so an upload is fingerprinted by
    what it carries: each field's name and value, a file by its name and the SHA-256 of its bytes."""
    form = await request.form()  # parsed once per request (Starlette caches it)
    parts: list[tuple[str, str]] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            await value.seek(0)
            digest = hashlib.sha256(await value.read()).hexdigest()
            parts.append((name, f"file:{value.filename or ''}:{digest}"))
        else:
            parts.append((name, f"field:{value}"))
    return orjson.dumps(sorted(parts))


async def _idempotent_upload(
    request: Request,
    ctx: AuthCtx,
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Idempotent:
    if key is not None:
        key = idempotency.check_key(key)
    body = await _upload_fingerprint(request) if key is not None else b""
    fingerprint = idempotency.request_fingerprint(request.method, request.url.path, body)
    return Idempotent(ctx, key, fingerprint)


IdempotentDep = Annotated[Idempotent, Depends(_idempotent)]
# For multipart uploads: declare it after the upload dependency (Photo / Document), like AuthCtx.
IdempotentUploadDep = Annotated[Idempotent, Depends(_idempotent_upload)]
