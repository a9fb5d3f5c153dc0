"""Stored first responses for creating POSTs that carry an Idempotency-Key."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from services.driver_sql import DriverStatement
from services.errors import Conflict, InvalidInput
from services.models import IdempotencyRecord, utcnow
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


_R = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_SAVED = [c.name for c in _R.columns if c.name != "id"]
# Every creating POST with a key runs both: on asyncpg, past SQLAlchemy's per-execution work.
_FIND = DriverStatement(
    lambda _dialect: sa.select(_R.c.status_code, _R.c.response_body, _R.c.request_hash).where(
        _R.c.user_id == sa.bindparam("user_id"), _R.c.key == sa.bindparam("key")
    )
)
_SAVE = DriverStatement(
    lambda _dialect: (
        sa.insert(_R).values({c: sa.bindparam(c, type_=_R.c[c].type) for c in _SAVED}).returning(_R.c.id)
    )
)


@dataclass(frozen=True)
class Stored:
    status_code: int
    response_body: str


async def find(ctx: Ctx, key: str, fingerprint: str) -> Stored | None:
    user_id = ctx.require_principal().user_id
    rows = await _FIND.rows(ctx.session, {"user_id": user_id, "key": key})
    if not rows:
        return None
    status_code, response_body, request_hash = rows[0]
    if request_hash != fingerprint:
        raise InvalidInput("idempotency.key_reused")
    return Stored(status_code, response_body)


async def save(ctx: Ctx, key: str, fingerprint: str, status_code: int, body: bytes) -> None:
    """Saved in the same transaction as the record it describes; a concurrent twin loses here."""
    values = {
        "user_id": ctx.require_principal().user_id,
        "key": key,
        "request_hash": fingerprint,
        "status_code": status_code,
        "response_body": body.decode(),
        "created_at": utcnow(),
    }
    try:
        await _SAVE.rows(ctx.session, values)
    except IntegrityError as exc:
        raise Conflict("idempotency.in_progress") from exc
