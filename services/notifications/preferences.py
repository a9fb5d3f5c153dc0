"""Per-category × channel opt-outs and quiet hours. Critical categories cannot be muted."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import delete, select

import services.notifications.messages  # noqa: F401
from services.errors import InvalidInput
from services.models import NotificationPreference, QuietHours
from services.notifications.catalog import CATEGORIES
from services.notifications.schemas import PreferenceItem, PreferencesIn, PreferencesOut, QuietHoursIn
from services.runtime import Ctx


async def get(ctx: Ctx) -> PreferencesOut:
    user_id = ctx.require_principal().user_id
    prefs = (
        await ctx.session.exec(
            select(NotificationPreference).where(NotificationPreference.user_id == user_id)
        )
    ).all()
    quiet = await ctx.session.get(QuietHours, user_id)
    return PreferencesOut(
        preferences=[
            PreferenceItem(category=p.category, channel=p.channel, enabled=p.enabled) for p in prefs
        ],  # type: ignore[arg-type]
        quiet_hours=QuietHoursIn(starts=quiet.starts, ends=quiet.ends, time_zone=quiet.time_zone)
        if quiet
        else None,
        critical_categories=sorted(name for name, c in CATEGORIES.items() if c.critical),
    )


async def put(ctx: Ctx, body: PreferencesIn) -> PreferencesOut:
    """Replaces the whole set (PUT semantics): absent items mean enabled."""
    user_id = ctx.require_principal().user_id
    for item in body.preferences:
        cat = CATEGORIES.get(item.category)
        if cat is None:
            raise InvalidInput("notification.unknown_category", details={"category": item.category})
        if cat.critical and not item.enabled:
            raise InvalidInput("notification.critical_category", details={"category": item.category})
    if body.quiet_hours is not None:
        try:
            ZoneInfo(body.quiet_hours.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput("notification.invalid_time_zone") from exc
    await ctx.session.execute(delete(NotificationPreference).where(NotificationPreference.user_id == user_id))  # type: ignore[arg-type]
    await ctx.session.execute(delete(QuietHours).where(QuietHours.user_id == user_id))  # type: ignore[arg-type]
    seen: set[tuple[str, str]] = set()
    for item in body.preferences:
        if (item.category, item.channel) in seen:
            continue
        seen.add((item.category, item.channel))
        ctx.session.add(
            NotificationPreference(
                user_id=user_id, category=item.category, channel=item.channel, enabled=item.enabled
            )
        )
    if body.quiet_hours is not None:
        q = body.quiet_hours
        ctx.session.add(QuietHours(user_id=user_id, starts=q.starts, ends=q.ends, time_zone=q.time_zone))
    await ctx.session.flush()
    return await get(ctx)
