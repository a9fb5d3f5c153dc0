"""The demo seed: idempotent, hand-checkable households, and its accounts really log in over HTTP."""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo, demo_history, demo_map, migrations
from services.config import Settings
from services.db import create_engine, session_factory
from services.models import Building, Community, Household, User
from services.phones import normalise_mobile
from services.security import verify_password
from tests.conftest import App

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

Maker = async_sessionmaker[AsyncSession]
# The one-map district's people: a grid worker per community and the street-office account.
DISTRICT_USERS = len(demo_map.COMMUNITIES) + 1


async def _row_counts(sessionmaker: Maker) -> dict[str, int]:
    """Rows per table, for every table the migrations created."""
    async with sessionmaker() as session:
        connection = await session.connection()
        names = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        counts = {}
        for name in sorted(names):
            result = await session.execute(sa.select(sa.func.count()).select_from(sa.table(name)))
            counts[name] = result.scalar_one()
        return counts


def _by_role(accounts: list[dict[str, Any]], role: str) -> list[dict[str, Any]]:
    return [a for a in accounts if a["role"] == role]


def _resident(accounts: list[dict[str, Any]]) -> dict[str, Any]:
    return next(a for a in accounts if a["role"] == "resident" and a["relation"] == "owner")


async def test_seed_twice_changes_nothing(settings: Settings, sessionmaker: Maker) -> None:
    before = await _row_counts(sessionmaker)
    first = await demo.seed(settings, sessionmaker=sessionmaker)
    after_first = await _row_counts(sessionmaker)
    second = await demo.seed(settings, sessionmaker=sessionmaker)
    after_second = await _row_counts(sessionmaker)

    assert after_second == after_first
    assert second == first
    added = {name: after_first[name] - before[name] for name in after_first}
    # The demo estate, and the one-map district (issue 18) of eight with three buildings each.
    assert added["community"] == 1 + len(demo_map.COMMUNITIES)
    assert added["building"] == 6 + 3 * len(demo_map.COMMUNITIES)
    assert added["household"] == 144
    assert added["property_company"] == 1
    assert added["management_contract"] == 1
    # The accounts printed for logging in, and the residents who reported the KPI year's tickets.
    assert len(first) == len(demo.PEOPLE)
    assert added["user_account"] == len(demo.PEOPLE) + len(demo_history.reporters()) + DISTRICT_USERS


async def test_accounts_cover_every_role(settings: Settings, sessionmaker: Maker) -> None:
    accounts = await demo.seed(settings, sessionmaker=sessionmaker)
    roles = Counter(a["role"] for a in accounts)
    assert roles == {
        "property_manager": 1,
        "property_staff": 2,
        "committee_member": 3,
        "party_secretary": 1,
        "party_member": 4,
        "community_admin": 1,
        "grid_worker": 1,
        "platform_admin": 1,
        "resident": 9,
    }
    phones = [a["phone"] for a in accounts]
    assert len(set(phones)) == len(phones)
    assert all(normalise_mobile(p) == p for p in phones)

    community_ids = {a["community_id"] for a in accounts if a["role"] != "platform_admin"}
    company_ids = {a["company_id"] for a in accounts if a["company_id"] is not None}
    assert len(community_ids) == 1 and None not in community_ids
    assert len(company_ids) == 1
    assert {a["role"] for a in accounts if a["company_id"]} == {"property_manager", "property_staff"}

    for a in accounts:
        assert a["password"] == (None if a["role"] == "resident" else demo.DEMO_PASSWORD)
    # Committee members are verified owners; some party members live here too.
    committee = _by_role(accounts, "committee_member")
    assert all(a["household_id"] and a["relation"] == "owner" for a in committee)
    assert any(a["household_id"] for a in _by_role(accounts, "party_member"))
    assert any(not a["household_id"] for a in _by_role(accounts, "party_member"))

    residents = _by_role(accounts, "resident")
    verified = [a for a in residents if a["status"] == "verified"]
    pending = [a for a in residents if a["status"] == "pending"]
    assert len(verified) == 8 and len(pending) == 1
    assert Counter(a["relation"] for a in verified) == {"owner": 6, "tenant": 1, "family": 1}
    assert all(a["household_id"] for a in residents)

    async with sessionmaker() as session:
        manager = (await session.exec(select(User).where(User.phone == accounts[0]["phone"]))).one()
        assert verify_password(manager.password_hash, demo.DEMO_PASSWORD)
        owner = (await session.exec(select(User).where(User.phone == _resident(accounts)["phone"]))).one()
        assert owner.password_hash is None


async def test_households_can_be_counted_by_hand(settings: Settings, sessionmaker: Maker) -> None:
    accounts = await demo.seed(settings, sessionmaker=sessionmaker)
    cid = accounts[0]["community_id"]
    async with sessionmaker() as session:
        community = await session.get(Community, cid)
        assert community is not None
        assert (community.name, community.built_year, community.renovated_year) == ("幸福里小区", 1982, 2024)
        assert community.time_zone == "Asia/Shanghai"
        names = (
            await session.exec(
                select(Building.name).where(Building.community_id == cid).order_by(col(Building.id))
            )
        ).all()
        assert list(names) == [f"{n}号楼" for n in range(1, 7)]
        homes = (await session.exec(select(Household).where(Household.community_id == cid))).all()
        total = (
            await session.exec(select(func.sum(Household.area_m2)).where(Household.community_id == cid))
        ).one()

    assert len(homes) == 144
    assert {h.entrance for h in homes} == {"1单元", "2单元"}
    assert {h.room for h in homes} == {f"{floor}0{door}" for floor in range(1, 7) for door in (1, 2)}
    for h in homes:
        area = Decimal(h.area_m2)
        assert Decimal(45) <= area <= Decimal(90)
        assert area == area.quantize(Decimal("0.01"))
    # The formula in services/demo.py: 6 × (48.60 + 63.25 + 71.80 + 85.40) × 6 + 24 × 0.75 × (0+1+…+5).
    assert sum((Decimal(h.area_m2) for h in homes), Decimal(0)) == Decimal("9955.80")
    assert Decimal(str(total)).quantize(Decimal("0.01")) == Decimal("9955.80")


