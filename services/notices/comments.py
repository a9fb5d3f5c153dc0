"""Publicity (公示): comments and formal objections inside the window, official answers, rounds."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from services import audit
from services.access import Principal
from services.consent.state import shows_name_on_comments
from services.errors import Forbidden, InvalidInput, NotFound
from services.models import Building, Household, Role, User, utcnow
from services.models.notices import Notice, NoticeComment, NoticeKind, NoticeStatus
from services.notices.common import can_see, load_managed, load_notice, receipt_of
from services.notices.publishing import send
from services.notices.schemas import AnswerIn, CommentIn, CommentOut, HistoryItem
from services.pagination import id_after, next_id_cursor
from services.privacy import resident_label
from services.runtime import Ctx
from services.schemas import Page

C = NoticeComment.__table__  # type: ignore[attr-defined]


async def add_comment(ctx: Ctx, notice_id: int, body: CommentIn) -> CommentOut:
    """Audience members only (others, pending claimants included: 404), inside the window."""
    p = ctx.require_principal()
    notice = await load_notice(ctx, notice_id)
    receipt = await receipt_of(ctx, notice.id or 0, p.user_id)
    if receipt is None:
        if notice.audience_type != "community" or notice.status not in (
            NoticeStatus.published,
            NoticeStatus.expired,
        ):
            raise NotFound("notice.not_found")
        if notice.community_id not in p.member_community_ids:
            raise Forbidden("access.unverified")
    if notice.kind != NoticeKind.publicity:
        raise InvalidInput("notice.comments_not_allowed")
    now = utcnow()
    closes = notice.comment_closes_at
    if notice.status != NoticeStatus.published or closes is None or now >= closes:
        raise InvalidInput(
            "notice.window_closed", details={"closed_at": closes.isoformat() if closes else None}
        )
    homes = sorted(p.households.get(notice.community_id, {}))
    household_id = receipt.household_id if receipt else (homes[0] if homes else None)
    row = NoticeComment(
        notice_id=notice.id or 0,
        user_id=p.user_id,
        household_id=household_id,
        body=body.body,
        is_objection=body.is_objection,
        signed=body.signed
        if body.signed is not None
        else await shows_name_on_comments(ctx.session, p.user_id),
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(
        ctx, "notice.comment", "notice_comment", row.id, community_id=notice.community_id,
        after={"notice_id": notice.id, "objection": row.is_objection},
    )  # fmt: skip
    return (await _comments(ctx, [NoticeComment.id == row.id], 1))[0]


async def answer(ctx: Ctx, notice_id: int, comment_id: int, body: AnswerIn) -> CommentOut:
    """The author's official answer to an objection (answering again replaces it, with an audit row)."""
    notice = await load_managed(ctx, notice_id)
    row = (
        await ctx.session.exec(
            select(NoticeComment)
            .where(NoticeComment.id == comment_id, NoticeComment.notice_id == notice.id)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound("notice.comment_not_found")
    if not row.is_objection:
        raise InvalidInput("notice.not_objection")
    before = row.answer_body
    row.answer_body = body.body
    row.answered_by = ctx.require_principal().user_id
    row.answered_at = utcnow()
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(
        ctx, "notice.answer", "notice_comment", row.id, community_id=notice.community_id,
        before={"answer": before}, after={"answer": row.answer_body},
    )  # fmt: skip
    await send(
        ctx.session, notice, [row.user_id], "notice.objection_answered",
        f"notice:{notice.id}:answer:{row.id}:{row.answered_at.isoformat()}", category="notice",
    )  # fmt: skip
    return (await _comments(ctx, [NoticeComment.id == row.id], 1))[0]


async def list_comments(
    ctx: Ctx, notice_id: int, objections_only: bool, limit: int, cursor: str | None
) -> Page[CommentOut]:
    """Comments in the order they came, for everyone who may see the notice (a public record)."""
    notice = await load_notice(ctx, notice_id)
    where: list[Any] = [NoticeComment.notice_id == notice.id, col(NoticeComment.id) > (id_after(cursor) or 0)]
    if objections_only:
        where.append(col(NoticeComment.is_objection).is_(True))
    items = await _comments(ctx, where, limit)
    return Page[CommentOut](items=items, next_cursor=next_id_cursor([i.id for i in items], limit))


def _sees_names(p: Principal, community_id: int) -> bool:
    """The committee reads every author's name (objections are answered on the record)."""
    return p.is_platform_admin or Role.committee_member in p.roles_in(community_id)


async def _comments(ctx: Ctx, where: list[Any], limit: int) -> list[CommentOut]:
    """Unsigned comments show other residents only the building ('1号楼 住户'); the author and the
    committee see the name and the flat."""
    p = ctx.require_principal()
    u, h, b = (t.__table__ for t in (User, Household, Building))  # type: ignore[union-attr]
    n = Notice.__table__  # type: ignore[attr-defined]
    stmt = (
        sa.select(
            C,
            u.c.name.label("user_name"),
            b.c.name.label("building_name"),
            h.c.entrance,
            h.c.room,
            n.c.community_id,
        )
        .join(u, u.c.id == C.c.user_id)
        .join(n, n.c.id == C.c.notice_id)
        .outerjoin(h, h.c.id == C.c.household_id)
        .outerjoin(b, b.c.id == h.c.building_id)
        .where(*where)
        .order_by(C.c.id)
        .limit(limit)
    )
    rows = (await ctx.session.execute(stmt)).all()
    out = []
    for r in rows:
        named = r.signed or r.user_id == p.user_id or _sees_names(p, r.community_id)
        flat = f"{r.building_name}{r.entrance}{r.room}" if r.building_name else None
        out.append(
            CommentOut(
                id=r.id, notice_id=r.notice_id, user_id=r.user_id if named else None,
                user_name=r.user_name if named else resident_label(r.building_name, ctx.locale),
                household_label=flat if named else None, signed=r.signed, name_masked=not named,
                body=r.body, is_objection=r.is_objection, answer_body=r.answer_body,
                answered_by=r.answered_by, answered_at=r.answered_at, created_at=r.created_at,
            )
        )  # fmt: skip
    return out


async def history(ctx: Ctx, notice_id: int) -> list[HistoryItem]:
    """The rounds chain this notice belongs to, first round first ('first publicity → changes → second
    publicity'). Rounds the caller may not see (e.g. a colleague's draft) are left out."""
    p = ctx.require_principal()
    notice = await load_notice(ctx, notice_id)
    chain: list[Notice] = [notice]
    while chain[0].previous_id is not None and len(chain) < 50:
        prev = await ctx.session.get(Notice, chain[0].previous_id)
        if prev is None:
            break
        chain.insert(0, prev)
    while len(chain) < 50:
        nxt = (await ctx.session.exec(select(Notice).where(Notice.previous_id == chain[-1].id))).first()
        if nxt is None:
            break
        chain.append(nxt)
    ids = [n.id for n in chain]
    counts = {
        r.notice_id: r
        for r in (
            await ctx.session.execute(
                sa.select(
                    C.c.notice_id,
                    sa.func.count().label("comments"),
                    sa.func.count(sa.case((C.c.is_objection.is_(True), 1))).label("objections"),
                    sa.func.count(sa.case((sa.and_(C.c.is_objection.is_(True), C.c.answered_at.is_not(None)), 1))).label("answered"),
                )
                .where(C.c.notice_id.in_(ids))
                .group_by(C.c.notice_id)
            )
        ).all()
    }  # fmt: skip
    out = []
    for n in chain:
        if not await can_see(ctx, p, n):
            continue
        c = counts.get(n.id)
        out.append(
            HistoryItem(
                id=n.id or 0, round=n.round, title=n.title, status=n.status, published_at=n.published_at,
                comment_closes_at=n.comment_closes_at, outcome=n.outcome, outcome_detail=n.outcome_detail,
                change_summary=n.change_summary, comments=c.comments if c else 0,
                objections=c.objections if c else 0, objections_answered=c.answered if c else 0,
            )
        )  # fmt: skip
    return out
