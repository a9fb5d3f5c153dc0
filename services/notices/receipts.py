"""Receipts: read and acknowledge, the author's view per building and household, and reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from services import audit
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.models import Building, Household, Role, User, utcnow
from services.models.notices import AudienceType, Notice, NoticeReceipt, NoticeStatus
from services.notices import audience, offline
from services.notices.common import can_manage, load_managed, load_notice, oversees, receipt_of
from services.notices.publishing import send
from services.notices.schemas import (
    BuildingReceipts,
    HouseholdReceipts,
    MissingOut,
    MyReceipt,
    PaperReceiptsIn,
    PaperReceiptsOut,
    ReceiptsOut,
    RemindOut,
)
from services.pagination import id_after, next_id_cursor
from services.privacy import reads
from services.runtime import Ctx
from services.schemas import Page

R = NoticeReceipt.__table__  # type: ignore[attr-defined]
REMIND_SPACING = timedelta(minutes=5)


async def _my_receipt(ctx: Ctx, notice: Notice) -> NoticeReceipt:
    """The caller's receipt; created on first read for members who joined a community-wide notice's
    audience after it was published. Pending claimants may read public notices but sign nothing."""
    p = ctx.require_principal()
    if notice.status != NoticeStatus.published and notice.status != NoticeStatus.expired:
        raise Conflict("notice.invalid_transition", details={"status": notice.status})
    row = await receipt_of(ctx, notice.id or 0, p.user_id)
    if row is not None:
        return row
    cid = notice.community_id
    if notice.audience_type != AudienceType.community:
        raise NotFound("notice.not_found")  # staff who oversee it are not its audience
    if cid not in p.member_community_ids:
        raise Forbidden("access.unverified")
    homes = sorted(p.households.get(cid, {}))
    household = await ctx.session.get(Household, homes[0]) if homes else None
    row = NoticeReceipt(
        notice_id=notice.id or 0,
        user_id=p.user_id,
        household_id=household.id if household else None,
        building_id=household.building_id if household else None,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    return row


async def mark_read(ctx: Ctx, notice_id: int) -> MyReceipt:
    notice = await load_notice(ctx, notice_id)
    row = await _my_receipt(ctx, notice)
    now = utcnow()
    row.delivered_at = row.delivered_at or now
    row.read_at = row.read_at or now
    ctx.session.add(row)
    await ctx.session.flush()
    return MyReceipt.model_validate(row)


async def acknowledge(ctx: Ctx, notice_id: int) -> MyReceipt:
    """确认已读: only for notices that ask for it; implies read. Repeating it keeps the first time."""
    notice = await load_notice(ctx, notice_id)
    if not notice.requires_ack:
        raise InvalidInput("notice.ack_not_required")
    row = await _my_receipt(ctx, notice)
    now = utcnow()
    row.delivered_at = row.delivered_at or now
    row.read_at = row.read_at or now
    row.acked_at = row.acked_at or now
    ctx.session.add(row)
    await ctx.session.flush()
    return MyReceipt.model_validate(row)


def _app(cond: Any = None) -> Any:
    """count() of app receipts (people), optionally where `cond`; SMS and paper rows are households."""
    app = R.c.channel == "app"
    return sa.func.count(sa.case((app if cond is None else sa.and_(app, cond), 1)))


def _counts() -> list[Any]:
    hh = R.c.household_id
    return [
        _app().label("people"),
        _app(R.c.delivered_at.is_not(None)).label("delivered"),
        _app(R.c.read_at.is_not(None)).label("read"),
        _app(R.c.acked_at.is_not(None)).label("acked"),
        sa.func.count(sa.distinct(hh)).label("households"),
        sa.func.count(sa.distinct(sa.case((offline.reached_clause(), hh)))).label("households_read"),
        sa.func.count(sa.distinct(sa.case((R.c.acked_at.is_not(None), hh)))).label("households_acked"),
    ]


async def receipts(ctx: Ctx, notice_id: int, building_id: int | None = None) -> ReceiptsOut:
    """Who has read / acknowledged, per building (and per household of one building on request)."""
    notice = await load_managed(ctx, notice_id, lock=False)
    b = Building.__table__  # type: ignore[attr-defined]
    rows = (
        await ctx.session.execute(
            sa.select(R.c.building_id, b.c.name, *_counts())
            .select_from(R.outerjoin(b, b.c.id == R.c.building_id))
            .where(R.c.notice_id == notice.id)
            .group_by(R.c.building_id, b.c.name)
            .order_by(b.c.name)
        )
    ).all()
    buildings = [
        BuildingReceipts(
            building_id=r.building_id, building_name=r.name, people=r.people, delivered=r.delivered,
            read=r.read, acked=r.acked, households=r.households, households_read=r.households_read,
            households_acked=r.households_acked,
        )
        for r in rows
    ]  # fmt: skip
    people = sum(x.people for x in buildings)
    read = sum(x.read for x in buildings)
    acked = sum(x.acked for x in buildings)
    households = None
    if building_id is not None:
        h = Household.__table__  # type: ignore[attr-defined]
        hrows = (
            await ctx.session.execute(
                sa.select(
                    h.c.id, h.c.entrance, h.c.room, _app().label("people"),
                    _app(R.c.read_at.is_not(None)).label("read"), _app(R.c.acked_at.is_not(None)).label("acked"),
                )
                .join(h, h.c.id == R.c.household_id)
                .where(R.c.notice_id == notice.id, R.c.building_id == building_id)
                .group_by(h.c.id, h.c.entrance, h.c.room)
                .order_by(h.c.entrance, h.c.room)
            )
        ).all()  # fmt: skip
        households = [
            HouseholdReceipts(
                household_id=r.id,
                entrance=r.entrance,
                room=r.room,
                people=r.people,
                read=r.read,
                acked=r.acked,
            )
            for r in hrows
        ]
    reach = await offline.household_reach(ctx.session, notice)
    return ReceiptsOut(
        notice_id=notice.id or 0,
        requires_ack=notice.requires_ack,
        people=people,
        delivered=sum(x.delivered for x in buildings),
        read=read,
        acked=acked,
        read_rate=reach.rate,
        people_read_rate=round(read / people, 4) if people else 0.0,
        households_total=reach.total,
        households_reached=reach.reached,
        households_by_app=reach.by_app,
        households_by_sms=reach.by_sms,
        households_by_paper=reach.by_paper,
        ack_rate=(round(acked / people, 4) if people else 0.0) if notice.requires_ack else None,
        buildings=buildings,
        households=households,
    )


PAPER_RECORDERS = frozenset({Role.property_staff, Role.grid_worker})


async def record_paper(ctx: Ctx, notice_id: int, body: PaperReceiptsIn) -> PaperReceiptsOut:
    """Staff or a grid worker record households that have the notice on paper."""
    p = ctx.require_principal()
    notice = await load_notice(ctx, notice_id, lock=True)
    if not (
        can_manage(p, notice)
        or oversees(p, notice.community_id)
        or PAPER_RECORDERS & p.roles_in(notice.community_id)
    ):
        raise Forbidden()
    if notice.status not in (NoticeStatus.published, NoticeStatus.expired):
        raise Conflict("notice.invalid_transition", details={"status": notice.status})
    recorded, already, outside = await offline.record_paper(
        ctx.session, notice, list(body.household_ids), p.user_id, utcnow()
    )
    if outside:
        raise InvalidInput("notice.household_not_in_audience", details={"household_ids": outside})
    if recorded:
        await audit.record(
            ctx, "notice.paper_receipts", "notice", notice.id, community_id=notice.community_id,
            after={"households": recorded},
        )  # fmt: skip
    return PaperReceiptsOut(notice_id=notice.id or 0, recorded=recorded, already=already)


async def missing(
    ctx: Ctx, notice_id: int, what: str, building_id: int | None, limit: int, cursor: str | None
) -> Page[MissingOut]:
    """Recipients who have not read (what=read) or not acknowledged (what=ack) yet, by receipt id."""
    notice = await load_managed(ctx, notice_id, lock=False)
    u, h, b = (t.__table__ for t in (User, Household, Building))  # type: ignore[union-attr]
    stmt = (
        sa.select(R.c.id, R.c.user_id, u.c.name, b.c.name.label("building_name"), h.c.entrance, h.c.room,
                  R.c.read_at, R.c.acked_at)
        .join(u, u.c.id == R.c.user_id)
        .outerjoin(h, h.c.id == R.c.household_id)
        .outerjoin(b, b.c.id == R.c.building_id)
        .where(R.c.notice_id == notice.id, R.c.id > (id_after(cursor) or 0))
        .where((R.c.acked_at if what == "ack" else R.c.read_at).is_(None))
        .order_by(R.c.id)
        .limit(limit)
    )  # fmt: skip
    if building_id is not None:
        stmt = stmt.where(R.c.building_id == building_id)
    rows = (await ctx.session.execute(stmt)).all()
    items = [
        MissingOut(
            user_id=r.user_id, name=r.name, building_name=r.building_name, entrance=r.entrance, room=r.room,
            read_at=r.read_at, acked_at=r.acked_at,
        )
        for r in rows
    ]  # fmt: skip
    if items:
        await reads.record_read(
            ctx, "read.notice_non_readers", purpose="notice_follow_up", community_id=notice.community_id,
            entity="notice", entity_id=notice.id, subjects=[i.user_id for i in items], detail={"what": what},
        )  # fmt: skip
    return Page[MissingOut](items=items, next_cursor=next_id_cursor([r.id for r in rows], limit))


async def remind(ctx: Ctx, notice_id: int, what: str | None) -> RemindOut:
    """One action: notify everyone in the audience who has not read (or acknowledged) it yet."""
    notice = await load_managed(ctx, notice_id)
    if notice.status != NoticeStatus.published:
        raise Conflict("notice.invalid_transition", details={"status": notice.status})
    what = what or ("ack" if notice.requires_ack else "read")
    if what == "ack" and not notice.requires_ack:
        raise InvalidInput("notice.ack_not_required")
    now = utcnow()
    if notice.last_reminded_at is not None and now - notice.last_reminded_at < REMIND_SPACING:
        raise Conflict(
            "notice.remind_too_soon", details={"last_reminded_at": notice.last_reminded_at.isoformat()}
        )
    users = await audience.recipient_ids(
        ctx.session, notice.id or 0, unread=what == "read", unacked=what == "ack"
    )
    if not users:
        raise Conflict("notice.nobody_to_remind")
    notice.reminders_sent += 1
    notice.last_reminded_at = now
    ctx.session.add(notice)
    await ctx.session.flush()
    fanout_id = await send(
        ctx.session, notice, users, f"notice.remind_{what}",
        f"notice:{notice.id}:remind:{notice.reminders_sent}",
    )  # fmt: skip
    await audit.record(
        ctx, "notice.remind", "notice", notice.id, community_id=notice.community_id,
        after={"what": what, "recipients": len(users), "n": notice.reminders_sent},
    )  # fmt: skip
    return RemindOut(
        notice_id=notice.id or 0, what=what, recipients=len(users), reminders_sent=notice.reminders_sent,
        fanout_id=fanout_id,
    )  # fmt: skip