async def test_resident_logs_in_with_sms_code(
    app: App, client: httpx.AsyncClient, sessionmaker: Maker
) -> None:
    accounts = await demo.seed(app.settings, sessionmaker=sessionmaker)
    resident = _resident(accounts)
    phone = resident["phone"]

    r = await client.post("/v1/auth/otp", json={"phone": phone})
    assert r.status_code == 202, r.text
    assert "code" not in r.json()
    code = app.sms.last_code(phone)
    assert code is not None

    r = await client.post("/v1/auth/login", json={"phone": phone, "code": code})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]

    r = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["name"] == resident["name"]
    assert me["verified"] is True
    [home] = me["households"]
    assert home["id"] == resident["household_id"]
    assert home["community_name"] == "幸福里小区"
    assert (home["building_name"], home["entrance"], home["room"]) == ("1号楼", "1单元", "301")
    assert home["area_m2"] == resident["area_m2"] == "48.60"
    assert home["relation"] == "owner"
    assert me["roles"] == {str(resident["community_id"]): ["resident"]}


async def test_resident_has_no_password(app: App, client: httpx.AsyncClient, sessionmaker: Maker) -> None:
    accounts = await demo.seed(app.settings, sessionmaker=sessionmaker)
    r = await client.post(
        "/v1/auth/login", json={"phone": _resident(accounts)["phone"], "password": demo.DEMO_PASSWORD}
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.invalid_credentials"


async def test_manager_logs_in_with_password(
    app: App, client: httpx.AsyncClient, sessionmaker: Maker
) -> None:
    accounts = await demo.seed(app.settings, sessionmaker=sessionmaker)
    [manager] = _by_role(accounts, "property_manager")
    r = await client.post("/v1/auth/login", json={"phone": manager["phone"], "password": demo.DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}

    r = await client.get("/v1/me", headers=auth)
    assert r.status_code == 200, r.text
    cid = manager["community_id"]
    # The manager works for the company; the management contract puts them in the community.
    assert r.json()["roles"] == {str(cid): ["property_manager"]}
    assert r.json()["households"] == []

    r = await client.get(f"/v1/communities/{cid}/buildings", headers=auth)
    assert r.status_code == 200, r.text
    assert [b["name"] for b in r.json()] == [f"{n}号楼" for n in range(1, 7)]


async def test_pending_claim_is_not_verified(
    app: App, client: httpx.AsyncClient, sessionmaker: Maker
) -> None:
    accounts = await demo.seed(app.settings, sessionmaker=sessionmaker)
    [claimant] = [a for a in accounts if a["status"] == "pending"]
    phone = claimant["phone"]
    await client.post("/v1/auth/otp", json={"phone": phone})
    code = app.sms.last_code(phone)
    r = await client.post("/v1/auth/login", json={"phone": phone, "code": code})
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}

    me = (await client.get("/v1/me", headers=auth)).json()
    assert me["verified"] is False and me["households"] == []
    memberships = (await client.get("/v1/me/memberships", headers=auth)).json()
    assert [(m["status"], m["household_id"]) for m in memberships] == [("pending", claimant["household_id"])]


def test_print_accounts_shows_how_to_log_in(settings: Settings) -> None:
    accounts: list[dict[str, Any]] = [
        {
            "role": person.role.value,
            "name": person.name,
            "phone": person.phone,
            "password": demo.DEMO_PASSWORD if person.staff else None,
            "community_id": 7,
            "household_id": 1 if person.home else None,
            "company_id": None,
            "title": person.title_zh,
            "title_en": person.title_en,
            "household": demo.home_label(person.home) if person.home else None,
            "area_m2": "48.60" if person.home else None,
            "status": "pending" if person.pending else "verified",
        }
        for person in demo.PEOPLE
    ]
    out = io.StringIO()
    demo.print_accounts(accounts, settings.model_copy(update={"host": "0.0.0.0", "port": 8123}), out)  # noqa: S104
    text = out.getvalue()
    assert "curl -s -X POST http://127.0.0.1:8123/v1/auth/otp" in text
    assert "http://127.0.0.1:8123/v1/auth/login" in text
    assert "http://127.0.0.1:8123/v1/me" in text
    assert str(settings.sms_outbox) in text
    assert demo.DEMO_PASSWORD in text
    for person in demo.PEOPLE:
        assert person.phone in text and person.name in text


async def test_refuses_production(settings: Settings, sessionmaker: Maker) -> None:
    with pytest.raises(demo.DemoRefused):
        await demo.seed(settings.model_copy(update={"env": "production"}), sessionmaker=sessionmaker)


async def test_seed_builds_and_disposes_its_own_resources(settings: Settings, tmp_path: Path) -> None:
    """Without a sessionmaker the seed opens its own engine from settings and commits (own SQLite file)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    await asyncio.to_thread(migrations.upgrade, url)  # Alembic runs its own event loop
    own = settings.model_copy(update={"database_url": url, "redis_url": None})
    first = await demo.seed(own)
    second = await demo.seed(own)
    assert first == second
    engine = create_engine(url)
    try:
        counts = await _row_counts(session_factory(engine))
    finally:
        await engine.dispose()
    assert counts["household"] == 144
    assert counts["user_account"] == len(demo.PEOPLE) + len(demo_history.reporters()) + DISTRICT_USERS
