"""Audited reads (issue 20, item 5): staff reads of someone else's personal data leave an audit row
(who, whose, what, why) — one INSERT per request; the community admin and the platform admin search
them; a resident sees who read their data and nothing about anyone else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog, Role
from services.models.occupants import Occupant
from tests import factories as f
from tests.conftest import App


async def _reads(db: AsyncSession, action: str) -> list[AuditLog]:
    return list(
        (await db.exec(select(AuditLog).where(AuditLog.action == action).order_by(col(AuditLog.id)))).all()
    )


async def _world(db: AsyncSession) -> f.TicketWorld:
    w = await f.ticket_world(db)
    db.add(
        Occupant(
            community_id=w.cid, household_id=w.household.id or 0, name="王奶奶", phone="+8613900001234",
            relation="owner", created_by_id=w.admin.id or 0,
        )
    )  # fmt: skip
    await db.flush()
    return w


async def test_manager_reads_of_a_household_are_audited_and_the_resident_sees_them(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    neighbour = await f.resident(db, await f.household(db, w.building), name="邻居")
    url = f"/v1/communities/{w.cid}/households/{w.household.id}/occupants"
    # The resident reading their own household is not an audited staff read.
    r = await client.get(url, headers=f.auth(w.resident))
    assert r.status_code == 200, r.text
    assert await _reads(db, "read.household_occupants") == []

    r = await client.get(url, headers=f.auth(w.manager))
    assert r.status_code == 200 and r.json()["items"][0]["name"] == "王奶奶"
    [row] = await _reads(db, "read.household_occupants")
    assert (row.actor_id, row.subject_user_id, row.community_id) == (w.manager.id, w.resident.id, w.cid)
    assert (row.entity, row.entity_id, row.purpose) == (
        "household",
        str(w.household.id),
        "household_management",
    )
    assert row.ip == "203.0.113.7" and row.request_id

    # The register (two households, each with its resident) is one request, one row per subject.
    r = await client.get(f"/v1/communities/{w.cid}/households", headers=f.auth(w.admin))
    assert r.status_code == 200
    rows = await _reads(db, "read.household_register")
    assert sorted(x.subject_user_id or 0 for x in rows) == sorted([w.resident.id or 0, neighbour.id or 0])
    assert {x.request_id for x in rows} == {rows[0].request_id}

    # The resident's access log: who (name and role), what and why, in Chinese by default.
    r = await client.get("/v1/me/access-log", headers=f.auth(w.resident))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["action"] for i in items] == ["read.household_register", "read.household_occupants"]
    first = items[1]
    assert first["actor_name"] == "物业经理" and first["actor_roles"] == ["property_manager"]
    assert first["action_label"] == "查看住户成员" and first["purpose_label"] == "房屋与住户管理"
    assert first["actor_role_labels"][0] != "property_manager"
    assert "subject_user_id" not in first and "ip" not in first
    assert items[0]["actor_name"] == "居委会" and items[0]["actor_roles"] == ["community_admin"]
    en = await client.get("/v1/me/access-log", headers={**f.auth(w.resident), "Accept-Language": "en"})
    assert en.json()["items"][1]["action_label"] == "Read a household's occupants"
    # The neighbour sees the register read only: never the manager's read of someone else's home.
    r = await client.get("/v1/me/access-log", headers=f.auth(neighbour))
    assert [i["action"] for i in r.json()["items"]] == ["read.household_register"]
    # Cursor: one per page.
    r = await client.get("/v1/me/access-log", params={"limit": 1}, headers=f.auth(w.resident))
    page1 = r.json()
    assert len(page1["items"]) == 1 and page1["next_cursor"]
    r = await client.get(
        "/v1/me/access-log", params={"limit": 1, "cursor": page1["next_cursor"]}, headers=f.auth(w.resident)
    )
    assert [i["action"] for i in r.json()["items"]] == ["read.household_occupants"]
    assert (await client.get("/v1/me/access-log")).status_code == 401


async def test_occupant_lookups_claims_and_the_call_relay_are_audited(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    [occupant] = (await db.exec(select(Occupant).where(Occupant.household_id == w.household.id))).all()
    r = await client.get(f"/v1/occupants/{occupant.id}", headers=f.auth(w.manager))
    assert r.status_code == 200
    [row] = await _reads(db, "read.occupant")
    assert (row.entity_id, row.subject_user_id) == (str(occupant.id), w.resident.id)
    r = await client.get(
        f"/v1/communities/{w.cid}/occupants", params={"phone": "13900001234"}, headers=f.auth(w.manager)
    )
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    [row] = await _reads(db, "read.occupant_search")
    assert row.purpose == "front_desk" and "13900001234" not in str(row.after)  # the query is not kept

    claimant = await f.user(db, "申请人")
    await f.member(
        db, claimant, Role.resident, community_id=w.cid, household_id=w.household.id,
        relation="tenant", status="pending",
    )  # fmt: skip
    r = await client.get(f"/v1/communities/{w.cid}/claims", headers=f.auth(w.admin))
    assert r.status_code == 200
    claim_rows = await _reads(db, "read.claims")
    assert claimant.id in {x.subject_user_id for x in claim_rows}
    assert all(x.purpose == "claim_review" for x in claim_rows)

    t = await f.file_ticket(client, w)
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    assert r.status_code == 200
    # The assignee's contact card (name, address) is a read of the reporter's data; the manager's
    # view of the same ticket carries no contact and is not one.
    assert await _reads(db, "read.ticket_contact") == []
    r = await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(w.technician))
    assert r.status_code == 200 and r.json()["contact"]["resident_name"] == "报修住户"
    cards = await _reads(db, "read.ticket_contact")
    assert (cards[-1].actor_id, cards[-1].subject_user_id) == (w.technician.id, w.resident.id)
    r = await client.post(f"/v1/tickets/{t['id']}/call", headers=f.auth(w.technician))
    assert r.status_code == 200, r.text
    [row] = await _reads(db, "read.resident_phone")
    assert (row.actor_id, row.subject_user_id, row.entity, row.entity_id) == (
        w.technician.id, w.resident.id, "ticket", str(t["id"]),
    )  # fmt: skip
    r = await client.get("/v1/me/access-log", headers=f.auth(w.resident))
    assert r.json()["items"][0]["action_label"] == "通过隐私号码联系您"
    assert r.json()["items"][0]["actor_name"] == "维修工甲"


async def test_admin_search_filters_cursor_and_scope(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await _world(db)
    url = f"/v1/communities/{w.cid}/households/{w.household.id}/occupants"
    for who in (w.manager, w.manager, w.admin):
        assert (await client.get(url, headers=f.auth(who))).status_code == 200

    r = await client.get("/v1/admin/audit", headers=f.auth(w.admin))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    reads = [i for i in items if i["action"] == "read.household_occupants"]
    assert len(reads) == 3 and reads[0]["actor_name"] == "居委会" and reads[0]["subject_name"] == "报修住户"
    assert reads[0]["action_label"] == "查看住户成员" and "actor_roles" not in (reads[0]["detail"] or {})

    q = {"actor_id": w.manager.id, "subject_id": w.resident.id, "action": "read.household_occupants"}
    r = await client.get("/v1/admin/audit", params={**q, "limit": 1}, headers=f.auth(w.admin))
    page1 = r.json()
    assert len(page1["items"]) == 1 and page1["next_cursor"]
    r = await client.get(
        "/v1/admin/audit", params={**q, "limit": 1, "cursor": page1["next_cursor"]}, headers=f.auth(w.admin)
    )
    assert len(r.json()["items"]) == 1 and r.json()["items"][0]["id"] < page1["items"][0]["id"]
    assert r.json()["next_cursor"]
    r = await client.get(
        "/v1/admin/audit",
        params={**q, "limit": 1, "cursor": r.json()["next_cursor"]},
        headers=f.auth(w.admin),
    )
    assert r.json() == {"items": [], "next_cursor": None}

    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    r = await client.get(
        "/v1/admin/audit",
        params={"since": (now - hour).isoformat(), "until": (now + hour).isoformat(), "community_id": w.cid},
        headers=f.auth(w.admin),
    )
    assert len([i for i in r.json()["items"] if i["action"] == "read.household_occupants"]) == 3
    r = await client.get(
        "/v1/admin/audit", params={"since": (now + hour).isoformat()}, headers=f.auth(w.admin)
    )
    assert r.json()["items"] == []
    r = await client.get(
        "/v1/admin/audit",
        params={"since": (now + hour).isoformat(), "until": now.isoformat()},
        headers=f.auth(w.admin),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "audit.invalid_range"
    r = await client.get("/v1/admin/audit", params={"cursor": "zz"}, headers=f.auth(w.admin))
    assert r.status_code == 422 and r.json()["error"]["code"] == "pagination.invalid_cursor"

    # The platform admin sees everything; a community admin elsewhere sees nothing of A.
    root = await f.platform_admin(db)
    r = await client.get("/v1/admin/audit", params={"subject_id": w.resident.id}, headers=f.auth(root))
    assert len(r.json()["items"]) == 3
    b = await f.community(db)
    b_admin = await f.community_staff(db, b, Role.community_admin, "B居委会")
    r = await client.get("/v1/admin/audit", params={"subject_id": w.resident.id}, headers=f.auth(b_admin))
    assert r.status_code == 200 and r.json()["items"] == []
    r = await client.get("/v1/admin/audit", params={"community_id": w.cid}, headers=f.auth(b_admin))
    assert r.status_code == 404 and r.json()["error"]["code"] == "community.not_found"
    # Without the role: 403; without a token: 401.
    for who in (w.manager, w.resident, w.committee):
        r = await client.get("/v1/admin/audit", headers=f.auth(who))
        assert r.status_code == 403, (who.name, r.text)
        r = await client.get("/v1/admin/audit", params={"community_id": w.cid}, headers=f.auth(who))
        assert r.status_code == 403
    assert (await client.get("/v1/admin/audit")).status_code == 401


async def test_a_list_read_is_one_insert(app: App, db: AsyncSession) -> None:
    """The audit write costs one statement per request, however many subjects the page holds."""
    import sqlalchemy as sa

    w = await _world(db)
    for _ in range(5):
        await f.resident(db, await f.household(db, w.building))
    inserts: list[str] = []

    def spy(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            inserts.append(statement)

    engine = (await db.connection()).engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", spy)
    try:
        r = await app.client.get(f"/v1/communities/{w.cid}/households", headers=f.auth(w.admin))
    finally:
        sa.event.remove(engine, "before_cursor_execute", spy)
    assert r.status_code == 200 and len(r.json()["items"]) == 6
    assert len(inserts) == 1
    assert len(await _reads(db, "read.household_register")) == 6


async def test_who_has_not_read_a_notice_is_an_audited_read(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.notice_world(db)
    n = await f.post_notice(client, w.committee, w.cid)
    await client.post(f"/v1/notices/{n['id']}/read", headers=f.auth(w.residents[0]))
    r = await client.get(f"/v1/notices/{n['id']}/receipts/missing", headers=f.auth(w.committee))
    assert r.status_code == 200, r.text
    rows = await _reads(db, "read.notice_non_readers")
    subjects = {x.subject_user_id for x in rows}
    assert {u.id for u in w.residents[1:]} <= subjects and w.residents[0].id not in subjects
    assert w.committee.id not in subjects  # the reader is not their own subject
    assert {(x.entity, x.entity_id, x.purpose) for x in rows} == {
        ("notice", str(n["id"]), "notice_follow_up")
    }
    r = await client.get("/v1/me/access-log", headers=f.auth(w.residents[1]))
    assert [(i["action"], i["actor_name"]) for i in r.json()["items"]] == [
        ("read.notice_non_readers", "业委会委员")
    ]
