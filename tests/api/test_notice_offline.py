"""Notices reach households without the app: SMS at publish, paper recorded by staff, and a read rate
over households (issue 21)."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Delivery, Notification, Role
from services.models.notices import NoticeReceipt
from services.models.occupants import Occupant
from tests import factories as f

pytestmark = pytest.mark.calendar


async def _occupant(db: AsyncSession, w: f.NoticeWorld, household_id: int, phone: str | None) -> None:
    db.add(
        Occupant(
            community_id=w.cid, household_id=household_id, name="老住户", phone=phone, relation="owner",
            created_by_id=w.admin.id or 0,
        )
    )  # fmt: skip
    await db.flush()


async def test_households_without_the_app_get_the_text_by_sms_and_paper_counts(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.notice_world(db)
    texted = await f.household(db, w.buildings[0], room="301")
    paper_only = await f.household(db, w.buildings[0], room="401")
    texted2 = await f.household(db, w.buildings[1], room="301")
    await _occupant(db, w, texted.id or 0, "+8613900002001")
    await _occupant(db, w, paper_only.id or 0, None)
    await _occupant(db, w, texted2.id or 0, "+8613900002002")
    await _occupant(db, w, w.households[1].id or 0, "+8613900002003")  # has the app: no SMS
    grid = await f.community_staff(db, w.community, Role.grid_worker, "网格员")

    n = await f.post_notice(
        client, w.committee, w.cid, offline_reach=True, title="停水通知",
        body_md="**明天** 8:00–12:00 停水，请提前储水。[详情](https://example.org/x)",
    )  # fmt: skip
    assert n["offline_reach"] is True
    sms_rows = (
        await db.exec(
            select(Notification, Delivery)
            .join(Delivery, col(Delivery.notification_id) == Notification.id)
            .where(
                col(Notification.phone).is_not(None), Notification.dedupe_key == f"notice:{n['id']}:offline"
            )
            .order_by(col(Notification.phone))
        )
    ).all()
    assert [x.phone for x, _ in sms_rows] == ["+8613900002001", "+8613900002002"]
    note, delivery = sms_rows[0]
    assert note.user_id is None and delivery.channel == "sms" and delivery.user_id is None
    assert note.title == "业委会公告：停水通知"
    assert note.body == "明天 8:00–12:00 停水，请提前储水。详情（详见小区公告栏）"
    receipts = (
        await db.exec(
            select(NoticeReceipt).where(NoticeReceipt.notice_id == n["id"], NoticeReceipt.channel == "sms")
        )
    ).all()
    assert sorted(r.household_id or 0 for r in receipts) == sorted([texted.id or 0, texted2.id or 0])
    assert all(r.user_id is None and r.delivered_at is not None for r in receipts)

    url = f"/v1/notices/{n['id']}/receipts"
    view = (await client.get(url, headers=f.auth(w.committee))).json()
    assert (view["households_total"], view["households_by_sms"], view["households_by_app"]) == (7, 2, 0)
    assert view["people"] == 8 and view["read"] == 0  # people: app users only (4 residents, 4 staff)
    assert view["read_rate"] == round(2 / 7, 4)

    await client.post(f"/v1/notices/{n['id']}/read", headers=f.auth(w.residents[0]))
    paper = await client.post(
        f"/v1/notices/{n['id']}/paper-receipts",
        json={"household_ids": [paper_only.id, w.households[3].id]},
        headers=f.auth(grid),
    )
    assert paper.status_code == 200, paper.text
    assert paper.json()["recorded"] == sorted([paper_only.id, w.households[3].id])
    again = await client.post(
        f"/v1/notices/{n['id']}/paper-receipts", json={"household_ids": [paper_only.id]}, headers=f.auth(grid)
    )
    assert again.json() == {"notice_id": n["id"], "recorded": [], "already": [paper_only.id]}
    row = (
        await db.exec(
            select(NoticeReceipt).where(NoticeReceipt.notice_id == n["id"], NoticeReceipt.channel == "paper",
                                        NoticeReceipt.household_id == paper_only.id)
        )
    ).one()  # fmt: skip
    assert row.recorded_by_id == grid.id and row.read_at is not None and row.user_id is None

    view = (await client.get(url, headers=f.auth(w.committee))).json()
    assert (view["households_by_app"], view["households_by_sms"], view["households_by_paper"]) == (1, 2, 2)
    assert view["households_reached"] == 5 and view["read_rate"] == round(5 / 7, 4)
    assert view["people_read_rate"] == round(1 / 8, 4)

    elsewhere = await f.household(db, await f.building(db, await f.community(db)))
    bad = await client.post(
        f"/v1/notices/{n['id']}/paper-receipts", json={"household_ids": [elsewhere.id]}, headers=f.auth(grid)
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "notice.household_not_in_audience"
    denied = await client.post(
        f"/v1/notices/{n['id']}/paper-receipts", json={"household_ids": [paper_only.id]},
        headers=f.auth(w.residents[0]),
    )  # fmt: skip
    assert denied.status_code == 403


async def test_offline_reach_needs_an_audience_of_households(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.notice_world(db)
    r = await client.post(
        f"/v1/communities/{w.cid}/notices",
        json=f.notice_body(offline_reach=True, audience_type="roles", audience_roles=["grid_worker"]),
        headers=f.auth(w.committee),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "notice.invalid_audience"


async def test_a_notice_without_offline_reach_sends_no_sms(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.notice_world(db)
    home = await f.household(db, w.buildings[0], room="501")
    await _occupant(db, w, home.id or 0, "+8613900002009")
    await f.post_notice(client, w.committee, w.cid)
    assert (await db.exec(select(Notification).where(col(Notification.phone).is_not(None)))).all() == []
