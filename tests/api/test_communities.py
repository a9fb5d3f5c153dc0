"""Communities, buildings, the public directory and community members, through HTTP."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog, Building, Community, Membership, MembershipStatus, Role, User
from services.pagination import encode_cursor
from tests import factories as f

NASTY = "Robert'); DROP TABLE community;--<script>alert(1)</script>"
NASTY_NAME = "Bob'); DROP TABLE user_account;--<b>x</b>"  # fits a 50-character name


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def count(db: AsyncSession, model: type, *where: object) -> int:
    return int((await db.exec(select(func.count()).select_from(model).where(*where))).one())  # type: ignore[arg-type]


# --- POST /v1/communities ------------------------------------------------------------------------


async def test_platform_admin_creates_community(client: httpx.AsyncClient, db: AsyncSession) -> None:
    admin = await f.platform_admin(db)
    body = {
        "name": "幸福里小区",
        "address": "人民路 8 号",
        "built_year": 1988,
        "latitude": 31.2,
        "longitude": 121.4,
    }
    r = await client.post("/v1/communities", json=body, headers=f.auth(admin))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["name"] == "幸福里小区" and out["time_zone"] == "Asia/Shanghai" and out["built_year"] == 1988
    row = await db.get(Community, out["id"])
    assert row is not None and row.address == "人民路 8 号"
    logs = (await db.exec(select(AuditLog).where(AuditLog.action == "community.create"))).all()
    assert [(a.actor_id, a.entity_id) for a in logs] == [(admin.id, str(out["id"]))]
    assert logs[0].after is not None and logs[0].after["name"] == "幸福里小区"


async def test_create_community_stores_sql_and_html_literally(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    admin = await f.platform_admin(db)
    r = await client.post("/v1/communities", json={"name": NASTY, "address": NASTY}, headers=f.auth(admin))
    assert r.status_code == 201, r.text
    assert r.json()["name"] == NASTY
    assert (await db.get(Community, r.json()["id"])).name == NASTY  # type: ignore[union-attr]
    got = await client.get(f"/v1/communities/{r.json()['id']}", headers=f.auth(admin))
    assert got.json()["name"] == NASTY and got.json()["address"] == NASTY
    # The table is still there.
    assert await count(db, Community) >= 1


async def test_create_community_rules(client: httpx.AsyncClient, db: AsyncSession) -> None:
    admin = await f.platform_admin(db)
    c = await f.community(db)
    ca = await f.community_staff(db, c, Role.community_admin)
    body = {"name": "新小区", "address": "路"}
    r = await client.post("/v1/communities", json=body)
    assert r.status_code == 401 and code(r) == "auth.required"
    r = await client.post("/v1/communities", json=body, headers=f.auth(ca))
    assert r.status_code == 403 and code(r) == "access.forbidden"
    r = await client.post("/v1/communities", json={**body, "colour": "red"}, headers=f.auth(admin))
    assert r.status_code == 422 and code(r) == "request.invalid"
    r = await client.post(
        "/v1/communities", json={**body, "time_zone": "Mars/Olympus"}, headers=f.auth(admin)
    )
    assert r.status_code == 422 and code(r) == "request.invalid"
    r = await client.post("/v1/communities", json={**body, "name": "a\x00b"}, headers=f.auth(admin))
    assert r.status_code == 422 and code(r) == "request.invalid"
    r = await client.post("/v1/communities", json={**body, "name": c.name}, headers=f.auth(admin))
    assert r.status_code == 409 and code(r) == "community.name_taken"
    assert await count(db, Community, Community.name == "新小区") == 0


async def test_create_community_idempotency(client: httpx.AsyncClient, db: AsyncSession) -> None:
    admin = await f.platform_admin(db)
    headers = {**f.auth(admin), "Idempotency-Key": "community-1"}
    body = {"name": "幂等小区", "address": "一号路"}
    first = await client.post("/v1/communities", json=body, headers=headers)
    again = await client.post("/v1/communities", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert await count(db, Community, Community.name == "幂等小区") == 1
    other = await client.post("/v1/communities", json={**body, "name": "另一个"}, headers=headers)
    assert other.status_code == 422 and code(other) == "idempotency.key_reused"
    assert await count(db, Community, Community.name == "另一个") == 0


# --- GET /v1/communities, /v1/communities/{cid} ----------------------------------------------------


async def test_list_my_communities_includes_pending(client: httpx.AsyncClient, db: AsyncSession) -> None:
    mine, pending, other = await f.community(db), await f.community(db), await f.community(db)
    u = await f.community_staff(db, mine, Role.grid_worker)
    h = await f.household(db, await f.building(db, pending))
    await f.member(
        db,
        u,
        Role.resident,
        community_id=pending.id,
        household_id=h.id,
        relation="owner",
        status=MembershipStatus.pending,
    )
    r = await client.get("/v1/communities", headers=f.auth(u))
    assert r.status_code == 200, r.text
    items = {i["id"]: i for i in r.json()["items"]}
    assert set(items) == {mine.id, pending.id}
    assert items[mine.id]["roles"] == ["grid_worker"] and items[mine.id]["pending"] is False
    assert items[pending.id]["roles"] == [] and items[pending.id]["pending"] is True
    assert other.id not in items
    # Paging one at a time walks both and stops.
    r1 = await client.get("/v1/communities", params={"limit": 1}, headers=f.auth(u))
    assert len(r1.json()["items"]) == 1 and r1.json()["next_cursor"]
    r2 = await client.get(
        "/v1/communities", params={"limit": 1, "cursor": r1.json()["next_cursor"]}, headers=f.auth(u)
    )
    assert r2.json()["items"][0]["id"] != r1.json()["items"][0]["id"]
    r = await client.get("/v1/communities", params={"cursor": "!!garbage!!"}, headers=f.auth(u))
    assert r.status_code == 422 and code(r) == "pagination.invalid_cursor"
    r = await client.get("/v1/communities", params={"cursor": encode_cursor({"id": -5})}, headers=f.auth(u))
    assert r.status_code == 422 and code(r) == "pagination.invalid_cursor"
    assert (await client.get("/v1/communities")).status_code == 401


async def test_get_community_scoping(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c, other = await f.community(db), await f.community(db)
    u = await f.community_staff(db, c, Role.committee_member)
    assert (await client.get(f"/v1/communities/{c.id}", headers=f.auth(u))).status_code == 200
    r = await client.get(f"/v1/communities/{other.id}", headers=f.auth(u))
    assert r.status_code == 404 and code(r) == "community.not_found"
    for bad in ("0", "-1", "abc", str(2**63), "9" * 40):
        r = await client.get(f"/v1/communities/{bad}", headers=f.auth(u))
        assert r.status_code == 422 and code(r) == "request.invalid", bad


# --- buildings ----------------------------------------------------------------------------------


async def test_create_building(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c, other = await f.community(db), await f.community(db)
    ca = await f.community_staff(db, c, Role.community_admin)
    committee = await f.community_staff(db, c, Role.committee_member)
    url = f"/v1/communities/{c.id}/buildings"
    r = await client.post(url, json={"name": "7号楼", "floors": 6}, headers=f.auth(ca))
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "7号楼" and r.json()["community_id"] == c.id
    assert (await db.get(Building, r.json()["id"])) is not None
    listed = await client.get(url, headers=f.auth(committee))
    assert [b["name"] for b in listed.json()] == ["7号楼"]
    r = await client.post(url, json={"name": "7号楼"}, headers=f.auth(ca))
    assert r.status_code == 409 and code(r) == "building.name_taken"
    r = await client.post(url, json={"name": "8号楼"}, headers=f.auth(committee))
    assert r.status_code == 403
    r = await client.post(f"/v1/communities/{other.id}/buildings", json={"name": "X"}, headers=f.auth(ca))
    assert r.status_code == 404 and code(r) == "community.not_found"
    r = await client.post(url, json={"name": "8号楼", "extra": 1}, headers=f.auth(ca))
    assert r.status_code == 422 and code(r) == "request.invalid"
    assert (await client.post(url, json={"name": "8号楼"})).status_code == 401
    assert await count(db, Building, Building.community_id == other.id) == 0
    assert await count(db, AuditLog, AuditLog.action == "building.create", AuditLog.community_id == c.id) == 1


async def test_platform_admin_building_in_missing_community(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    admin = await f.platform_admin(db)
    r = await client.post(
        "/v1/communities/987654321/buildings", json={"name": "1号楼"}, headers=f.auth(admin)
    )
    assert r.status_code == 404 and code(r) == "community.not_found"


# --- directory ----------------------------------------------------------------------------------


async def test_directory_search_and_households(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db, name="梧桐苑目录测试")
    await f.community(db, name="别的小区目录测试")
    b1, b2 = await f.building(db, c, "1号楼"), await f.building(db, c, "2号楼")
    h1 = await f.household(db, b1, room="101")
    await f.household(db, b2, room="201")
    await f.resident(db, h1, name="张三")
    newcomer = await f.user(db, "新住户")
    r = await client.get("/v1/directory/communities", params={"q": "梧桐"}, headers=f.auth(newcomer))
    assert r.status_code == 200, r.text
    assert [i["name"] for i in r.json()["items"]] == ["梧桐苑目录测试"]
    assert set(r.json()["items"][0]) == {"id", "name", "address", "district"}
    # LIKE wildcards are literal text.
    r = await client.get("/v1/directory/communities", params={"q": "%"}, headers=f.auth(newcomer))
    assert r.json()["items"] == []
    r = await client.get(f"/v1/directory/communities/{c.id}/households", headers=f.auth(newcomer))
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(i["building_name"], i["room"]) for i in items] == [("1号楼", "101"), ("2号楼", "201")]
    assert set(items[0]) == {"id", "building_id", "building_name", "entrance", "room"}
    assert "张三" not in r.text
    r = await client.get(
        f"/v1/directory/communities/{c.id}/households",
        params={"building_id": b2.id},
        headers=f.auth(newcomer),
    )
    assert [i["room"] for i in r.json()["items"]] == ["201"]
    r = await client.get(
        f"/v1/directory/communities/{c.id}/households",
        params={"building_id": 2**60},
        headers=f.auth(newcomer),
    )
    assert r.status_code == 422
    r = await client.get("/v1/directory/communities/99999999/households", headers=f.auth(newcomer))
    assert r.status_code == 404 and code(r) == "community.not_found"
    r = await client.get(
        f"/v1/directory/communities/{c.id}/households", params={"cursor": "zzz"}, headers=f.auth(newcomer)
    )
    assert r.status_code == 422 and code(r) == "pagination.invalid_cursor"
    assert (await client.get("/v1/directory/communities")).status_code == 401


# --- community members --------------------------------------------------------------------------


async def test_community_admin_appoints_members(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c, other = await f.community(db), await f.community(db)
    ca = await f.community_staff(db, c, Role.community_admin)
    url = f"/v1/communities/{c.id}/members"
    body = {"phone": "138 0013 8000", "name": NASTY_NAME, "role": "party_secretary"}
    r = await client.post(url, json=body, headers=f.auth(ca))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["phone"] == "+8613800138000" and out["name"] == NASTY_NAME and out["role"] == "party_secretary"
    user = (await db.exec(select(User).where(User.phone == "+8613800138000"))).one()
    assert user.password_hash is None
    m = await db.get(Membership, out["id"])
    assert m is not None and m.community_id == c.id and m.status == "invited" and m.decided_by == ca.id
    assert out["status"] == "invited" and out["user_id"] is None
    # Same person, same role again: conflict; another role: fine, same account.
    r = await client.post(url, json=body, headers=f.auth(ca))
    assert r.status_code == 409 and code(r) == "membership.duplicate"
    r = await client.post(url, json={**body, "role": "grid_worker"}, headers=f.auth(ca))
    assert r.status_code == 201 and (await db.get(Membership, r.json()["id"])).user_id == user.id  # type: ignore[union-attr]
    r = await client.post(url, json={**body, "role": "property_manager"}, headers=f.auth(ca))
    assert r.status_code == 422 and code(r) == "membership.invalid_role"
    r = await client.post(url, json={**body, "role": "wizard"}, headers=f.auth(ca))
    assert r.status_code == 422 and code(r) == "request.invalid"
    r = await client.post(url, json={**body, "phone": "12345"}, headers=f.auth(ca))
    assert r.status_code == 422 and code(r) == "auth.invalid_phone"
    assert (
        await client.post(f"/v1/communities/{other.id}/members", json=body, headers=f.auth(ca))
    ).status_code == 404
    committee = await f.community_staff(db, c, Role.committee_member)
    assert (await client.post(url, json=body, headers=f.auth(committee))).status_code == 403
    assert (
        await count(db, AuditLog, AuditLog.action == "membership.create", AuditLog.community_id == c.id) == 2
    )

    listed = await client.get(url, params={"limit": 2}, headers=f.auth(ca))
    assert listed.status_code == 200
    page1 = listed.json()
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    page2 = (
        await client.get(url, params={"limit": 2, "cursor": page1["next_cursor"]}, headers=f.auth(ca))
    ).json()
    roles = [i["role"] for i in page1["items"] + page2["items"]]
    assert sorted(roles) == ["committee_member", "community_admin", "grid_worker", "party_secretary"]
    r = await client.get(url, params={"role": "grid_worker"}, headers=f.auth(ca))
    assert [i["role"] for i in r.json()["items"]] == ["grid_worker"]
    assert (await client.get(url, headers=f.auth(committee))).status_code == 403
    assert (await client.get(f"/v1/communities/{other.id}/members", headers=f.auth(ca))).status_code == 404
    r = await client.get(url, params={"cursor": "@@@"}, headers=f.auth(ca))
    assert r.status_code == 422 and code(r) == "pagination.invalid_cursor"


async def test_adding_another_communitys_person_is_an_invitation(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Issue 13: B's admin added A's resident by phone and got their real name, gave them a verified
    role without consent, and `409 user.password_exists` told B which phones are staff accounts."""
    a, b = await f.community(db), await f.community(db)
    resident = await f.resident(db, await f.household(db, await f.building(db, a)), name="张三真名")
    staff = await f.company_staff(db, await f.company_managing(db, a), Role.property_staff, "李四真名")
    staff.password_hash = "$argon2id$unchanged"
    db.add(staff)
    await db.flush()
    b_admin = await f.community_staff(db, b, Role.community_admin)
    url = f"/v1/communities/{b.id}/members"

    answers = []
    for phone, password in ((resident.phone, None), (staff.phone, "x" * 12), ("13800138111", "x" * 12)):
        body = {"phone": phone, "name": "随便填", "role": "grid_worker", "password": password}
        r = await client.post(url, json=body, headers=f.auth(b_admin))
        assert r.status_code == 201, r.text
        answers.append(r.json())
    # The same answer whether the phone was a resident, a staff account or new: only what B typed.
    for out in answers:
        assert "张三真名" not in str(out) and "李四真名" not in str(out)
        assert out["user_id"] is None and out["status"] == "invited" and out["name"] == "随便填"
        assert out["verified_at"] is None
    strip = [{k: v for k, v in o.items() if k not in ("id", "phone", "created_at")} for o in answers]
    assert strip[0] == strip[1] == strip[2]
    await db.refresh(staff)
    assert staff.password_hash == "$argon2id$unchanged" and staff.name == "李四真名"
    # B's member list shows the invitations the same way.
    listed = (await client.get(url, headers=f.auth(b_admin))).json()["items"]
    assert "张三真名" not in str(listed) and "李四真名" not in str(listed)

    # Nothing granted yet: B does not exist for A's resident, who sees the invitation in their memberships.
    assert (await client.get(f"/v1/communities/{b.id}", headers=f.auth(resident))).status_code == 404
    mine = (await client.get("/v1/me/memberships", headers=f.auth(resident))).json()
    invitation = next(m for m in mine if m["status"] == "invited")
    assert invitation["community_id"] == b.id and invitation["role"] == "grid_worker"
    inbox = (await client.get("/v1/notifications", headers=f.auth(resident))).json()["items"]
    assert [i["category"] for i in inbox] == ["account"], inbox  # told in the inbox, to accept or decline
    # Only the invitee answers it; anyone else gets the same 404 as for no invitation at all.
    for who, mid in ((staff, invitation["id"]), (resident, 99999999)):
        r = await client.post(f"/v1/me/invitations/{mid}/accept", headers=f.auth(who))
        assert r.status_code == 404 and code(r) == "invitation.not_found"
    r = await client.post(f"/v1/me/invitations/{invitation['id']}/accept", headers=f.auth(resident))
    assert r.status_code == 200 and r.json()["status"] == "verified", r.text
    assert (await client.get(f"/v1/communities/{b.id}", headers=f.auth(resident))).status_code == 200
    r = await client.post(f"/v1/me/invitations/{invitation['id']}/decline", headers=f.auth(resident))
    assert r.status_code == 404  # already answered
    # Accepted: now B sees who it is.
    listed = (await client.get(url, headers=f.auth(b_admin))).json()["items"]
    assert {"张三真名": resident.id} == {i["name"]: i["user_id"] for i in listed if i["name"] == "张三真名"}

    # The staff account declines: nothing granted, the membership is rejected.
    staff_inv = next(
        m
        for m in (await client.get("/v1/me/memberships", headers=f.auth(staff))).json()
        if m["status"] == "invited"
    )
    r = await client.post(f"/v1/me/invitations/{staff_inv['id']}/decline", headers=f.auth(staff))
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert (await client.get(f"/v1/communities/{b.id}", headers=f.auth(staff))).status_code == 404
    listed = (await client.get(url, headers=f.auth(b_admin))).json()["items"]
    assert "李四真名" not in str(listed)  # declined: B never learns whose phone it was
    assert {i["name"] for i in listed if i["role"] == "community_admin"} == {"工作人员"}  # staff: real names


