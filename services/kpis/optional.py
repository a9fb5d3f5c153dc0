"""Metrics of areas that may not exist in a build (notices, duty): their source or None.

The registry keeps a slot for each; a missing area answers the metric with no data (denominator 0)
instead of failing, and the API lists it as unavailable.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.kpis.facts import Fact


def _exists(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def notice_source() -> Any:
    if not _exists("services.models.notices"):
        return None
    return notice_read_rate


def duty_source() -> Any:
    if not _exists("services.models.duty"):
        return None
    return duty_attendance


# A notice is given this long to be read; it counts in the period its window ends in, with the
# households reached by then (see the module docstring of services.kpis.metrics).
READ_WINDOW = timedelta(days=7)


def _plus_window(session: AsyncSession, column: Any) -> Any:
    """`column + READ_WINDOW` in SQL (SQLite keeps instants as 'YYYY-MM-DD HH:MM:SS.ffffff' text)."""
    if session.get_bind().dialect.name == "sqlite":
        return sa.func.strftime("%Y-%m-%d %H:%M:%f", column, f"+{READ_WINDOW.days} days")
    return column + sa.literal(READ_WINDOW, sa.Interval())


async def notice_read_rate(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    """Households, not app users: each notice adds its audience's households to the denominator and
    those reached (read in the app, sent by SMS, recorded on paper) within READ_WINDOW of publishing
    to the numerator — in the period containing published_at + READ_WINDOW, like a complaint counts
    in the period it is due in. A notice published on the last evening of a month thus counts in the
    next one, with the week its readers had, instead of in its own month with the few hours left."""
    from services.models import Household
    from services.models.notices import AudienceType, Notice, NoticeReceipt
    from services.notices.offline import reached_clause

    n = Notice.__table__  # type: ignore[attr-defined]
    r = NoticeReceipt.__table__  # type: ignore[attr-defined]
    h = Household.__table__  # type: ignore[attr-defined]
    notices = (
        await session.execute(
            sa.select(n.c.id, n.c.community_id, n.c.published_at, n.c.title, n.c.audience_type,
                      n.c.audience_building_ids)
            .where(
                n.c.community_id.in_(cids),
                n.c.status.in_(["published", "expired"]),
                n.c.published_at >= lo - READ_WINDOW,
                n.c.published_at < hi - READ_WINDOW,
            )
        )
    ).all()  # fmt: skip
    # No early return when there are none: the same statements for every range (test_no_n_plus_one).
    ids = [int(x.id) for x in notices]
    hh = r.c.household_id
    due = _plus_window(session, n.c.published_at)
    reach = {
        int(nid): (int(reached), int(households))
        for nid, reached, households in (
            await session.execute(
                sa.select(
                    r.c.notice_id,
                    sa.func.count(sa.distinct(sa.case((reached_clause(before=due), hh)))),
                    sa.func.count(sa.distinct(hh)),
                )
                .select_from(r.join(n, n.c.id == r.c.notice_id))
                .where(r.c.notice_id.in_(ids))
                .group_by(r.c.notice_id)
            )
        ).all()
    }
    per_community = dict(
        (await session.execute(
            sa.select(h.c.community_id, sa.func.count()).where(h.c.community_id.in_(cids)).group_by(h.c.community_id)
        )).all()
    )  # fmt: skip
    per_building = dict(
        (await session.execute(
            sa.select(h.c.building_id, sa.func.count()).where(h.c.community_id.in_(cids)).group_by(h.c.building_id)
        )).all()
    )  # fmt: skip
    out = []
    for x in notices:
        reached, with_receipts = reach.get(int(x.id), (0, 0))
        if x.audience_type == AudienceType.community:
            total = int(per_community.get(x.community_id, 0))
        elif x.audience_type == AudienceType.buildings:
            total = sum(int(per_building.get(b, 0)) for b in x.audience_building_ids or [])
        else:
            total = with_receipts  # the households of the people addressed
        at = x.published_at + READ_WINDOW
        info = {"published_at": x.published_at, "counted_at": at, "title": x.title, "households": total,
                "reached": min(reached, total)}  # fmt: skip
        out.append(Fact(x.community_id, int(x.id), at=at, den=total, num=min(reached, total), info=info))
    return out


async def duty_attendance(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    from services.models.duty import DutyCheckin, DutyShift

    s = DutyShift.__table__  # type: ignore[attr-defined]
    c = DutyCheckin.__table__  # type: ignore[attr-defined]
    checked = sa.exists(sa.select(c.c.id).where(c.c.shift_id == s.c.id))
    stmt = sa.select(s.c.id, s.c.community_id, s.c.starts_at, s.c.ends_at, checked).where(
        s.c.community_id.in_(cids), s.c.starts_at >= lo, s.c.starts_at < hi
    )
    out = []
    for sid, cid, starts, ends, has_checkin in (await session.execute(stmt)).all():
        if ends > now and not has_checkin:
            continue  # still running and nobody has checked in yet: not judged
        info = {"starts_at": starts, "ends_at": ends, "checked_in": bool(has_checkin)}
        out.append(Fact(cid, sid, at=starts, num=int(bool(has_checkin)), info=info))
    return out
