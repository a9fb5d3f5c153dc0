"""Metrics of areas that may not exist in a build (notices, duty): their source or None.

The registry keeps a slot for each; a missing area answers the metric with no data (denominator 0)
instead of failing, and the API lists it as unavailable.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime
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


async def notice_read_rate(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    from services.models.notices import Notice, NoticeReceipt

    n = Notice.__table__  # type: ignore[attr-defined]
    r = NoticeReceipt.__table__  # type: ignore[attr-defined]
    stmt = (
        sa.select(
            n.c.id,
            n.c.community_id,
            n.c.published_at,
            n.c.title,
            sa.func.count(r.c.id),
            sa.func.count(r.c.read_at),
        )
        .select_from(n.join(r, r.c.notice_id == n.c.id))
        .where(
            n.c.community_id.in_(cids),
            n.c.status.in_(["published", "expired"]),
            n.c.published_at >= lo,
            n.c.published_at < hi,
        )
        .group_by(n.c.id, n.c.community_id, n.c.published_at, n.c.title)
    )
    return [
        Fact(cid, nid, at=at, den=int(total), num=int(read), info={"published_at": at, "title": title, "receipts": int(total), "read": int(read)})
        for nid, cid, at, title, total, read in (await session.execute(stmt)).all()
    ]  # fmt: skip


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
