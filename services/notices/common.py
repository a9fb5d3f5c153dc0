"""Shared rules of the notices area: who may author and manage, who may see, loading with access."""

from __future__ import annotations

from sqlmodel import col, select

import services.models.notices  # registers the tables on the metadata
import services.notices.messages  # registers the error codes
import services.notices.templates  # noqa: F401  (registers the notification templates)
from services import access
from services.access import Principal
from services.errors import NotFound
from services.models import Role
from services.models.notices import AudienceType, Notice, NoticeReceipt, NoticeStatus
from services.runtime import Ctx

# Who may post: the committee, the property company (via its contract), the party branch, the
# community office. The role signs the notice ("业委会发布"); colleagues holding it may manage it.
AUTHOR_ROLES: tuple[str, ...] = (
    Role.committee_member,
    Role.property_manager,
    Role.party_secretary,
    Role.community_admin,
)
# Staff who see every published notice of their community, whatever its audience.
OVERSIGHT_ROLES = frozenset({*AUTHOR_ROLES, Role.grid_worker})
UNPUBLISHED = (NoticeStatus.draft, NoticeStatus.scheduled)
VISIBLE_STATUSES = (NoticeStatus.published, NoticeStatus.expired, NoticeStatus.withdrawn)
DEFAULT_WINDOW_DAYS = 5
MIN_WINDOW_DAYS = 5
FANOUT_THRESHOLD = 500


def can_manage(p: Principal, notice: Notice) -> bool:
    """The author, or a colleague holding the role that signed it (or a community admin)."""
    if p.is_platform_admin or notice.author_id == p.user_id:
        return True
    roles = p.roles_in(notice.community_id)
    return notice.author_role in roles or Role.community_admin in roles


def oversees(p: Principal, community_id: int) -> bool:
    return p.is_platform_admin or bool(OVERSIGHT_ROLES & p.roles_in(community_id))


async def load_notice(ctx: Ctx, notice_id: int, *, lock: bool = False) -> Notice:
    """A notice the caller may see, or 404. Drafts and scheduled notices only for their managers;
    published ones for their audience (receipt), everyone in the community when addressed to the
    whole community (verified members; never a pending claimant), and the community's staff."""
    p = ctx.require_principal()
    stmt = select(Notice).where(Notice.id == notice_id, access.community_filter(p, col(Notice.community_id)))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    notice = (await ctx.session.exec(stmt)).first()
    if notice is None or not await can_see(ctx, p, notice):
        raise NotFound("notice.not_found")
    return notice


async def can_see(ctx: Ctx, p: Principal, notice: Notice) -> bool:
    if notice.status in UNPUBLISHED:
        return can_manage(p, notice)
    if can_manage(p, notice) or oversees(p, notice.community_id):
        return True
    if notice.audience_type == AudienceType.community:
        return True  # community_filter already limited it to the caller's communities
    return await receipt_of(ctx, notice.id or 0, p.user_id) is not None


async def load_managed(ctx: Ctx, notice_id: int, *, lock: bool = True) -> Notice:
    """A notice the caller may change: 404 when invisible, 403 when visible but not theirs."""
    from services.errors import Forbidden

    notice = await load_notice(ctx, notice_id, lock=lock)
    if not can_manage(ctx.require_principal(), notice):
        raise Forbidden()
    return notice


async def receipt_of(ctx: Ctx, notice_id: int, user_id: int) -> NoticeReceipt | None:
    row: NoticeReceipt | None = (
        await ctx.session.exec(
            select(NoticeReceipt).where(
                NoticeReceipt.notice_id == notice_id, NoticeReceipt.user_id == user_id
            )
        )
    ).first()
    return row
