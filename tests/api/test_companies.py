"""Property companies, management contracts and company staff."""

from __future__ import annotations

import httpx
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog, ManagementContract, Membership, PropertyCompany, Role, User
from tests import factories as f


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def test_create_company(client: httpx.AsyncClient, db: AsyncSession) -> None:
    admin = await f.platform_admin(db)
    body = {"name": "<i>绿城</i>物业'; --", "credit_code": "91330000MA27XXXX1X", "phone": "0571-88888888"}
    r = await client.post("/v1/companies", json=body, headers=f.auth(admin))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["name"] == "<i>绿城</i>物业'; --"
    row = await db.get(PropertyCompany, out["id"])
    assert row is not None and row.credit_code == "91330000MA27XXXX1X"
    assert (
        await db.exec(select(AuditLog).where(AuditLog.action == "company.create"))
    ).one().actor_id == admin.id
    r = await client.post("/v1/companies", json=body, headers=f.auth(admin))
    assert r.status_code == 409 and code(r) == "company.name_taken"
    r = await client.post("/v1/companies", json={"name": "x", "credit_code": "short"}, headers=f.auth(admin))
    assert r.status_code == 422 and code(r) == "request.invalid"
    r = await client.post("/v1/companies", json={"name": "x", "boss": "y"}, headers=f.auth(admin))
    assert r.status_code == 422 and code(r) == "request.invalid"
    c = await f.community(db)
    ca = await f.community_staff(db, c, Role.community_admin)
    assert (await client.post("/v1/companies", json={"name": "y"}, headers=f.auth(ca))).status_code == 403
    assert (await client.post("/v1/companies", json={"name": "y"})).status_code == 401
    headers = {**f.auth(admin), "Idempotency-Key": "co-1"}
    first = await client.post("/v1/companies", json={"name": "幂等物业"}, headers=headers)
    replay = await client.post("/v1/companies", json={"name": "幂等物业"}, headers=headers)
    assert first.status_code == 201 and replay.json() == first.json()
    n = (
        await db.exec(
            select(func.count()).select_from(PropertyCompany).where(PropertyCompany.name == "幂等物业")
        )
    ).one()
    assert n == 1


