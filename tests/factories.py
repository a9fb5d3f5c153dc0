"""Build rows directly for test set-up; the behaviour under test always goes through HTTP."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import (
    Building,
    Community,
    Household,
    ManagementContract,
    Membership,
    MembershipStatus,
    PropertyCompany,
    Role,
    User,
)
from services.security import hash_password, issue_access_token

_seq = itertools.count(1)
SECRET = "test-secret-" + "x" * 40


def phone() -> str:
    return f"+86139{next(_seq):08d}"


async def community(db: AsyncSession, name: str | None = None) -> Community:
    row = Community(name=name or f"测试小区{next(_seq)}", address="测试路 1 号", built_year=1985)
    db.add(row)
    await db.flush()
    return row


async def building(db: AsyncSession, c: Community, name: str | None = None) -> Building:
    assert c.id is not None
    row = Building(community_id=c.id, name=name or f"{next(_seq)}号楼", floors=6)
    db.add(row)
    await db.flush()
    return row


async def household(db: AsyncSession, b: Building, room: str | None = None, area: str = "60.50") -> Household:
    assert b.id is not None
    row = Household(
        community_id=b.community_id, building_id=b.id, room=room or str(next(_seq)), area_m2=Decimal(area)
    )
    db.add(row)
    await db.flush()
    return row


async def user(db: AsyncSession, name: str = "测试用户", password: str | None = None) -> User:
    row = User(phone=phone(), name=name, password_hash=hash_password(password) if password else None)
    db.add(row)
    await db.flush()
    return row


async def member(
    db: AsyncSession,
    u: User,
    role: Role,
    *,
    community_id: int | None = None,
    company_id: int | None = None,
    household_id: int | None = None,
    relation: str | None = None,
    status: MembershipStatus = MembershipStatus.verified,
) -> Membership:
    assert u.id is not None
    row = Membership(
        user_id=u.id,
        role=role,
        community_id=community_id,
        company_id=company_id,
        household_id=household_id,
        relation=relation,
        status=status,
    )
    db.add(row)
    await db.flush()
    return row


async def resident(db: AsyncSession, h: Household, relation: str = "owner", name: str = "住户") -> User:
    u = await user(db, name)
    await member(db, u, Role.resident, community_id=h.community_id, household_id=h.id, relation=relation)
    return u


async def company_managing(db: AsyncSession, c: Community) -> PropertyCompany:
    assert c.id is not None
    co = PropertyCompany(name=f"物业公司{next(_seq)}")
    db.add(co)
    await db.flush()
    assert co.id is not None
    db.add(ManagementContract(company_id=co.id, community_id=c.id, starts_on=date(2024, 1, 1)))
    await db.flush()
    return co


def auth(u: User, minutes: int = 15) -> dict[str, str]:
    assert u.id is not None
    token, _ = issue_access_token(SECRET, "linli", u.id, minutes)
    return {"Authorization": f"Bearer {token}"}
