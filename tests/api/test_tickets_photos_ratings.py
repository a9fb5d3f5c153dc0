"""Photos (type from bytes, 10 MB, at most 9) and ratings (who, when, 7 days, low rating → 回访)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Notification
from services.models.attachments import Attachment
from services.models.tickets import TicketFollowup, TicketRating
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def _resolved(client: httpx.AsyncClient, w: f.TicketWorld, **overrides: object) -> dict[str, object]:
    t = await f.file_ticket(client, w, **overrides)
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    r = await f.act(client, w.technician, r.json(), "start")
    assert (await f.upload_photo(client, w.technician, t["id"], "after")).status_code == 201
    r = await f.act(client, w.technician, r.json(), "resolve", note="已修好")
    assert r.status_code == 200, r.text
    return dict(r.json())


RATING = {"overall": 4, "speed": 4, "attitude": 5, "comment": "不错"}


async def test_pdf_renamed_jpg_is_422(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await f.upload_photo(client, w.resident, t["id"], data=f.PDF_BYTES, name="photo.jpg")
    assert r.status_code == 422 and _code(r) == "attachment.unsupported_type"


async def test_eleven_megabyte_photo_is_413(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    big = f.jpeg_bytes() + b"\0" * 11_000_000
    r = await f.upload_photo(client, w.resident, t["id"], data=big)
    assert r.status_code == 413


async def test_tenth_photo_of_a_phase_is_422_and_the_phases_count_apart(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    for i in range(9):
        r = await f.upload_photo(client, w.resident, t["id"], data=f.jpeg_bytes(color=(i * 20, 10, 10)))
        assert r.status_code == 201, r.text
    r = await f.upload_photo(client, w.resident, t["id"])
    assert r.status_code == 422 and _code(r) == "attachment.too_many"
    assert r.json()["error"]["details"] == {"max_count": 9}
    detail = (await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(w.resident))).json()
    assert len(detail["attachments"]) == 9
    # Nine before-photos do not block the work: the after-photos have their own nine.
    r = await f.act(client, w.manager, detail, "assign", assignee_id=w.technician.id)
    r = await f.act(client, w.technician, r.json(), "start")
    assert r.status_code == 200, r.text
    for i in range(9):
        up = await f.upload_photo(
            client, w.technician, t["id"], "after", f.jpeg_bytes(color=(10, i * 20, 10))
        )
        assert up.status_code == 201, up.text
    up = await f.upload_photo(client, w.technician, t["id"], "after")
    assert up.status_code == 422 and _code(up) == "attachment.too_many"
    r = await f.act(client, w.technician, r.json(), "resolve", note="已修好")
    assert r.status_code == 200, r.text
    purposes = [p["purpose"] for p in r.json()["attachments"]]
    assert (purposes.count("before"), purposes.count("after")) == (9, 9)


async def test_the_uploader_deletes_their_photo_until_the_status_changes(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    before = (await f.upload_photo(client, w.resident, t["id"])).json()
    kept = (await f.upload_photo(client, w.resident, t["id"], data=f.jpeg_bytes(color=(1, 2, 3)))).json()
    url = f"/v1/tickets/{t['id']}/attachments/{before['id']}"
    # Someone else who sees the ticket may not; someone who does not see it gets 404; no such photo 404.
    assert (await client.delete(url, headers=f.auth(w.manager))).status_code == 403
    neighbour = await f.resident(db, await f.household(db, w.building, room="902"), name="邻居")
    r = await client.delete(url, headers=f.auth(neighbour))
    assert r.status_code == 404 and _code(r) == "ticket.not_found"
    r = await client.delete(f"/v1/tickets/{t['id']}/attachments/999999", headers=f.auth(w.resident))
    assert r.status_code == 404 and _code(r) == "attachment.not_found"
    other = await f.file_ticket(client, w)
    r = await client.delete(
        f"/v1/tickets/{other['id']}/attachments/{before['id']}", headers=f.auth(w.resident)
    )
    assert r.status_code == 404 and _code(r) == "attachment.not_found"
    r = await client.delete(url, headers=f.auth(w.resident))
    assert r.status_code == 204, r.text
    row = await db.get(Attachment, before["id"])
    assert row is not None
    await db.refresh(row)
    assert row.deleted_at is not None
    assert (await client.delete(url, headers=f.auth(w.resident))).status_code == 404
    detail = (await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(w.resident))).json()
    assert [p["id"] for p in detail["attachments"]] == [kept["id"]]
    # Once the manager accepted the ticket on what it showed, the photo stays.
    assert (await f.act(client, w.manager, detail, "accept")).status_code == 200
    r = await client.delete(f"/v1/tickets/{t['id']}/attachments/{kept['id']}", headers=f.auth(w.resident))
    assert r.status_code == 422 and _code(r) == "ticket.photo_locked"
    row = await db.get(Attachment, kept["id"])
    assert row is not None
    await db.refresh(row)
    assert row.deleted_at is None


async def test_who_may_add_which_photo(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    assert (await f.upload_photo(client, w.resident, t["id"], "after")).status_code == 403
    assert (await f.upload_photo(client, w.committee, t["id"], "before")).status_code == 403
    r = await f.upload_photo(client, w.manager, t["id"], "after")  # not assigned yet
    assert r.status_code == 422 and _code(r) == "ticket.photo_not_allowed"
    r = await client.post(
        f"/v1/tickets/{t['id']}/attachments",
        files={"file": ("p.jpg", f.jpeg_bytes(), "image/jpeg")},
        data={"purpose": "during"},
        headers=f.auth(w.resident),
    )
    assert r.status_code == 422


async def test_rating_rules(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    url = f"/v1/tickets/{t['id']}/rating"
    r = await client.post(url, json=RATING, headers=f.auth(w.resident))
    assert r.status_code == 422 and _code(r) == "ticket.rating_not_allowed"
    t = await _resolved(client, w)
    url = f"/v1/tickets/{t['id']}/rating"
    for who in (w.technician, w.manager):
        assert (await client.post(url, json=RATING, headers=f.auth(who))).status_code == 403
    r = await client.post(url, json={**RATING, "overall": 6}, headers=f.auth(w.resident))
    assert r.status_code == 422
    r = await client.post(url, json=RATING, headers=f.auth(w.resident))
    assert r.status_code == 200, r.text
    # Changing within 7 days updates the same rating.
    r = await client.put(url, json={**RATING, "overall": 3}, headers=f.auth(w.resident))
    assert r.status_code == 200 and r.json()["overall"] == 3
    rows = (await db.exec(select(TicketRating).where(TicketRating.ticket_id == t["id"]))).all()
    assert len(rows) == 1
    rows[0].created_at -= timedelta(days=8)
    db.add(rows[0])
    await db.flush()
    r = await client.put(url, json=RATING, headers=f.auth(w.resident))
    assert r.status_code == 409 and _code(r) == "ticket.rating_locked"


async def test_staff_filed_ticket_is_rated_by_the_resident(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    body = f.ticket_body(w.household.id, on_behalf_of_user_id=w.resident.id, intake_channel="walk_in")
    r = await client.post(f"/v1/communities/{w.cid}/tickets", json=body, headers=f.auth(w.technician2))
    assert r.status_code == 201
    t = r.json()
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    r = await f.act(client, w.technician, r.json(), "start")
    assert (await f.upload_photo(client, w.technician, t["id"], "after")).status_code == 201
    assert (await f.act(client, w.technician, r.json(), "resolve", note="ok")).status_code == 200
    url = f"/v1/tickets/{t['id']}/rating"
    assert (await client.post(url, json=RATING, headers=f.auth(w.technician2))).status_code == 403
    assert (await client.post(url, json=RATING, headers=f.auth(w.resident))).status_code == 200


async def test_low_rating_opens_a_return_visit_and_allows_reopen(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await _resolved(client, w)
    r = await f.act(client, w.resident, t, "close")
    assert r.status_code == 200
    t = r.json()
    # A closed ticket with a good (or no) rating stays closed.
    r = await f.act(client, w.resident, t, "reopen", reason="x")
    assert r.status_code == 422 and _code(r) == "ticket.invalid_transition"
    r = await client.post(
        f"/v1/tickets/{t['id']}/rating",
        json={"overall": 2, "speed": 1, "attitude": 3, "comment": "没修好"},
        headers=f.auth(w.resident),
    )
    assert r.status_code == 200 and r.json()["followup_created"] is True
    followups = (await db.exec(select(TicketFollowup).where(TicketFollowup.ticket_id == t["id"]))).all()
    assert [(x.reason, x.status) for x in followups] == [("low_rating", "open")]
    notes = (await db.exec(select(Notification).where(Notification.user_id == w.manager.id))).all()
    assert "ticket.low_rating" in [n.data["template"] for n in notes]
    r = await f.act(client, w.resident, t, "reopen", reason="还是漏水")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "assigned"


async def test_manager_completes_the_return_visit(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await _resolved(client, w)
    r = await client.post(
        f"/v1/tickets/{t['id']}/rating",
        json={"overall": 1, "speed": 1, "attitude": 1},
        headers=f.auth(w.resident),
    )
    assert r.status_code == 200 and r.json()["followup_created"] is True
    cid = t["community_id"]
    r = await client.get(f"/v1/communities/{cid}/followups", headers=f.auth(w.manager))
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["ticket_id"] == t["id"] and item["status"] == "open"
    # Residents neither list nor complete return visits; strangers get 401.
    assert (
        await client.get(f"/v1/communities/{cid}/followups", headers=f.auth(w.resident))
    ).status_code == 403
    assert (await client.post(f"/v1/followups/{item['id']}/complete", json={"note": "x"})).status_code == 401
    r = await client.post(
        f"/v1/followups/{item['id']}/complete", json={"note": ""}, headers=f.auth(w.manager)
    )
    assert r.status_code == 422
    r = await client.post(
        f"/v1/followups/{item['id']}/complete",
        json={"note": "已电话回访，约定周六复修"},
        headers=f.auth(w.manager),
    )
    assert r.status_code == 200 and r.json()["status"] == "done"
    row = await db.get(TicketFollowup, item["id"])
    assert row is not None
    await db.refresh(row)
    assert row.status == "done" and row.done_by_id == w.manager.id and row.note == "已电话回访，约定周六复修"
    r = await client.post(
        f"/v1/followups/{item['id']}/complete", json={"note": "again"}, headers=f.auth(w.manager)
    )
    assert r.status_code == 409 and _code(r) == "followup.already_done"
    other = await f.ticket_world(db)
    r = await client.post(
        f"/v1/followups/{item['id']}/complete", json={"note": "x"}, headers=f.auth(other.manager)
    )
    assert r.status_code == 404
