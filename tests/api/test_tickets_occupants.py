"""Tickets filed by the desk for an occupant without the app, kept informed by SMS (issue 21)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.models import Delivery, Notification
from services.models.tickets import Ticket, TicketRating
from tests import factories as f
from tests.api.test_occupants import add_occupant
from tests.conftest import App
from workers.channels.push import LogPushChannel
from workers.tasks.deliveries import drain_once

pytestmark = pytest.mark.calendar

PHONE = "+8613900001234"


async def _sms(db: AsyncSession, phone: str = PHONE) -> list[tuple[Notification, Delivery]]:
    rows = (
        await db.exec(
            select(Notification, Delivery)
            .join(Delivery, col(Delivery.notification_id) == Notification.id)
            .where(Notification.phone == phone)
            .order_by(col(Delivery.id))
        )
    ).all()
    return list(rows)


async def _occupant_ticket(
    client: httpx.AsyncClient, db: AsyncSession, w: f.TicketWorld, who: object, **body: object
) -> tuple[dict[str, object], httpx.Response]:
    o = (await add_occupant(client, w.admin, w.cid, w.household.id or 0)).json()
    payload = {
        "kind": "repair",
        "category": "plumbing",
        "title": "卫生间水管漏水",
        "description": "王奶奶来电：卫生间水管接头漏水",
        "occupant_id": o["id"],
        "intake_channel": "phone",
        **body,
    }
    r = await client.post(f"/v1/communities/{w.cid}/tickets", json=payload, headers=f.auth(who))  # type: ignore[arg-type]
    return o, r


async def test_phone_ticket_for_an_occupant_is_told_by_sms_at_the_steps_that_matter(
    client: httpx.AsyncClient,
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    app: App,
) -> None:
    w = await f.ticket_world(db)
    o, r = await _occupant_ticket(client, db, w, w.technician)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["reporter_id"] is None and t["occupant_id"] == o["id"]
    assert t["recorded_by_id"] == w.technician.id == t["created_by_id"]
    assert t["intake_channel"] == "phone" and t["household_id"] == w.household.id
    row = await db.get(Ticket, t["id"])
    assert row is not None and row.occupant_id == o["id"] and row.reporter_id is None

    sms = await _sms(db)
    assert len(sms) == 1
    n, d = sms[0]
    assert n.user_id is None and d.user_id is None and d.channel == "sms" and d.status == "pending"
    assert n.title == "报修已登记" and "卫生间水管漏水" in n.body and "待受理" in n.body
    assert str(t["id"]) in n.body

    t = (await f.act(client, w.manager, t, "accept")).json()
    t = (await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)).json()
    t = (await f.act(client, w.technician, t, "start")).json()  # an internal step: no SMS
    assert (await f.upload_photo(client, w.technician, t["id"], "after")).status_code == 201
    t = (await f.act(client, w.technician, t, "resolve", note="更换了水管接头")).json()
    assert t["status"] == "resolved"
    # The technician cannot confirm their own job for the resident; the manager (who speaks for
    # an occupant without the app) can.
    assert "close" not in t["allowed_actions"]
    assert (await f.act(client, w.technician, t, "close")).status_code == 403
    r = await f.act(client, w.manager, t, "close", reason="电话回访，王奶奶确认已修好")
    assert r.status_code == 200, r.text

    sms = await _sms(db)
    titles = [n.title for n, _ in sms]
    assert titles == ["报修已登记", "工单已受理", "已派维修人员", "工单已处理完成", "工单已关闭"]
    bodies = [n.body for n, _ in sms]
    assert "维修工甲" in bodies[2] and "已派单" in bodies[2]
    assert "更换了水管接头" in bodies[3] and "已完成" in bodies[3]
    assert all("卫生间水管漏水" in b for b in bodies)
    # Nobody's inbox holds them.
    inbox = await client.get("/v1/notifications", headers=f.auth(w.technician))
    assert all(i["title"] not in titles[1:] for i in inbox.json()["items"])

    # The worker sends each once, to the occupant's phone, with the content in the text.
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    await db.commit()
    while (await drain_once(resources, LogPushChannel())).claimed:
        pass
    sent = [m for m in app.sms.sent if m.phone == PHONE]
    assert len(sent) == 5
    assert sent[0].template == "ticket_update" and sent[0].params["title"] == "卫生间水管漏水"
    assert sent[
        0
    ].text == "您的报修工单“卫生间水管漏水”当前状态：待受理，说明：工单号{}，物业将尽快受理。".format(t["id"])
    assert (await drain_once(resources, LogPushChannel())).claimed == 0  # nothing left to send twice
    db.expire_all()
    assert all(d.status == "sent" for _, d in await _sms(db))


async def test_a_retried_filing_sends_one_sms(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    o = (await add_occupant(client, w.admin, w.cid, w.household.id or 0)).json()
    body = {
        "kind": "repair", "category": "electrical", "title": "楼道灯不亮", "occupant_id": o["id"],
        "intake_channel": "walk_in",
    }  # fmt: skip
    headers = {**f.auth(w.manager), "Idempotency-Key": "desk-1"}
    first = await client.post(f"/v1/communities/{w.cid}/tickets", json=body, headers=headers)
    second = await client.post(f"/v1/communities/{w.cid}/tickets", json=body, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
    assert len(await _sms(db)) == 1


async def test_public_area_tickets_have_no_household(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    o, r = await _occupant_ticket(
        client, db, w, w.admin, intake_channel="hotline", title="电梯异响", category="elevator",
        place="电梯", building_id=w.building.id,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["household_id"] is None and t["building_id"] == w.building.id and t["place"] == "电梯"
    assert t["intake_channel"] == "hotline" and t["occupant_id"] == o["id"]
    n, _ = (await _sms(db))[0]
    assert "电梯异响" in n.body

    # A resident reports the gate in the app: no household either.
    r = await client.post(
        f"/v1/communities/{w.cid}/tickets",
        json={"kind": "repair", "category": "public_facility", "title": "小区大门门禁坏了", "place": "南门"},
        headers=f.auth(w.resident),
    )
    assert r.status_code == 201, r.text
    assert r.json()["household_id"] is None and r.json()["reporter_id"] == w.resident.id
    assert r.json()["place"] == "南门"
    both = f.ticket_body(w.household.id, place="楼梯间")
    r = await client.post(f"/v1/communities/{w.cid}/tickets", json=both, headers=f.auth(w.resident))
    assert r.status_code == 422


async def test_desk_intake_rules(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    o, r = await _occupant_ticket(client, db, w, w.manager, intake_channel="app")
    assert r.status_code == 422 and r.json()["error"]["code"] == "ticket.intake_channel_invalid"
    body = {
        "kind": "repair",
        "category": "plumbing",
        "title": "漏水",
        "occupant_id": o["id"],
        "intake_channel": "phone",
    }
    r = await client.post(f"/v1/communities/{w.cid}/tickets", json=body, headers=f.auth(w.resident))
    assert r.status_code == 403  # residents file for themselves only
    other = await f.ticket_world(db)
    r = await client.post(f"/v1/communities/{other.cid}/tickets", json=body, headers=f.auth(other.manager))
    assert r.status_code == 404 and r.json()["error"]["code"] == "occupant.not_found"
    neighbour = await f.household(db, w.building)
    r = await client.post(
        f"/v1/communities/{w.cid}/tickets",
        json={**body, "household_id": neighbour.id},
        headers=f.auth(w.manager),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "ticket.occupant_household_mismatch"
    assert (await db.exec(select(Ticket).where(Ticket.community_id == w.cid))).all() == []


async def test_staff_record_the_occupants_rating_with_its_channel(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    _, r = await _occupant_ticket(client, db, w, w.manager)
    t = r.json()
    t = (await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)).json()
    t = (await f.act(client, w.technician, t, "start")).json()
    await f.upload_photo(client, w.technician, t["id"], "after")
    t = (await f.act(client, w.technician, t, "resolve", note="已修好")).json()
    rating = {"overall": 5, "speed": 4, "attitude": 5, "comment": "师傅很耐心", "channel": "phone"}
    own_job = await client.post(f"/v1/tickets/{t['id']}/rating", json=rating, headers=f.auth(w.technician))
    assert own_job.status_code == 403
    as_app = await client.post(
        f"/v1/tickets/{t['id']}/rating", json={**rating, "channel": "app"}, headers=f.auth(w.manager)
    )
    assert as_app.status_code == 403
    r = await client.post(f"/v1/tickets/{t['id']}/rating", json=rating, headers=f.auth(w.manager))
    assert r.status_code == 200, r.text
    assert r.json()["channel"] == "phone" and r.json()["recorded_by_id"] == w.manager.id
    row = (await db.exec(select(TicketRating).where(TicketRating.ticket_id == t["id"]))).one()
    assert row.user_id is None and row.channel == "phone" and row.recorded_by_id == w.manager.id
    assert row.overall == 5 and row.comment == "师傅很耐心"

    # A resident with the app rates for themselves: staff cannot put words in their mouth.
    app_ticket = await f.file_ticket(client, w)
    app_ticket = (await f.act(client, w.manager, app_ticket, "assign", assignee_id=w.technician.id)).json()
    app_ticket = (await f.act(client, w.technician, app_ticket, "start")).json()
    await f.upload_photo(client, w.technician, app_ticket["id"], "after")
    app_ticket = (await f.act(client, w.technician, app_ticket, "resolve", note="好了")).json()
    r = await client.post(f"/v1/tickets/{app_ticket['id']}/rating", json=rating, headers=f.auth(w.manager))
    assert r.status_code == 422 and r.json()["error"]["code"] == "ticket.rating_channel_invalid"
