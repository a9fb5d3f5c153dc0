"""FCM device tokens: register (a token moves to whoever registers it last), refresh, unregister."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.notifications.messages  # noqa: F401
from services.errors import NotFound
from services.models import Device, utcnow
from services.notifications.schemas import DeviceIn, DeviceOut
from services.runtime import Ctx

STALE_AFTER = timedelta(days=60)


async def register(ctx: Ctx, body: DeviceIn) -> DeviceOut:
    user_id = ctx.require_principal().user_id
    now = utcnow()
    device = (await ctx.session.exec(select(Device).where(Device.token == body.token))).first()
    if device is None:
        device = Device(user_id=user_id, token=body.token, platform=body.platform)
    # The phone changed hands (or accounts): pushes must follow the person now logged in.
    device.user_id = user_id
    device.platform = body.platform
    device.app_version = body.app_version
    device.last_seen_at = now
    device.disabled_at = None
    device.disabled_reason = None
    ctx.session.add(device)
    await ctx.session.flush()
    return DeviceOut.model_validate(device)


async def unregister(ctx: Ctx, device_id: int) -> None:
    user_id = ctx.require_principal().user_id
    device = (
        await ctx.session.exec(select(Device).where(Device.id == device_id, Device.user_id == user_id))
    ).first()
    if device is None:
        raise NotFound("device.not_found")
    device.disabled_at = utcnow()
    device.disabled_reason = "unregistered"
    ctx.session.add(device)


async def list_mine(ctx: Ctx) -> list[DeviceOut]:
    user_id = ctx.require_principal().user_id
    rows = (
        await ctx.session.exec(
            select(Device)
            .where(Device.user_id == user_id, col(Device.disabled_at).is_(None))
            .order_by(col(Device.id))
        )
    ).all()
    return [DeviceOut.model_validate(d) for d in rows]


async def prune_stale(session: AsyncSession) -> int:
    """Tokens unseen for 60 days are dead in FCM's eyes too."""
    result = await session.execute(delete(Device).where(col(Device.last_seen_at) < utcnow() - STALE_AFTER))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
