"""Property staff reach a community only through a contract in force today; the principal folds
those contracts into its one statement (services/access.py), so the window edges are pinned here."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import ManagementContract, PropertyCompany, Role
from tests import factories as f

pytestmark = pytest.mark.at("2026-06-16T10:00:00+08:00")


async def _company(db: AsyncSession, name: str) -> PropertyCompany:
    co = PropertyCompany(name=name)
    db.add(co)
    await db.flush()
    return co


async def test_staff_reach_the_communities_of_contracts_in_force_today_with_every_role_they_hold(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    ended, ends_today, starts_today, starts_tomorrow, open_ended, other_co_c, home = [
        await f.community(db) for _ in range(7)
    ]
    co, other = await _company(db, "甲物业"), await _company(db, "乙物业")
    windows = [
        (ended, date(2025, 1, 1), date(2026, 6, 15)),
        (ends_today, date(2025, 1, 1), date(2026, 6, 16)),
        (starts_today, date(2026, 6, 16), None),
        (starts_tomorrow, date(2026, 6, 17), None),
        (open_ended, date(2024, 1, 1), None),
    ]
    for c, starts, ends in windows:
        assert c.id is not None and co.id is not None
        db.add(ManagementContract(company_id=co.id, community_id=c.id, starts_on=starts, ends_on=ends))
    assert other_co_c.id is not None and other.id is not None
    db.add(ManagementContract(company_id=other.id, community_id=other_co_c.id, starts_on=date(2024, 1, 1)))
    await db.flush()
    u = await f.company_staff(db, co, Role.property_manager)
    await f.member(db, u, Role.property_staff, company_id=co.id)
    await f.member(db, u, Role.property_staff, company_id=other.id)
    await f.member(db, u, Role.party_member, community_id=home.id)

    r = await client.get("/v1/me", headers=f.auth(u))
    assert r.status_code == 200, r.text
    both = ["property_manager", "property_staff"]
    assert r.json()["roles"] == {
        str(ends_today.id): both,
        str(starts_today.id): both,
        str(open_ended.id): both,
        str(other_co_c.id): ["property_staff"],
        str(home.id): ["party_member"],
    }
    for c, status in ((ended, 404), (starts_tomorrow, 404), (ends_today, 200), (other_co_c, 200)):
        got = await client.get(f"/v1/communities/{c.id}/households", headers=f.auth(u))
        assert got.status_code == status, (c.id, got.text)


async def test_staff_of_a_company_with_no_contract_reach_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    co = await _company(db, "丙物业")
    u = await f.company_staff(db, co, Role.property_manager)
    r = await client.get("/v1/me", headers=f.auth(u))
    assert r.status_code == 200 and r.json()["roles"] == {}
