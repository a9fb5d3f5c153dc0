"""SLA policy table and calendar exceptions over HTTP, and resolve_policy() on what they store."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog, Community, Role, User
from services.models.sla import CalendarException, SlaPolicy
from services.tickets.sla import DEFAULT_TARGETS, resolve_policy
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def url(c: Community, what: str = "sla-policies") -> str:
    return f"/v1/communities/{c.id}/{what}"


async def _setup(db: AsyncSession) -> tuple[Community, dict[str, User]]:
    c = await f.community(db)
    co = await f.company_managing(db, c)
    h = await f.household(db, await f.building(db, c))
    people = {
        "manager": await f.company_staff(db, co, Role.property_manager),
        "staff": await f.company_staff(db, co, Role.property_staff, "维修工"),
        "admin": await f.community_staff(db, c, Role.community_admin, "居委会"),
        "committee": await f.community_staff(db, c, Role.committee_member, "业委会"),
        "grid": await f.community_staff(db, c, Role.grid_worker, "网格员"),
        "resident": await f.resident(db, h),
    }
    return c, people


async def _rows(db: AsyncSession, c: Community) -> list[SlaPolicy]:
    return list(
        (
            await db.exec(select(SlaPolicy).where(SlaPolicy.community_id == c.id).order_by(col(SlaPolicy.id)))
        ).all()
    )


OVERRIDES: list[dict[str, Any]] = [
    {"kind": "repair", "priority": "urgent", "response_minutes": 20, "resolution_minutes": 180},
    {
        "kind": "repair",
        "category": "plumbing",
        "priority": "urgent",
        "response_minutes": 15,
        "resolution_minutes": 120,
        "calendar": "business_hours",
        "business_start": "09:00",
        "business_end": "18:00",
    },
    {
        "kind": "complaint",
        "priority": "low",
        "response_minutes": 600,
        "resolution_minutes": 4320,
        "calendar": "business_hours",
    },
]


async def test_defaults_then_replace_overrides(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c, p = await _setup(db)
    r = await client.get(url(c), headers=f.auth(p["staff"]))
    assert r.status_code == 200, r.text
    table = r.json()
    assert table["time_zone"] == "Asia/Shanghai"
    assert [(d["priority"], d["response_minutes"], d["resolution_minutes"]) for d in table["defaults"]] == [
        ("urgent", 30, 240),
        ("high", 120, 1440),
        ("normal", 480, 2880),
        ("low", 1440, 4320),
    ]
    assert len(table["policies"]) == 8  # 2 kinds × 4 priorities, all defaults
    assert {row["source"] for row in table["policies"]} == {"default"}
    assert {row["calendar"] for row in table["policies"]} == {"24x7"}

    r = await client.put(url(c), json={"policies": OVERRIDES}, headers=f.auth(p["manager"]))
    assert r.status_code == 200, r.text
    effective = {(x["kind"], x["category"], x["priority"]): x for x in r.json()["policies"]}
    assert len(effective) == 9
    assert effective[("repair", "", "urgent")]["source"] == "community"
    assert effective[("repair", "", "urgent")]["response_minutes"] == 20
    assert effective[("repair", "plumbing", "urgent")]["business_start"] == "09:00:00"
    assert effective[("repair", "", "high")]["source"] == "default"
    assert effective[("complaint", "", "low")]["business_end"] == "17:30:00"
    # Category rows follow their kind's catch-all rows, in priority order.
    order = [(x["kind"], x["category"], x["priority"]) for x in r.json()["policies"]]
    assert order.index(("repair", "plumbing", "urgent")) > order.index(("repair", "", "low"))
    assert order.index(("repair", "plumbing", "urgent")) < order.index(("complaint", "", "urgent"))

    rows = await _rows(db, c)
    assert {(x.kind, x.category, x.priority) for x in rows} == {
        ("repair", "", "urgent"),
        ("repair", "plumbing", "urgent"),
        ("complaint", "", "low"),
    }
    water = next(x for x in rows if x.category == "plumbing")
    assert (water.calendar, water.business_start, water.business_end) == (
        "business_hours",
        time(9, 0),
        time(18, 0),
    )
    water_id = water.id
    audit = (
        await db.exec(
            select(AuditLog).where(AuditLog.community_id == c.id, AuditLog.action == "sla_policy.replace")
        )
    ).all()
    assert len(audit) == 1
    assert audit[0].actor_id == p["manager"].id
    assert audit[0].before == {}
    assert audit[0].after == {
        "repair/*/urgent": "20/180 min 24x7",
        "repair/plumbing/urgent": "15/120 min business_hours 09:00-18:00",
        "complaint/*/low": "600/4320 min business_hours 08:30-17:30",
    }

    # A second PUT replaces the set: the kept key keeps its id, the others are gone.
    changed = {**OVERRIDES[1], "resolution_minutes": 90}
    r = await client.put(url(c), json={"policies": [changed]}, headers=f.auth(p["admin"]))
    assert r.status_code == 200, r.text
    rows = await _rows(db, c)
    assert len(rows) == 1
    await db.refresh(rows[0])
    assert rows[0].id == water_id and rows[0].resolution_minutes == 90
    r = await client.get(url(c), headers=f.auth(p["committee"]))
    assert sum(x["source"] == "community" for x in r.json()["policies"]) == 1

    # The same body again changes nothing and writes no audit row.
    assert (
        await client.put(url(c), json={"policies": [changed]}, headers=f.auth(p["admin"]))
    ).status_code == 200
    count = (
        await db.exec(
            select(AuditLog).where(AuditLog.community_id == c.id, AuditLog.action == "sla_policy.replace")
        )
    ).all()
    assert len(count) == 2

    # An empty list removes every override.
    assert (await client.put(url(c), json={"policies": []}, headers=f.auth(p["manager"]))).status_code == 200
    assert await _rows(db, c) == []


async def test_resolve_policy_most_specific_wins(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c, p = await _setup(db)
    assert c.id is not None
    r = await client.put(url(c), json={"policies": OVERRIDES}, headers=f.auth(p["manager"]))
    assert r.status_code == 200, r.text
    r = await client.put(
        url(c, "calendar-exceptions"),
        json={"items": [{"day": "2027-02-20", "working": True}, {"day": "2027-02-22", "working": False}]},
        headers=f.auth(p["admin"]),
    )
    assert r.status_code == 200, r.text

    exact = await resolve_policy(db, c.id, "repair", "plumbing", "urgent")
    assert exact.policy_id is not None
    assert (exact.response_minutes, exact.resolution_minutes, exact.calendar) == (15, 120, "business_hours")
    assert (exact.business_start, exact.business_end) == (time(9, 0), time(18, 0))
    assert exact.extra_workdays == frozenset({date(2027, 2, 20)})
    assert exact.extra_holidays == frozenset({date(2027, 2, 22)})
    assert exact.time_zone == "Asia/Shanghai"

    catch_all = await resolve_policy(db, c.id, "repair", "电梯", "urgent")
    assert (catch_all.response_minutes, catch_all.resolution_minutes, catch_all.calendar) == (20, 180, "24x7")
    assert catch_all.policy_id != exact.policy_id

    default = await resolve_policy(db, c.id, "repair", "plumbing", "high")
    assert default.policy_id is None
    assert (default.response_minutes, default.resolution_minutes) == DEFAULT_TARGETS["high"]
    assert default.calendar == "24x7"

    complaint = await resolve_policy(db, c.id, "complaint", "噪音", "low")
    assert (complaint.calendar, complaint.business_start) == ("business_hours", time(8, 30))

    # Another community's overrides do not leak.
    other = await f.community(db)
    assert other.id is not None
    assert (await resolve_policy(db, other.id, "repair", "plumbing", "urgent")).policy_id is None

    other.time_zone = "Asia/Urumqi"
    db.add(other)
    await db.flush()
    assert (await resolve_policy(db, other.id, "repair", "", "low")).time_zone == "Asia/Urumqi"


async def test_validation_answers_422_with_stable_codes(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c, p = await _setup(db)
    base = {"kind": "repair", "priority": "urgent", "response_minutes": 10, "resolution_minutes": 60}
    cases: list[tuple[dict[str, Any], str]] = [
        # Kind, priority and category are named enums in the contract: outside them, request.invalid.
        ({"kind": "parking"}, "request.invalid"),
        ({"priority": "asap"}, "request.invalid"),
        ({"category": "水电"}, "request.invalid"),
        ({"category": "neighbour"}, "sla.unknown_category"),  # a complaint category, not a repair one
        ({"calendar": "weekdays"}, "sla.unknown_calendar"),
        ({"response_minutes": 0}, "sla.invalid_minutes"),
        ({"resolution_minutes": -5}, "sla.invalid_minutes"),
        ({"resolution_minutes": 10_000_000}, "sla.invalid_minutes"),
        ({"response_minutes": 61}, "sla.response_after_resolution"),
        (
            {"calendar": "business_hours", "business_start": "18:00", "business_end": "09:00"},
            "sla.invalid_business_hours",
        ),
        ({"business_start": "09:00", "business_end": "09:00"}, "sla.invalid_business_hours"),
        ({"surprise": 1}, "request.invalid"),
        ({"response_minutes": "soon"}, "request.invalid"),
    ]
    for change, code in cases:
        r = await client.put(url(c), json={"policies": [{**base, **change}]}, headers=f.auth(p["manager"]))
        assert r.status_code == 422, (change, r.text)
        assert r.json()["error"]["code"] == code, change
    r = await client.put(
        url(c), json={"policies": [base, {**base, "response_minutes": 5}]}, headers=f.auth(p["manager"])
    )
    assert r.status_code == 422
    assert r.json()["error"] == {
        "code": "sla.duplicate_policy",
        "message": "同一类型、类别和优先级的时限规则重复",
        "details": {"index": 1},
        "request_id": r.headers["x-request-id"],
    }
    r = await client.put(
        url(c),
        json={"policies": [{**base, "category": "neighbour"}]},
        headers={**f.auth(p["manager"]), "Accept-Language": "en"},
    )
    assert r.json()["error"]["message"] == "Unknown category for this ticket kind"
    assert await _rows(db, c) == []


async def test_access_401_403_404(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c, p = await _setup(db)
    body = {"policies": OVERRIDES[:1]}
    assert (await client.get(url(c))).status_code == 401
    assert (await client.put(url(c), json=body)).status_code == 401
    for who in ("manager", "staff", "admin", "committee"):
        assert (await client.get(url(c), headers=f.auth(p[who]))).status_code == 200, who
    for who in ("resident", "grid"):
        r = await client.get(url(c), headers=f.auth(p[who]))
        assert r.status_code == 403 and r.json()["error"]["code"] == "access.forbidden", who
    for who in ("staff", "committee", "resident", "grid"):
        assert (await client.put(url(c), json=body, headers=f.auth(p[who]))).status_code == 403, who
    assert await _rows(db, c) == []

    # Staff of another community do not see this one; nor does a stranger.
    other = await f.community(db)
    outsider = await f.community_staff(db, other, Role.community_admin)
    stranger = await f.user(db)
    for u in (outsider, stranger):
        for method in ("GET", "PUT"):
            r = await client.request(
                method, url(c), json=body if method == "PUT" else None, headers=f.auth(u)
            )
            assert r.status_code == 404 and r.json()["error"]["code"] == "community.not_found"
    # A platform admin reaches every live community, but a missing one is still 404.
    admin = await f.platform_admin(db)
    assert (await client.get(url(c), headers=f.auth(admin))).status_code == 200
    assert (
        await client.get("/v1/communities/987654321/sla-policies", headers=f.auth(admin))
    ).status_code == 404
    assert (await client.get("/v1/communities/0/sla-policies", headers=f.auth(admin))).status_code == 422


async def test_calendar_exceptions_by_year(client: httpx.AsyncClient, db: AsyncSession) -> None:
    c, p = await _setup(db)
    h = f.auth(p["admin"])
    cal = url(c, "calendar-exceptions")
    r = await client.put(
        cal, json={"year": 2028, "items": [{"day": "2028-01-29", "working": True, "note": "调休"}]}, headers=h
    )
    assert r.status_code == 200, r.text
    schedule = {
        "year": 2027,
        "items": [
            {"day": "2027-02-20", "working": True, "note": "春节调休上班"},
            {"day": "2027-02-11", "working": False, "note": "春节放假"},
        ],
    }
    r = await client.put(cal, json=schedule, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["year"] == 2027
    assert [e["day"] for e in out["exceptions"]] == ["2027-02-11", "2027-02-20"]
    statutory = {s["day"]: s for s in out["statutory"]}
    assert statutory["2027-10-01"]["working"] is False and statutory["2027-10-01"]["name"]

    rows = (await db.exec(select(CalendarException).where(CalendarException.community_id == c.id))).all()
    assert {(x.day, x.working, x.note) for x in rows} == {
        (date(2028, 1, 29), True, "调休"),
        (date(2027, 2, 20), True, "春节调休上班"),
        (date(2027, 2, 11), False, "春节放假"),
    }

    # Replacing 2027 leaves 2028 alone.
    r = await client.put(cal, json={"year": 2027, "items": [schedule["items"][0]]}, headers=h)
    assert r.status_code == 200
    rows = (await db.exec(select(CalendarException).where(CalendarException.community_id == c.id))).all()
    assert sorted(x.day for x in rows) == [date(2027, 2, 20), date(2028, 1, 29)]

    r = await client.get(f"{cal}?year=2026", headers=f.auth(p["manager"]))
    assert r.status_code == 200
    assert r.json()["exceptions"] == []
    days = {s["day"]: s["working"] for s in r.json()["statutory"]}
    assert days["2026-10-10"] is True and days["2026-10-01"] is False
    r = await client.get(cal, headers=f.auth(p["staff"]))
    assert [e["day"] for e in r.json()["exceptions"]] == ["2027-02-20", "2028-01-29"]

    audit = (
        await db.exec(
            select(AuditLog).where(
                AuditLog.community_id == c.id, AuditLog.action == "calendar_exception.replace"
            )
        )
    ).all()
    assert len(audit) == 3
    assert audit[-1].before == {"2027-02-11": "off 春节放假", "2027-02-20": "working 春节调休上班"}
    assert audit[-1].after == {"2027-02-20": "working 春节调休上班"}

    # Only a community admin edits; a stranger does not see it; bad input answers 422.
    assert (await client.put(cal, json=schedule, headers=f.auth(p["manager"]))).status_code == 403
    assert (await client.get(cal, headers=f.auth(p["resident"]))).status_code == 403
    assert (await client.get(cal, headers=f.auth(await f.user(db)))).status_code == 404
    assert (await client.get(cal)).status_code == 401
    r = await client.put(
        cal, json={"year": 2027, "items": [{"day": "2028-01-01", "working": False}]}, headers=h
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "sla.exception_outside_year"
    twice = [{"day": "2027-05-08", "working": True}, {"day": "2027-05-08", "working": False}]
    r = await client.put(cal, json={"items": twice}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "sla.duplicate_exception_day"
    r = await client.put(cal, json={"items": [{"day": "2027-05-08"}]}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"
    rows = (await db.exec(select(CalendarException).where(CalendarException.community_id == c.id))).all()
    assert len(rows) == 2

    # Without a year the PUT replaces everything.
    r = await client.put(cal, json={"items": []}, headers=h)
    assert r.status_code == 200
    assert (
        await db.exec(select(CalendarException).where(CalendarException.community_id == c.id))
    ).all() == []


async def test_resolve_policy_round_trips(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    """Every transition that moves a clock resolves the policy: the zone and the overrides come in one
    statement, and the calendar exceptions only for a business-hours policy (24x7 never reads them)."""
    c, p = await _setup(db)
    assert c.id is not None
    r = await client.put(url(c), json={"policies": OVERRIDES}, headers=f.auth(p["manager"]))
    assert r.status_code == 200, r.text
    r = await client.put(
        url(c, "calendar-exceptions"),
        json={"items": [{"day": "2027-02-20", "working": True}]},
        headers=f.auth(p["admin"]),
    )
    assert r.status_code == 200, r.text
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        business = await resolve_policy(db, c.id, "repair", "plumbing", "urgent")
        at_business = len(seen)
        around_the_clock = await resolve_policy(db, c.id, "repair", "plumbing", "high")
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert business.calendar == "business_hours"
    assert business.extra_workdays == frozenset({date(2027, 2, 20)})
    assert at_business == 2, seen
    assert around_the_clock.calendar == "24x7"
    assert len(seen) - at_business == 1, seen
