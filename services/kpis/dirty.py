"""What changed since a community's last roll-up, as the earliest instant a change can affect.

The ticket services are not ours to change, so nothing writes a "dirty" marker; instead the roll-up
reads what already exists:

* ticket_event rows with id above the community's watermark: the ticket's figures may change in
  every period ending after the ticket was created (a reopen, a pause, a late rating, a
  re-classification);
* inspection items recorded since the last roll-up (their inspection may be back-dated);
* notice receipts read, duty check-ins and shifts created since the last roll-up.

The watermark only advances past events older than SAFETY, so a transaction that committed a
little after its events were stamped is still seen; re-reading an event twice costs a re-count only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.kpis.metrics import METRICS
from services.models.kpis import KpiRollupState
from services.models.tickets import Inspection, InspectionItem, Ticket, TicketEvent

SAFETY = timedelta(minutes=5)


def _earliest(found: dict[int, datetime], cid: int, at: datetime | None) -> None:
    if at is not None and (cid not in found or at < found[cid]):
        found[cid] = at


async def changes(
    session: AsyncSession, states: dict[int, KpiRollupState], now: datetime
) -> tuple[dict[int, datetime], dict[int, int]]:
    """({community: earliest affected instant}, {community: new event watermark})."""
    found: dict[int, datetime] = {}
    marks = {cid: s.last_event_id for cid, s in states.items()}
    if not states:
        return found, marks
    cids = sorted(states)
    e = TicketEvent.__table__  # type: ignore[attr-defined]
    t = Ticket.__table__  # type: ignore[attr-defined]
    low = min(marks.values())
    rows = await session.execute(
        sa.select(e.c.community_id, e.c.id, e.c.created_at, t.c.created_at)
        .select_from(e.join(t, t.c.id == e.c.ticket_id))
        .where(e.c.id > low, e.c.community_id.in_(cids))
    )
    settled: dict[int, int] = {}  # highest id older than SAFETY
    recent: dict[int, int] = {}  # lowest id younger than SAFETY: the watermark stays below it
    for cid, event_id, event_at, created in rows.all():
        if event_id <= states[cid].last_event_id:
            continue
        _earliest(found, cid, created)
        if event_at > now - SAFETY:
            recent[cid] = min(recent.get(cid, event_id), event_id)
        else:
            settled[cid] = max(settled.get(cid, event_id), event_id)
    for cid, top in settled.items():
        marks[cid] = max(marks[cid], min(top, recent.get(cid, top + 1) - 1))
    since = {cid: (s.last_rollup_at or now) - SAFETY for cid, s in states.items()}
    oldest = min(since.values())
    for cid, at, created in await _inspections(session, cids, oldest):
        if created > since[cid]:
            _earliest(found, cid, at)
    for cid, at, changed in [*await _optional(session, cids, oldest), *await _alarms(session, cids, oldest)]:
        if changed > since[cid]:
            _earliest(found, cid, at)
    return found, marks


async def _alarms(session: AsyncSession, cids: list[int], since: datetime) -> list[Any]:
    """Alarm events (raised, acknowledged, cleared…) since: every figure of the alarm from its first
    sighting on; devices added, changed or removed since: the online rate from their creation on."""
    from services.models.alarms import Alarm, AlarmDevice, AlarmEvent

    a = Alarm.__table__  # type: ignore[attr-defined]
    e = AlarmEvent.__table__  # type: ignore[attr-defined]
    d = AlarmDevice.__table__  # type: ignore[attr-defined]
    out = list(
        (
            await session.execute(
                sa.select(e.c.community_id, sa.func.min(a.c.first_seen_at), sa.func.max(e.c.at))
                .select_from(e.join(a, a.c.id == e.c.alarm_id))
                .where(e.c.community_id.in_(cids), e.c.at > since)
                .group_by(e.c.community_id)
            )
        ).all()
    )
    out += (
        await session.execute(
            sa.select(d.c.community_id, sa.func.min(d.c.created_at), sa.func.max(d.c.updated_at))
            .where(d.c.community_id.in_(cids), d.c.updated_at > since)
            .group_by(d.c.community_id)
        )
    ).all()
    return out


async def _inspections(session: AsyncSession, cids: list[int], since: datetime) -> list[Any]:
    i = InspectionItem.__table__  # type: ignore[attr-defined]
    ins = Inspection.__table__  # type: ignore[attr-defined]
    stmt = (
        sa.select(i.c.community_id, sa.func.min(ins.c.inspected_at), sa.func.max(i.c.created_at))
        .select_from(i.join(ins, ins.c.id == i.c.inspection_id))
        .where(i.c.community_id.in_(cids), i.c.created_at > since)
        .group_by(i.c.community_id)
    )
    return list((await session.execute(stmt)).all())


async def _optional(session: AsyncSession, cids: list[int], since: datetime) -> list[Any]:
    """(community, earliest affected instant, latest change) from notices and duty, if present."""
    out: list[Any] = []
    if METRICS["notice_read_rate"].source is not None:
        from services.models.notices import Notice, NoticeReceipt

        n = Notice.__table__  # type: ignore[attr-defined]
        r = NoticeReceipt.__table__  # type: ignore[attr-defined]
        stmt = (
            sa.select(n.c.community_id, sa.func.min(n.c.published_at), sa.func.max(r.c.read_at))
            .select_from(r.join(n, n.c.id == r.c.notice_id))
            .where(n.c.community_id.in_(cids), r.c.read_at > since)
            .group_by(n.c.community_id)
        )
        out += (await session.execute(stmt)).all()
        # A notice just published (its households count, read or not) and households reached on paper
        # or by SMS since (issue 21: the rate is over households).
        out += (
            await session.execute(
                sa.select(n.c.community_id, sa.func.min(n.c.published_at), sa.func.max(n.c.published_at))
                .where(n.c.community_id.in_(cids), n.c.published_at > since)
                .group_by(n.c.community_id)
            )
        ).all()
    if METRICS["duty_attendance"].source is not None:
        from services.models.duty import DutyCheckin, DutyShift

        s = DutyShift.__table__  # type: ignore[attr-defined]
        c = DutyCheckin.__table__  # type: ignore[attr-defined]
        out += (
            await session.execute(
                sa.select(s.c.community_id, sa.func.min(s.c.starts_at), sa.func.max(c.c.checkin_at))
                .select_from(c.join(s, s.c.id == c.c.shift_id))
                .where(s.c.community_id.in_(cids), c.c.checkin_at > since)
                .group_by(s.c.community_id)
            )
        ).all()
        out += (
            await session.execute(
                sa.select(s.c.community_id, sa.func.min(s.c.starts_at), sa.func.max(s.c.created_at))
                .where(s.c.community_id.in_(cids), s.c.created_at > since)
                .group_by(s.c.community_id)
            )
        ).all()
    return out


async def earliest_data(session: AsyncSession, cid: int) -> datetime | None:
    """The first instant any metric of the community can count (None: no data at all)."""
    t = Ticket.__table__  # type: ignore[attr-defined]
    ins = Inspection.__table__  # type: ignore[attr-defined]
    candidates = [
        (
            await session.execute(sa.select(sa.func.min(t.c.created_at)).where(t.c.community_id == cid))
        ).scalar(),
        (
            await session.execute(sa.select(sa.func.min(ins.c.inspected_at)).where(ins.c.community_id == cid))
        ).scalar(),
    ]
    if METRICS["notice_read_rate"].source is not None:
        from services.models.notices import Notice

        n = Notice.__table__  # type: ignore[attr-defined]
        q = sa.select(sa.func.min(n.c.published_at)).where(n.c.community_id == cid)
        candidates.append((await session.execute(q)).scalar())
    if METRICS["duty_attendance"].source is not None:
        from services.models.duty import DutyShift

        s = DutyShift.__table__  # type: ignore[attr-defined]
        q = sa.select(sa.func.min(s.c.starts_at)).where(s.c.community_id == cid)
        candidates.append((await session.execute(q)).scalar())
    from services.models.alarms import Alarm, AlarmDevice

    a = Alarm.__table__  # type: ignore[attr-defined]
    d = AlarmDevice.__table__  # type: ignore[attr-defined]
    for q in (
        sa.select(sa.func.min(a.c.first_seen_at)).where(a.c.community_id == cid),
        sa.select(sa.func.min(d.c.created_at)).where(d.c.community_id == cid),
    ):
        candidates.append((await session.execute(q)).scalar())
    found = [_aware(c) for c in candidates if c is not None]
    return min(found) if found else None


def _aware(value: Any) -> datetime:
    from datetime import UTC

    if isinstance(value, str):  # SQLite aggregates bypass the column type
        value = datetime.fromisoformat(value)
    out: datetime = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return out


# The map's counters (services/geo/stats.py) ask the same sources a faster question every few seconds:
# which communities had a ticket event, an alarm event or a device change since the last pass. Read
# by id above a watermark (the primary key: no index on the timestamps needed), and, like `changes`,
# the watermark stays below rows younger than RECENT so a transaction committing late is still seen;
# the ids above it already seen are remembered so each change is counted once.
RECENT = timedelta(seconds=30)
START_WINDOW = 10_000


@dataclass
class ChangeCursor:
    ticket_event_id: int = 0
    alarm_event_id: int = 0
    devices_since: datetime | None = None
    seen: set[tuple[str, int, Any]] = field(default_factory=set)


async def start_cursor(session: AsyncSession, now: datetime) -> ChangeCursor:
    """A cursor at the present: what a full recount just covered."""
    from services.models.alarms import AlarmEvent

    e = TicketEvent.__table__  # type: ignore[attr-defined]
    ae = AlarmEvent.__table__  # type: ignore[attr-defined]
    top_t = (await session.execute(sa.select(sa.func.max(e.c.id)))).scalar() or 0
    top_a = (await session.execute(sa.select(sa.func.max(ae.c.id)))).scalar() or 0
    # Below the top by the rows still young: re-read once on the next pass (cheap), never missed.
    cursor = ChangeCursor(devices_since=now - RECENT)
    cursor.ticket_event_id = await _settled_below(session, e, e.c.created_at, int(top_t), now)
    cursor.alarm_event_id = await _settled_below(session, ae, ae.c.at, int(top_a), now)
    return cursor


async def _settled_below(session: AsyncSession, table: Any, at: Any, top: int, now: datetime) -> int:
    """Just below the oldest row younger than RECENT, looked for among the last START_WINDOW ids (a
    primary-key range, not a scan of the table's history)."""
    stmt = sa.select(sa.func.min(table.c.id)).where(table.c.id > top - START_WINDOW, at > now - RECENT)
    low = (await session.execute(stmt)).scalar()
    return top if low is None else int(low) - 1


async def touched(session: AsyncSession, cursor: ChangeCursor, now: datetime) -> set[int]:
    """Communities with a change the cursor has not seen; advances the cursor past them."""
    from services.models.alarms import AlarmDevice, AlarmEvent

    e = TicketEvent.__table__  # type: ignore[attr-defined]
    ae = AlarmEvent.__table__  # type: ignore[attr-defined]
    d = AlarmDevice.__table__  # type: ignore[attr-defined]
    found: set[int] = set()
    seen: set[tuple[str, int, Any]] = set()
    for name, table, at in (("t", e, e.c.created_at), ("a", ae, ae.c.at)):
        mark = cursor.ticket_event_id if name == "t" else cursor.alarm_event_id
        rows = (
            await session.execute(sa.select(table.c.id, table.c.community_id, at).where(table.c.id > mark))
        ).all()
        young = [r.id for r in rows if _aware(r[2]) > now - RECENT]
        settled = [r.id for r in rows if _aware(r[2]) <= now - RECENT]
        new_mark = max([mark, *settled])
        if young:
            new_mark = min(new_mark, min(young) - 1)
        for row_id, cid, _ in rows:
            key: tuple[str, int, Any] = (name, row_id, None)
            if key not in cursor.seen:
                found.add(cid)
            if row_id > new_mark:
                seen.add(key)
        if name == "t":
            cursor.ticket_event_id = new_mark
        else:
            cursor.alarm_event_id = new_mark
    since = cursor.devices_since or now - RECENT
    for row_id, cid, changed in (
        await session.execute(
            sa.select(d.c.id, d.c.community_id, d.c.updated_at).where(d.c.updated_at > since)
        )
    ).all():
        dkey: tuple[str, int, Any] = ("d", row_id, _aware(changed))
        if dkey not in cursor.seen:
            found.add(cid)
        seen.add(dkey)
    cursor.devices_since = now - RECENT
    cursor.seen = seen
    return found