async def test_contract_gives_company_staff_the_community(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    c, other = await f.community(db), await f.community(db)
    ca = await f.community_staff(db, c, Role.community_admin)
    co = PropertyCompany(name="新物业")
    db.add(co)
    await db.flush()
    manager = await f.company_staff(db, co, Role.property_manager)
    # No contract yet: the community does not exist for the manager.
    assert (
        await client.get(f"/v1/communities/{c.id}/households", headers=f.auth(manager))
    ).status_code == 404

    url = f"/v1/communities/{c.id}/contracts"
    r = await client.post(
        url,
        json={"company_id": co.id, "starts_on": "2025-01-01", "ends_on": "2024-12-31"},
        headers=f.auth(ca),
    )
    assert r.status_code == 422 and code(r) == "contract.invalid_dates"
    r = await client.post(url, json={"company_id": 99999999, "starts_on": "2025-01-01"}, headers=f.auth(ca))
    assert r.status_code == 404 and code(r) == "company.not_found"
    r = await client.post(url, json={"company_id": co.id, "starts_on": "not a date"}, headers=f.auth(ca))
    assert r.status_code == 422 and code(r) == "request.invalid"
    r = await client.post(
        f"/v1/communities/{other.id}/contracts",
        json={"company_id": co.id, "starts_on": "2025-01-01"},
        headers=f.auth(ca),
    )
    assert r.status_code == 404
    grid = await f.community_staff(db, c, Role.grid_worker)
    r = await client.post(url, json={"company_id": co.id, "starts_on": "2025-01-01"}, headers=f.auth(grid))
    assert r.status_code == 403
    assert (await client.post(url, json={"company_id": co.id, "starts_on": "2025-01-01"})).status_code == 401
    count = select(func.count()).select_from(ManagementContract).where(ManagementContract.company_id == co.id)
    assert (await db.exec(count)).one() == 0

    # Issue 13: the community's admin alone cannot attach another tenant's company (its dashboard
    # would show this community, its manager get this community's notifications): the company does
    # not exist for them, exactly as a made-up id.
    body = {"company_id": co.id, "starts_on": "2025-01-01", "ends_on": "2099-12-31"}
    r = await client.post(url, json=body, headers=f.auth(ca))
    assert r.status_code == 404 and code(r) == "company.not_found"
    made_up = await client.post(url, json={**body, "company_id": 99999999}, headers=f.auth(ca))
    assert f.error_body(r) == f.error_body(made_up)
    # Nor can the company's manager attach itself to a community it does not run.
    r = await client.post(url, json=body, headers=f.auth(manager))
    assert r.status_code == 404 and code(r) == "community.not_found"
    assert (await db.exec(count)).one() == 0
    admin = await f.platform_admin(db)
    r = await client.post(url, json=body, headers=f.auth(admin))
    assert r.status_code == 201, r.text
    assert r.json()["community_id"] == c.id and r.json()["ends_on"] == "2099-12-31"
    assert (await db.exec(count)).one() == 1
    log = (await db.exec(select(AuditLog).where(AuditLog.action == "contract.create"))).one()
    assert log.community_id == c.id and log.actor_id == admin.id
    # Both sides at once (the community's admin who is also the company's manager) may too.
    both = await f.company_staff(db, co, Role.property_manager)
    await f.member(db, both, Role.community_admin, community_id=other.id)
    r = await client.post(
        f"/v1/communities/{other.id}/contracts",
        json={**body, "starts_on": "2025-02-01"},
        headers=f.auth(both),
    )
    assert r.status_code == 201, r.text
    # Now the company's manager reaches the community's household register.
    assert (
        await client.get(f"/v1/communities/{c.id}/households", headers=f.auth(manager))
    ).status_code == 200


async def test_company_members(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    co = await f.company_managing(db, c)
    other_co = await f.company_managing(db, await f.community(db))
    manager = await f.company_staff(db, co, Role.property_manager)
    staff = await f.company_staff(db, co, Role.property_staff)
    url = f"/v1/companies/{co.id}/members"
    body = {
        "phone": "+86 139 1234 5678",
        "name": "维修师傅",
        "role": "property_staff",
        "password": "long enough pw",
    }
    r = await client.post(url, json=body, headers=f.auth(manager))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["phone"] == "+8613912345678" and out["company_id"] == co.id and out["role"] == "property_staff"
    user = (await db.exec(select(User).where(User.phone == "+8613912345678"))).one()
    assert user.password_hash is not None and user.password_hash.startswith("$argon2")
    assert "long enough pw" not in user.password_hash
    m = await db.get(Membership, out["id"])
    assert m is not None and m.company_id == co.id and m.community_id is None and m.status == "invited"
    assert (
        await db.exec(select(AuditLog).where(AuditLog.action == "membership.create"))
    ).one().actor_id == manager.id

    login = await client.post("/v1/auth/login", json={"phone": "13912345678", "password": "long enough pw"})
    assert login.status_code == 200, login.text
    token = {"Authorization": f"Bearer {login.json()['access_token']}"}
    # An invitation grants nothing until accepted.
    r = await client.get(f"/v1/communities/{c.id}/households", headers=token)
    assert r.status_code == 404
    r = await client.post(f"/v1/me/invitations/{out['id']}/accept", headers=token)
    assert r.status_code == 200 and r.json()["company_name"] == co.name
    r = await client.get(f"/v1/communities/{c.id}/households", headers=token)
    assert r.status_code == 200

    r = await client.post(url, json={**body, "password": None}, headers=f.auth(manager))
    assert r.status_code == 409 and code(r) == "membership.duplicate"
    # An existing account: the password is ignored (a refusal would mark the phone as a staff account).
    before = user.password_hash
    r = await client.post(url, json={**body, "role": "property_manager"}, headers=f.auth(manager))
    assert r.status_code == 201 and r.json()["status"] == "invited"
    await db.refresh(user)
    assert user.password_hash == before
    r = await client.post(
        url, json={**body, "role": "committee_member", "phone": "13912345679"}, headers=f.auth(manager)
    )
    assert r.status_code == 422 and code(r) == "membership.invalid_role"
    r = await client.post(
        url, json={**body, "phone": "13912345679", "password": "short"}, headers=f.auth(manager)
    )
    assert r.status_code == 422 and code(r) == "request.invalid"
    r = await client.post(url, json={**body, "phone": "13912345679"}, headers=f.auth(staff))
    assert r.status_code == 403
    r = await client.post(f"/v1/companies/{other_co.id}/members", json=body, headers=f.auth(manager))
    assert r.status_code == 404 and code(r) == "company.not_found"
    for bad in ("0", "x", str(2**70)):
        assert (
            await client.post(f"/v1/companies/{bad}/members", json=body, headers=f.auth(manager))
        ).status_code == 422
    assert (await client.post(url, json=body)).status_code == 401
    admin = await f.platform_admin(db)
    r = await client.post("/v1/companies/99999999/members", json=body, headers=f.auth(admin))
    assert r.status_code == 404 and code(r) == "company.not_found"
    r = await client.post(
        f"/v1/companies/{other_co.id}/members", json={**body, "phone": "13912340000"}, headers=f.auth(admin)
    )
    assert r.status_code == 201
