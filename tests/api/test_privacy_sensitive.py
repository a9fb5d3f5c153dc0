"""Issue 20 item 7: sensitive personal information (complaints, party membership) never reaches a lock
screen. The push of such an item says only "您有一条新消息" / "You have a new message" and carries no
content (the app fetches it); the inbox keeps the full text for the logged-in user. Checked on the
FCM and JPush loopback stand-ins through the real drain."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.models import Notification, Role
from services.notifications.catalog import is_sensitive
from tests import factories as f
from tests.conftest import App
from tests.workers.fcm_standin import FcmStandIn
from tests.workers.jpush_standin import JPushStandIn
from workers.channels.registry import PushRegistry, build_registry
from workers.tasks.deliveries import drain_once

PIXEL = "dPixel7-privacy:APA91bH" + "y" * 120
HUAWEI = "1a0018970a9b2fe0b33"
ENGLISH_PIXEL = "dPixel8-english:APA91bH" + "z" * 120
JPUSH_KEY, JPUSH_SECRET = "linli-jpush-key", "linli-jpush-secret"
COMPLAINT_TITLE = "楼上邻居深夜噪音"


@pytest.fixture
def fcm() -> Iterator[FcmStandIn]:
    with FcmStandIn(project="linli-test") as server:
        yield server


@pytest.fixture
def jpush() -> Iterator[JPushStandIn]:
    with JPushStandIn(app_key=JPUSH_KEY, master_secret=JPUSH_SECRET) as server:
        yield server


@pytest.fixture
async def registry(app: App, fcm: FcmStandIn, jpush: JPushStandIn) -> AsyncIterator[PushRegistry]:
    settings = app.settings.model_copy(
        update={
            "fcm_base_url": fcm.base_url,
            "fcm_project_id": "linli-test",
            "fcm_credentials": "static:staging-bearer-123",
            "jpush_app_key": JPUSH_KEY,
            "jpush_master_secret": SecretStr(JPUSH_SECRET),
            "jpush_base_url": jpush.base_url,
        }
    )
    reg = build_registry(settings)
    yield reg
    await reg.aclose()


async def _register(client: httpx.AsyncClient, who: object, token: str, provider: str | None = None) -> None:
    body = {"platform": "android", "token": token, "app_version": "2.3.0"}
    if provider:
        body["provider"] = provider
    r = await client.post("/v1/devices", json=body, headers=f.auth(who))  # type: ignore[arg-type]
    assert r.status_code == 201, r.text


async def test_complaint_push_says_only_new_message_and_the_inbox_keeps_the_text(
    app: App,
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    registry: PushRegistry,
    fcm: FcmStandIn,
    jpush: JPushStandIn,
) -> None:
    client = app.client
    w = await f.ticket_world(db)
    await _register(client, w.resident, PIXEL)
    await _register(client, w.resident, HUAWEI, "jpush")
    complaint = await f.file_ticket(
        client, w, kind="complaint", category="neighbour", complaint_target="neighbour",
        title=COMPLAINT_TITLE, description="每晚十二点后拖动家具",
    )  # fmt: skip
    repair = await f.file_ticket(client, w, title="厨房水管漏水")
    for t in (complaint, repair):
        r = await f.act(client, w.manager, t, "accept")
        assert r.status_code == 200, r.text
    await db.commit()

    stats = await drain_once(
        Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime), registry
    )
    assert stats.sent == 4 and stats.dead == 0, stats

    pushed = [r.message for r in fcm.requests_for(PIXEL)]
    by_kind = {m["data"].get("sensitive", "0"): m for m in pushed}
    assert set(by_kind) == {"0", "1"}
    secret = by_kind["1"]
    assert secret["notification"] == {"title": "邻里", "body": "您有一条新消息"}
    # Nothing of the complaint rides along: only the inbox row to fetch.
    assert set(secret["data"]) <= {"notification_id", "category", "sensitive", "badge"}
    assert COMPLAINT_TITLE not in str(secret)
    # A repair is not sensitive: its push keeps the words.
    assert "厨房水管漏水" in by_kind["0"]["notification"]["body"]

    android = [r.body["notification"]["android"] for r in jpush.delivered_to(HUAWEI)]
    assert ("邻里", "您有一条新消息") in [(a["title"], a["alert"]) for a in android]
    assert all(COMPLAINT_TITLE not in str(a) for a in android)

    # The app fetches the content: the inbox of the logged-in resident has the full text.
    r = await client.get("/v1/notifications", headers=f.auth(w.resident))
    assert r.status_code == 200
    item = next(i for i in r.json()["items"] if str(i["id"]) == secret["data"]["notification_id"])
    assert COMPLAINT_TITLE in item["title"] + item["body"]
    # ...and only theirs: another user's inbox does not have it (stranger 401).
    r = await client.get("/v1/notifications", headers=f.auth(w.technician))
    assert all(i["id"] != item["id"] for i in r.json()["items"])
    assert (await client.get("/v1/notifications")).status_code == 401


async def test_english_lock_screen_text_and_party_invitation(
    app: App,
    db: AsyncSession,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    registry: PushRegistry,
    fcm: FcmStandIn,
) -> None:
    """An invitation to the party role names the person a party member: sensitive too, in the
    recipient's language."""
    client = app.client
    w = await f.ticket_world(db)
    invitee = await f.user(db, "党员候选")
    invitee.locale = "en"
    db.add(invitee)
    await db.flush()
    await _register(client, invitee, ENGLISH_PIXEL)
    r = await client.post(
        f"/v1/communities/{w.cid}/members",
        json={"phone": invitee.phone, "name": "党员候选", "role": Role.party_member.value},
        headers=f.auth(w.admin),
    )
    assert r.status_code in (200, 201), r.text
    await db.commit()
    note = (await db.exec(select(Notification).where(Notification.user_id == invitee.id))).one()
    assert note.data["role"] == "party_member"
    await drain_once(Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime), registry)
    [req] = fcm.requests_for(ENGLISH_PIXEL)
    assert req.message["notification"] == {"title": "Linli", "body": "You have a new message"}
    assert note.title not in str(req.message)


