"""Demo phones: a fake FCM token for a resident and the property manager, so that in the embedded demo
every notification to them also makes a push attempt, which the worker logs (no FCM configured)."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Device, User

DEVICES = {
    "+8613700000001": ("demo-fcm-token-wang-xiulan-android", "android"),
    "+8613800000001": ("demo-fcm-token-manager-wang-jianguo-ios", "ios"),
}


async def seed(session: AsyncSession, community_id: int) -> None:
    for phone, (token, platform) in DEVICES.items():
        user = (await session.exec(select(User).where(User.phone == phone))).first()
        known = (await session.exec(select(Device).where(Device.token == token))).first()
        if user is None or user.id is None or known is not None:
            continue
        session.add(Device(user_id=user.id, token=token, platform=platform, app_version="demo"))
    await session.flush()
