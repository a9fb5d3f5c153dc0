"""Demo data of the one map (issue 18): a district of eight communities in 递铺街道, the seat of 安吉县
(Anji County, Huzhou, Zhejiang; about 119.68 E, 30.64 N), with outlines, building points, renovation
projects from 2019 to 2025, a grid worker each and varied KPI states of the last closed month, plus a
street-office account (街道办) over the district. The demo estate in Shanghai gets its outline too.

Names and outlines are invented but plausible; coordinates are WGS-84 and go through the same
validation as the API (services.geo.geometry). The district has no ticket history: its KPI figures are
seeded as roll-up snapshots, with the roll-up watermark set so the job does not recompute the month.
Idempotent like every demo seed: rows are found by natural keys and only created when missing.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.geo.crs import Crs
from services.geo.geometry import point_in, polygon_in
from services.geo.layer import last_closed_month
from services.kpis.periods import instant
from services.models import Building, Community, Membership, MembershipStatus, Role, User, utcnow
from services.models.kpis import KpiRollupState, KpiSnapshot
from services.models.renovation import RenovationItem, RenovationProject
from services.phones import normalise_mobile

STREET_OFFICE_PHONE = "+8613800000015"
DISTRICT = "浙江省湖州市安吉县递铺街道"
# name, centre (lon, lat), built year, renovation year, item classes, KPI pattern
COMMUNITIES: tuple[tuple[str, tuple[float, float], int, int, tuple[str, ...], str], ...] = (
    ("递铺新村", (119.6790, 30.6365), 1986, 2019, ("basic",), "green"),
    ("昌硕花园", (119.6862, 30.6402), 1994, 2020, ("basic", "improvement"), "red"),
    ("浦源小区", (119.6731, 30.6418), 1990, 2021, ("basic", "improvement", "upgrade"), "green"),
    ("桃园新村", (119.6905, 30.6331), 1988, 2022, ("basic",), "grey"),
    ("阳光苑", (119.6694, 30.6307), 1998, 2023, ("improvement",), "red"),
    ("凤凰小区", (119.6828, 30.6288), 1992, 2024, ("basic", "upgrade"), "green"),
    ("天荒坪路小区", (119.6950, 30.6389), 1985, 2025, ("basic", "improvement"), "amber"),
    ("玉华新村", (119.6760, 30.6455), 1996, 2024, ("upgrade",), "red"),
)
GRID_WORKERS = ("沈晓丽", "钟伟", "俞红", "潘建华", "方敏", "施国平", "蒋丽娟", "费立新")
# (metric, numerator, denominator) per KPI pattern; default targets: repair 100, satisfaction 95,
# complaint handling 100.
KPIS: dict[str, tuple[tuple[str, int, int], ...]] = {
    "green": (("repair_timeliness", 12, 12), ("owner_satisfaction", 48, 50), ("complaint_handling", 3, 3)),
    "red": (("repair_timeliness", 9, 12), ("owner_satisfaction", 40, 50), ("complaint_handling", 3, 3)),
    "amber": (("repair_timeliness", 12, 12), ("owner_satisfaction", 0, 0), ("complaint_handling", 3, 3)),
    "grey": (),
}
ITEM_NAMES = {
    "basic": "屋面防水及雨污分流",
    "improvement": "加装电梯与无障碍设施",
    "upgrade": "社区养老服务站",
}


def _ring(lon: float, lat: float, i: int) -> list[list[float]]:
    """An irregular pentagon of roughly 300 × 250 m around the centre, counter-clockwise."""
    dx, dy = 0.0016 + 0.0002 * (i % 3), 0.0012 + 0.0002 * (i % 2)
    pts = [(-dx, -dy), (dx, -dy * 0.8), (dx * 1.1, dy * 0.6), (0.0, dy * 1.2), (-dx * 0.9, dy)]
    ring = [[round(lon + x, 6), round(lat + y, 6)] for x, y in pts]
    return [*ring, ring[0]]


async def _first(session: AsyncSession, statement: Any) -> Any:
    return (await session.exec(statement)).first()


async def _user(session: AsyncSession, phone: str, name: str, password_hash: str | None) -> User:
    phone = normalise_mobile(phone)
    row: User | None = await _first(session, select(User).where(User.phone == phone))
    if row is None:
        row = User(phone=phone, name=name, password_hash=password_hash)
        session.add(row)
        await session.flush()
    return row


async def _member(session: AsyncSession, user_id: int, role: Role, community_id: int) -> None:
    held = await _first(
        session,
        select(Membership.id).where(
            Membership.user_id == user_id, Membership.role == role, Membership.community_id == community_id
        ),
    )
    if held is None:
        session.add(
            Membership(
                user_id=user_id, role=role, community_id=community_id,
                status=MembershipStatus.verified, verified_at=utcnow(),
            )
        )  # fmt: skip


async def seed(session: AsyncSession, community_id: int) -> None:
    home = await session.get(Community, community_id)
    if (
        home is not None
        and home.location is None
        and home.latitude is not None
        and home.longitude is not None
    ):
        home.location = point_in((home.longitude, home.latitude), Crs.wgs84, "location")
        home.boundary = polygon_in([_ring(home.longitude, home.latitude, 0)], Crs.wgs84, "boundary")
        session.add(home)
    officer = await _user(session, STREET_OFFICE_PHONE, "周立新", await _officer_password(session))
    assert officer.id is not None
    now = utcnow()
    for i, (name, (lon, lat), built, renovated, classes, pattern) in enumerate(COMMUNITIES):
        c = await _community(session, i, name, lon, lat, built, renovated)
        assert c.id is not None
        await _buildings(session, c, lon, lat)
        await _renovation(session, c.id, renovated, classes, officer.id)
        grid = await _user(session, f"+86138000001{i:02d}", GRID_WORKERS[i], None)
        assert grid.id is not None
        await _member(session, grid.id, Role.grid_worker, c.id)
        await _member(session, officer.id, Role.street_office, c.id)
        await _kpis(session, c, pattern, now)
    await session.flush()


async def _officer_password(session: AsyncSession) -> str | None:
    """The street-office account shares the demo staff password (hashed once, by services.demo)."""
    from services.demo import DEMO_PASSWORD
    from services.security import hash_password

    existing = await _first(session, select(User.id).where(User.phone == STREET_OFFICE_PHONE))
    return None if existing is not None else hash_password(DEMO_PASSWORD)


async def _community(
    session: AsyncSession, i: int, name: str, lon: float, lat: float, built: int, renovated: int
) -> Community:
    row: Community | None = await _first(session, select(Community).where(Community.name == name))
    if row is None:
        location = point_in((lon, lat), Crs.wgs84, "location")
        row = Community(
            name=name, address=f"{DISTRICT}{name}", district=DISTRICT, built_year=built,
            renovated_year=renovated, latitude=lat, longitude=lon, radius_m=250,
            location=location, boundary=polygon_in([_ring(lon, lat, i)], Crs.wgs84, "boundary"),
        )  # fmt: skip
        session.add(row)
        await session.flush()
    return row


async def _buildings(session: AsyncSession, c: Community, lon: float, lat: float) -> None:
    assert c.id is not None
    for n, (dx, dy) in enumerate(((-0.0008, -0.0004), (0.0, 0.0003), (0.0008, -0.0002)), start=1):
        name = f"{n}号楼"
        found = await _first(
            session, select(Building.id).where(Building.community_id == c.id, Building.name == name)
        )
        if found is None:
            point = point_in((round(lon + dx, 6), round(lat + dy, 6)), Crs.wgs84, "location")
            session.add(Building(community_id=c.id, name=name, floors=6, location=point))


async def _renovation(session: AsyncSession, cid: int, year: int, classes: tuple[str, ...], by: int) -> None:
    found = await _first(
        session,
        select(RenovationProject.id).where(
            RenovationProject.community_id == cid, RenovationProject.year == year
        ),
    )
    if found is not None:
        return
    p = RenovationProject(
        community_id=cid, title=f"{year}年老旧小区改造", year=year, batch=f"{year}年第一批", created_by=by
    )
    session.add(p)
    await session.flush()
    assert p.id is not None
    for cls in classes:
        session.add(
            RenovationItem(
                project_id=p.id, item_class=cls, name=ITEM_NAMES[cls], quantity="1", unit="项",
                budget_fen=1_200_000_00,
            )
        )  # fmt: skip


async def _kpis(session: AsyncSession, c: Community, pattern: str, now: Any) -> None:
    assert c.id is not None
    tz = ZoneInfo(c.time_zone)
    month: date = last_closed_month(now, tz)
    for metric, num, den in KPIS[pattern]:
        found = await _first(
            session,
            select(KpiSnapshot.id).where(
                KpiSnapshot.scope == "community", KpiSnapshot.scope_id == c.id, KpiSnapshot.metric == metric,
                KpiSnapshot.granularity == "month", col(KpiSnapshot.period_start) == month,
            ),
        )  # fmt: skip
        if found is None:
            value = None if den == 0 else round(num * 100 / den, 2)
            session.add(
                KpiSnapshot(
                    scope="community", scope_id=c.id, metric=metric, granularity="month", period_start=month,
                    numerator=num, denominator=den, value=value,
                )
            )  # fmt: skip
    if await session.get(KpiRollupState, c.id) is None:
        # Rolled up to now from that month on: the job recomputes only what changes after this instant.
        session.add(KpiRollupState(community_id=c.id, last_rollup_at=now, covered_from=instant(month, tz)))
