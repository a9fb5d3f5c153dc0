"""Uploads decode, clean and thumbnail an image before the request's transaction opens: no statement
of the request (and so no lock: on SQLite the database's one write lock) has run while Pillow works,
so parallel uploads do not hold other writers back for the seconds a large photo takes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from services.attachments import images
from tests import factories as f

Upload = Callable[[httpx.AsyncClient, AsyncSession], Awaitable[tuple[str, dict[str, str], dict[str, str]]]]


async def _ticket(client: httpx.AsyncClient, db: AsyncSession) -> tuple[str, dict[str, str], dict[str, str]]:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    return f"/v1/tickets/{t['id']}/attachments", {"purpose": "before"}, f.auth(w.resident)


async def _inspection(
    client: httpx.AsyncClient, db: AsyncSession
) -> tuple[str, dict[str, str], dict[str, str]]:
    w = await f.ticket_world(db)
    body = {"kind": "greening", "area": "A区", "items": [{"name": "草坪", "passed": True}]}
    r = await client.post(f"/v1/communities/{w.cid}/inspections", json=body, headers=f.auth(w.manager))
    assert r.status_code == 201, r.text
    return f"/v1/inspections/{r.json()['id']}/attachments", {}, f.auth(w.manager)


async def _notice(client: httpx.AsyncClient, db: AsyncSession) -> tuple[str, dict[str, str], dict[str, str]]:
    w = await f.notice_world(db)
    n = await f.post_notice(client, w.committee, w.cid, publish=False)
    return f"/v1/notices/{n['id']}/attachments", {}, f.auth(w.committee)


async def _checkin(client: httpx.AsyncClient, db: AsyncSession) -> tuple[str, dict[str, str], dict[str, str]]:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w)
    shift = await f.duty_shift(db, post, [w.member1], datetime.now(UTC) - timedelta(minutes=10))
    r = await client.post(f"/v1/duty/shifts/{shift.id}/checkin", json={}, headers=f.auth(w.member1))
    assert r.status_code == 201, r.text
    return f"/v1/duty/shifts/{shift.id}/checkin/attachments", {}, f.auth(w.member1)


@pytest.mark.parametrize("setup", [_ticket, _inspection, _notice, _checkin], ids=lambda s: s.__name__[1:])
async def test_the_image_is_decoded_before_any_statement_of_the_request(
    client: httpx.AsyncClient,
    db: AsyncSession,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    setup: Upload,
) -> None:
    url, form, headers = await setup(client, db)
    events: list[str] = []
    clean_image = images.clean_image

    def decode(*args: Any, **kwargs: Any) -> images.CleanImage:
        events.append("decode")
        return clean_image(*args, **kwargs)

    def statement(*_: Any) -> None:
        events.append("sql")

    monkeypatch.setattr(images, "clean_image", decode)
    sa.event.listen(engine.sync_engine, "before_cursor_execute", statement)
    try:
        r = await client.post(
            url, files={"file": ("p.jpg", f.jpeg_bytes(), "image/jpeg")}, data=form, headers=headers
        )
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", statement)
    assert r.status_code == 201, r.text
    assert events[0] == "decode" and events.count("decode") == 1
    assert "sql" in events  # the request did go on to its transaction afterwards


async def test_a_stranger_is_refused_before_any_decoding(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, form, _ = await _ticket(client, db)

    def decode(*_: Any, **__: Any) -> images.CleanImage:
        raise AssertionError("decoded for a caller without a token")

    monkeypatch.setattr(images, "clean_image", decode)
    r = await client.post(url, files={"file": ("p.jpg", f.jpeg_bytes(), "image/jpeg")}, data=form)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.required"
