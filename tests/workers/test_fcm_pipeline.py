"""notify() → delivery rows → worker drain → the real firebase-admin SDK → loopback FCM stand-in:
every outcome class leaves the right delivery and token state behind."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.models import Delivery, Device, utcnow
from services.notifications.catalog import register_templates
from services.notifications.outbox import notify
from tests import factories as f
from tests.conftest import App
from tests.workers.fcm_standin import FcmStandIn
from workers.channels.fcm import FcmChannel
from workers.tasks.deliveries import drain_once

register_templates({"test.fcm": (("报修进度", "工单 {n} 已受理"), ("Repair", "Ticket {n} accepted"))})

# token -> (stand-in mode, expected delivery status, device still active?)
CASES = {
    "pipe-ok-000000000000000000": ("ok", "sent", True),
    "pipe-unregistered-00000000": ("unregistered", "skipped", False),
    "pipe-sender-mismatch-00000": ("sender_mismatch", "skipped", False),
    "pipe-invalid-token-0000000": ("invalid_token", "skipped", False),
    "pipe-invalid-payload-00000": ("invalid_payload", "dead", True),
    "pipe-quota-000000000000000": ("quota", "failed", True),
    "pipe-third-party-auth-0000": ("third_party_auth", "failed", True),
}


async def test_every_fcm_outcome_updates_delivery_and_token(
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    app: App,
    channel: FcmChannel,
    standin: FcmStandIn,
) -> None:
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    devices: dict[str, Device] = {}
    users = []
    for token, (mode, _, _) in CASES.items():
        standin.behave(token, mode)
        u = await f.user(db)
        users.append(u.id or 0)
        d = Device(user_id=u.id or 0, token=token, platform="ios" if "auth" in token else "android")
        db.add(d)
        devices[token] = d
    await db.flush()
    await notify(db, users, "ticket", "test.fcm", {"n": 9}, "fcm-pipe:1")
    await db.commit()
    started = utcnow()

    stats = await drain_once(resources, channel)
    assert stats.claimed == len(CASES)
    assert stats.sent == 1 and stats.dropped == 3 and stats.dead == 1 and stats.retried == 2
    assert len(stats.alerts) == 1 and "THIRD_PARTY_AUTH_ERROR" in stats.alerts[0]

    for token, (_, want_status, active) in CASES.items():
        device = devices[token]
        await db.refresh(device)
        delivery = (await db.exec(select(Delivery).where(Delivery.device_id == device.id))).one()
        await db.refresh(delivery)
        assert delivery.status == want_status, token
        assert (device.disabled_at is None) is active, token
        assert delivery.locked_until is None
        if want_status == "sent":
            assert delivery.provider_message_id and delivery.provider_message_id.startswith("projects/")
            [seen] = standin.requests_for(token)
            message = seen.message
            assert message["android"]["notification"]["tag"] == delivery.dedupe_key
            assert message["apns"]["headers"]["apns-collapse-id"] == delivery.dedupe_key
            assert message["apns"]["payload"]["aps"]["badge"] == 1
        if not active:
            assert device.disabled_reason in {"UNREGISTERED", "SENDER_ID_MISMATCH", "INVALID_ARGUMENT"}
    quota = (
        await db.exec(select(Delivery).where(Delivery.device_id == devices["pipe-quota-000000000000000"].id))
    ).one()
    assert quota.next_attempt_at >= started + timedelta(seconds=7)  # the stand-in's Retry-After
    assert "QUOTA_EXCEEDED" in (quota.last_error or "")

    # Nothing due now: the retries wait for their time; the dead and skipped never come back.
    assert (await drain_once(resources, channel)).claimed == 0