def test_which_items_are_sensitive() -> None:
    assert is_sensitive("ticket", {"template": "ticket.accepted", "kind": "complaint"})
    assert not is_sensitive("ticket", {"template": "ticket.accepted", "kind": "repair"})
    assert is_sensitive("duty", {"template": "duty.shift_reminder"})
    assert not is_sensitive("duty", {"template": "duty.activity_promoted"})
    assert is_sensitive("account", {"template": "account.invited", "role": "party_secretary"})
    assert not is_sensitive("account", {"template": "account.invited", "role": "property_staff"})
    assert not is_sensitive("emergency", {"template": "notice.published"})


async def test_complaint_contents_reach_only_the_roles_that_need_them(app: App, db: AsyncSession) -> None:
    client = app.client
    w = await f.ticket_world(db)
    spouse = await f.resident(db, w.household, relation="family", name="家属")
    complaint = await f.file_ticket(
        client, w, kind="complaint", category="neighbour", complaint_target="neighbour",
        title=COMPLAINT_TITLE, description="每晚十二点后拖动家具",
    )  # fmt: skip
    repair = await f.file_ticket(client, w, title="厨房水管漏水")
    url = f"/v1/tickets/{complaint['id']}"
    # The household shares its repairs, not one member's complaint about a neighbour.
    assert (await client.get(f"/v1/tickets/{repair['id']}", headers=f.auth(spouse))).status_code == 200
    r = await client.get(url, headers=f.auth(spouse))
    assert r.status_code == 404 and r.json()["error"]["code"] == "ticket.not_found"
    listed = await client.get("/v1/tickets", headers=f.auth(spouse))
    assert COMPLAINT_TITLE not in listed.text
    # Not in the technicians' grab queue; the manager, the committee and the reporter read it.
    grab = await client.get("/v1/tickets", params={"queue": "grab"}, headers=f.auth(w.technician))
    assert [i["id"] for i in grab.json()["items"]] == [repair["id"]]
    assert (await client.get(url, headers=f.auth(w.technician))).status_code == 404
    for who in (w.resident, w.manager, w.committee):
        r = await client.get(url, headers=f.auth(who))
        assert r.status_code == 200 and r.json()["description"] == "每晚十二点后拖动家具", who.name
    # Once the manager assigns it, the technician reads it.
    t = (await f.act(client, w.manager, complaint, "accept")).json()
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    assert r.status_code == 200, r.text
    assert (await client.get(url, headers=f.auth(w.technician))).status_code == 200
