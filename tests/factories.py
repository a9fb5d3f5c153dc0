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


# --- places and people (communities area) ---------------------------------------------------------


async def platform_admin(db: AsyncSession, name: str = "平台管理员") -> User:
    u = await user(db, name)
    await member(db, u, Role.platform_admin)
    return u


async def community_staff(db: AsyncSession, c: Community, role: Role, name: str = "工作人员") -> User:
    """A verified community role (community_admin, committee_member, grid_worker, ...)."""
    u = await user(db, name)
    await member(db, u, role, community_id=c.id)
    return u


async def company_staff(
    db: AsyncSession, co: PropertyCompany, role: Role = Role.property_manager, name: str = "物业经理"
) -> User:
    """A verified company role; it reaches the communities the company manages under contract."""
    u = await user(db, name)
    await member(db, u, role, company_id=co.id)
    return u


# --- tickets ---------------------------------------------------------------------------------------


class TicketWorld:
    """A community with a managing company, a verified resident and the people around tickets."""

    community: Community
    building: Building
    household: Household
    company: PropertyCompany
    resident: User
    manager: User
    technician: User
    technician2: User
    committee: User
    admin: User

    @property
    def cid(self) -> int:
        assert self.community.id is not None
        return self.community.id


async def ticket_world(db: AsyncSession) -> TicketWorld:
    w = TicketWorld()
    w.community = await community(db)
    w.building = await building(db, w.community)
    w.household = await household(db, w.building)
    w.company = await company_managing(db, w.community)
    w.resident = await resident(db, w.household, name="报修住户")
    w.manager = await company_staff(db, w.company, Role.property_manager, "物业经理")
    w.technician = await company_staff(db, w.company, Role.property_staff, "维修工甲")
    w.technician2 = await company_staff(db, w.company, Role.property_staff, "维修工乙")
    w.committee = await community_staff(db, w.community, Role.committee_member, "业委会委员")
    w.admin = await community_staff(db, w.community, Role.community_admin, "居委会")
    return w


def ticket_body(household_id: int | None, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "kind": "repair",
        "category": "plumbing",
        "title": "厨房水管漏水",
        "description": "水槽下方水管接头滴水",
        "household_id": household_id,
    }
    body.update(overrides)
    return body


def jpeg_bytes(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


import httpx  # noqa: E402  (appended section)


async def file_ticket(client: httpx.AsyncClient, w: TicketWorld, **overrides: object) -> dict[str, object]:
    """File a ticket over HTTP as the world's resident; returns the ticket JSON."""
    assert w.household.id is not None
    r = await client.post(
        f"/v1/communities/{w.cid}/tickets",
        json=ticket_body(w.household.id, **overrides),
        headers=auth(w.resident),
    )
    assert r.status_code == 201, r.text
    data: dict[str, object] = r.json()
    return data


async def act(
    client: httpx.AsyncClient, who: User, ticket: dict[str, object], action: str, **body: object
) -> httpx.Response:
    """POST a transition with the ticket's current version; returns the httpx response."""
    payload = {"action": action, "version": ticket["version"], **body}
    return await client.post(f"/v1/tickets/{ticket['id']}/transitions", json=payload, headers=auth(who))


async def upload_photo(
    client: httpx.AsyncClient,
    who: User,
    ticket_id: object,
    purpose: str = "before",
    data: bytes | None = None,
    name: str = "p.jpg",
) -> httpx.Response:
    return await client.post(
        f"/v1/tickets/{ticket_id}/attachments",
        files={"file": (name, data if data is not None else jpeg_bytes(), "image/jpeg")},
        data={"purpose": purpose},
        headers=auth(who),
    )
