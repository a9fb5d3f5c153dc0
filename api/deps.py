"""Request dependencies: the unit of work (Ctx), the caller, path ids, idempotency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Path, Request

from services.access import load_principal
from services.config import Settings
from services.db import transaction
from services.deferred_writes import run_deferred_writes, take_deferred_writes
from services.errors import Unauthorized
from services.i18n import negotiate
from services.notifications import relay
from services.runtime import Ctx, Runtime
from services.security import AccessClaims, decode_access_token

# Ids are positive and fit a JavaScript number and a PostgreSQL bigint.
MAX_ID = 2**53 - 1


def client_ip(request: Request) -> str | None:
    runtime: Runtime = request.app.state.runtime
    if runtime.settings.trust_forwarded:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()[:45]
    return request.client.host if request.client else None


async def _ctx(request: Request, background: BackgroundTasks) -> AsyncIterator[Ctx]:
    runtime: Runtime = request.app.state.runtime
    reads_only = request.method in ("GET", "HEAD")
    maker = request.app.state.read_sessionmaker if reads_only else request.app.state.sessionmaker
    async with maker() as session:
        ctx = Ctx(
            session=session,
            runtime=runtime,
            locale=negotiate(request.headers.get("accept-language")),
            ip=client_ip(request),
            request_id=getattr(request.state, "request_id", None),
            user_agent=request.headers.get("user-agent"),
        )
        async with transaction(session):
            yield ctx
        await relay.after_commit(session, runtime)
        writes = take_deferred_writes(session)
        if writes:  # after the response is sent, each in a write transaction of its own
            background.add_task(run_deferred_writes, request.app.state.sessionmaker, writes)


# scope="function": commit before the response is sent, so a client never reads ahead of it.
AnonCtx = Annotated[Ctx, Depends(_ctx, scope="function")]


def bearer_claims(request: Request, settings: Settings) -> AccessClaims:
    """The caller's verified access token (no database: signature, expiry, issuer)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("auth.required", headers={"WWW-Authenticate": "Bearer"})
    return decode_access_token(settings.jwt_key(), settings.jwt_issuer, token.strip())


async def _auth_ctx(request: Request, ctx: AnonCtx) -> Ctx:
    claims = bearer_claims(request, ctx.settings)
    ctx.principal = await load_principal(ctx.session, claims.user_id)
    ctx.session_id = claims.session_id
    return ctx


AuthCtx = Annotated[Ctx, Depends(_auth_ctx)]

CommunityId = Annotated[int, Path(ge=1, le=MAX_ID)]
ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]
