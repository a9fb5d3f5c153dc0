"""Resident onboarding: claim a household, an approver verifies or rejects it."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import access
from services.errors import NotFound
from services.models import AuditLog, Household, Membership, MembershipStatus, Role, User
from tests import factories as f


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def claims_of(db: AsyncSession, user_id: int | None) -> int:
    stmt = (
        select(func.count())
        .select_from(Membership)
        .where(Membership.user_id == user_id, Membership.role == Role.resident)
    )
    return int((await db.exec(stmt)).one())


async def test_claim_approve_makes_verified_resident(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    b = await f.building(db, c, "6号楼")
    h = await f.household(db, b, room="402", area="81.20")
    approver = await f.community_staff(db, c, Role.committee_member, name="业委会委员")
    newcomer = await f.user(db, "李四")

    r = await client.post(
        f"/v1/communities/{c.id}/claims",
        json={"household_id": h.id, "relation": "owner", "note": "<b>房产证</b> ' OR 1=1 --"},
        headers=f.auth(newcomer),
    )
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["status"] == "pending" and claim["room"] == "402" and claim["building_name"] == "6号楼"
    assert claim["note"] == "<b>房产证</b> ' OR 1=1 --"
    row = await db.get(Membership, claim["id"])
    assert (
        row is not None and row.status == "pending" and row.relation == "owner" and row.user_id == newcomer.id
    )

    # Pending: nothing of the community is readable (issue 13), only the claim's status, shown in
    # /v1/communities as pending.
    me = (await client.get("/v1/me", headers=f.auth(newcomer))).json()
    assert me["verified"] is False and me["households"] == []
    mine = (await client.get("/v1/communities", headers=f.auth(newcomer))).json()["items"]
    assert [(i["id"], i["pending"]) for i in mine] == [(c.id, True)]
    assert mine[0]["built_year"] is None and mine[0]["name"] == c.name  # the directory's fields only
    assert (await client.get(f"/v1/communities/{c.id}", headers=f.auth(newcomer))).status_code == 404
    principal = await access.load_principal(db, newcomer.id or 0)
    with pytest.raises(NotFound) as exc:
        access.require_verified_resident(principal, c.id or 0)
    assert exc.value.code == "community.not_found"
    # A pending claimant sees no claims list and cannot decide anything.
    assert (await client.get(f"/v1/communities/{c.id}/claims", headers=f.auth(newcomer))).status_code == 404

    listed = await client.get(
        f"/v1/communities/{c.id}/claims", params={"status": "pending"}, headers=f.auth(approver)
    )
    assert listed.status_code == 200
    assert [(i["id"], i["user_name"]) for i in listed.json()["items"]] == [(claim["id"], "李四")]

    r = await client.post(f"/v1/claims/{claim['id']}/approve", headers=f.auth(approver))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "verified" and r.json()["decided_by"] == approver.id
    await db.refresh(row)
    assert row.status == "verified" and row.verified_at is not None and row.decided_by == approver.id

    me = (await client.get("/v1/me", headers=f.auth(newcomer))).json()
    assert me["verified"] is True
    # The decision reached the claimant's inbox in the same transaction.
    inbox = (await client.get("/v1/notifications", headers=f.auth(newcomer))).json()["items"]
    assert [(n["category"], n["title"]) for n in inbox] == [("account", "住户认证已通过")]
    assert "6号楼" in inbox[0]["body"] and "402" in inbox[0]["body"]
    assert [(x["id"], x["relation"], x["area_m2"]) for x in me["households"]] == [(h.id, "owner", "81.20")]
    principal = await access.load_principal(db, newcomer.id or 0)
    access.require_verified_resident(principal, c.id or 0, h.id)

    r = await client.post(f"/v1/claims/{claim['id']}/approve", headers=f.auth(approver))
    assert r.status_code == 409 and code(r) == "claim.not_pending"
    r = await client.post(f"/v1/claims/{claim['id']}/reject", json={"reason": "x"}, headers=f.auth(approver))
    assert r.status_code == 409 and code(r) == "claim.not_pending"
    r = await client.post(
        f"/v1/communities/{c.id}/claims",
        json={"household_id": h.id, "relation": "owner"},
        headers=f.auth(newcomer),
    )
    assert r.status_code == 409 and code(r) == "claim.duplicate"
    assert await claims_of(db, newcomer.id) == 1

    logs = (
        await db.exec(select(AuditLog).where(AuditLog.entity_id == str(claim["id"])).order_by(AuditLog.id))  # type: ignore[arg-type]
    ).all()
    assert [(a.action, a.actor_id) for a in logs] == [
        ("claim.create", newcomer.id),
        ("claim.approve", approver.id),
    ]
    assert logs[1].before == {"status": "pending"} and logs[1].after is not None
    assert logs[1].after["status"] == "verified"


async def test_reject_needs_reason_and_allows_new_claim(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    h = await f.household(db, await f.building(db, c))
    co = await f.company_managing(db, c)
    property_manager = await f.company_staff(db, co, Role.property_manager)
    manager = await f.community_staff(db, c, Role.community_admin)
    u = await f.user(db)
    r = await client.post(
        f"/v1/communities/{c.id}/claims", json={"household_id": h.id, "relation": "tenant"}, headers=f.auth(u)
    )
    claim_id = r.json()["id"]
    # The property company does not decide who votes.
    r = await client.post(
        f"/v1/claims/{claim_id}/reject", json={"reason": "x"}, headers=f.auth(property_manager)
    )
    assert r.status_code == 403
    r = await client.post(
        f"/v1/communities/{c.id}/claims", json={"household_id": h.id, "relation": "family"}, headers=f.auth(u)
    )
    assert r.status_code == 409 and code(r) == "claim.duplicate"
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x", "extra": 1}):
        r = await client.post(f"/v1/claims/{claim_id}/reject", json=body, headers=f.auth(manager))
        assert r.status_code == 422 and code(r) == "request.invalid", body
    r = await client.post(
        f"/v1/claims/{claim_id}/reject", json={"reason": "租赁合同已过期"}, headers=f.auth(manager)
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected" and r.json()["decision_reason"] == "租赁合同已过期"
    row = await db.get(Membership, claim_id)
    assert (
        row is not None
        and row.status == "rejected"
        and row.decided_by == manager.id
        and row.verified_at is None
    )
    log = (await db.exec(select(AuditLog).where(AuditLog.action == "claim.reject"))).one()
    assert log.actor_id == manager.id and log.after is not None and log.after["reason"] == "租赁合同已过期"
    assert (await client.get("/v1/me", headers=f.auth(u))).json()["verified"] is False
    # After a rejection the user may claim again.
    r = await client.post(
        f"/v1/communities/{c.id}/claims", json={"household_id": h.id, "relation": "tenant"}, headers=f.auth(u)
    )
    assert r.status_code == 201
    listed = await client.get(
        f"/v1/communities/{c.id}/claims", params={"status": "rejected"}, headers=f.auth(manager)
    )
    assert [i["id"] for i in listed.json()["items"]] == [claim_id]


async def test_claim_scoping_and_roles(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c, other = await f.community(db), await f.community(db)
    h = await f.household(db, await f.building(db, c))
    oh = await f.household(db, await f.building(db, other))
    u = await f.user(db)
    url = f"/v1/communities/{c.id}/claims"
    r = await client.post(url, json={"household_id": oh.id, "relation": "owner"}, headers=f.auth(u))
    assert r.status_code == 404 and code(r) == "household.not_found"
    r = await client.post(
        "/v1/communities/99999999/claims", json={"household_id": h.id, "relation": "owner"}, headers=f.auth(u)
    )
    assert r.status_code == 404 and code(r) == "community.not_found"
    r = await client.post(url, json={"household_id": h.id, "relation": "landlord"}, headers=f.auth(u))
    assert r.status_code == 422 and code(r) == "request.invalid"
    r = await client.post(url, json={"household_id": h.id, "relation": "owner", "x": 1}, headers=f.auth(u))
    assert r.status_code == 422 and code(r) == "request.invalid"
    r = await client.post(url, json={"household_id": 2**60, "relation": "owner"}, headers=f.auth(u))
    assert r.status_code == 422
    assert (await client.post(url, json={"household_id": h.id, "relation": "owner"})).status_code == 401
    assert await claims_of(db, u.id) == 0

    r = await client.post(url, json={"household_id": h.id, "relation": "owner"}, headers=f.auth(u))
    claim_id = r.json()["id"]

    other_approver = await f.community_staff(db, other, Role.community_admin)
    r = await client.post(f"/v1/claims/{claim_id}/approve", headers=f.auth(other_approver))
    assert r.status_code == 404 and code(r) == "claim.not_found"
    r = await client.get(url, headers=f.auth(other_approver))
    assert r.status_code == 404
    for role in (Role.grid_worker, Role.party_member):
        staff = await f.community_staff(db, c, role)
        assert (await client.post(f"/v1/claims/{claim_id}/approve", headers=f.auth(staff))).status_code == 403
        assert (await client.get(url, headers=f.auth(staff))).status_code == 403
    neighbour = await f.resident(db, await f.household(db, await f.building(db, c)))
    assert (await client.post(f"/v1/claims/{claim_id}/approve", headers=f.auth(neighbour))).status_code == 403
    # Nobody decides their own claim, even an approver.
    admin_self = await f.community_staff(db, c, Role.community_admin)
    r = await client.post(url, json={"household_id": h.id, "relation": "family"}, headers=f.auth(admin_self))
    r = await client.post(f"/v1/claims/{r.json()['id']}/approve", headers=f.auth(admin_self))
    assert r.status_code == 403 and code(r) == "claim.self_decision"
    assert (await client.post(f"/v1/claims/{claim_id}/approve")).status_code == 401
    for bad in ("0", "abc", str(2**64)):
        r = await client.post(f"/v1/claims/{bad}/approve", headers=f.auth(admin_self))
        assert r.status_code == 422, bad
    r = await client.post("/v1/claims/99999999/approve", headers=f.auth(admin_self))
    assert r.status_code == 404 and code(r) == "claim.not_found"
    # A non-resident membership id is not a claim.
    staff_membership = (
        await db.exec(
            select(Membership).where(
                Membership.user_id == admin_self.id, Membership.role == Role.community_admin
            )
        )
    ).one()
    r = await client.post(f"/v1/claims/{staff_membership.id}/approve", headers=f.auth(admin_self))
    assert r.status_code == 404
    row = await db.get(Membership, claim_id)
    assert row is not None and row.status == MembershipStatus.pending

    platform = await f.platform_admin(db)
    r = await client.post(f"/v1/claims/{claim_id}/approve", headers=f.auth(platform))
    assert r.status_code == 200


async def test_claims_list_pagination_and_idempotency(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    b = await f.building(db, c)
    approver = await f.community_staff(db, c, Role.community_admin)
    ids = []
    for i in range(3):
        u = await f.user(db)
        h = await f.household(db, b, room=f"10{i}")
        headers = {**f.auth(u), "Idempotency-Key": "claim-key"}
        body = {"household_id": h.id, "relation": "owner"}
        first = await client.post(f"/v1/communities/{c.id}/claims", json=body, headers=headers)
        replay = await client.post(f"/v1/communities/{c.id}/claims", json=body, headers=headers)
        assert first.status_code == replay.status_code == 201 and first.json() == replay.json()
        assert await claims_of(db, u.id) == 1
        ids.append(first.json()["id"])
    url = f"/v1/communities/{c.id}/claims"
    p1 = (await client.get(url, params={"limit": 2, "status": "pending"}, headers=f.auth(approver))).json()
    p2 = (
        await client.get(
            url,
            params={"limit": 2, "status": "pending", "cursor": p1["next_cursor"]},
            headers=f.auth(approver),
        )
    ).json()
    assert [i["id"] for i in p1["items"] + p2["items"]] == ids and p2["next_cursor"] is None
    r = await client.get(url, params={"cursor": "####"}, headers=f.auth(approver))
    assert r.status_code == 422 and code(r) == "pagination.invalid_cursor"
    r = await client.get(url, params={"status": "maybe"}, headers=f.auth(approver))
    assert r.status_code == 422 and code(r) == "request.invalid"


async def test_pending_claims_are_capped_per_user_and_per_household(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Issue 13: claims were unlimited. At most 3 pending per user and 5 pending per household."""
    c = await f.community(db)
    b = await f.building(db, c)
    homes = [await f.household(db, b) for _ in range(5)]
    claimant = await f.user(db, "多处申请")

    async def claim(who: User, h: Household) -> httpx.Response:
        body = {"household_id": h.id, "relation": "owner"}
        return await client.post(f"/v1/communities/{c.id}/claims", json=body, headers=f.auth(who))

    for h in homes[:3]:
        assert (await claim(claimant, h)).status_code == 201
    r = await claim(claimant, homes[3])
    assert r.status_code == 409 and code(r) == "claim.user_limit", r.text
    assert r.json()["error"]["details"] == {"max_pending": 3}
    assert await claims_of(db, claimant.id) == 3

    # A decision lifts the cap: a rejected claim no longer counts.
    approver = await f.community_staff(db, c, Role.committee_member)
    first = (await db.exec(select(Membership.id).where(Membership.user_id == claimant.id))).first()
    r = await client.post(f"/v1/claims/{first}/reject", json={"reason": "材料不符"}, headers=f.auth(approver))
    assert r.status_code == 200, r.text
    assert (await claim(claimant, homes[3])).status_code == 201

    # One household: five strangers may wait on it, the sixth is refused.
    crowded = homes[4]
    for i in range(5):
        assert (await claim(await f.user(db, f"申请人{i}"), crowded)).status_code == 201
    r = await claim(await f.user(db, "第六人"), crowded)
    assert r.status_code == 409 and code(r) == "claim.household_limit", r.text
