"""Issue 20 item 3: consent and purposes. The privacy policy version a user accepted is recorded and the
login says when the version in force is not accepted yet (a new version asks again); sharing the phone
on the duty roster, showing one's name on comments and SMS for non-critical items are opt-in choices
(GET/PUT /v1/me/privacy), respected by the roster, the comments and the SMS sender."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.models import AuditLog, Channel, Delivery, Notification, User, utcnow
from services.models.consent import PrivacyConsent
from services.models.duty import DutyContactPref
from tests import factories as f
from tests.conftest import App
from workers.channels.push import LogPushChannel
from workers.tasks.deliveries import drain_once

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

PASSWORD = "staff-password-123"


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def _login(client: httpx.AsyncClient, u: User) -> dict[str, Any]:
    r = await client.post("/v1/auth/login", json={"phone": u.phone, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_login_asks_until_the_version_in_force_is_accepted_and_again_for_a_new_one(
    app: App, db: AsyncSession
) -> None:
    client = app.client
    u = await f.user(db, "物业经理", password=PASSWORD)
    current = app.settings.privacy_policy_version
    first = await _login(client, u)
    assert (first["privacy_policy_version"], first["privacy_consent_required"]) == (current, True)
    me = {"Authorization": f"Bearer {first['access_token']}"}
    r = await client.get("/v1/me/privacy", headers=me)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "policy_version": current, "accepted_version": None, "accepted_at": None, "consent_required": True,
        "share_phone_on_roster": False, "show_name_on_comments": False, "sms_non_critical": False,
    }  # fmt: skip

    # Accepting another version than the one shown is refused with the version in force.
    r = await client.post("/v1/me/consent", json={"policy_version": "2020-01-01"}, headers=me)
    assert r.status_code == 422 and code(r) == "consent.policy_version_mismatch"
    assert r.json()["error"]["details"]["policy_version"] == current
    assert (await client.post("/v1/me/consent", json={}, headers=me)).status_code == 422
    r = await client.post("/v1/me/consent", json={"policy_version": current}, headers=me)
    assert r.status_code == 200, r.text
    assert r.json()["accepted_version"] == current and r.json()["consent_required"] is False
    row = (await db.exec(select(PrivacyConsent).where(PrivacyConsent.user_id == u.id))).one()
    assert row.policy_version == current and row.accepted_at is not None
    assert utcnow() - timedelta(minutes=1) < row.accepted_at <= utcnow()
    audit = (await db.exec(select(AuditLog).where(AuditLog.action == "privacy.consent"))).all()
    assert [a.actor_id for a in audit] == [u.id]
    # Accepting twice changes nothing.
    again = await client.post("/v1/me/consent", json={"policy_version": current}, headers=me)
    assert again.status_code == 200 and again.json()["accepted_at"] == r.json()["accepted_at"]
    assert (await _login(client, u))["privacy_consent_required"] is False

    # A new policy version: every login asks again until it is accepted.
    app.runtime.settings = app.settings.model_copy(update={"privacy_policy_version": "2027-01-01"})
    try:
        later = await _login(client, u)
        assert (later["privacy_policy_version"], later["privacy_consent_required"]) == ("2027-01-01", True)
        r = await client.get("/v1/me/privacy", headers=me)
        assert (r.json()["accepted_version"], r.json()["consent_required"]) == (current, True)
        r = await client.post("/v1/me/consent", json={"policy_version": "2027-01-01"}, headers=me)
        assert r.status_code == 200 and r.json()["consent_required"] is False
        assert (await _login(client, u))["privacy_consent_required"] is False
    finally:
        app.runtime.settings = app.settings


async def test_strangers_and_bad_input(client: httpx.AsyncClient, db: AsyncSession) -> None:
    for method, path, body in (
        ("GET", "/v1/me/privacy", None),
        ("PUT", "/v1/me/privacy", {"sms_non_critical": True}),
        ("POST", "/v1/me/consent", {"policy_version": "x"}),
    ):
        r = await client.request(method, path, json=body)
        assert r.status_code == 401 and code(r) == "auth.required", path
    u = await f.user(db)
    for bad in ({"sms_non_critical": "yes please"}, {"unknown": True}):
        r = await client.put("/v1/me/privacy", json=bad, headers=f.auth(u))
        assert r.status_code == 422 and code(r) == "request.invalid", bad
    assert (await db.exec(select(PrivacyConsent).where(PrivacyConsent.user_id == u.id))).all() == []


async def test_roster_phone_is_one_choice_with_the_duty_contact_setting(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w, "security_watch", [w.b1.id or 0])
    await f.duty_assign(db, post, w.member1, "lead")
    roster_url = f"/v1/communities/{w.cid}/duty/roster"

    async def holder() -> dict[str, Any]:
        r = await client.get(roster_url, headers=f.auth(w.resident1))
        assert r.status_code == 200, r.text
        [h] = r.json()["buildings"][0]["posts"][0]["holders"]
        return dict(h)

    assert (await holder())["phone_masked"] is None  # not shared until the member opts in
    r = await client.put("/v1/me/privacy", json={"share_phone_on_roster": True}, headers=f.auth(w.member1))
    assert r.status_code == 200 and r.json()["share_phone_on_roster"] is True
    assert (await holder())["phone_masked"] == w.member1.phone[3:6] + "****" + w.member1.phone[-4:]
    pref = (await db.exec(select(DutyContactPref).where(DutyContactPref.user_id == w.member1.id))).one()
    assert pref.share_phone is True
    # The duty screen's switch is the same setting, not a second copy.
    r = await client.patch("/v1/duty/me/contact", json={"share_phone": False}, headers=f.auth(w.member1))
    assert r.status_code == 200
    r = await client.get("/v1/me/privacy", headers=f.auth(w.member1))
    assert r.json()["share_phone_on_roster"] is False
    assert (await holder())["phone_masked"] is None
    assert (
        len((await db.exec(select(DutyContactPref).where(DutyContactPref.user_id == w.member1.id))).all())
        == 1
    )


async def test_name_on_comments_is_the_authors_choice_unless_the_comment_says(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.notice_world(db)
    n = await f.post_notice(client, w.committee, w.cid, kind="publicity", title="停车位调整公示")
    url = f"/v1/notices/{n['id']}/comments"
    author, neighbour = w.residents[0], w.residents[3]
    r = await client.post(url, json={"body": "不同意"}, headers=f.auth(author))
    assert r.status_code == 201 and r.json()["signed"] is False  # default: not shown
    r = await client.put("/v1/me/privacy", json={"show_name_on_comments": True}, headers=f.auth(author))
    assert r.status_code == 200 and r.json()["show_name_on_comments"] is True
    r = await client.post(url, json={"body": "补充意见"}, headers=f.auth(author))
    assert r.status_code == 201 and r.json()["signed"] is True
    r = await client.post(url, json={"body": "匿名补充", "signed": False}, headers=f.auth(author))
    assert r.status_code == 201 and r.json()["signed"] is False  # the comment's own choice wins
    r = await client.get(url, headers=f.auth(neighbour))
    assert [(c["body"], c["user_name"]) for c in r.json()["items"]] == [
        ("不同意", "1号楼 住户"),
        ("补充意见", author.name),
        ("匿名补充", "1号楼 住户"),
    ]


async def _sms_item(db: AsyncSession, u: User, key: str, *, critical: bool) -> Delivery:
    n = Notification(
        user_id=u.id, category="emergency" if critical else "notice", critical=critical,
        title="停水通知", body="明日9点至12点停水", data={"template": "notice.published"}, dedupe_key=key,
    )  # fmt: skip
    db.add(n)
    await db.flush()
    d = Delivery(
        notification_id=n.id or 0, user_id=u.id, channel=Channel.sms, status="pending", attempts=0,
        next_attempt_at=utcnow(), dedupe_key=f"{key}:u{u.id}:sms",
    )  # fmt: skip
    db.add(d)
    await db.flush()
    return d


async def test_non_critical_sms_only_with_consent_critical_always(
    app: App, db: AsyncSession, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    u = await f.user(db, "住户")
    routine = await _sms_item(db, u, "privacy:routine:1", critical=False)
    urgent = await _sms_item(db, u, "privacy:urgent:1", critical=True)
    await db.commit()
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    await drain_once(resources, LogPushChannel())
    for d in (routine, urgent):
        await db.refresh(d)
    assert (routine.status, routine.last_error) == ("skipped", "sms_not_consented")
    assert urgent.status == "sent"
    assert [m.phone for m in app.sms.sent] == [u.phone]

    r = await app.client.put("/v1/me/privacy", json={"sms_non_critical": True}, headers=f.auth(u))
    assert r.status_code == 200 and r.json()["sms_non_critical"] is True
    later = await _sms_item(db, u, "privacy:routine:2", critical=False)
    await db.commit()
    await drain_once(resources, LogPushChannel())
    await db.refresh(later)
    assert later.status == "sent"
    assert [m.phone for m in app.sms.sent] == [u.phone, u.phone]


async def test_sms_only_numbers_follow_the_account_that_has_them(
    app: App, db: AsyncSession, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A number staff recorded (an occupant without the app) is texted; if it is an app account's
    number, that account's choice holds."""
    from services.notifications.sms_only import notify_phones

    account = await f.user(db, "有账号的住户")
    stranger = "+8613700007777"
    ids = await notify_phones(
        db, [account.phone, stranger], "notice", "notice.sms",
        {"title": "电梯检修", "text": "周三上午电梯检修", "author": "物业", "kind_zh": "公告",
         "author_en": "property office", "kind_en": "Announcement"}, "privacy:offline:1",
    )  # fmt: skip
    assert len(ids) == 2
    await db.commit()
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    await drain_once(resources, LogPushChannel())
    rows = {d.dedupe_key: d for d in (await db.exec(select(Delivery).where(col(Delivery.id).in_(ids)))).all()}
    for d in rows.values():
        await db.refresh(d)
    by_phone = {k.split(":p")[1].split(":")[0]: (d.status, d.last_error) for k, d in rows.items()}
    assert by_phone == {account.phone: ("skipped", "sms_not_consented"), stranger: ("sent", None)}
    assert [m.phone for m in app.sms.sent] == [stranger]


