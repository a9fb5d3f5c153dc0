"""The demo community: a renovated 1982 estate with its property company, committee and party branch.

`seed()` is idempotent. Every row is found by its natural key (community name, building name within
the community, building + entrance + room, phone, and user + role + scope for memberships) and only
created when missing; existing rows are never changed, so a second run writes nothing.

Households are derived from their position, never from random numbers, so a double-majority (双过半)
count can be checked by hand. 6 buildings × 2 entrances × 6 floors × 2 rooms = 144 households; room
"301" is floor 3, door 01. The exclusive area of a household is

    LAYOUT_M2[(entrance, door)] + (building number − 1) × 0.75 m²

so every building's 24 flats add up to 1,614.30 m² + 18 m² × (building − 1), and the estate's
144 flats to 9,955.80 m².
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.config import Settings
from services.db import transaction
from services.demo_areas import area_seeds
from services.models import (
    Building,
    Community,
    Household,
    ManagementContract,
    Membership,
    MembershipStatus,
    PropertyCompany,
    Relation,
    Role,
    User,
    utcnow,
)
from services.phones import normalise_mobile
from services.security import hash_password

DEMO_PASSWORD = "linli-demo-2026"  # noqa: S105  (published on purpose: demo staff accounts only)

COMMUNITY = {
    "name": "幸福里小区",
    "address": "上海市杨浦区延吉中路 1218 弄",
    "district": "上海市杨浦区延吉新村街道",
    "built_year": 1982,
    "renovated_year": 2024,
    "latitude": 31.27853,
    "longitude": 121.53021,
    "radius_m": 300,
    "time_zone": "Asia/Shanghai",
}
COMPANY = {
    "name": "安居物业服务有限公司",
    "credit_code": "91310110MA1G8K2Q3X",
    "phone": "021-65150123",
}
CONTRACT_STARTS = date(2024, 7, 1)
CONTRACT_ENDS = date(2029, 6, 30)

BUILDINGS = 6
ENTRANCES = 2
FLOORS = 6
DOORS = 2
# Exclusive area (m²) by position: (entrance, door on the landing).
LAYOUT_M2: dict[tuple[int, int], Decimal] = {
    (1, 1): Decimal("48.60"),
    (1, 2): Decimal("63.25"),
    (2, 1): Decimal("71.80"),
    (2, 2): Decimal("85.40"),
}
BUILDING_STEP_M2 = Decimal("0.75")

# Where: (building number, entrance number, room).
Home = tuple[int, int, str]


def building_name(number: int) -> str:
    return f"{number}号楼"


def entrance_name(number: int) -> str:
    return f"{number}单元"


def room_name(floor: int, door: int) -> str:
    return f"{floor}{door:02d}"


def household_area(building: int, entrance: int, door: int) -> Decimal:
    return LAYOUT_M2[(entrance, door)] + (building - 1) * BUILDING_STEP_M2


def household_layout() -> list[tuple[int, int, str, Decimal]]:
    """Every household of the demo estate: (building, entrance, room, area m²)."""
    return [
        (b, e, room_name(floor, door), household_area(b, e, door))
        for b in range(1, BUILDINGS + 1)
        for e in range(1, ENTRANCES + 1)
        for floor in range(1, FLOORS + 1)
        for door in range(1, DOORS + 1)
    ]


@dataclass(frozen=True)
class Person:
    phone: str
    name: str
    role: Role
    title_zh: str
    title_en: str
    home: Home | None = None
    relation: Relation | None = None
    pending: bool = False

    @property
    def staff(self) -> bool:
        return self.role != Role.resident


def _staff(n: int) -> str:
    return f"+86138000000{n:02d}"


def _resident(n: int) -> str:
    return f"+86137000000{n:02d}"


OWNER = Relation.owner
PEOPLE: tuple[Person, ...] = (
    Person(_staff(1), "王建国", Role.property_manager, "物业项目经理", "Property manager"),
    Person(_staff(2), "李强", Role.property_staff, "维修技工（水电）", "Technician (plumbing/electric)"),
    Person(_staff(3), "赵磊", Role.property_staff, "维修技工（土建）", "Technician (building)"),
    Person(_staff(4), "陈秀英", Role.committee_member, "业委会主任", "Committee chair", (1, 1, "201"), OWNER),
    Person(
        _staff(5), "刘德明", Role.committee_member, "业委会委员", "Committee member", (3, 2, "402"), OWNER
    ),
    Person(
        _staff(6), "周丽华", Role.committee_member, "业委会委员", "Committee member", (5, 1, "101"), OWNER
    ),
    Person(_staff(7), "张红梅", Role.party_secretary, "党支部书记", "Party secretary"),
    Person(_staff(8), "孙志刚", Role.party_member, "党员", "Party member", (2, 1, "302"), OWNER),
    Person(_staff(9), "吴桂兰", Role.party_member, "党员", "Party member", (4, 2, "601"), OWNER),
    Person(_staff(10), "郑海涛", Role.party_member, "在职党员（社区报到）", "Party member (registered)"),
    Person(_staff(11), "马晓燕", Role.party_member, "在职党员（社区报到）", "Party member (registered)"),
    Person(_staff(12), "黄敏", Role.community_admin, "居委会主任", "Community admin"),
    Person(_staff(13), "林小军", Role.grid_worker, "网格员", "Grid worker"),
    Person(_staff(14), "平台管理员", Role.platform_admin, "平台管理员", "Platform admin"),
    Person(_resident(1), "王秀兰", Role.resident, "业主", "Owner", (1, 1, "301"), OWNER),
    Person(_resident(2), "王小明", Role.resident, "家属", "Family member", (1, 1, "301"), Relation.family),
    Person(_resident(3), "李桂芳", Role.resident, "业主", "Owner", (1, 2, "502"), OWNER),
    Person(_resident(4), "张伟", Role.resident, "业主", "Owner", (2, 2, "101"), OWNER),
    Person(_resident(5), "刘洋", Role.resident, "业主", "Owner", (3, 1, "602"), OWNER),
    Person(_resident(6), "陈静", Role.resident, "业主", "Owner", (4, 1, "202"), OWNER),
    Person(_resident(7), "杨帆", Role.resident, "租户", "Tenant", (5, 2, "401"), Relation.tenant),
    Person(_resident(8), "赵丽", Role.resident, "业主", "Owner", (6, 1, "302"), OWNER),
    Person(
        _resident(99),
        "钱进",
        Role.resident,
        "待审核认证",
        "Pending claim",
        (6, 2, "501"),
        OWNER,
        pending=True,
    ),
)


class DemoRefused(RuntimeError):
    """The demo has a published password; it is never seeded into a production database."""


async def seed(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession] | None = None
) -> list[dict[str, Any]]:
    """Create the demo community (idempotent) and return its accounts.

    Without `sessionmaker` the seed builds its own resources from `settings`, commits and disposes
    them; tests pass a sessionmaker bound to their rolled-back connection.
    """
    if settings.env == "production":
        raise DemoRefused("refusing to seed demo accounts with a published password in production")
    if sessionmaker is not None:
        return await _seed_with(sessionmaker, settings)
    from services.bootstrap import build_resources

    resources = build_resources(settings)
    try:
        return await _seed_with(resources.sessionmaker, settings)
    finally:
        await resources.close()


async def _seed_with(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> list[dict[str, Any]]:
    async with sessionmaker() as session, transaction(session):
        return await _seed(session, settings)


async def _seed(session: AsyncSession, settings: Settings) -> list[dict[str, Any]]:
    community = await _community(session)
    assert community.id is not None
    homes = await _households(session, community.id)
    company = await _company(session, community.id)
    assert company.id is not None
    password = _LazyHash(DEMO_PASSWORD)
    accounts: list[dict[str, Any]] = []
    for person in PEOPLE:
        user = await _user(session, person, password)
        accounts.append(await _memberships(session, person, user, community.id, company.id, homes))
    for seed_area in area_seeds(settings):
        await seed_area(session, community.id)
    # Renovation projects store their vouchers and photos, so they need the settings (file storage).
    from services import demo_renovation

    await demo_renovation.seed(session, community.id, settings)
    return accounts


async def _first(session: AsyncSession, statement: Any) -> Any:
    return (await session.exec(statement)).first()


async def _add(session: AsyncSession, row: Any) -> Any:
    session.add(row)
    await session.flush()
    return row


async def _community(session: AsyncSession) -> Community:
    row: Community | None = await _first(
        session, select(Community).where(Community.name == COMMUNITY["name"])
    )
    return row or await _add(session, Community.model_validate(COMMUNITY))


async def _households(session: AsyncSession, community_id: int) -> dict[Home, Household]:
    buildings = {
        b.name: b
        for b in (await session.exec(select(Building).where(Building.community_id == community_id))).all()
    }
    for number in range(1, BUILDINGS + 1):
        name = building_name(number)
        if name not in buildings:
            buildings[name] = await _add(
                session, Building(community_id=community_id, name=name, floors=FLOORS)
            )
    ids = {b.id: b.name for b in buildings.values()}
    existing = {
        (ids[h.building_id], h.entrance, h.room): h
        for h in (
            await session.exec(select(Household).where(col(Household.building_id).in_(list(ids))))
        ).all()
    }
    homes: dict[Home, Household] = {}
    for b, e, room, area in household_layout():
        key = (building_name(b), entrance_name(e), room)
        row = existing.get(key)
        if row is None:
            building_id = buildings[building_name(b)].id
            assert building_id is not None
            row = Household(
                community_id=community_id,
                building_id=building_id,
                entrance=entrance_name(e),
                room=room,
                area_m2=area,
            )
            session.add(row)
        homes[(b, e, room)] = row
    await session.flush()
    return homes


async def _company(session: AsyncSession, community_id: int) -> PropertyCompany:
    company: PropertyCompany | None = await _first(
        session, select(PropertyCompany).where(PropertyCompany.name == COMPANY["name"])
    )
    if company is None:
        company = await _add(session, PropertyCompany.model_validate(COMPANY))
    assert company.id is not None
    contract = await _first(
        session,
        select(ManagementContract).where(
            ManagementContract.company_id == company.id, ManagementContract.community_id == community_id
        ),
    )
    if contract is None:
        await _add(
            session,
            ManagementContract(
                company_id=company.id,
                community_id=community_id,
                starts_on=CONTRACT_STARTS,
                ends_on=CONTRACT_ENDS,
            ),
        )
    return company


class _LazyHash:
    """One argon2 hash per run, computed only if a staff account is actually created."""

    def __init__(self, password: str) -> None:
        self.password = password
        self._hash: str | None = None

    def get(self) -> str:
        if self._hash is None:
            self._hash = hash_password(self.password)
        return self._hash


async def _user(session: AsyncSession, person: Person, password: _LazyHash) -> User:
    phone = normalise_mobile(person.phone)
    user: User | None = await _first(session, select(User).where(User.phone == phone))
    if user is None:
        user = await _add(
            session,
            User(phone=phone, name=person.name, password_hash=password.get() if person.staff else None),
        )
    return user


def _is(column: Any, value: int | None) -> Any:
    return col(column).is_(None) if value is None else col(column) == value


async def _membership(
    session: AsyncSession,
    user_id: int,
    role: Role,
    *,
    community_id: int | None = None,
    company_id: int | None = None,
    household_id: int | None = None,
    relation: Relation | None = None,
    pending: bool = False,
    note: str | None = None,
) -> Membership:
    row: Membership | None = await _first(
        session,
        select(Membership).where(
            Membership.user_id == user_id,
            Membership.role == role,
            _is(Membership.community_id, community_id),
            _is(Membership.company_id, company_id),
            _is(Membership.household_id, household_id),
        ),
    )
    if row is None:
        row = await _add(
            session,
            Membership(
                user_id=user_id,
                role=role,
                community_id=community_id,
                company_id=company_id,
                household_id=household_id,
                relation=relation,
                status=MembershipStatus.pending if pending else MembershipStatus.verified,
                note=note,
                verified_at=None if pending else utcnow(),
            ),
        )
    return row


def home_label(home: Home) -> str:
    b, e, room = home
    return f"{building_name(b)}{entrance_name(e)}{room}"


async def _memberships(
    session: AsyncSession,
    person: Person,
    user: User,
    community_id: int,
    company_id: int,
    homes: dict[Home, Household],
) -> dict[str, Any]:
    assert user.id is not None
    household = homes[person.home] if person.home else None
    household_id = household.id if household else None
    roles = [person.role.value]
    status = MembershipStatus.verified
    if person.role in (Role.property_manager, Role.property_staff):
        await _membership(session, user.id, person.role, company_id=company_id)
    elif person.role == Role.platform_admin:
        await _membership(session, user.id, person.role)
    elif person.role != Role.resident:
        await _membership(session, user.id, person.role, community_id=community_id)
    if household_id is not None and person.home is not None:
        row = await _membership(
            session,
            user.id,
            Role.resident,
            community_id=community_id,
            household_id=household_id,
            relation=person.relation,
            pending=person.pending,
            note=f"申请认证 {home_label(person.home)}（{person.title_zh}）" if person.pending else None,
        )
        status = MembershipStatus(row.status)
        if person.role != Role.resident:
            roles.append(Role.resident.value)
    in_company = person.role in (Role.property_manager, Role.property_staff)
    return {
        "role": person.role.value,
        "name": user.name,
        "phone": user.phone,
        "password": DEMO_PASSWORD if person.staff else None,
        "community_id": None if person.role == Role.platform_admin else community_id,
        "household_id": household_id,
        "company_id": company_id if in_company else None,
        "roles": roles,
        "title": person.title_zh,
        "title_en": person.title_en,
        "household": home_label(person.home) if person.home else None,
        "area_m2": str(household.area_m2) if household is not None else None,
        "relation": person.relation.value if person.relation else None,
        "status": status.value,
    }


# ---- printing -------------------------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    body = [header, *rows]
    widths = [max(_width(row[i]) for row in body) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in body]
    return [out[0], line, *out[1:]]


def _base_url(settings: Settings) -> str:
    host = settings.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104  (a listening address, shown as loopback)
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def print_accounts(accounts: list[dict[str, Any]], settings: Settings, out: TextIO | None = None) -> None:
    """A zh/en table of the demo accounts and how to log in with curl."""
    out = out or sys.stdout
    rows = [
        [
            f"{a['title']} / {a['title_en']}",
            a["name"],
            a["phone"],
            a["password"] or "短信验证码 SMS code",
            (f"{a['household']} {a['area_m2']}m²" if a["household"] else "-")
            + (" (待审核 pending)" if a["status"] == MembershipStatus.pending else ""),
        ]
        for a in accounts
    ]
    header = ["角色 Role", "姓名 Name", "手机 Phone", "密码 Password", "房屋 Household"]
    community_id = next((a["community_id"] for a in accounts if a["community_id"]), None)
    layout = household_layout()
    total = sum((area for *_, area in layout), Decimal(0))
    base = _base_url(settings)
    resident = next(a for a in accounts if a["role"] == Role.resident and a["status"] == "verified")
    manager = next(a for a in accounts if a["role"] == Role.property_manager)
    outbox = settings.sms_outbox
    lines = [
        "",
        f"演示小区 Demo community: {COMMUNITY['name']} (id {community_id}), {COMMUNITY['address']}",
        f"  {BUILDINGS} 栋楼 buildings × {ENTRANCES} 单元 entrances × {FLOORS} 层 floors × {DOORS} 户 "
        f"= {len(layout)} 户 households, 专有面积合计 total exclusive area {total} m²",
        f"  物业 Property company: {COMPANY['name']}",
        "",
        *_table(header, rows),
        "",
        "如何登录 How to log in:",
        f"  员工 Staff: 手机号 + 密码 phone + password {DEMO_PASSWORD!r}.",
        "  住户 Residents: 短信验证码 SMS code only. 开发环境不发短信 (no SMS is sent in development):",
        f"  验证码在服务日志和 {outbox} 中 (the code is in the server log and in that file).",
        "",
        "  # 1. 请求验证码 Request a code",
        f"  curl -s -X POST {base}/v1/auth/otp -H 'Content-Type: application/json' \\",
        f'       -d \'{{"phone": "{resident["phone"]}"}}\'',
        "  # 2. 读取验证码 Read the code",
        f"  CODE=$(tail -n 1 {outbox} | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"code\"])')",
        '  # 3. 登录 Log in (staff: replace code with "password")',
        f"  TOKEN=$(curl -s -X POST {base}/v1/auth/login -H 'Content-Type: application/json' \\",
        f'       -d \'{{"phone": "{resident["phone"]}", "code": "\'$CODE\'"}}\' \\',
        "       | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        "  # 4. 我的信息与房屋 Me and my household",
        f'  curl -s {base}/v1/me -H "Authorization: Bearer $TOKEN"',
        "",
        "  # 员工密码登录 Staff password login",
        f"  curl -s -X POST {base}/v1/auth/login -H 'Content-Type: application/json' \\",
        f'       -d \'{{"phone": "{manager["phone"]}", "password": "{DEMO_PASSWORD}"}}\'',
        "",
        f"  API 文档 Swagger UI: {base}/docs",
        "",
    ]
    out.write("\n".join(lines) + "\n")


__all__ = ["DEMO_PASSWORD", "PEOPLE", "DemoRefused", "household_layout", "print_accounts", "seed"]
