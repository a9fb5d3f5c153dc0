"""The metric registry: each metric's title, default target and the one query that yields its facts.

Rules as implemented (UTC instants; periods are the community's local calendar, see facts.py):

repair_timeliness  repair tickets, except cancelled and rejected ones.
    point  at resolved_at, for tickets now resolved or closed; numerator when resolved_at <=
           resolution_due_at. A reopen clears resolved_at, so a reopened ticket counts at its final
           resolution only (the earlier resolve is withdrawn; the reopen re-computes that period).
    span   open and past due at a period's end: resolution_due_at < e <= resolved_at (or still
           open). resolution_due_at already includes every finished pause; a ticket paused now
           counts only if it was past due before the pause began (its clock is stopped).
response_timeliness  every ticket, except cancelled ones never accepted.
    point  at the response: accepted_at (assigning also sets it), or for a ticket rejected
           without acceptance its rejection time; numerator when response <= response_due_at.
    span   not yet responded and past response_due_at at a period's end.
owner_satisfaction  ticket_rating rows by created_at; numerator overall >= 4 (a re-rate within
           7 days changes the overall of the same row).
rating_rate  tickets closed (status closed) by closed_at; numerator: the ticket has a rating.
complaint_handling  complaints by resolution_due_at ("due in the period"); numerator: closed
           (status closed) before the period's end. Unclassified complaints count as valid;
           invalid, cancelled and rejected ones are excluded and listed.
greening_pass_rate  greening inspection items by their inspection's inspected_at; numerator passed.
notice_read_rate  households, not app users: published (or expired) notices by published_at + 7 days
           (the read window: a notice published on a month's last day counts in the next month, as a
           complaint counts in the period it is due in); denominator: the audience's households;
           numerator: households reached within the window — read in the app, sent by SMS or
           recorded on paper (services.notices.offline).
duty_attendance  duty shifts by starts_at, once ended (or checked in); numerator: a check-in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.kpis.facts import Fact
from services.models.tickets import Inspection, InspectionItem, Ticket, TicketRating
from services.models.tickets import TicketStatus as S

Source = Callable[[AsyncSession, list[int], datetime, datetime, datetime], Awaitable[list[Fact]]]

T = Ticket.__table__  # type: ignore[attr-defined]
R = TicketRating.__table__  # type: ignore[attr-defined]
OPEN = [s.value for s in (S.submitted, S.accepted, S.assigned, S.in_progress, S.paused)]
DONE = [S.resolved.value, S.closed.value]


@dataclass(frozen=True)
class Metric:
    key: str
    title_zh: str
    title_en: str
    default_target: Decimal
    source: Source | None  # None: the area does not exist in this build (slot kept)
    ref: str = "ticket"  # what the drill-down lists
    unit: str = "percent"  # percent | minutes (value = numerator / denominator / 60)
    better: str = "higher"  # higher: the target is a minimum; lower: a maximum
    quantile: float | None = None  # a quantile of the facts' samples (services.kpis.facts.bucket)


async def _rows(session: AsyncSession, stmt: Any) -> list[Any]:
    return list((await session.execute(stmt)).all())


async def repair_timeliness(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    c = T.c
    stmt = sa.select(
        c.id, c.community_id, c.status, c.resolved_at, c.resolution_due_at, c.paused_at, c.created_at
    ).where(
        c.community_id.in_(cids),
        c.kind == "repair",
        c.status.notin_([S.cancelled.value, S.rejected.value]),
        sa.or_(
            sa.and_(c.status.in_(DONE), c.resolved_at >= lo, c.resolved_at < hi),
            sa.and_(c.resolution_due_at < hi, sa.or_(c.status.in_(OPEN), c.resolved_at >= lo)),
        ),
    )
    out = []
    for tid, cid, status, resolved, due, paused_at, created in await _rows(session, stmt):
        info = {"status": status, "created_at": created, "resolved_at": resolved, "due_at": due}
        if status in DONE:
            out.append(
                Fact(
                    cid,
                    tid,
                    at=resolved,
                    num=int(resolved <= due),
                    due_from=due,
                    due_until=resolved,
                    info=info,
                )
            )
        elif status == S.paused and paused_at is not None and due >= paused_at:
            continue  # paused before its deadline: the clock is stopped
        else:
            out.append(Fact(cid, tid, due_from=due, info=info))
    return out


async def response_timeliness(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    c = T.c
    rejected_only = sa.and_(c.status == S.rejected.value, c.accepted_at.is_(None))
    stmt = sa.select(
        c.id, c.community_id, c.status, c.accepted_at, c.closed_at, c.response_due_at, c.created_at
    ).where(
        c.community_id.in_(cids),
        sa.not_(sa.and_(c.status == S.cancelled.value, c.accepted_at.is_(None))),
        sa.or_(
            sa.and_(c.accepted_at >= lo, c.accepted_at < hi),
            sa.and_(rejected_only, c.closed_at >= lo, c.closed_at < hi),
            sa.and_(
                c.response_due_at < hi,
                sa.or_(
                    c.accepted_at >= lo,
                    sa.and_(c.accepted_at.is_(None), c.status == S.submitted.value),
                    sa.and_(rejected_only, c.closed_at >= lo),
                ),
            ),
        ),
    )
    out = []
    for tid, cid, status, accepted, closed, due, created in await _rows(session, stmt):
        response = accepted if accepted is not None else (closed if status == S.rejected else None)
        info = {"status": status, "created_at": created, "responded_at": response, "due_at": due}
        if response is None:
            out.append(Fact(cid, tid, due_from=due, info=info))
        else:
            out.append(
                Fact(
                    cid,
                    tid,
                    at=response,
                    num=int(response <= due),
                    due_from=due,
                    due_until=response,
                    info=info,
                )
            )
    return out


async def owner_satisfaction(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    c = R.c
    stmt = sa.select(c.ticket_id, c.community_id, c.overall, c.created_at).where(
        c.community_id.in_(cids), c.created_at >= lo, c.created_at < hi
    )
    return [
        Fact(cid, tid, at=at, num=int(overall >= 4), info={"overall": overall, "rated_at": at})
        for tid, cid, overall, at in await _rows(session, stmt)
    ]


async def rating_rate(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    c = T.c
    stmt = (
        sa.select(c.id, c.community_id, c.closed_at, R.c.overall)
        .select_from(T.outerjoin(R, R.c.ticket_id == c.id))
        .where(c.community_id.in_(cids), c.status == S.closed.value, c.closed_at >= lo, c.closed_at < hi)
    )
    return [
        Fact(
            cid, tid, at=closed, num=int(overall is not None), info={"closed_at": closed, "overall": overall}
        )
        for tid, cid, closed, overall in await _rows(session, stmt)
    ]


async def complaint_handling(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    c = T.c
    stmt = sa.select(
        c.id, c.community_id, c.status, c.complaint_valid, c.resolution_due_at, c.closed_at
    ).where(
        c.community_id.in_(cids),
        c.kind == "complaint",
        c.resolution_due_at >= lo,
        c.resolution_due_at < hi,
    )
    out = []
    for tid, cid, status, valid, due, closed in await _rows(session, stmt):
        excluded = None
        if status in (S.cancelled, S.rejected):
            excluded = status
        elif valid is False:
            excluded = "invalid"
        done = closed if status == S.closed else None
        info = {"status": status, "valid": valid, "due_at": due, "closed_at": done}
        out.append(Fact(cid, tid, at=due, needs_done=True, done_at=done, excluded=excluded, info=info))
    return out


async def greening_pass_rate(
    session: AsyncSession, cids: list[int], lo: datetime, hi: datetime, now: datetime
) -> list[Fact]:
    i = InspectionItem.__table__.c  # type: ignore[attr-defined]
    ins = Inspection.__table__  # type: ignore[attr-defined]
    stmt = (
        sa.select(i.id, i.community_id, i.passed, ins.c.inspected_at, i.name, i.ticket_id, ins.c.area)
        .select_from(InspectionItem.__table__.join(ins, ins.c.id == i.inspection_id))  # type: ignore[attr-defined]
        .where(
            i.community_id.in_(cids),
            i.kind == "greening",
            ins.c.inspected_at >= lo,
            ins.c.inspected_at < hi,
        )
    )
    return [
        Fact(
            cid,
            iid,
            at=at,
            num=int(bool(passed)),
            info={"inspected_at": at, "item": name, "area": area, "passed": bool(passed), "ticket_id": tid},
        )
        for iid, cid, passed, at, name, tid, area in await _rows(session, stmt)
    ]


def registry() -> dict[str, Metric]:
    from services.kpis import alarm_metrics, optional

    metrics = [
        Metric("repair_timeliness", "维修及时率", "Repair timeliness", Decimal(100), repair_timeliness),
        Metric("response_timeliness", "响应及时率", "Response timeliness", Decimal(100), response_timeliness),
        Metric("owner_satisfaction", "业主满意率", "Owner satisfaction", Decimal(95), owner_satisfaction),
        Metric("rating_rate", "评价率", "Rating rate", Decimal(80), rating_rate),
        Metric("complaint_handling", "有效投诉处理率", "Effective complaint handling", Decimal(100), complaint_handling),
        Metric("greening_pass_rate", "绿化养护合格率", "Greening pass rate", Decimal(98), greening_pass_rate, "inspection_item"),
        Metric("notice_read_rate", "公告阅读率", "Notice read rate", Decimal(90), optional.notice_source(), "notice"),
        Metric("duty_attendance", "党员责任岗到岗率", "Duty attendance", Decimal(95), optional.duty_source(), "duty_shift"),
        # Alarms (services/kpis/alarm_metrics.py).
        Metric("alarm_ack_median", "告警确认时长中位数（分钟）", "Alarm acknowledgement time, median (minutes)", Decimal(5), alarm_metrics.ack_samples, "alarm", "minutes", "lower", 0.5),
        Metric("alarm_ack_p90", "告警确认时长P90（分钟）", "Alarm acknowledgement time, p90 (minutes)", Decimal(15), alarm_metrics.ack_samples, "alarm", "minutes", "lower", 0.9),
        Metric("alarm_ack_timeliness", "告警及时确认率", "Alarms acknowledged within target", Decimal(95), alarm_metrics.ack_timeliness, "alarm"),
        Metric("alarm_false_rate", "告警误报率", "False-alarm rate", Decimal(10), alarm_metrics.false_rate, "alarm", better="lower"),
        Metric("device_online_rate", "设备在线率", "Device online rate", Decimal(95), alarm_metrics.online_rate, "alarm_device"),
    ]  # fmt: skip
    return {m.key: m for m in metrics}


METRICS = registry()
