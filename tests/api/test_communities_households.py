"""Household register: list, create and CSV import through HTTP."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog, Building, Community, Household, Role
from tests import factories as f

CSV = "building,entrance,room,area_m2\n1号楼,1,101,60.5\n1号楼,1,102,72.35\n2号楼,,201,88\n"


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def households_in(db: AsyncSession, c: Community) -> int:
    stmt = select(func.count()).select_from(Household).where(Household.community_id == c.id)
    return int((await db.exec(stmt)).one())


async def buildings_in(db: AsyncSession, c: Community) -> int:
    stmt = select(func.count()).select_from(Building).where(Building.community_id == c.id)
    return int((await db.exec(stmt)).one())


async def test_create_and_list_households(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    b = await f.building(db, c, "3号楼")
    ca = await f.community_staff(db, c, Role.community_admin)
    url = f"/v1/communities/{c.id}/households"
    r = await client.post(
        url,
        json={"building_id": b.id, "entrance": "2", "room": "502", "area_m2": "96.40"},
        headers=f.auth(ca),
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["building_name"] == "3号楼" and out["room"] == "502" and out["area_m2"] == "96.40"
    row = await db.get(Household, out["id"])
    assert row is not None and Decimal(row.area_m2) == Decimal("96.40") and row.community_id == c.id
    assert (
        await db.exec(
            select(AuditLog).where(AuditLog.action == "household.create", AuditLog.entity_id == str(row.id))
        )
    ).one().actor_id == ca.id

    r = await client.post(
        url, json={"building_id": b.id, "entrance": "2", "room": "502", "area_m2": 50}, headers=f.auth(ca)
    )
    assert r.status_code == 409 and code(r) == "household.duplicate"
    for area in (0, -1, "10000.01", "12.345", "NaN", "abc"):
        r = await client.post(
            url, json={"building_id": b.id, "room": "9", "area_m2": area}, headers=f.auth(ca)
        )
        assert r.status_code == 422 and code(r) == "request.invalid", area
    r = await client.post(url, json={"building_id": b.id, "room": "9", "area_m2": 10000}, headers=f.auth(ca))
    assert r.status_code == 201
    assert await households_in(db, c) == 2

    # A building of another community is not found from here.
    other = await f.community(db)
    ob = await f.building(db, other)
    r = await client.post(url, json={"building_id": ob.id, "room": "1", "area_m2": 50}, headers=f.auth(ca))
    assert r.status_code == 404 and code(r) == "building.not_found"

    for role in (Role.property_staff, Role.grid_worker, Role.committee_member):
        staff = await f.community_staff(db, c, role)
        r = await client.get(url, headers=f.auth(staff))
        assert r.status_code == 200, (role, r.text)
        assert [h["room"] for h in r.json()["items"]] == ["502", "9"]
        r = await client.post(
            url, json={"building_id": b.id, "room": "7", "area_m2": 50}, headers=f.auth(staff)
        )
        assert r.status_code == 403

    r = await client.get(url, params={"limit": 1}, headers=f.auth(ca))
    assert [h["room"] for h in r.json()["items"]] == ["502"]
    r = await client.get(url, params={"limit": 1, "cursor": r.json()["next_cursor"]}, headers=f.auth(ca))
    assert [h["room"] for h in r.json()["items"]] == ["9"]
    r = await client.get(url, params={"cursor": "not-a-cursor"}, headers=f.auth(ca))
    assert r.status_code == 422 and code(r) == "pagination.invalid_cursor"
    r = await client.get(url, params={"limit": 0}, headers=f.auth(ca))
    assert r.status_code == 422

    resident = await f.resident(db, await f.household(db, b))
    assert (await client.get(url, headers=f.auth(resident))).status_code == 403
    r = await client.get(f"/v1/communities/{other.id}/households", headers=f.auth(ca))
    assert r.status_code == 404 and code(r) == "community.not_found"
    assert (await client.get(url)).status_code == 401
    r = await client.post(
        url, json={"building_id": b.id, "room": "1", "area_m2": 5, "owner": "x"}, headers=f.auth(ca)
    )
    assert r.status_code == 422 and code(r) == "request.invalid"


async def test_household_idempotency(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    b = await f.building(db, c)
    ca = await f.community_staff(db, c, Role.community_admin)
    url = f"/v1/communities/{c.id}/households"
    headers = {**f.auth(ca), "Idempotency-Key": "hh-1"}
    body = {"building_id": b.id, "room": "101", "area_m2": "50.00"}
    first = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await households_in(db, c) == 1
    r = await client.post(url, json={**body, "room": "102"}, headers=headers)
    assert r.status_code == 422 and code(r) == "idempotency.key_reused"
    assert await households_in(db, c) == 1


async def test_import_csv_creates_then_is_idempotent(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    await f.building(db, c, "1号楼")
    ca = await f.community_staff(db, c, Role.community_admin)
    url = f"/v1/communities/{c.id}/households/import"
    headers = {**f.auth(ca), "Content-Type": "text/csv"}
    r = await client.post(url, content=CSV.encode(), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"rows": 3, "created": 3, "unchanged": 0, "updated": 0, "buildings_created": 1}
    assert await households_in(db, c) == 3
    assert await buildings_in(db, c) == 2
    rows = (
        await db.exec(select(Household).where(Household.community_id == c.id, Household.room == "102"))
    ).one()
    assert Decimal(rows.area_m2) == Decimal("72.35") and rows.entrance == "1"

    again = await client.post(url, content=CSV.encode(), headers=headers)
    assert again.status_code == 200
    assert again.json() == {"rows": 3, "created": 0, "unchanged": 3, "updated": 0, "buildings_created": 0}
    assert await households_in(db, c) == 3 and await buildings_in(db, c) == 2

    # A corrected area updates that one household and is audited with before/after.
    fixed = CSV.replace("72.35", "73.00")
    r = await client.post(url, content=fixed.encode(), headers=headers)
    assert r.json() == {"rows": 3, "created": 0, "unchanged": 2, "updated": 1, "buildings_created": 0}
    await db.refresh(rows)
    assert Decimal(rows.area_m2) == Decimal("73.00")
    log = (await db.exec(select(AuditLog).where(AuditLog.action == "household.update"))).one()
    assert log.before == {"area_m2": "72.35"} and log.after == {"area_m2": "73.00"}
    imports = (await db.exec(select(AuditLog).where(AuditLog.action == "household.import"))).all()
    assert len(imports) == 3 and all(a.actor_id == ca.id and a.community_id == c.id for a in imports)


async def test_import_multipart_and_gbk(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    ca = await f.community_staff(db, c, Role.community_admin)
    url = f"/v1/communities/{c.id}/households/import"
    data = "楼栋,单元,房号,专有面积\n5号楼,1,101,66.6\n".encode("gb18030")
    r = await client.post(url, files={"file": ("户.csv", data, "text/csv")}, headers=f.auth(ca))
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1
    h = (await db.exec(select(Household).where(Household.community_id == c.id))).one()
    assert h.room == "101"
    r = await client.post(url, files={"other": ("a.csv", b"x", "text/csv")}, headers=f.auth(ca))
    assert r.status_code == 422 and code(r) == "household.import_invalid"


async def test_import_bad_row_writes_nothing(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c = await f.community(db)
    ca = await f.community_staff(db, c, Role.community_admin)
    url = f"/v1/communities/{c.id}/households/import"
    bad = (
        "building,entrance,room,area_m2\n"
        "9号楼,1,101,60\n"
        "9号楼,1,102,0\n"
        "9号楼,1,103,12.345\n"
        "9号楼,1,101,60\n"
        "9号楼,1,,50\n"
        "9号楼,1,105\n"
        "10号楼,1,106,abc\n"
    )
    r = await client.post(url, content=bad.encode(), headers={**f.auth(ca), "Content-Type": "text/csv"})
    assert r.status_code == 422 and code(r) == "household.import_invalid"
    errors = r.json()["error"]["details"]["errors"]
    assert [(e["line"], e["error"]) for e in errors] == [
        (3, "area_out_of_range"),
        (4, "too_many_decimals"),
        (5, "duplicate_row"),
        (6, "required"),
        (7, "wrong_column_count"),
        (8, "invalid_area"),
    ]
    assert errors[2]["duplicate_of"] == 2
    assert await households_in(db, c) == 0
    assert await buildings_in(db, c) == 0


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"", "empty_file"),
        (b"building,entrance,room,area_m2\n", "no_rows"),
        (b"building,room,area\n1,2,3\n", "bad_header"),
        (b"\xff\xfe\x00garbage", "encoding"),
    ],
)
async def test_import_rejects_bad_files(
    client: httpx.AsyncClient, db: AsyncSession, payload: bytes, error: str
) -> None:
    c = await f.community(db)
    ca = await f.community_staff(db, c, Role.community_admin)
    r = await client.post(
        f"/v1/communities/{c.id}/households/import",
        content=payload,
        headers={**f.auth(ca), "Content-Type": "text/csv"},
    )
    assert r.status_code == 422 and code(r) == "household.import_invalid", r.text
    assert r.json()["error"]["details"]["errors"][0]["error"] == error


async def test_import_access(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c, other = await f.community(db), await f.community(db)
    ca = await f.community_staff(db, c, Role.community_admin)
    grid = await f.community_staff(db, c, Role.grid_worker)
    headers = {"Content-Type": "text/csv"}
    r = await client.post(f"/v1/communities/{c.id}/households/import", content=CSV.encode(), headers=headers)
    assert r.status_code == 401
    r = await client.post(
        f"/v1/communities/{c.id}/households/import", content=CSV.encode(), headers={**headers, **f.auth(grid)}
    )
    assert r.status_code == 403
    r = await client.post(
        f"/v1/communities/{other.id}/households/import",
        content=CSV.encode(),
        headers={**headers, **f.auth(ca)},
    )
    assert r.status_code == 404
    assert await households_in(db, c) == 0 and await households_in(db, other) == 0
    admin = await f.platform_admin(db)
    r = await client.post(
        f"/v1/communities/{other.id}/households/import",
        content=CSV.encode(),
        headers={**headers, **f.auth(admin)},
    )
    assert r.status_code == 200 and r.json()["created"] == 3
