"""Idempotency-Key on photo uploads: a retried upload (new multipart boundary, same bytes) replays the
first response instead of storing a second photo; the same key on a different upload is refused."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import IdempotencyRecord
from services.models.attachments import Attachment
from tests import factories as f

pytestmark = pytest.mark.calendar


async def _upload(
    client: httpx.AsyncClient,
    w: f.TicketWorld,
    tid: object,
    data: bytes,
    key: str | None,
    purpose: str = "before",
) -> httpx.Response:
    headers = {**f.auth(w.resident), **({"Idempotency-Key": key} if key else {})}
    return await client.post(
        f"/v1/tickets/{tid}/attachments",
        files={"file": ("p.jpg", data, "image/jpeg")},
        data={"purpose": purpose},
        headers=headers,
    )


async def _photos(db: AsyncSession, tid: object) -> int:
    stmt = select(func.count()).where(col(Attachment.owner_type) == "ticket", col(Attachment.owner_id) == tid)
    return int((await db.exec(stmt)).one())


async def test_retried_upload_with_the_same_key_does_not_duplicate(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    photo = f.jpeg_bytes()
    first = await _upload(client, w, t["id"], photo, "upload-7f3a")
    assert first.status_code == 201, first.text
    # httpx draws a new multipart boundary for each request, as a phone retrying would.
    again = await _upload(client, w, t["id"], photo, "upload-7f3a")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await _photos(db, t["id"]) == 1
    records = (await db.exec(select(IdempotencyRecord).where(IdempotencyRecord.key == "upload-7f3a"))).all()
    assert len(records) == 1 and records[0].user_id == w.resident.id


async def test_same_key_with_another_photo_or_field_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    assert (await _upload(client, w, t["id"], f.jpeg_bytes(), "k-1")).status_code == 201
    other = await _upload(client, w, t["id"], f.jpeg_bytes(color=(1, 2, 3)), "k-1")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency.key_reused"
    assert await _photos(db, t["id"]) == 1


async def test_without_a_key_each_upload_stores_a_photo(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    photo = f.jpeg_bytes()
    for _ in range(2):
        assert (await _upload(client, w, t["id"], photo, None)).status_code == 201
    assert await _photos(db, t["id"]) == 2


async def test_bad_key_is_422_before_anything_is_stored(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await _upload(client, w, t["id"], f.jpeg_bytes(), "has space")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "idempotency.invalid_key"
    assert await _photos(db, t["id"]) == 0
