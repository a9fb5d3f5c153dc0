"""Receipts: counts per building and household, who has not read, and reminders."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Notification, NotificationFanout, Role
from services.models.notices import NoticeReceipt
from tests import factories as f
from tests.conftest import App

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def test_receipts_per_building_and_household(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.notice_world(db)
    # A second resident in household 0 (family), so households and people differ.
    family = await f.resident(db, w.households[0], relation="family", name="家属")
    n = await f.post_notice(client, w.committee, w.cid, requires_ack=True)
    await client.post(f"/v1/notices/{n['id']}/read", headers=f.auth(w.residents[0]))
    await client.post(f"/v1/notices/{n['id']}/ack", headers=f.auth(w.residents[2]))
    await client.get(f"/v1/notices/{n['id']}", headers=f.auth(w.residents[3]))
    r = await client.get(f"/v1/notices/{n['id']}/receipts", headers=f.auth(w.committee))
    assert r.status_code == 200, r.text
    view = r.json()
    # 5 residents + manager + committee + admin.
    assert (view["people"], view["read"], view["acked"], view["delivered"]) == (8, 2, 1, 3)
    # The read rate is over households (2 of 4 reached), the people rate over app users.
    assert view["read_rate"] == 0.5 and view["people_read_rate"] == 0.25 and view["ack_rate"] == 0.125
    assert (view["households_total"], view["households_by_app"], view["households_by_sms"]) == (4, 2, 0)
    by = {b["building_name"]: b for b in view["buildings"]}
    assert set(by) == {"1号楼", "2号楼", None}
    b1, b2, staff = by["1号楼"], by["2号楼"], by[None]
    assert (b1["people"], b1["households"], b1["read"], b1["households_read"], b1["acked"]) == (3, 2, 1, 1, 0)
    assert (b2["people"], b2["households"], b2["read"], b2["acked"], b2["households_acked"]) == (
        2,
        2,
        1,
        1,
        1,
    )
    assert (staff["people"], staff["households"]) == (3, 0)
    r = await client.get(
        f"/v1/notices/{n['id']}/receipts",
        params={"building_id": w.buildings[0].id},
        headers=f.auth(w.committee),
    )
    households = r.json()["households"]
    assert [(h["room"], h["people"], h["read"]) for h in households] == [("101", 2, 1), ("201", 1, 0)]
    # Who has not acknowledged, in building 1: the family member and resident 2.
    r = await client.get(
        f"/v1/notices/{n['id']}/receipts/missing",
        params={"what": "ack", "building_id": w.buildings[0].id},
        headers=f.auth(w.committee),
    )
    missing = [m["user_id"] for m in r.json()["items"]]
    assert set(missing) == {w.residents[0].id, w.residents[1].id, family.id} and len(missing) == 3
    # Colleagues of the signing role (another committee member) and the community admin may look too.
    colleague = await f.community_staff(db, w.community, Role.committee_member, "委员二")
    assert (await client.get(f"/v1/notices/{n['id']}/receipts", headers=f.auth(colleague))).status_code == 200
    assert (await client.get(f"/v1/notices/{n['id']}/receipts", headers=f.auth(w.admin))).status_code == 200
    assert (await client.get(f"/v1/notices/{n['id']}/receipts", headers=f.auth(w.manager))).status_code == 403


async def test_remind_notifies_only_the_unread(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.notice_world(db)
    n = await f.post_notice(client, w.committee, w.cid)
    for res in w.residents[:2]:
        await client.post(f"/v1/notices/{n['id']}/read", headers=f.auth(res))
    await client.post(f"/v1/notices/{n['id']}/read", headers=f.auth(w.committee))
    r = await client.post(f"/v1/notices/{n['id']}/ack", headers=f.auth(w.residents[0]))
    assert r.status_code == 422 and code(r) == "notice.ack_not_required"
    r = await client.post(
        f"/v1/notices/{n['id']}/remind",
        json={},
        headers={**f.auth(w.committee), "Idempotency-Key": "remind-1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["what"] == "read" and r.json()["recipients"] == 4 and r.json()["reminders_sent"] == 1
    again = await client.post(
        f"/v1/notices/{n['id']}/remind",
        json={},
        headers={**f.auth(w.committee), "Idempotency-Key": "remind-1"},
    )
    assert again.json() == r.json()
    reminded = (
        await db.exec(
            select(Notification.user_id).where(Notification.dedupe_key == f"notice:{n['id']}:remind:1")
        )
    ).all()
    assert (
        set(reminded) == {w.residents[2].id, w.residents[3].id, w.manager.id, w.admin.id}
        and len(reminded) == 4
    )
    r = await client.post(f"/v1/notices/{n['id']}/remind", json={}, headers=f.auth(w.committee))
    assert r.status_code == 409 and code(r) == "notice.remind_too_soon"
    assert (
        await client.post(f"/v1/notices/{n['id']}/remind", json={}, headers=f.auth(w.residents[0]))
    ).status_code == 403


async def test_large_audience_goes_through_the_fanout(
    app: App, client: httpx.AsyncClient, db: AsyncSession, monkeypatch: Any
) -> None:
    """Above the threshold, publishing records a chunked fan-out job instead of notifying inline, and
    hands it to the fan-out relay once committed (which expands it at once; here it only records)."""
    from services.notices import publishing

    monkeypatch.setattr(publishing, "FANOUT_THRESHOLD", 3)
    started: list[list[int]] = []

    async def record(ids: list[int]) -> None:
        started.append(ids)

    monkeypatch.setattr(app.runtime, "fanout_relay", record)
    w = await f.notice_world(db)
    n = await f.post_notice(client, w.committee, w.cid, requires_ack=True)
    fan = (
        await db.exec(
            select(NotificationFanout).where(NotificationFanout.dedupe_key == f"notice:{n['id']}:published")
        )
    ).one()
    assert len(fan.recipients) == 6 and fan.done_at is None
    assert started == [[fan.id]]
    inline = (await db.exec(select(func.count()).select_from(Notification).where(
        col(Notification.dedupe_key) == f"notice:{n['id']}:published"))).one()  # fmt: skip
    assert inline == 0
    receipts = (
        await db.exec(
            select(func.count()).select_from(NoticeReceipt).where(NoticeReceipt.notice_id == n["id"])
        )
    ).one()
    assert receipts == 7