async def test_a_sensitive_sms_says_only_new_message_unless_the_number_has_no_app(
    app: App, db: AsyncSession, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A complaint's SMS sits on the lock screen and in the message history like a push: to an account
    holder it carries no content (the inbox has it); an SMS-only number has nothing else, so it gets
    the text."""
    from services.notifications.sms_only import notify_phones

    u = await f.user(db, "投诉的住户")
    r = await app.client.put("/v1/me/privacy", json={"sms_non_critical": True}, headers=f.auth(u))
    assert r.status_code == 200
    secret = "楼上邻居深夜噪音"
    data = {"template": "ticket.accepted", "kind": "complaint", "title": secret, "kind_zh": "投诉"}
    n = Notification(
        user_id=u.id, category="ticket", title="投诉已受理", body=secret, data=data, dedupe_key="privacy:c:1"
    )
    db.add(n)
    await db.flush()
    db.add(
        Delivery(
            notification_id=n.id or 0,
            user_id=u.id,
            channel=Channel.sms,
            status="pending",
            attempts=0,
            next_attempt_at=utcnow(),
            dedupe_key=f"privacy:c:1:u{u.id}:sms",
        )
    )
    offline = "+8613700008888"
    await notify_phones(
        db, [offline], "notice", "notice.sms",
        {"title": "调解结果", "text": secret, "author": "居委会", "kind_zh": "公告", "sensitive": True,
         "author_en": "neighbourhood committee", "kind_en": "Announcement"}, "privacy:offline:2",
    )  # fmt: skip
    await db.commit()
    await drain_once(
        Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime), LogPushChannel()
    )

    by_phone = {m.phone: m for m in app.sms.sent}
    assert set(by_phone) == {u.phone, offline}
    assert (by_phone[u.phone].template, by_phone[u.phone].text) == (
        "private_message",
        "您有一条新消息，请登录邻里App查看。",
    )
    assert secret in by_phone[offline].text
    # The account holder's inbox keeps the words.
    r = await app.client.get("/v1/notifications", headers=f.auth(u))
    assert secret in r.json()["items"][0]["body"]