async def test_new_member_password_is_hashed(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    admin = await f.platform_admin(db)
    r = await client.post(
        f"/v1/communities/{c.id}/members",
        json={"phone": "13800138001", "name": "网格员", "role": "grid_worker", "password": "correct horse"},
        headers=f.auth(admin),
    )
    assert r.status_code == 201, r.text
    user = (await db.exec(select(User).where(col(User.phone) == "+8613800138001"))).one()
    assert user.password_hash and user.password_hash.startswith("$argon2")
    login = await client.post("/v1/auth/login", json={"phone": "13800138001", "password": "correct horse"})
    assert login.status_code == 200, login.text
    # The new account logs in and accepts the role it was invited to.
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    accepted = await client.post(f"/v1/me/invitations/{r.json()['id']}/accept", headers=headers)
    assert accepted.status_code == 200 and accepted.json()["status"] == "verified"
    short = await client.post(
        f"/v1/communities/{c.id}/members",
        json={"phone": "13800138002", "name": "x", "role": "grid_worker", "password": "short"},
        headers=f.auth(admin),
    )
    assert short.status_code == 422


@pytest.mark.parametrize("path", ["households", "members", "claims"])
async def test_list_endpoints_need_a_token(client: httpx.AsyncClient, db: AsyncSession, path: str) -> None:
    c = await f.community(db)
    r = await client.get(f"/v1/communities/{c.id}/{path}")
    assert r.status_code == 401
