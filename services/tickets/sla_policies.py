"""Reading and replacing a community's SLA overrides and calendar exceptions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from services import access, audit
from services.errors import Conflict, InvalidInput, NotFound
from services.models.base import utcnow
from services.models.people import Role
from services.models.places import Community
from services.models.sla import CalendarException, SlaPolicy
from services.runtime import Ctx
from services.tickets.schemas import CATEGORIES
from services.tickets.sla import (
    CALENDARS,
    DEFAULT_BUSINESS_END,
    DEFAULT_BUSINESS_START,
    DEFAULT_TARGETS,
    DEFAULT_TIME_ZONE,
    KINDS,
    PRIORITIES,
    statutory_days,
    statutory_holiday_names,
    valid_time_zone,
)
from services.tickets.sla_schemas import (
    CalendarExceptionOut,
    CalendarExceptionsIn,
    CalendarOut,
    DefaultTarget,
    SlaPoliciesIn,
    SlaPolicyIn,
    SlaPolicyOut,
    SlaTableOut,
    StatutoryDayOut,
)

SLA_READERS = (Role.community_admin, Role.property_manager, Role.property_staff, Role.committee_member)
SLA_EDITORS = (Role.community_admin, Role.property_manager)
CALENDAR_EDITORS = (Role.community_admin,)
MAX_MINUTES = 365 * 24 * 60

Key = tuple[str, str, str]  # kind, category, priority


async def _time_zone(ctx: Ctx, community_id: int) -> str:
    zone = (
        await ctx.session.exec(
            select(Community.time_zone).where(
                Community.id == community_id, col(Community.deleted_at).is_(None)
            )
        )
    ).first()
    if zone is None:
        raise NotFound("community.not_found")
    return zone


async def _flush(ctx: Ctx) -> None:
    """A concurrent replace inserting the same key answers 409, not 500."""
    try:
        async with ctx.session.begin_nested():
            await ctx.session.flush()
    except IntegrityError as exc:
        raise Conflict("sla.concurrent_update") from exc


# --- SLA policies ----------------------------------------------------------------------------------


def _order(key: Key) -> tuple[int, str, int]:
    kind, category, priority = key
    return (KINDS.index(kind), category, PRIORITIES.index(priority))


def _policy_out(row: SlaPolicy) -> SlaPolicyOut:
    return SlaPolicyOut(
        id=row.id,
        source="community",
        kind=row.kind,
        category=row.category,
        priority=row.priority,
        response_minutes=row.response_minutes,
        resolution_minutes=row.resolution_minutes,
        calendar=row.calendar,
        business_start=row.business_start,
        business_end=row.business_end,
        updated_at=row.updated_at,
    )


async def _rows(ctx: Ctx, community_id: int) -> list[SlaPolicy]:
    return list(
        (await ctx.session.exec(select(SlaPolicy).where(SlaPolicy.community_id == community_id))).all()
    )


def _table(community_id: int, zone: str, rows: list[SlaPolicy]) -> SlaTableOut:
    by_key = {(r.kind, r.category, r.priority): r for r in rows}
    items: dict[Key, SlaPolicyOut] = {key: _policy_out(r) for key, r in by_key.items()}
    for kind in KINDS:
        for priority in PRIORITIES:
            if (kind, "", priority) not in items:
                response, resolution = DEFAULT_TARGETS[priority]
                items[(kind, "", priority)] = SlaPolicyOut(
                    id=None,
                    source="default",
                    kind=kind,
                    category="",
                    priority=priority,
                    response_minutes=response,
                    resolution_minutes=resolution,
                    calendar="24x7",
                    business_start=DEFAULT_BUSINESS_START,
                    business_end=DEFAULT_BUSINESS_END,
                    updated_at=None,
                )
    return SlaTableOut(
        community_id=community_id,
        time_zone=zone,
        defaults=[
            DefaultTarget(
                priority=p, response_minutes=DEFAULT_TARGETS[p][0], resolution_minutes=DEFAULT_TARGETS[p][1]
            )
            for p in PRIORITIES
        ],
        policies=[items[key] for key in sorted(items, key=_order)],
    )


async def get_policies(ctx: Ctx, community_id: int) -> SlaTableOut:
    access.require_community(ctx.require_principal(), community_id, SLA_READERS)
    zone = await _time_zone(ctx, community_id)
    return _table(community_id, zone, await _rows(ctx, community_id))


def _validate(items: list[SlaPolicyIn]) -> None:
    seen: set[Key] = set()
    for index, p in enumerate(items):
        where = {"index": index}
        if p.kind not in KINDS:
            raise InvalidInput("sla.unknown_kind", details={**where, "kind": p.kind})
        if p.category and p.category not in CATEGORIES[p.kind]:
            raise InvalidInput(
                "sla.unknown_category",
                details={**where, "category": p.category, "allowed": list(CATEGORIES[p.kind])},
            )
        if p.priority not in PRIORITIES:
            raise InvalidInput("sla.unknown_priority", details={**where, "priority": p.priority})
        if p.calendar not in CALENDARS:
            raise InvalidInput("sla.unknown_calendar", details={**where, "calendar": p.calendar})
        if not (0 < p.response_minutes <= MAX_MINUTES and 0 < p.resolution_minutes <= MAX_MINUTES):
            raise InvalidInput("sla.invalid_minutes", details=where)
        if p.response_minutes > p.resolution_minutes:
            raise InvalidInput("sla.response_after_resolution", details=where)
        if p.business_start.tzinfo is not None or p.business_end.tzinfo is not None:
            raise InvalidInput("sla.invalid_business_hours", details=where)
        if not p.business_start < p.business_end:
            raise InvalidInput("sla.invalid_business_hours", details=where)
        key = (p.kind, p.category, p.priority)
        if key in seen:
            raise InvalidInput("sla.duplicate_policy", details=where)
        seen.add(key)


def _summary(rows: list[SlaPolicy]) -> dict[str, str]:
    """Audit view: one readable string per key (audit rows keep scalars only)."""
    return {
        f"{r.kind}/{r.category or '*'}/{r.priority}": (
            f"{r.response_minutes}/{r.resolution_minutes} min {r.calendar}"
            + (f" {r.business_start:%H:%M}-{r.business_end:%H:%M}" if r.calendar == "business_hours" else "")
        )
        for r in sorted(rows, key=lambda r: _order((r.kind, r.category, r.priority)))
    }


async def put_policies(ctx: Ctx, community_id: int, body: SlaPoliciesIn) -> SlaTableOut:
    """Replace the community's overrides with `body.policies` (rows kept by key keep their id)."""
    access.require_community(ctx.require_principal(), community_id, SLA_EDITORS)
    zone = await _time_zone(ctx, community_id)
    _validate(body.policies)
    existing = {(r.kind, r.category, r.priority): r for r in await _rows(ctx, community_id)}
    before = _summary(list(existing.values()))
    now = utcnow()
    wanted = {(p.kind, p.category, p.priority): p for p in body.policies}
    for key, row in existing.items():
        if key not in wanted:
            await ctx.session.delete(row)
    kept: list[SlaPolicy] = []
    for key, p in wanted.items():
        values: dict[str, Any] = {
            "response_minutes": p.response_minutes,
            "resolution_minutes": p.resolution_minutes,
            "calendar": p.calendar,
            "business_start": p.business_start,
            "business_end": p.business_end,
        }
        found = existing.get(key)
        if found is None:
            row = SlaPolicy(
                community_id=community_id, kind=p.kind, category=p.category, priority=p.priority, **values
            )
            row.created_at = row.updated_at = now
            ctx.session.add(row)
        else:
            row = found
            if any(getattr(row, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(row, name, value)
                row.updated_at = now
                ctx.session.add(row)
        kept.append(row)
    await _flush(ctx)
    after = _summary(kept)
    if before != after:
        await audit.record(
            ctx, "sla_policy.replace", "sla_policy", community_id=community_id, before=before, after=after
        )
    return _table(community_id, zone, kept)


# --- calendar exceptions ---------------------------------------------------------------------------


def _this_year(zone: str) -> int:
    tz = ZoneInfo(zone if valid_time_zone(zone) else DEFAULT_TIME_ZONE)
    return datetime.now(UTC).astimezone(tz).year


def _statutory(year: int) -> list[StatutoryDayOut]:
    days_off, makeup = statutory_days(year)
    names = statutory_holiday_names(year)
    items = [StatutoryDayOut(day=d, working=False, name=names.get(d, "")) for d in days_off]
    items += [StatutoryDayOut(day=d, working=True, name="调休上班") for d in makeup]
    return sorted(items, key=lambda s: s.day)


async def _exceptions(ctx: Ctx, community_id: int, year: int | None) -> list[CalendarException]:
    stmt = select(CalendarException).where(CalendarException.community_id == community_id)
    if year is not None:
        stmt = stmt.where(
            col(CalendarException.day) >= date(year, 1, 1), col(CalendarException.day) <= date(year, 12, 31)
        )
    return list((await ctx.session.exec(stmt.order_by(col(CalendarException.day)))).all())


def _calendar_out(
    community_id: int, zone: str, year: int | None, rows: list[CalendarException]
) -> CalendarOut:
    shown = year if year is not None else _this_year(zone)
    return CalendarOut(
        community_id=community_id,
        time_zone=zone,
        year=shown,
        exceptions=[
            CalendarExceptionOut(day=r.day, working=r.working, note=r.note)
            for r in sorted(rows, key=lambda r: r.day)
        ],
        statutory=_statutory(shown),
    )


async def get_calendar(ctx: Ctx, community_id: int, year: int | None) -> CalendarOut:
    access.require_community(ctx.require_principal(), community_id, SLA_READERS)
    zone = await _time_zone(ctx, community_id)
    return _calendar_out(community_id, zone, year, await _exceptions(ctx, community_id, year))


async def put_calendar(ctx: Ctx, community_id: int, body: CalendarExceptionsIn) -> CalendarOut:
    """Replace the exceptions of `body.year` (or all of them when no year is given)."""
    access.require_community(ctx.require_principal(), community_id, CALENDAR_EDITORS)
    zone = await _time_zone(ctx, community_id)
    seen: set[date] = set()
    for index, item in enumerate(body.items):
        if body.year is not None and item.day.year != body.year:
            raise InvalidInput(
                "sla.exception_outside_year", details={"index": index, "day": item.day.isoformat()}
            )
        if item.day in seen:
            raise InvalidInput(
                "sla.duplicate_exception_day", details={"index": index, "day": item.day.isoformat()}
            )
        seen.add(item.day)
    existing = {r.day: r for r in await _exceptions(ctx, community_id, body.year)}
    before = {
        d.isoformat(): f"{'working' if r.working else 'off'} {r.note}".strip() for d, r in existing.items()
    }
    wanted = {item.day: item for item in body.items}
    for day, row in existing.items():
        if day not in wanted:
            await ctx.session.delete(row)
    kept: list[CalendarException] = []
    for day, item in wanted.items():
        found = existing.get(day)
        if found is None:
            row = CalendarException(community_id=community_id, day=day, working=item.working, note=item.note)
            ctx.session.add(row)
        else:
            row = found
            if (row.working, row.note) != (item.working, item.note):
                row.working, row.note = item.working, item.note
                ctx.session.add(row)
        kept.append(row)
    await _flush(ctx)
    after = {r.day.isoformat(): f"{'working' if r.working else 'off'} {r.note}".strip() for r in kept}
    if before != after:
        await audit.record(
            ctx,
            "calendar_exception.replace",
            "calendar_exception",
            body.year,
            community_id=community_id,
            before=dict(sorted(before.items())),
            after=dict(sorted(after.items())),
        )
    return _calendar_out(community_id, zone, body.year, kept)
