"""Device tokens per push provider: register (a token moves to whoever registers it last), refresh,
unregister (by id, or every device of a login session when it logs out)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

import services.notifications.messages  # noqa: F401
from services.errors import InvalidInput, NotFound
from services.models import Device, PushProvider, utcnow
from services.notifications.schemas import DeviceIn, DeviceOut
from services.runtime import Ctx

STALE_AFTER = timedelta(days=60)

# What each provider's token looks like. FCM: the registration token (base64url with a colon, ~150
# chars); JPush: the registration id its SDK returns (alphanumeric, 19 chars today); APNs: the device
# token as 64 hex digits (32 bytes).
TOKEN_SHAPES: dict[str, re.Pattern[str]] = {
    PushProvider.fcm: re.compile(r"[A-Za-z0-9_:\-\.]{20,512}"),
    PushProvider.jpush: re.compile(r"[A-Za-z0-9]{11,64}"),
    PushProvider.apns: re.compile(r"[0-9A-Fa-f]{64}"),
}
# Which providers can reach which platform: no Google services on HarmonyOS, APNs is Apple only.
PLATFORM_PROVIDERS: dict[str, frozenset[str]] = {
    "android": frozenset({PushProvider.fcm, PushProvider.jpush}),
    "ios": frozenset({PushProvider.fcm, PushProvider.jpush, PushProvider.apns}),
    "harmonyos": frozenset({PushProvider.jpush}),
}


def check_token(body: DeviceIn) -> tuple[str, str]:
    """(provider, normalised token), or 422 with a stable code."""
    provider = body.provider.strip().lower()
    if provider not in TOKEN_SHAPES:
        raise InvalidInput(
            "device.unknown_provider", details={"provider": body.provider[:20], "known": sorted(TOKEN_SHAPES)}
        )
    if provider not in PLATFORM_PROVIDERS[body.platform]:
        raise InvalidInput(
            "device.provider_not_for_platform",
            details={
                "provider": provider,
                "platform": body.platform,
                "allowed": sorted(PLATFORM_PROVIDERS[body.platform]),
            },
        )
    token = body.token.strip()
    if provider == PushProvider.apns:
        token = token.lower()
    if not TOKEN_SHAPES[provider].fullmatch(token):
        raise InvalidInput("device.token_invalid", details={"provider": provider})
    return provider, token


async def register(ctx: Ctx, body: DeviceIn) -> DeviceOut:
    user_id = ctx.require_principal().user_id
    provider, token = check_token(body)
    now = utcnow()
    device = (
        await ctx.session.exec(select(Device).where(Device.provider == provider, Device.token == token))
    ).first()
    if device is None:
        device = Device(user_id=user_id, token=token, platform=body.platform, provider=provider)
    # The phone changed hands (or accounts): pushes must follow the person now logged in.
    device.user_id = user_id
    device.session_id = ctx.session_id
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


async def unregister_session_devices(session: AsyncSession, user_id: int, session_id: str) -> int:
    """Logout: the devices registered from that login session stop receiving pushes."""
    result = await session.execute(
        update(Device)
        .where(
            col(Device.user_id) == user_id,
            col(Device.session_id) == session_id,
            col(Device.disabled_at).is_(None),
        )
        .values(disabled_at=utcnow(), disabled_reason="logged_out")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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
