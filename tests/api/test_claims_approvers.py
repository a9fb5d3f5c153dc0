"""Who decides who votes: claims are decided by the community admin or the committee, never the
property company; approvers hear of new claims, the flat's verified owner hears that someone else
claims it, and a claimant can add proof photos (the property certificate)."""

from __future__ import annotations

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Membership, Role, User
from services.models.attachments import Attachment
from services.models.notifications import Notification
from tests import factories as f


async def claim(
    client: httpx.AsyncClient, who: User, cid: int, hid: int, relation: str = "owner"
) -> dict[str, object]:
    r = await client.post(
        f"/v1/communities/{cid}/claims", json={"household_id": hid, "relation": relation}, headers=f.auth(who)
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def inbox(db: AsyncSession, user_id: int | None) -> list[Notification]:
    return list((await db.exec(select(Notification).where(Notification.user_id == user_id))).all())


async def test_property_company_cannot_decide_claims(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    h = await f.household(db, await f.building(db, c))
    co = await f.company_managing(db, c)
    pm = await f.company_staff(db, co, Role.property_manager)
    committee = await f.community_staff(db, c, Role.committee_member, "业委会主任")
    u = await f.user(db, "新业主")
    cl = await claim(client, u, c.id or 0, h.id or 0)
    for action in ("approve", "reject"):
        r = await client.post(f"/v1/claims/{cl['id']}/{action}", json={"reason": "x"}, headers=f.auth(pm))
        assert r.status_code == 403, action
    assert (await client.get(f"/v1/communities/{c.id}/claims", headers=f.auth(pm))).status_code == 403
    row = await db.get(Membership, cl["id"])
    assert row is not None and row.status == "pending"
    r = await client.post(f"/v1/claims/{cl['id']}/approve", headers=f.auth(committee))
    assert (
        r.status_code == 200 and r.json()["status"] == "verified" and r.json()["decided_by"] == committee.id
    )


async def test_approvers_and_current_owner_are_told(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    b = await f.building(db, c, "2号楼")
    h = await f.household(db, b, "301")
    owner = await f.resident(db, h, "owner", "原业主")
    tenant = await f.resident(db, h, "tenant", "租户")
    committee = await f.community_staff(db, c, Role.committee_member, "业委会主任")
    admin = await f.community_staff(db, c, Role.community_admin, "居委会")
    co = await f.company_managing(db, c)
    pm = await f.company_staff(db, co, Role.property_manager)
    stranger = await f.user(db, "陌生人")
    cl = await claim(client, stranger, c.id or 0, h.id or 0)

    for approver in (committee, admin):
        (n,) = await inbox(db, approver.id)
        assert n.title == "新的住户认证申请" and "2号楼" in n.body and "301" in n.body and "业主" in n.body
        assert n.data["claim_id"] == cl["id"]
    (n,) = await inbox(db, owner.id)
    assert n.title == "有人申请认证您的房屋" and "如非您家人或租户" in n.body
    assert await inbox(db, tenant.id) == []  # the owner is told, not the tenant
    assert await inbox(db, pm.id) == []  # the property company is not an approver
    assert await inbox(db, stranger.id) == []


async def test_proof_photos_on_a_pending_claim(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    h = await f.household(db, await f.building(db, c))
    admin = await f.community_staff(db, c, Role.community_admin)
    u, other = await f.user(db, "申请人"), await f.user(db, "旁人")
    cl = await claim(client, u, c.id or 0, h.id or 0)
    url = f"/v1/claims/{cl['id']}/proof"

    async def upload(who: User, n: int = 0) -> httpx.Response:
        files = {"file": ("产权证.jpg", f.jpeg_bytes(color=(n * 40, 90, 90)), "image/jpeg")}
        return await client.post(url, files=files, headers=f.auth(who))

    r = await upload(u)
    assert r.status_code == 201, r.text
    assert [p["purpose"] for p in r.json()["proof"]] == ["proof"]
    assert r.json()["proof"][0]["original_name"] == "产权证.jpg"
    assert (await upload(other)).status_code == 404
    assert (await upload(admin)).status_code == 404  # only the claimant adds proof
    for n in (1, 2):
        assert (await upload(u, n)).status_code == 201
    r = await upload(u, 3)
    assert r.status_code == 422 and r.json()["error"]["code"] == "attachment.too_many"
    listed = await client.get(f"/v1/communities/{c.id}/claims", headers=f.auth(admin))
    assert [len(i["proof"]) for i in listed.json()["items"]] == [3]
    rows = (
        await db.exec(
            select(Attachment).where(Attachment.owner_type == "claim", col(Attachment.owner_id) == cl["id"])
        )
    ).all()
    assert len(rows) == 3 and {a.uploaded_by for a in rows} == {u.id}
    assert (await client.post(f"/v1/claims/{cl['id']}/approve", headers=f.auth(admin))).status_code == 200
    r = await upload(u, 4)
    assert r.status_code == 409 and r.json()["error"]["code"] == "claim.not_pending"
