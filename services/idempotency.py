"""Stored first responses for creating POSTs that carry an Idempotency-Key."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from services.errors import Conflict, InvalidInput
from services.models import IdempotencyRecord
from services.runtime import Ctx

_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise InvalidInput("idempotency.invalid_key")
    return key


async def find(ctx: Ctx, key: str, fingerprint: str) -> IdempotencyRecord | None:
    user_id = ctx.require_principal().user_id
    row = (
        await ctx.session.exec(
            select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
            )
        )
    ).first()
    if row is not None and row.request_hash != fingerprint:
        raise InvalidInput("idempotency.key_reused")
    return row


async def save(ctx: Ctx, key: str, fingerprint: str, status_code: int, body: bytes) -> None:
    """Saved in the same transaction as the record it describes; a concurrent twin loses here."""
    ctx.session.add(
        IdempotencyRecord(
            user_id=ctx.require_principal().user_id,
            key=key,
            request_hash=fingerprint,
            status_code=status_code,
            response_body=body.decode(),
        )
    )
    try:
        await ctx.session.flush()
    except IntegrityError as exc:
        raise Conflict("idempotency.in_progress") from exc
