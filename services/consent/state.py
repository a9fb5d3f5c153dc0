"""What other areas ask of a user's consent (light: no area imports, safe from auth and workers)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models.consent import PrivacyConsent


async def row_of(session: AsyncSession, user_id: int) -> PrivacyConsent | None:
    return (await session.exec(select(PrivacyConsent).where(PrivacyConsent.user_id == user_id))).first()


async def consent_required(session: AsyncSession, user_id: int, current: str) -> bool:
    """True while the user has not accepted the policy version in force (asked at every login)."""
    row = await row_of(session, user_id)
    return row is None or row.policy_version != current


async def shows_name_on_comments(session: AsyncSession, user_id: int) -> bool:
    row = await row_of(session, user_id)
    return bool(row and row.show_name_on_comments)


async def sms_opted_in(session: AsyncSession, user_ids: Iterable[int]) -> set[int]:
    """Of `user_ids`, those who opted in to SMS for non-critical notices."""
    ids = sorted(set(user_ids))
    if not ids:
        return set()
    rows = await session.exec(
        select(PrivacyConsent.user_id).where(
            col(PrivacyConsent.user_id).in_(ids), col(PrivacyConsent.sms_non_critical).is_(True)
        )
    )
    return {int(u) for u in rows.all()}
