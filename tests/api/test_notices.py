"""Notices: drafts, publishing and scheduling, access, the feed, attachments."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Notification, Role, utcnow
from services.models.notices import Notice, NoticeReceipt
from services.notices import jobs
from tests import factories as f
from tests.statements import count_statements

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def test_create_edit_publish_and_read(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.notice_world(db)
    r = await client.post(
        f"/v1/communities/{w.cid}/notices",
        json=f.notice_body(requires_ack=True, pinned=True),
        headers={**f.auth(w.committee), "Idempotency-Key": "n-1"},
    )
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["status"] == "draft" and draft["author_role"] == "committee_member"
    assert draft["author_name"] == "业委会委员" and draft["can_manage"] is True
    again = await client.post(
        f"/v1/communities/{w.cid}/notices",
        json=f.notice_body(requires_ack=True, pinned=True),
        headers={**f.auth(w.committee), "Idempotency-Key": "n-1"},
    )
    assert again.status_code == 201 and again.json()["id"] == draft["id"]
    assert (
        await db.exec(select(func.count()).select_from(Notice).where(Notice.community_id == w.cid))
    ).one() == 1

    # Drafts are invisible to residents (404) and editable by their managers.
    res = w.residents[0]
    assert (await client.get(f"/v1/notices/{draft['id']}", headers=f.auth(res))).status_code == 404
    r = await client.patch(
        f"/v1/notices/{draft['id']}",
        json={"version": 1, "title": "停水通知（更正）"},
        headers=f.auth(w.committee),
    )
    assert r.status_code == 200 and r.json()["title"] == "停水通知（更正）" and r.json()["version"] == 2
    r = await client.patch(
        f"/v1/notices/{draft['id']}", json={"version": 1, "title": "x"}, headers=f.auth(w.committee)
    )
    assert r.status_code == 409 and code(r) == "notice.version_conflict"
    # The property manager is no committee member: visible draft? No: 404 for a draft not theirs.
    r = await client.patch(
        f"/v1/notices/{draft['id']}", json={"version": 2, "title": "x"}, headers=f.auth(w.manager)
    )
    assert r.status_code == 404

    r = await client.post(f"/v1/notices/{draft['id']}/publish", headers=f.auth(w.committee))
    assert r.status_code == 200, r.text
    published = r.json()
    assert published["status"] == "published" and published["published_at"] is not None
    # Everyone verified in the community got a receipt (4 residents + manager + committee + admin).
    receipts = (await db.exec(select(NoticeReceipt).where(NoticeReceipt.notice_id == draft["id"]))).all()
    assert len(receipts) == 7 and w.pending.id not in {x.user_id for x in receipts}
    inbox = (
        await db.exec(
            select(Notification).where(Notification.dedupe_key == f"notice:{draft['id']}:published")
        )
    ).all()
    assert len(inbox) == 6 and {n.category for n in inbox} == {"notice"}  # the author is not notified
    assert w.committee.id not in {n.user_id for n in inbox}

    # Editing a published notice's body is refused: post a revision instead. Pinning is allowed.
    r = await client.patch(
        f"/v1/notices/{draft['id']}",
        json={"version": published["version"], "body_md": "改了"},
        headers=f.auth(w.committee),
    )
    assert r.status_code == 409 and code(r) == "notice.published_immutable"
    r = await client.patch(
        f"/v1/notices/{draft['id']}",
        json={"version": published["version"], "pinned": False},
        headers=f.auth(w.committee),
    )
    assert r.status_code == 200 and r.json()["pinned"] is False
    row = await db.get(Notice, draft["id"], populate_existing=True)
    assert row is not None and row.body_md == "**明天**停水"

    # Read and acknowledge; the detail marks the receipt delivered.
    r = await client.get(f"/v1/notices/{draft['id']}", headers=f.auth(res))
    assert r.status_code == 200 and r.json()["my_receipt"]["delivered_at"] is not None
    assert r.json()["my_receipt"]["read_at"] is None
    r = await client.post(f"/v1/notices/{draft['id']}/ack", headers=f.auth(res))
    assert r.status_code == 200 and r.json()["acked_at"] is not None and r.json()["read_at"] is not None
    mine = (
        await db.exec(
            select(NoticeReceipt)
            .where(NoticeReceipt.notice_id == draft["id"], NoticeReceipt.user_id == res.id)
            .execution_options(populate_existing=True)
        )
    ).one()
    assert mine.acked_at is not None and mine.household_id == w.households[0].id


async def test_bad_input(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.notice_world(db)
    other = await f.community(db)
    foreign = await f.building(db, other)
    url = f"/v1/communities/{w.cid}/notices"
    past = (utcnow() - timedelta(hours=1)).isoformat()
    h = f.auth(w.committee)
    r = await client.post(url, json=f.notice_body(publish_at=past), headers=h)
    assert r.status_code == 422 and code(r) == "notice.publish_at_past"
    r = await client.post(
        url, json=f.notice_body(audience_type="buildings", audience_building_ids=[foreign.id]), headers=h
    )
    assert r.status_code == 422 and code(r) == "notice.invalid_audience"
    assert r.json()["error"]["details"]["unknown_building_ids"] == [foreign.id]
    r = await client.post(url, json=f.notice_body(kind="publicity", comment_window_days=3), headers=h)
    assert r.status_code == 422 and code(r) == "notice.window_too_short"
    r = await client.post(url, json=f.notice_body(comment_window_days=7), headers=h)
    assert r.status_code == 422 and code(r) == "notice.window_not_allowed"
    draft = await f.post_notice(client, w.committee, w.cid, publish=False)
    r = await client.post(f"/v1/notices/{draft['id']}/publish", json={"publish_at": past}, headers=h)
    assert r.status_code == 422 and code(r) == "notice.publish_at_past"
    assert (
        await db.exec(select(func.count()).select_from(Notice).where(Notice.community_id == w.cid))
    ).one() == 1


async def test_access(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.notice_world(db)
    other = await f.notice_world(db)
    body = f.notice_body()
    assert (await client.post(f"/v1/communities/{w.cid}/notices", json=body)).status_code == 401
    r = await client.post(f"/v1/communities/{w.cid}/notices", json=body, headers=f.auth(w.residents[0]))
    assert r.status_code == 403
    r = await client.post(f"/v1/communities/{w.cid}/notices", json=body, headers=f.auth(other.committee))
    assert r.status_code == 404
    # The property manager posts through the company's contract; a party member may not.
    party = await f.community_staff(db, w.community, Role.party_member)
    assert (
        await client.post(f"/v1/communities/{w.cid}/notices", json=body, headers=f.auth(party))
    ).status_code == 403
    n = await f.post_notice(client, w.manager, w.cid)
    assert n["author_role"] == "property_manager"
    r = await client.post(
        f"/v1/communities/{w.cid}/notices",
        json={**body, "author_role": "party_secretary"},
        headers=f.auth(w.committee),
    )
    assert r.status_code == 403 and code(r) == "notice.invalid_author_role"
    # Another community's notice does not exist for you.
    for path in ("", "/receipts", "/history", "/comments"):
        assert (
            await client.get(f"/v1/notices/{n['id']}{path}", headers=f.auth(other.residents[0]))
        ).status_code == 404
    assert (
        await client.post(f"/v1/notices/{n['id']}/read", headers=f.auth(other.committee))
    ).status_code == 404
    # Visible but not yours to manage: 403.
    assert (
        await client.get(f"/v1/notices/{n['id']}/receipts", headers=f.auth(w.residents[0]))
    ).status_code == 403
    r = await client.post(
        f"/v1/notices/{n['id']}/withdraw", json={"reason": "x"}, headers=f.auth(w.residents[0])
    )
    assert r.status_code == 403
    # A pending claimant sees nothing of the community: the notice does not exist for them (issue 13).
    missing = await client.get("/v1/notices/999999999", headers=f.auth(w.pending))
    for path in ("", "/comments"):
        r = await client.get(f"/v1/notices/{n['id']}{path}", headers=f.auth(w.pending))
        assert r.status_code == 404 and f.error_body(r) == f.error_body(missing)
    r = await client.post(f"/v1/notices/{n['id']}/read", headers=f.auth(w.pending))
    assert r.status_code == 404 and code(r) == "notice.not_found"


async def test_building_audience_and_withdraw(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.notice_world(db)
    b1 = w.buildings[0].id
    n = await f.post_notice(client, w.committee, w.cid, audience_type="buildings", audience_building_ids=[b1])
    users = (await db.exec(select(NoticeReceipt.user_id).where(NoticeReceipt.notice_id == n["id"]))).all()
    assert set(users) == {w.residents[0].id, w.residents[1].id} and len(users) == 2
    # Building 2 and the pending claimant do not see it.
    for who in (w.residents[2], w.pending):
        assert (await client.get(f"/v1/notices/{n['id']}", headers=f.auth(who))).status_code == 404
        feed = (await client.get("/v1/notices", headers=f.auth(who))).json()["items"]
        assert n["id"] not in [i["id"] for i in feed]
    await client.post(f"/v1/notices/{n['id']}/read", headers=f.auth(w.residents[0]))
    r = await client.post(
        f"/v1/notices/{n['id']}/withdraw", json={"reason": "时间有误"}, headers=f.auth(w.committee)
    )
    assert (
        r.status_code == 200
        and r.json()["status"] == "withdrawn"
        and r.json()["withdrawn_reason"] == "时间有误"
    )
    # The record stays and says why; only those who had read it are told.
    r = await client.get(f"/v1/notices/{n['id']}", headers=f.auth(w.residents[1]))
    assert r.status_code == 200 and r.json()["withdrawn_at"] is not None
    told = (
        await db.exec(
            select(Notification.user_id).where(Notification.dedupe_key == f"notice:{n['id']}:withdrawn")
        )
    ).all()
    assert told == [w.residents[0].id]
    feed = (await client.get("/v1/notices", headers=f.auth(w.residents[1]))).json()["items"]
    assert n["id"] not in [i["id"] for i in feed]


async def test_scheduled_publish_job_and_expiry(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.notice_world(db)
    at = utcnow() + timedelta(hours=2)
    n = await f.post_notice(client, w.committee, w.cid, publish=False, publish_at=at.isoformat(),
                            expires_at=(at + timedelta(days=1)).isoformat())  # fmt: skip
    assert n["status"] == "scheduled"
    assert await jobs.publish_due(db, utcnow()) == 0
    assert await jobs.publish_due(db, at + timedelta(seconds=1)) == 1
    assert await jobs.publish_due(db, at + timedelta(seconds=2)) == 0
    r = await client.get(f"/v1/notices/{n['id']}", headers=f.auth(w.residents[0]))
    assert r.status_code == 200 and r.json()["status"] == "published"
    count = (
        await db.exec(
            select(func.count()).select_from(NoticeReceipt).where(NoticeReceipt.notice_id == n["id"])
        )
    ).one()
    assert count == 7
    assert await jobs.expire_notices(db, at + timedelta(days=2)) == 1
    row = await db.get(Notice, n["id"], populate_existing=True)
    assert row is not None and row.status == "expired"


async def test_emergency_is_critical(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.notice_world(db)
    n = await f.post_notice(client, w.admin, w.cid, kind="emergency", title="燃气泄漏，请立即撤离")
    rows = (
        await db.exec(select(Notification).where(Notification.dedupe_key == f"notice:{n['id']}:published"))
    ).all()
    assert rows and all(x.category == "emergency" and x.critical for x in rows)
    assert rows[0].title.startswith("紧急通知")


async def test_feed_order_unread_and_cursor(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    w = await f.notice_world(db)
    ids = []
    for i in range(5):
        ids.append((await f.post_notice(client, w.committee, w.cid, title=f"公告{i}", pinned=i == 1))["id"])
    other = await f.notice_world(db)
    await f.post_notice(client, other.committee, other.cid)
    res = w.residents[0]
    await client.post(f"/v1/notices/{ids[3]}/read", headers=f.auth(res))
    r = await client.get("/v1/notices", params={"limit": 2}, headers=f.auth(res))
    assert r.status_code == 200
    page1 = r.json()
    assert [i["id"] for i in page1["items"]] == [ids[1], ids[4]] and page1["next_cursor"]
    seen = [i["id"] for i in page1["items"]]
    cursor = page1["next_cursor"]
    while cursor:
        page = (
            await client.get("/v1/notices", params={"limit": 2, "cursor": cursor}, headers=f.auth(res))
        ).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [ids[1], ids[4], ids[3], ids[2], ids[0]]
    full = (await client.get("/v1/notices", headers=f.auth(res))).json()["items"]
    assert {i["id"]: i["unread"] for i in full} == {x: x != ids[3] for x in ids}
    delivered = (
        await db.exec(
            select(func.count())
            .select_from(NoticeReceipt)
            .where(NoticeReceipt.user_id == res.id, col(NoticeReceipt.delivered_at).is_not(None))
        )
    ).one()
    assert delivered == 5
    # Read again, every receipt is delivered already: no write transaction at all.
    with count_statements(engine) as again:
        assert (await client.get("/v1/notices", headers=f.auth(res))).status_code == 200
    assert not [q for q in again if q.lstrip().upper().startswith("UPDATE")], again
    assert (await client.get("/v1/notices", params={"kind": "publicity"}, headers=f.auth(res))).json()[
        "items"
    ] == []
    r = await client.get("/v1/notices", params={"cursor": "nonsense!"}, headers=f.auth(res))
    assert r.status_code == 422 and code(r) == "pagination.invalid_cursor"
    # The pending claimant sees none of them (issue 13: a claim opens nothing before approval).
    pend = await client.get("/v1/notices", params={"community_id": w.cid}, headers=f.auth(w.pending))
    assert pend.status_code == 200 and pend.json()["items"] == []


async def test_attachments(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.notice_world(db)
    n = await f.post_notice(client, w.committee, w.cid, publish=False)
    url = f"/v1/notices/{n['id']}/attachments"
    h = f.auth(w.committee)
    r = await client.post(url, files={"file": ("方案.pdf", f.PDF_BYTES, "application/pdf")}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "application/pdf" and r.json()["owner_type"] == "notice"
    r = await client.post(
        url, files={"file": ("plan.pdf", b"MZ\x90\x00" + b"\x00" * 200, "application/pdf")}, headers=h
    )
    assert r.status_code == 422 and code(r) == "attachment.unsupported_type"
    r = await client.post(
        url, files={"file": ("p.jpg", f.jpeg_bytes(), "image/jpeg")}, headers=f.auth(w.residents[0])
    )
    assert r.status_code == 404
    detail = (await client.get(f"/v1/notices/{n['id']}", headers=h)).json()
    assert [a["original_name"] for a in detail["attachments"]] == ["方案.pdf"]
    await client.post(f"/v1/notices/{n['id']}/publish", headers=h)
    r = await client.post(url, files={"file": ("p.jpg", f.jpeg_bytes(), "image/jpeg")}, headers=h)
    assert r.status_code == 409 and code(r) == "notice.published_immutable"
