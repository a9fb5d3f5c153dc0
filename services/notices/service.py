"""Notices: create and edit drafts, publish or schedule, withdraw, revise (rounds), attachments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from services import access, audit
from services.attachments.schemas import AttachmentOut
from services.attachments.service import DOCUMENT_TYPES, PreparedUpload, list_for, store_upload
from services.communities.common import load_community
from services.deferred_writes import defer_write
from services.errors import Conflict, Forbidden, InvalidInput
from services.models import User, utcnow
from services.models.notices import Notice, NoticeKind, NoticeStatus
from services.notices import audience, feed
from services.notices.common import (
    AUTHOR_ROLES,
    DEFAULT_WINDOW_DAYS,
    MIN_WINDOW_DAYS,
    UNPUBLISHED,
    can_manage,
    load_managed,
    load_notice,
    receipt_of,
)
from services.notices.publishing import publish_now, send
from services.notices.schemas import (
    MyReceipt,
    NoticeCreate,
    NoticeOut,
    NoticeRef,
    NoticeUpdate,
    PublishIn,
    RevisionIn,
    WithdrawIn,
)
from services.runtime import Ctx

MAX_ATTACHMENTS = 9
# Fields a published notice keeps fixed: change them by posting a revision (round 2).
CONTENT_FIELDS = frozenset(
    {
        "title",
        "body_md",
        "audience_type",
        "audience_building_ids",
        "audience_roles",
        "requires_ack",
        "offline_reach",
        "comment_window_days",
    }
)


def _window_days(kind: str, days: int | None) -> int | None:
    if kind != NoticeKind.publicity:
        if days is not None:
            raise InvalidInput("notice.window_not_allowed")
        return None
    if days is None:
        return DEFAULT_WINDOW_DAYS
    if days < MIN_WINDOW_DAYS:
        raise InvalidInput("notice.window_too_short", details={"min_days": MIN_WINDOW_DAYS})
    return days


def _check_times(publish_at: datetime | None, expires_at: datetime | None, now: datetime) -> None:
    if publish_at is not None and publish_at <= now:
        raise InvalidInput("notice.publish_at_past")
    if expires_at is not None and expires_at <= (publish_at or now):
        raise InvalidInput("notice.invalid_expiry")


def _author_role(ctx: Ctx, community_id: int, wanted: str | None) -> str:
    p = ctx.require_principal()
    access.require_community(p, community_id, AUTHOR_ROLES)
    held = [r for r in AUTHOR_ROLES if r in p.roles_in(community_id)]
    if wanted is None:
        if held:
            return held[0]
        if p.is_platform_admin:
            return "community_admin"
        raise Forbidden()
    if wanted not in held and not p.is_platform_admin:
        raise Forbidden("notice.invalid_author_role")
    return wanted


async def create_notice(ctx: Ctx, community_id: int, body: NoticeCreate) -> NoticeOut:
    p = ctx.require_principal()
    role = _author_role(ctx, community_id, body.author_role)
    await load_community(ctx, community_id)
    now = utcnow()
    _check_times(body.publish_at, body.expires_at, now)
    buildings, roles = await audience.validate(
        ctx.session,
        community_id,
        body.audience_type,
        body.audience_building_ids,
        [str(r) for r in body.audience_roles],
    )
    notice = Notice(
        community_id=community_id,
        author_id=p.user_id,
        author_role=role,
        kind=body.kind,
        title=body.title,
        body_md=body.body_md,
        audience_type=body.audience_type,
        audience_building_ids=buildings,
        audience_roles=roles,
        pinned=body.pinned,
        requires_ack=body.requires_ack,
        offline_reach=audience.check_offline(body.offline_reach, body.audience_type),
        expires_at=body.expires_at,
        comment_window_days=_window_days(body.kind, body.comment_window_days),
        publish_at=body.publish_at,
        status=NoticeStatus.scheduled if body.publish_at else NoticeStatus.draft,
    )
    ctx.session.add(notice)
    await ctx.session.flush()
    await audit.record(
        ctx, "notice.create", "notice", notice.id, community_id=community_id,
        after={"kind": notice.kind, "status": notice.status, "title": notice.title},
    )  # fmt: skip
    return await notice_out(ctx, notice)


async def update_notice(ctx: Ctx, notice_id: int, body: NoticeUpdate) -> NoticeOut:
    notice = await load_managed(ctx, notice_id)
    if body.version != notice.version:
        raise Conflict("notice.version_conflict", details={"version": notice.version})
    fields = body.model_fields_set - {"version"}
    if notice.status not in UNPUBLISHED:
        if notice.status != NoticeStatus.published:
            raise Conflict("notice.invalid_transition", details={"status": notice.status})
        if fields & CONTENT_FIELDS:
            raise Conflict("notice.published_immutable", details={"fields": sorted(fields & CONTENT_FIELDS)})
    now = utcnow()
    if "expires_at" in fields:
        _check_times(None, body.expires_at, max(now, notice.publish_at or now))
        notice.expires_at = body.expires_at
    if body.audience_type is not None or "audience_building_ids" in fields or "audience_roles" in fields:
        a_type = body.audience_type or notice.audience_type
        notice.audience_building_ids, notice.audience_roles = await audience.validate(
            ctx.session,
            notice.community_id,
            a_type,
            body.audience_building_ids
            if body.audience_building_ids is not None
            else notice.audience_building_ids,
            [str(r) for r in body.audience_roles]
            if body.audience_roles is not None
            else notice.audience_roles,
        )
        notice.audience_type = a_type
    if "comment_window_days" in fields:
        notice.comment_window_days = _window_days(notice.kind, body.comment_window_days)
    if body.offline_reach is not None:
        notice.offline_reach = body.offline_reach
    notice.offline_reach = audience.check_offline(notice.offline_reach, notice.audience_type)
    for name in ("title", "body_md", "requires_ack", "pinned"):
        value = getattr(body, name)
        if value is not None:
            setattr(notice, name, value)
    notice.version += 1
    notice.updated_at = now
    ctx.session.add(notice)
    await ctx.session.flush()
    await audit.record(
        ctx, "notice.update", "notice", notice.id, community_id=notice.community_id,
        after={"fields": ",".join(sorted(fields)), "version": notice.version},
    )  # fmt: skip
    return await notice_out(ctx, notice)


async def publish(ctx: Ctx, notice_id: int, body: PublishIn) -> NoticeOut:
    """Now, or at a future `publish_at` (scheduled; the scheduler's `publish_due` job publishes it)."""
    notice = await load_managed(ctx, notice_id)
    if notice.status not in UNPUBLISHED:
        raise Conflict("notice.invalid_transition", details={"status": notice.status})
    now = utcnow()
    _check_times(body.publish_at, notice.expires_at, now)
    before = notice.status
    if body.publish_at is not None:
        notice.status = NoticeStatus.scheduled
        notice.publish_at = body.publish_at
        notice.version += 1
        notice.updated_at = now
        ctx.session.add(notice)
        await ctx.session.flush()
    else:
        notice.publish_at = None
        await publish_now(ctx.session, notice, now)
    await audit.record(
        ctx, "notice.publish", "notice", notice.id, community_id=notice.community_id,
        before={"status": before}, after={"status": notice.status, "publish_at": notice.publish_at},
    )  # fmt: skip
    return await notice_out(ctx, notice)


async def withdraw(ctx: Ctx, notice_id: int, body: WithdrawIn) -> NoticeOut:
    """Scheduled or published → withdrawn. The record stays (with why); readers are told."""
    notice = await load_managed(ctx, notice_id)
    if notice.status not in (NoticeStatus.scheduled, NoticeStatus.published):
        raise Conflict("notice.invalid_transition", details={"status": notice.status})
    before = notice.status
    now = utcnow()
    notice.status = NoticeStatus.withdrawn
    notice.withdrawn_reason = body.reason
    notice.withdrawn_at = now
    notice.pinned = False
    notice.version += 1
    notice.updated_at = now
    ctx.session.add(notice)
    await ctx.session.flush()
    if before == NoticeStatus.published:
        readers = await audience.recipient_ids(ctx.session, notice.id or 0, read=True)
        await send(
            ctx.session, notice, readers, "notice.withdrawn", f"notice:{notice.id}:withdrawn",
            category="notice", reason=body.reason,
        )  # fmt: skip
    await audit.record(
        ctx, "notice.withdraw", "notice", notice.id, community_id=notice.community_id,
        before={"status": before}, after={"status": notice.status, "reason": body.reason},
    )  # fmt: skip
    return await notice_out(ctx, notice)


async def revise(ctx: Ctx, notice_id: int, body: RevisionIn) -> NoticeOut:
    """A new draft round linked to this one ('first publicity → changes → second publicity')."""
    source = await load_managed(ctx, notice_id)
    if source.status in UNPUBLISHED:
        raise Conflict("notice.invalid_transition", details={"status": source.status})
    existing = (await ctx.session.exec(select(Notice.id).where(Notice.previous_id == source.id))).first()
    if existing is not None:
        raise Conflict("notice.revision_exists", details={"revision_id": existing})
    _check_times(None, body.expires_at, utcnow())
    days = body.comment_window_days if body.comment_window_days is not None else source.comment_window_days
    revision = Notice(
        community_id=source.community_id,
        author_id=ctx.require_principal().user_id,
        author_role=source.author_role,
        kind=source.kind,
        title=body.title or source.title,
        body_md=body.body_md or source.body_md,
        audience_type=source.audience_type,
        audience_building_ids=list(source.audience_building_ids),
        audience_roles=list(source.audience_roles),
        pinned=source.pinned,
        requires_ack=source.requires_ack,
        offline_reach=source.offline_reach,
        expires_at=body.expires_at,
        comment_window_days=_window_days(source.kind, days),
        round=source.round + 1,
        previous_id=source.id,
        change_summary=body.change_summary,
    )
    ctx.session.add(revision)
    try:
        async with ctx.session.begin_nested():
            await ctx.session.flush()
    except IntegrityError as exc:
        raise Conflict("notice.revision_exists") from exc
    await audit.record(
        ctx, "notice.revise", "notice", revision.id, community_id=source.community_id,
        after={"previous_id": source.id, "round": revision.round},
    )  # fmt: skip
    return await notice_out(ctx, revision)


async def add_attachment(ctx: Ctx, notice_id: int, upload: PreparedUpload) -> AttachmentOut:
    """Images and PDFs, checked from their bytes like ticket photos; at most 9; unpublished only."""
    notice = await load_managed(ctx, notice_id)
    if notice.status not in UNPUBLISHED:
        raise Conflict("notice.published_immutable")
    return await store_upload(
        ctx,
        community_id=notice.community_id,
        owner_type="notice",
        owner_id=notice.id or 0,
        purpose="document",
        upload=upload,
        allowed=DOCUMENT_TYPES,
        max_count=MAX_ATTACHMENTS,
    )


async def get_notice(ctx: Ctx, notice_id: int) -> NoticeOut:
    """The detail; opening it in the app marks the caller's receipt delivered."""
    notice = await load_notice(ctx, notice_id)
    return await notice_out(ctx, notice, mark_delivered=True)


async def get_notice_for_poll(ctx: Ctx, notice_id: int) -> NoticeRef:
    """For the polls area: a notice the caller may see (404 otherwise)."""
    n = await load_notice(ctx, notice_id)
    return NoticeRef(
        id=n.id or 0, community_id=n.community_id, kind=n.kind, title=n.title, status=n.status,
        round=n.round, audience_type=n.audience_type,
        audience_building_ids=list(n.audience_building_ids), audience_roles=list(n.audience_roles),
    )  # fmt: skip


async def notice_out(ctx: Ctx, n: Notice, *, mark_delivered: bool = False) -> NoticeOut:
    p = ctx.require_principal()
    assert n.id is not None
    author = await ctx.session.get(User, n.author_id)
    receipt = await receipt_of(ctx, n.id, p.user_id)
    mine = MyReceipt.model_validate(receipt) if receipt else None
    if mine is not None and mark_delivered and mine.delivered_at is None:
        # Recorded after the read, in a write transaction of its own (a GET never takes the write lock).
        mine.delivered_at = utcnow()
        defer_write(ctx.session, feed.mark_delivered(p.user_id, [n.id], mine.delivered_at))
    next_id = (await ctx.session.exec(select(Notice.id).where(Notice.previous_id == n.id))).first()
    now = utcnow()
    return NoticeOut(
        **n.model_dump(exclude={"reminders_sent", "last_reminded_at"}),
        author_name=author.name if author else "",
        window_open=bool(
            n.status == NoticeStatus.published and n.comment_closes_at and n.comment_closes_at > now
        ),
        next_id=next_id,
        attachments=await list_for(ctx, "notice", n.id),
        my_receipt=mine,
        can_manage=can_manage(p, n),
    )
