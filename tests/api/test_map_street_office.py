"""One map, item 3: the street office (街道) role — read-only over a set of communities, assigned
through the membership API by a platform admin, audited; every write answers 403."""

from __future__ import annotations

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog, Membership, MembershipStatus, Role, User
from tests import factories as f


async def _assign(client: httpx.AsyncClient, admin: User, cid: int, phone: str) -> int:
    body = {"phone": phone, "name": "街道办王科长", "role": "street_office", "password": "street-office-1"}
    r = await client.post(f"/v1/communities/{cid}/members", json=body, headers=f.auth(admin))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "invited" and r.json()["role"] == "street_office"
    return int(r.json()["id"])


async def street_office(client: httpx.AsyncClient, db: AsyncSession, *cids: int) -> User:
    """A street-office user over `cids`, assigned and accepted through the API."""
    admin = await f.platform_admin(db)
    phone = f.phone()
    ids = [await _assign(client, admin, cid, phone) for cid in cids]
    officer = (await db.exec(select(User).where(User.phone == phone))).one()
    for mid in ids:
        r = await client.post(f"/v1/me/invitations/{mid}/accept", headers=f.auth(officer))
        assert r.status_code == 200, r.text
    return officer


async def test_platform_admin_assigns_street_office_and_it_is_audited(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a, b = await f.community(db), await f.community(db)
    assert a.id and b.id
    officer = await street_office(client, db, a.id, b.id)
    rows = (
        await db.exec(select(Membership).where(Membership.user_id == officer.id).order_by(col(Membership.id)))
    ).all()
    assert [(m.community_id, m.role, m.status) for m in rows] == [
        (a.id, "street_office", MembershipStatus.verified),
        (b.id, "street_office", MembershipStatus.verified),
    ]
    r = await client.get("/v1/me/memberships", headers=f.auth(officer))
    assert r.status_code == 200, r.text
    held = r.json() if isinstance(r.json(), list) else r.json()["items"]
    assert sorted((m["community_id"], m["role"]) for m in held) == [
        (a.id, "street_office"),
        (b.id, "street_office"),
    ]
    actions = (
        await db.exec(
            select(AuditLog.action, AuditLog.community_id)
            .where(col(AuditLog.entity) == "membership")
            .order_by(col(AuditLog.id))
        )
    ).all()
    assert [x for x in actions if x[0] == "membership.create"] == [
        ("membership.create", a.id),
        ("membership.create", b.id),
    ]
    assert [x for x in actions if x[0] == "invitation.accept"] == [
        ("invitation.accept", a.id),
        ("invitation.accept", b.id),
    ]


async def test_only_a_platform_admin_assigns_the_role(client: httpx.AsyncClient, db: AsyncSession) -> None:
    a, b = await f.community(db), await f.community(db)
    admin_a = await f.community_staff(db, a, Role.community_admin, "居委会")
    body = {"phone": f.phone(), "name": "街道", "role": "street_office"}
    r = await client.post(f"/v1/communities/{a.id}/members", json=body, headers=f.auth(admin_a))
    assert r.status_code == 403 and r.json()["error"]["code"] == "access.forbidden"
    r = await client.post(f"/v1/communities/{b.id}/members", json=body, headers=f.auth(admin_a))
    assert r.status_code == 404
    assert not (await db.exec(select(Membership).where(Membership.role == Role.street_office))).all()


async def test_street_office_reads_the_map_and_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await f.ticket_world(db)
    a = t.cid
    other = await f.community(db)
    officer = await street_office(client, db, a)
    h = f.auth(officer)

    # Reads the map needs.
    r = await client.get("/v1/map/communities", headers=h)
    assert r.status_code == 200, r.text
    assert [x["id"] for x in r.json()["features"]] == [a]
    assert (await client.get(f"/v1/communities/{a}/geometry", headers=h)).status_code == 200
    assert (await client.get(f"/v1/map/communities/{a}/buildings", headers=h)).status_code == 200
    # Outside its communities: nothing exists.
    assert (await client.get(f"/v1/communities/{other.id}/geometry", headers=h)).status_code == 404
    assert (await client.get(f"/v1/map/communities/{other.id}/buildings", headers=h)).status_code == 404

    point = {"location": {"type": "Point", "coordinates": [116.4, 39.9]}}
    writes = [
        ("PUT", f"/v1/communities/{a}/geometry", point),
        ("PUT", f"/v1/communities/{a}/buildings/{t.building.id}/geometry", point),
        ("POST", f"/v1/communities/{a}/tickets", f.ticket_body(t.household.id)),
        ("POST", f"/v1/communities/{a}/notices", f.notice_body()),
        ("PUT", f"/v1/communities/{a}/kpi-targets", {"targets": {"repair_timeliness": 90}}),
        ("POST", f"/v1/communities/{a}/members", {"phone": f.phone(), "name": "x", "role": "grid_worker"}),
        ("POST", f"/v1/communities/{a}/buildings", {"name": "99号楼"}),
        ("POST", f"/v1/communities/{a}/polls", f.poll_body()),
    ]
    for method, url, body in writes:
        r = await client.request(method, url, json=body, headers=h)
        assert r.status_code == 403, (method, url, r.status_code, r.text)
        assert r.json()["error"]["code"] in ("access.read_only", "access.forbidden"), r.text
    # Another community's writes stay 404.
    r = await client.put(f"/v1/communities/{other.id}/geometry", json=point, headers=h)
    assert r.status_code == 404
    assert not (
        await db.exec(
            select(AuditLog).where(AuditLog.actor_id == officer.id, AuditLog.action != "invitation.accept")
        )
    ).all()
