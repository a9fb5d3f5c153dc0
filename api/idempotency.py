"""Idempotency-Key for creating POSTs: the same key and body replay the first response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import orjson
from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

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


IdempotentDep = Annotated[Idempotent, Depends(_idempotent)]
