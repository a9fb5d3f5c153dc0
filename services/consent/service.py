"""Consent records and opt-in choices, and the questions other areas ask of them.

One row per user (`privacy_consent`); no row means "never accepted, nothing opted in". Sharing the phone
on the roster lives on `duty_contact_pref.share_phone` (services.duty.posts), read and written here so
the roster and this API never disagree."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col

import services.consent.messages  # noqa: F401  (registers error texts)
from services import audit
from services.consent.schemas import ConsentIn, PrivacyChoicesIn, PrivacyOut
from services.consent.state import row_of
from services.db import insert_for
from services.duty.posts import contact_pref
from services.errors import InvalidInput
from services.models import utcnow
from services.models.consent import PrivacyConsent
from services.runtime import Ctx


async def _out(ctx: Ctx, user_id: int) -> PrivacyOut:
    row = await row_of(ctx.session, user_id)
    pref = await contact_pref(ctx, user_id)
    current = ctx.settings.privacy_policy_version
    return PrivacyOut(
        policy_version=current,
        accepted_version=row.policy_version if row else None,
        accepted_at=row.accepted_at if row else None,
        consent_required=row is None or row.policy_version != current,
        share_phone_on_roster=pref.share_phone,
        show_name_on_comments=bool(row and row.show_name_on_comments),
        sms_non_critical=bool(row and row.sms_non_critical),
    )


async def get_privacy(ctx: Ctx) -> PrivacyOut:
    return await _out(ctx, ctx.require_principal().user_id)


async def _ensure(ctx: Ctx, user_id: int) -> PrivacyConsent:
    row = await row_of(ctx.session, user_id)
    if row is None:
        # Concurrent first writes: insert-or-nothing on the unique user_id, then read it back.
        t = PrivacyConsent.__table__  # type: ignore[attr-defined]
        await ctx.session.execute(
            insert_for(ctx.session)(t)
            .values(user_id=user_id, show_name_on_comments=False, sms_non_critical=False, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["user_id"])
        )
        row = await row_of(ctx.session, user_id)
        assert row is not None
    return row


async def accept_policy(ctx: Ctx, body: ConsentIn) -> PrivacyOut:
    """Record that the user accepted the version in force; any other version is refused (422)."""
    p = ctx.require_principal()
    current = ctx.settings.privacy_policy_version
    if body.policy_version != current:
        raise InvalidInput(
            "consent.policy_version_mismatch",
            details={"policy_version": current, "given": body.policy_version},
        )
    row = await _ensure(ctx, p.user_id)
    before = row.policy_version
    if before != current:
        now = utcnow()
        await ctx.session.execute(
            sa.update(PrivacyConsent)
            .where(col(PrivacyConsent.id) == row.id)
            .values(policy_version=current, accepted_at=now, updated_at=now)
        )
        await audit.record(
            ctx, "privacy.consent", "user_account", p.user_id,
            before={"policy_version": before}, after={"policy_version": current},
        )  # fmt: skip
        ctx.session.expire(row)
    return await _out(ctx, p.user_id)


async def set_choices(ctx: Ctx, body: PrivacyChoicesIn) -> PrivacyOut:
    p = ctx.require_principal()
    changes = body.model_dump(exclude_none=True)
    if changes:
        row = await _ensure(ctx, p.user_id)
        values = {k: v for k, v in changes.items() if k in ("show_name_on_comments", "sms_non_critical")}
        before = {k: getattr(row, k) for k in values}
        if values:
            await ctx.session.execute(
                sa.update(PrivacyConsent)
                .where(col(PrivacyConsent.id) == row.id)
                .values(**values, updated_at=utcnow())
            )
            ctx.session.expire(row)
        if body.share_phone_on_roster is not None:
            pref = await contact_pref(ctx, p.user_id)
            before["share_phone_on_roster"] = pref.share_phone
            pref.share_phone = body.share_phone_on_roster
            pref.updated_at = utcnow()
            ctx.session.add(pref)
            await ctx.session.flush()
        await audit.record(
            ctx, "privacy.choices", "user_account", p.user_id, before=before, after=changes,
        )  # fmt: skip
    return await _out(ctx, p.user_id)
