"""Account deletion (注销, PIPL art. 47): a request with re-authentication, a 15-day cooling-off that a
login cancels, then erasure by the scheduler (workers/tasks/accounts.py).

Erasure keeps the `user_account` row and its id, so what others rely on stays as it was: tickets (and
so the KPIs) keep their reporter, ballots keep their voter id, household and weight (the chain covers
them and still verifies), service hours stay on the party organisation's ledger, each under the
placeholder name "已注销用户". What identifies the person goes: name, phone (replaced by
`deleted-<id>`), password, devices, refresh tokens, idempotency replays, notification preferences and
quiet hours, the duty contact preference, the inbox, login state keyed by the phone, memberships
(revoked), and the photos they attached to their own tickets (their home); a photo on someone else's
ticket is that ticket's evidence and stays. One user is erased in one transaction: a crash rolls it
back whole and the next run starts that user again, so nobody is left half-anonymised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession as SaSession
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services import audit
from services.errors import Conflict, Forbidden, Unauthorized
from services.i18n import Locale, message, register
from services.models import (
    Attachment,
    AuditLog,
    DirectUpload,
    Membership,
    MembershipStatus,
    PrivacyExport,
    RefreshToken,
    User,
    utcnow,
)
from services.models.auth import IdempotencyRecord, OtpChallenge, RateLimitWindow
from services.models.duty import DutyContactPref, DutyShift, DutyShiftAssignee, ShiftStatus
from services.models.notifications import Delivery, Device, Notification, NotificationPreference, QuietHours
from services.models.tickets import OPEN_STATUSES, Ticket
from services.runtime import Ctx
from services.users.schemas import DeletionIn, DeletionOut

COOLING_OFF_DAYS = 15
PLACEHOLDER_NAME = "已注销用户"

register(
    {
        "account.reauth_required": (
            "注销账号须重新验证身份：请提供短信验证码或密码",
            "Deleting the account needs re-authentication: give an SMS code or your password",
        ),
        "account.reauth_failed": ("身份验证失败", "Re-authentication failed"),
        "account.open_assignments": (
            "您还有未完成的工单或值班，请先移交后再注销",
            "You still hold open tickets or duty shifts; hand them over before deleting the account",
        ),
        "account.deletion_pending": (
            "账号已申请注销，将于冷静期结束后删除",
            "The account is already scheduled for deletion",
        ),
        "account.deletion_cancelled": (
            "您在冷静期内重新登录，账号注销申请已撤销",
            "You logged in during the cooling-off period: your account deletion has been cancelled",
        ),
    }
)


async def open_assignments(session: AsyncSession, user_id: int, now: datetime) -> dict[str, int]:
    """What a staff member must hand over first: open tickets assigned to them, duty shifts to come."""
    tickets = (
        await session.exec(
            select(sa.func.count())
            .select_from(Ticket)
            .where(Ticket.assignee_id == user_id, col(Ticket.status).in_(list(OPEN_STATUSES)))
        )
    ).one()
    shifts = (
        await session.exec(
            select(sa.func.count())
            .select_from(DutyShiftAssignee)
            .join(DutyShift, col(DutyShift.id) == DutyShiftAssignee.shift_id)
            .where(
                DutyShiftAssignee.user_id == user_id,
                DutyShift.status == ShiftStatus.scheduled,
                col(DutyShift.ends_at) > now,
            )
        )
    ).one()
    return {"tickets": int(tickets), "shifts": int(shifts)}


async def _reauthenticate(ctx: Ctx, user: User, body: DeletionIn) -> None:
    """The same checks (and rate limits) as a login with that phone."""
    from services.auth.service import _login_with_code, _login_with_password

    if (body.code is None) == (body.password is None):
        raise Forbidden("account.reauth_required")
    if body.code is not None:
        await _login_with_code(ctx, user.phone, body.code)
        return
    try:
        await _login_with_password(ctx, user.phone, body.password or "")
    except Unauthorized as exc:
        raise Forbidden("account.reauth_failed", keep_changes=True) from exc


async def request_deletion(ctx: Ctx, body: DeletionIn) -> DeletionOut:
    principal = ctx.require_principal()
    user = (
        await ctx.session.exec(
            select(User)
            .where(User.id == principal.user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    if user.deletion_due_at is not None:
        raise Conflict(
            "account.deletion_pending", details={"deletion_due_at": user.deletion_due_at.isoformat()}
        )
    await _reauthenticate(ctx, user, body)
    now = utcnow()
    held = await open_assignments(ctx.session, principal.user_id, now)
    if any(held.values()):
        raise Conflict("account.open_assignments", details=held)
    user.deletion_requested_at = now
    user.deletion_due_at = now + timedelta(days=COOLING_OFF_DAYS)
    ctx.session.add(user)
    # Logged out everywhere: every refresh token revoked, pushes stop; logging in again cancels.
    await ctx.session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user.id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    await ctx.session.execute(
        update(Device)
        .where(col(Device.user_id) == user.id, col(Device.disabled_at).is_(None))
        .values(disabled_at=now, disabled_reason="account_deletion")
    )
    await ctx.session.flush()
    await audit.record(
        ctx,
        "account.deletion_request",
        "user",
        user.id,
        after={"deletion_due_at": user.deletion_due_at.isoformat()},
    )
    return DeletionOut(
        deletion_requested_at=now,
        deletion_due_at=user.deletion_due_at,
        cooling_off_days=COOLING_OFF_DAYS,
        message=message("account.deletion_pending", ctx.locale),
    )


def cancel_on_login(user: User, now: datetime, locale: Locale) -> str | None:
    """A login during the cooling-off cancels the deletion; returns what to tell the user."""
    if user.deletion_due_at is None or user.erased_at is not None:
        return None  # (a login after the due date but before the job ran cancels too: nobody is
        # erased right after they were let in)
    user.deletion_requested_at = None
    user.deletion_due_at = None
    return message("account.deletion_cancelled", locale)


# --- erasure ---------------------------------------------------------------------------------------


async def due_user_ids(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    rows = (
        await session.exec(
            select(User.id)
            .where(col(User.deletion_due_at) <= now, col(User.erased_at).is_(None))
            .order_by(col(User.deletion_due_at), col(User.id))
            .limit(limit)
        )
    ).all()
    return [int(r) for r in rows if r is not None]


@dataclass(frozen=True)
class Erased:
    phone: str  # the number they had: login state kept outside the database (Redis) is dropped too
    storage_keys: list[str]  # photos removed, deleted from storage after the commit


async def erase_user(session: AsyncSession, user_id: int, now: datetime) -> Erased | None:
    """Erase one due user in the caller's transaction. Nothing happens (None) if they logged in
    meanwhile or were erased already."""
    user = (
        await session.exec(
            select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
        )
    ).first()
    if (
        user is None
        or user.erased_at is not None
        or user.deletion_due_at is None
        or user.deletion_due_at > now
    ):
        return None
    phone = user.phone
    raw: SaSession = session  # plain DML below
    for model in (
        Device,
        RefreshToken,
        IdempotencyRecord,
        NotificationPreference,
        QuietHours,
        DutyContactPref,
    ):
        await raw.execute(delete(model).where(col(model.user_id) == user_id))  # type: ignore[attr-defined]
    inbox = select(Notification.id).where(Notification.user_id == user_id)
    await raw.execute(delete(Delivery).where(col(Delivery.notification_id).in_(inbox)))
    await raw.execute(delete(Notification).where(col(Notification.user_id) == user_id))
    await raw.execute(delete(OtpChallenge).where(col(OtpChallenge.phone) == phone))
    await raw.execute(delete(RateLimitWindow).where(col(RateLimitWindow.key).contains(phone)))
    await raw.execute(
        update(Membership)
        .where(col(Membership.user_id) == user_id, col(Membership.status) != MembershipStatus.revoked)
        .values(status=MembershipStatus.revoked, note=None, decision_reason="account_deleted")
    )
    # Photos of their home: what they attached to their own tickets. Evidence on others' tickets stays.
    own_tickets = select(Ticket.id).where(Ticket.reporter_id == user_id)
    photos = (
        await session.exec(
            select(Attachment).where(
                Attachment.uploaded_by == user_id,
                Attachment.owner_type == "ticket",
                col(Attachment.owner_id).in_(own_tickets),
                col(Attachment.deleted_at).is_(None),
            )
        )
    ).all()
    keys: list[str] = []
    for a in photos:
        keys += a.file_keys()  # the original and every size
        a.deleted_at = now
        a.original_name = None
        session.add(a)
    await raw.execute(
        update(Attachment).where(col(Attachment.uploaded_by) == user_id).values(original_name=None)
    )
    # Direct uploads they started and never completed: the raw object may be a photo of their home.
    pending = (
        await session.exec(
            select(DirectUpload).where(
                DirectUpload.issued_to == user_id, col(DirectUpload.completed_at).is_(None)
            )
        )
    ).all()
    keys += [d.incoming_key for d in pending]
    await raw.execute(
        delete(DirectUpload).where(
            col(DirectUpload.issued_to) == user_id, col(DirectUpload.completed_at).is_(None)
        )
    )
    # Their data exports: each archive holds their phone and name (files go after the commit too).
    exports = (await session.exec(select(PrivacyExport).where(PrivacyExport.user_id == user_id))).all()
    keys += [e.storage_key for e in exports if e.storage_key]
    await raw.execute(delete(PrivacyExport).where(col(PrivacyExport.user_id) == user_id))
    await _scrub_audit(session, user, f"deleted-{user_id}")
    user.name = PLACEHOLDER_NAME
    user.phone = f"deleted-{user_id}"
    user.password_hash = None
    user.disabled_at = user.disabled_at or now
    user.erased_at = now
    session.add(user)
    await session.flush()
    session.add(
        AuditLog(
            action="account.erased", entity="user", entity_id=str(user_id), after={"photos": len(photos)}
        )
    )
    await session.flush()
    return Erased(phone=phone, storage_keys=keys)


def _scrub(value: Any, replace: dict[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in replace.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, replace) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, replace) for v in value]
    return value


async def _scrub_audit(session: AsyncSession, user: User, placeholder_phone: str) -> None:
    """Audit rows keep what happened and who did it (the actor id), not the person's phone or name:
    rows that carry their phone (a staff invitation's snapshot, say) get both replaced."""
    text = sa.Text()
    rows = (
        await session.exec(
            select(AuditLog).where(
                sa.or_(
                    sa.cast(AuditLog.before, text).contains(user.phone, autoescape=True),
                    sa.cast(AuditLog.after, text).contains(user.phone, autoescape=True),
                )
            )
        )
    ).all()
    replace = {user.phone: placeholder_phone, user.phone.removeprefix("+86"): placeholder_phone}
    if user.name:
        replace[user.name] = PLACEHOLDER_NAME
    for row in rows:
        row.before = _scrub(row.before, replace)
        row.after = _scrub(row.after, replace)
        session.add(row)


async def is_erased(session: AsyncSession, user_id: int) -> bool:
    at = (await session.exec(select(User.erased_at).where(User.id == user_id))).first()
    return at is not None
