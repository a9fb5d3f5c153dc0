"""Audited reads (PIPL art. 51): when staff read someone else's personal data, one INSERT records who
read, whose data, what and why — one audit row per subject, all rows in one statement per request.

Subjects are app accounts: the verified residents of the households read (their household's people
and rooms), the reporter whose phone a call relay reached, a claimant whose claim was reviewed. A
record of a person without an account (an occupant staff entered) is still one row, with no subject:
the admin search finds it by entity. A person reading their own data is not audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.deferred_writes import Write, defer_write
from services.models import AuditLog, Membership, MembershipStatus, Role, utcnow
from services.runtime import Ctx

# action -> (zh-CN, en): what was read, in the resident's access log.
READ_ACTIONS: dict[str, tuple[str, str]] = {
    "read.household_register": ("查看房屋名册", "Read the household register"),
    "read.household_occupants": ("查看住户成员", "Read a household's occupants"),
    "read.occupant": ("查看住户成员详情", "Read an occupant's record"),
    "read.occupant_search": ("按电话或姓名查找住户", "Looked up occupants by phone or name"),
    "read.claims": ("审核房屋认证申请", "Reviewed household claims"),
    "read.resident_phone": ("通过隐私号码联系您", "Called you through the privacy relay number"),
    "read.ticket_contact": ("查看工单联系人（姓名、地址）", "Read a ticket's contact card (name, address)"),
    "read.notice_non_readers": ("查看公告未读/未确认名单", "Read who has not read or acknowledged a notice"),
    "read.personal_export": ("导出个人信息副本", "Exported a copy of personal data"),
}
# purpose -> (zh-CN, en): why.
PURPOSES: dict[str, tuple[str, str]] = {
    "household_management": ("房屋与住户管理", "Household management"),
    "front_desk": ("前台接待来电", "Front desk: identifying a caller"),
    "claim_review": ("房屋认证审核", "Household claim review"),
    "ticket_service": ("报修/投诉处理", "Handling a repair or complaint"),
    "notice_follow_up": ("公告送达跟进", "Following up a notice's delivery"),
    "data_access_request": ("本人查阅复制个人信息", "The person's own access request"),
}


async def household_residents(ctx: Ctx, household_ids: Iterable[int]) -> list[int]:
    """Verified residents (app accounts) of these households: the subjects of a household read."""
    ids = sorted(set(household_ids))
    if not ids:
        return []
    rows = await ctx.session.exec(
        select(Membership.user_id)
        .where(
            col(Membership.household_id).in_(ids),
            Membership.role == Role.resident,
            Membership.status == MembershipStatus.verified,
        )
        .distinct()
    )
    return sorted({int(u) for u in rows.all()})


async def record_read(
    ctx: Ctx,
    action: str,
    *,
    purpose: str,
    community_id: int | None,
    entity: str,
    entity_id: Any = None,
    subjects: Iterable[int] = (),
    detail: dict[str, Any] | None = None,
) -> None:
    """One INSERT: a row per subject other than the reader (or one row without a subject)."""
    assert action in READ_ACTIONS and purpose in PURPOSES
    actor = ctx.principal.user_id if ctx.principal else None
    given = {int(s) for s in subjects}
    people = sorted(given - {actor} if actor is not None else given)
    if actor is not None and given == {actor}:
        return  # the reader's own data
    now = utcnow()
    roles = sorted(ctx.principal.roles_in(community_id)) if ctx.principal and community_id else []
    if ctx.principal is not None and ctx.principal.is_platform_admin:
        roles.append("platform_admin")
    base = {
        "actor_id": actor,
        "community_id": community_id,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "after": {**(detail or {}), "actor_roles": ",".join(roles)},
        "ip": ctx.ip,
        "request_id": ctx.request_id,
        "purpose": purpose,
        "created_at": now,
    }
    rows = [{**base, "subject_user_id": s} for s in people] or [{**base, "subject_user_id": None}]
    stmt = sa.insert(AuditLog).values(rows)
    if read_only(ctx.session):
        defer_write(ctx.session, _insert(stmt))
    else:
        await ctx.session.execute(stmt)


def read_only(session: AsyncSession) -> bool:
    """A GET on embedded SQLite runs in a read (DEFERRED) transaction that must not write
    (services/deferred_writes.py): the audit row then goes in right after, in its own write
    transaction. On PostgreSQL the row is written in the read's own transaction."""
    bind = session.bind
    sync = getattr(bind, "sync_engine", None)
    return sync is not None and sync.get_execution_options().get("sqlite_begin") == "DEFERRED"


def _insert(stmt: Any) -> Write:
    async def write(session: AsyncSession) -> None:
        await session.execute(stmt)

    return write
