"""Red property: the party organisation, duty posts, assignments, contact preferences, the duty log."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog, Membership, MembershipStatus, Role, User
from services.models.duty import DutyAssignment, DutyContactPref, DutyLog, DutyPost, PartyOrganisation
from services.models.tickets import Ticket
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def test_party_organisation_and_members(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    base = f"/v1/communities/{w.cid}/party"
    assert (await client.get(base, headers=f.auth(w.resident1))).status_code == 404  # not founded yet
    r = await client.post(base, json={"name": "幸福里小区党支部"}, headers=f.auth(w.resident1))
    assert r.status_code == 403
    r = await client.post(base, json={"name": "幸福里小区党支部"}, headers=f.auth(w.secretary))
    assert r.status_code == 201, r.text
    org = r.json()
    assert org["secretary_id"] == w.secretary.id
    assert {m["user_id"] for m in org["members"]} == {w.secretary.id, w.member1.id, w.member2.id}
    assert all("****" in m["phone_masked"] for m in org["members"])
    row = (await db.exec(select(PartyOrganisation).where(PartyOrganisation.community_id == w.cid))).one()
    assert row.name == "幸福里小区党支部"
    r = await client.post(base, json={"name": "again"}, headers=f.auth(w.secretary))
    assert r.status_code == 409 and code(r) == "party.exists"

    # The secretary invites a party member by phone; the account is created, the role waits for them.
    r = await client.post(
        f"{base}/members", json={"phone": "13912345678", "name": "新党员"}, headers=f.auth(w.secretary)
    )
    assert r.status_code == 201, r.text
    assert r.json()["user_id"] is None and r.json()["status"] == "invited"
    m = (await db.exec(select(Membership).where(Membership.id == r.json()["membership_id"]))).one()
    assert m.role == Role.party_member and m.status == MembershipStatus.invited
    new_user = await db.get(User, m.user_id)
    assert new_user is not None
    r = await client.post(f"/v1/me/invitations/{m.id}/accept", headers=f.auth(new_user))
    assert r.status_code == 200 and r.json()["status"] == "verified"
    r = await client.post(
        f"{base}/members", json={"phone": "13912345678", "name": "新党员"}, headers=f.auth(w.member1)
    )
    assert r.status_code == 403

    # Residents see the branch (亮身份); strangers do not.
    r = await client.get(base, headers=f.auth(w.resident1))
    assert r.status_code == 200 and len(r.json()["members"]) == 4
    assert (await client.get(base, headers=f.auth(w.stranger))).status_code == 404
    assert (await client.get(base)).status_code == 401

    # Removing a member revokes the role and ends their assignments.
    post = await f.duty_post(db, w)
    a = await f.duty_assign(db, post, w.member2)
    r = await client.delete(f"{base}/members/{w.member2.id}", headers=f.auth(w.secretary))
    assert r.status_code == 204
    revoked = (
        await db.exec(
            select(Membership).where(Membership.user_id == w.member2.id, Membership.role == Role.party_member)
        )
    ).one()
    await db.refresh(revoked)
    await db.refresh(a)
    assert revoked.status == MembershipStatus.revoked and a.ends_on is not None
    r = await client.delete(f"{base}/members/{w.member2.id}", headers=f.auth(w.secretary))
    assert r.status_code == 404


async def test_create_post_and_assign(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    url = f"/v1/communities/{w.cid}/duty/posts"
    body = {
        "category": "security_watch",
        "description": "夜间巡逻",
        "building_ids": [w.b1.id],
        "headcount": 2,
    }
    r = await client.post(url, json=body, headers=f.auth(w.resident1))
    assert r.status_code == 403 and code(r) == "access.forbidden"
    assert (await client.post(url, json=body, headers=f.auth(w.member1))).status_code == 403
    assert (await client.post(url, json=body)).status_code == 401
    r = await client.post(f"/v1/communities/{w.other.id}/duty/posts", json=body, headers=f.auth(w.secretary))
    assert r.status_code == 404

    headers = {**f.auth(w.secretary), "Idempotency-Key": "post-1"}
    r = await client.post(url, json=body, headers=headers)
    assert r.status_code == 201, r.text
    post = r.json()
    again = await client.post(url, json=body, headers=headers)
    assert again.json()["id"] == post["id"] and again.headers["Idempotent-Replayed"] == "true"
    rows = (await db.exec(select(DutyPost).where(DutyPost.community_id == w.cid))).all()
    assert len(rows) == 1 and rows[0].building_ids == [w.b1.id] and rows[0].headcount == 2
    audit = (await db.exec(select(AuditLog).where(AuditLog.action == "duty.post_create"))).all()
    assert [a.entity_id for a in audit] == [str(post["id"])]

    # Custom posts name their category; buildings must be in the community.
    r = await client.post(url, json={"category": "custom"}, headers=f.auth(w.secretary))
    assert r.status_code == 422
    r = await client.post(
        url, json={"category": "custom", "custom_category": "楼道堆物劝导"}, headers=f.auth(w.secretary)
    )
    assert r.status_code == 201 and r.json()["custom_category"] == "楼道堆物劝导"
    foreign = await f.building(db, w.other)
    r = await client.post(
        url, json={"category": "publicity", "building_ids": [foreign.id]}, headers=f.auth(w.secretary)
    )
    assert r.status_code == 422 and code(r) == "building.not_found"

    # Assignments: party members only, sensible dates, no double-booking of the same post.
    a_url = f"/v1/duty/posts/{post['id']}/assignments"
    ok = {"user_id": w.member1.id, "role": "lead", "starts_on": "2026-01-01"}
    assert (await client.post(a_url, json=ok, headers=f.auth(w.member1))).status_code == 403
    r = await client.post(a_url, json=ok, headers=f.auth(w.secretary))
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "lead" and r.json()["name"] == "党员甲"
    r = await client.post(a_url, json={**ok, "starts_on": "2026-06-01"}, headers=f.auth(w.secretary))
    assert r.status_code == 409 and code(r) == "duty.assignment_exists"
    bad = {"user_id": w.member2.id, "starts_on": "2026-06-01", "ends_on": "2026-05-01"}
    r = await client.post(a_url, json=bad, headers=f.auth(w.secretary))
    assert r.status_code == 422 and code(r) == "duty.invalid_dates"
    r = await client.post(
        a_url, json={"user_id": w.resident1.id, "starts_on": "2026-01-01"}, headers=f.auth(w.secretary)
    )
    assert r.status_code == 422 and code(r) == "party.not_member"
    r = await client.post("/v1/duty/posts/999999/assignments", json=ok, headers=f.auth(w.secretary))
    assert r.status_code == 404 and code(r) == "duty.post_not_found"
    r = await client.post(a_url, json=ok, headers=f.auth(w.stranger))
    assert r.status_code == 404
    rows_a = (await db.exec(select(DutyAssignment).where(DutyAssignment.post_id == post["id"]))).all()
    assert [(a.user_id, a.role) for a in rows_a] == [(w.member1.id, "lead")]


async def test_contact_preferences(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    r = await client.patch("/v1/duty/me/contact", json={"share_phone": True}, headers=f.auth(w.member1))
    assert r.status_code == 200, r.text
    assert r.json()["share_phone"] is True and r.json()["allow_message"] is True
    ext = r.json()["extension"]
    r = await client.patch("/v1/duty/me/contact", json={"allow_message": False}, headers=f.auth(w.member1))
    assert r.json() == {
        "user_id": w.member1.id,
        "share_phone": True,
        "allow_message": False,
        "extension": ext,
    }
    row = (await db.exec(select(DutyContactPref).where(DutyContactPref.user_id == w.member1.id))).one()
    assert row.share_phone and not row.allow_message
    assert (
        await client.patch("/v1/duty/me/contact", json={"phone": "x"}, headers=f.auth(w.member1))
    ).status_code == 422
    assert (await client.patch("/v1/duty/me/contact", json={})).status_code == 401


async def test_duty_log_opens_or_links_a_ticket(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w, "sanitation_supervision")
    await f.duty_assign(db, post, w.member1)
    url = f"/v1/duty/posts/{post.id}/log"
    r = await client.post(url, json={"body": "调解 1 号楼噪音纠纷"}, headers=f.auth(w.member2))
    assert r.status_code == 403 and code(r) == "duty.not_on_post"
    assert (await client.post(url, json={"body": "x"}, headers=f.auth(w.stranger))).status_code == 404
    r = await client.post(url, json={"body": "调解 1 号楼噪音纠纷"}, headers=f.auth(w.member1))
    assert r.status_code == 201 and r.json()["ticket_id"] is None

    body = {
        "body": "2 号楼楼道灯损坏，夜间存在摔倒隐患",
        "open_ticket": {"title": "2号楼楼道灯损坏", "category": "electrical", "building_id": w.b2.id},
    }
    r = await client.post(url, json=body, headers=f.auth(w.member1))
    assert r.status_code == 201, r.text
    ticket_id = r.json()["ticket_id"]
    t = await db.get(Ticket, ticket_id)
    assert t is not None and t.community_id == w.cid and t.reporter_id == w.member1.id
    assert t.kind == "repair" and t.intake_channel == "inspection" and t.building_id == w.b2.id

    # Linking: to a ticket of this community only.
    r = await client.post(url, json={"body": "跟进维修", "ticket_id": ticket_id}, headers=f.auth(w.member1))
    assert r.status_code == 201 and r.json()["ticket_id"] == ticket_id
    r = await client.post(url, json={"body": "x", "ticket_id": 987654}, headers=f.auth(w.member1))
    assert r.status_code == 404 and code(r) == "ticket.not_found"
    both = {"body": "x", "ticket_id": ticket_id, "open_ticket": {"title": "y"}}
    assert (await client.post(url, json=both, headers=f.auth(w.member1))).status_code == 422
    logs = (await db.exec(select(DutyLog).where(DutyLog.post_id == post.id).order_by(col(DutyLog.id)))).all()
    assert [entry.ticket_id for entry in logs] == [None, ticket_id, ticket_id]

    listed = await client.get(url, headers=f.auth(w.secretary))
    assert listed.status_code == 200 and len(listed.json()["items"]) == 3
    assert (await client.get(url, headers=f.auth(w.resident1))).status_code == 403
