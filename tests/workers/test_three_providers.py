"""Issue 14's "done when": one resident with a Huawei phone (JPush), an iPhone (APNs) and an old Pixel
(FCM), all registered through POST /v1/devices, gets a ticket update on each phone, each through its
own stand-in — the real SDK / HTTP client of every provider, the worker's registry as
workers.runner builds it, and the real drain (on SQLite, and on PostgreSQL + Redis in CI)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.models import Delivery, Device, Notification
from tests import factories as f
from tests.conftest import App
from tests.workers.apns_standin import ApnsStandIn, new_signing_key, write_p8
from tests.workers.fcm_standin import FcmStandIn
from tests.workers.jpush_standin import JPushStandIn
from workers.channels.registry import PushRegistry, build_registry
from workers.tasks.deliveries import drain_once

HUAWEI = "1a0018970a9b2fe0a22"  # a JPush registration id
IPHONE = "5f1e" * 16  # an APNs device token: 64 hex digits
PIXEL = "dPixel6a-old:APA91bH" + "x" * 120  # an FCM registration token
JPUSH_KEY, JPUSH_SECRET = "linli-jpush-key", "linli-jpush-secret"
APNS_KEY = new_signing_key()
APNS_KEY_ID, APNS_TEAM, APNS_TOPIC = "ABC123DEFG", "DEF123GHIJ", "cn.linli.app"
FCM_PROJECT = "linli-test"


@pytest.fixture
def jpush_standin() -> Iterator[JPushStandIn]:
    with JPushStandIn(app_key=JPUSH_KEY, master_secret=JPUSH_SECRET) as server:
        yield server


@pytest.fixture
def apns_standin() -> Iterator[ApnsStandIn]:
    with ApnsStandIn(
        public_key=APNS_KEY.public_key(), key_id=APNS_KEY_ID, team_id=APNS_TEAM, topic=APNS_TOPIC
    ) as s:
        yield s


@pytest.fixture
async def registry(
    app: App, standin: FcmStandIn, jpush_standin: JPushStandIn, apns_standin: ApnsStandIn, tmp_path: Path
) -> AsyncIterator[PushRegistry]:
    """The three providers configured by settings, built the way a worker process builds them."""
    settings = app.settings.model_copy(
        update={
            "fcm_base_url": standin.base_url,
            "fcm_project_id": FCM_PROJECT,
            "fcm_credentials": "static:staging-bearer-123",
            "jpush_app_key": JPUSH_KEY,
            "jpush_master_secret": SecretStr(JPUSH_SECRET),
            "jpush_base_url": jpush_standin.base_url,
            "apns_key_id": APNS_KEY_ID,
            "apns_team_id": APNS_TEAM,
            "apns_key_file": str(write_p8(APNS_KEY, tmp_path / f"AuthKey_{APNS_KEY_ID}.p8")),
            "apns_topic": APNS_TOPIC,
            "apns_base_url": apns_standin.base_url,
            "apns_ca_file": apns_standin.ca_file,
        }
    )
    reg = build_registry(settings)
    yield reg
    await reg.aclose()


async def test_huawei_iphone_and_pixel_of_one_resident_all_get_the_ticket_update(
    client: httpx.AsyncClient,
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    app: App,
    registry: PushRegistry,
    standin: FcmStandIn,
    jpush_standin: JPushStandIn,
    apns_standin: ApnsStandIn,
) -> None:
    assert {p: registry.live.get(p) for p in ("fcm", "jpush", "apns")} == {
        "fcm": True,
        "jpush": True,
        "apns": True,
    }
    w = await f.ticket_world(db)
    resident = f.auth(w.resident)
    phones = [
        {"platform": "android", "provider": "jpush", "token": HUAWEI, "app_version": "2.3.0"},
        {"platform": "ios", "provider": "apns", "token": IPHONE.upper(), "app_version": "2.3.0"},
        {"platform": "android", "token": PIXEL, "app_version": "1.9.4"},  # an old app: no provider = FCM
    ]
    for body in phones:
        r = await client.post("/v1/devices", json=body, headers=resident)
        assert r.status_code == 201, r.text
    devices = (await db.exec(select(Device).where(Device.user_id == w.resident.id))).all()
    assert sorted((d.provider, d.token) for d in devices) == [
        ("apns", IPHONE),
        ("fcm", PIXEL),
        ("jpush", HUAWEI),
    ]

    # The ticket update: the resident files a repair, the manager accepts it.
    t = await f.file_ticket(client, w)
    r = await f.act(client, w.manager, t, "accept")
    assert r.status_code == 200, r.text
    await db.commit()
    inbox = (await db.exec(select(Notification).where(Notification.user_id == w.resident.id))).all()
    [note] = [n for n in inbox if n.data.get("template") == "ticket.accepted"]
    # In the resident's language (zh-CN), never a raw code.
    assert any("\u4e00" <= ch <= "\u9fff" for ch in note.title + note.body), (note.title, note.body)
    rows = (await db.exec(select(Delivery).where(Delivery.notification_id == note.id))).all()
    assert sorted((d.channel, d.provider) for d in rows) == [
        ("push", "apns"),
        ("push", "fcm"),
        ("push", "jpush"),
    ]

    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    stats = await drain_once(resources, registry)
    for d in rows:
        await db.refresh(d)
    assert (stats.sent, stats.retried, stats.dead, stats.dropped, stats.alerts) == (3, 0, 0, 0, []), [
        (d.provider, d.status, d.last_error) for d in rows
    ]

    # Each phone's provider got exactly one push, with the words the resident reads in the app.
    [fcm_req] = standin.requests_for(PIXEL)
    assert fcm_req.message["notification"] == {"title": note.title, "body": note.body}
    [jpush_req] = jpush_standin.delivered_to(HUAWEI)
    android = jpush_req.body["notification"]["android"]
    assert (android["title"], android["alert"]) == (note.title, note.body)
    assert jpush_req.registration_ids == [HUAWEI]
    [apns_req] = apns_standin.requests_for(IPHONE)
    assert apns_req.status == 200 and apns_req.headers["apns-topic"] == APNS_TOPIC
    assert apns_req.aps["alert"] == {"title": note.title, "body": note.body}
    assert apns_req.aps["badge"] == fcm_req.message["apns"]["payload"]["aps"]["badge"] >= 1

    by_provider: dict[str | None, Delivery] = {}
    for d in rows:
        await db.refresh(d)
        by_provider[d.provider] = d
    assert {p: d.status for p, d in by_provider.items()} == {"fcm": "sent", "jpush": "sent", "apns": "sent"}
    assert (by_provider["fcm"].provider_message_id or "").startswith(f"projects/{FCM_PROJECT}/messages/")
    assert by_provider["apns"].provider_message_id == apns_req.apns_id
    assert by_provider["jpush"].provider_message_id
    # Nothing is left to send: a second drain claims nothing, and nobody got a second copy.
    assert (await drain_once(resources, registry)).claimed == 0
    assert len(standin.requests) == len(jpush_standin.requests) == len(apns_standin.requests) == 1
