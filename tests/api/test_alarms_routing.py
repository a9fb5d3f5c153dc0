"""Alarm routing (issue 15 items 4 and 7): the default rules per type, the party member on duty now,
the residents' emergency notice, and the rules API (effective rules, upsert, delete back to default)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog, Device, Role, User, utcnow
from services.models.alarms import AlarmEscalation, AlarmEvent
from services.models.duty import DutyPost
from services.models.notifications import Delivery, Notification
from tests import factories as f
from tests.api.test_alarms_app import raise_alarm


class World:
    w: f.TicketWorld
    grid: User
    member: User  # party member on a shift of the post covering the building
    holder: User  # party member holding a post, no shift running
    secretary: User
    neighbour: User  # resident of another building
    post: DutyPost


async def world(db: AsyncSession) -> World:
    x = World()
    x.w = w = await f.ticket_world(db)
    x.grid = await f.community_staff(db, w.community, Role.grid_worker, "网格员")
    x.member = await f.community_staff(db, w.community, Role.party_member, "值班党员")
    x.holder = await f.community_staff(db, w.community, Role.party_member, "岗位党员")
    x.secretary = await f.community_staff(db, w.community, Role.party_secretary, "党支部书记")
    other = await f.building(db, w.community)
    x.neighbour = await f.resident(db, await f.household(db, other), name="邻楼住户")
    x.post = DutyPost(
        community_id=w.cid,
        category="security_watch",
        building_ids=[w.building.id],
        created_by=x.secretary.id or 0,
    )
    db.add(x.post)
    await db.flush()
    # A shift running now on the post covering the camera's building.
    await f.duty_shift(db, x.post, [x.member], utcnow() - timedelta(minutes=30))
    # A post of the other building only: its people are not on this alarm's route.
    far = DutyPost(
        community_id=w.cid, category="security_watch", building_ids=[other.id], created_by=x.secretary.id or 0
    )
    db.add(far)
    await db.flush()
    await f.duty_assign(db, far, x.holder)
    # The manager has the app: push and (critical) SMS at once.
    db.add(Device(user_id=w.manager.id or 0, token="routing-token-00000000000000", platform="android"))
    await db.flush()
    return x


async def inbox(db: AsyncSession, alarm_id: int, template: str) -> dict[int, Notification]:
    rows = (
        await db.exec(
            select(Notification).where(col(Notification.dedupe_key).startswith(f"alarm:{alarm_id}:"))
        )
    ).all()
    return {n.user_id: n for n in rows if n.data.get("template") == template}


async def channels(db: AsyncSession, user_id: int, alarm_id: int) -> list[str]:
    rows = (
        await db.exec(
            select(Delivery.channel)
            .join(Notification, col(Notification.id) == col(Delivery.notification_id))
            .where(Delivery.user_id == user_id, col(Notification.dedupe_key).startswith(f"alarm:{alarm_id}:"))
        )
    ).all()
    return sorted(rows)


def ids(*users: User) -> set[int]:
    return {u.id or 0 for u in users}


async def test_fire_reaches_everyone_on_duty_sms_at_once_and_warns_the_building(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    x = await world(db)
    w = x.w
    cam = await f.alarm_device(client, w.manager, w.cid, building_id=w.building.id, area="3号楼大堂")
    alarm_id = await raise_alarm(client, cam, "firedetection")

    staff = await inbox(db, alarm_id, "alarm.raised")
    everyone = ids(w.manager, w.technician, w.technician2, w.committee, w.admin, x.grid, x.member)
    assert set(staff) == everyone  # the far post's holder and the residents are not on the route
    n = staff[w.manager.id or 0]
    assert n.category == "safety" and n.critical and n.community_id == w.cid
    assert "明火" in n.title and "3号楼大堂" in n.body
    # Push + SMS at once, also for the one with the app; SMS only for the others (no device).
    assert await channels(db, w.manager.id or 0, alarm_id) == ["push", "sms"]
    assert await channels(db, x.member.id or 0, alarm_id) == ["sms"]

    # The building's residents get the evacuation notice, once; the neighbouring building nothing.
    notices = await inbox(db, alarm_id, "alarm.emergency_notice")
    assert set(notices) == ids(w.resident)
    assert notices[w.resident.id or 0].category == "emergency"
    assert "请勿使用电梯，按疏散指示撤离" in notices[w.resident.id or 0].body

    # Repeats of the same alarm route nothing new.
    before = (await db.exec(select(Notification.id))).all()
    assert await raise_alarm(client, cam, "firedetection") == alarm_id
    assert (await db.exec(select(Notification.id))).all() == before

    # The history says who was told; two escalation stages are scheduled.
    event = (
        await db.exec(
            select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id, AlarmEvent.kind == "notified")
        )
    ).one()
    assert event.data["on_duty"] == [x.member.id] and event.data["rule"] == "default"
    assert event.data["residents"] == 1 and event.data["channels"] == ["push", "sms"]
    stages = (
        await db.exec(
            select(AlarmEscalation)
            .where(AlarmEscalation.alarm_id == alarm_id)
            .order_by(col(AlarmEscalation.stage))
        )
    ).all()
    assert [(s.stage, s.sent_at) for s in stages] == [(1, None), (2, None)]
    assert stages[1].due_at - stages[0].due_at == timedelta(minutes=10)


async def test_default_routes_by_type(client: httpx.AsyncClient, db: AsyncSession) -> None:
    x = await world(db)
    w = x.w
    cam = await f.alarm_device(client, w.manager, w.cid, building_id=w.building.id)

    parking = await raise_alarm(client, cam, "illegalParking")
    got = await inbox(db, parking, "alarm.raised")
    assert set(got) == ids(w.technician, w.technician2)  # the security post
    assert got[w.technician.id or 0].category == "alarm" and not got[w.technician.id or 0].critical
    assert await channels(db, w.technician.id or 0, parking) == []  # no app, not critical: inbox only

    off_post = await raise_alarm(client, cam, "leavePosition")
    assert set(await inbox(db, off_post, "alarm.raised")) == ids(w.manager)
    assert (await db.exec(select(AlarmEscalation).where(AlarmEscalation.alarm_id == off_post))).all() == []

    motion = await raise_alarm(client, cam, "VMD")  # stored, not routed
    assert (
        await db.exec(select(Notification).where(col(Notification.dedupe_key).startswith(f"alarm:{motion}:")))
    ).all() == []
    assert (await db.exec(select(AlarmEscalation).where(AlarmEscalation.alarm_id == motion))).all() == []
    # Nobody's resident inbox holds an alarm of these types.
    resident_rows = (await db.exec(select(Notification).where(Notification.user_id == w.resident.id))).all()
    assert resident_rows == []


async def test_on_duty_by_device_post_and_fallback_to_post_holders(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    x = await world(db)
    w = x.w
    # A device tied to the far post: no shift running there, so its holder for today is on duty.
    far = (
        await db.exec(select(DutyPost).where(DutyPost.community_id == w.cid, col(DutyPost.id) != x.post.id))
    ).one()
    cam = await f.alarm_device(client, w.manager, w.cid, duty_post_id=far.id)
    alarm_id = await raise_alarm(client, cam, "fielddetection")  # intrusion: security + on duty
    assert set(await inbox(db, alarm_id, "alarm.raised")) == ids(w.technician, w.technician2, x.holder)

    # A device without a building or post: every post covering the whole community (none here but
    # building posts) -> the posts whose building list is empty; add one with a running shift.
    whole = DutyPost(
        community_id=w.cid, category="security_watch", building_ids=[], created_by=x.secretary.id or 0
    )
    db.add(whole)
    await db.flush()
    await f.duty_shift(db, whole, [x.holder], utcnow() - timedelta(minutes=5))
    cam2 = await f.alarm_device(client, w.manager, w.cid)
    a2 = await raise_alarm(client, cam2, "fielddetection")
    assert set(await inbox(db, a2, "alarm.raised")) == ids(w.technician, w.technician2, x.holder)


async def test_rules_api_defaults_upsert_delete_and_access(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    x = await world(db)
    w = x.w
    base = f"/v1/communities/{w.cid}/alarm-rules"

    r = await client.get(base, headers=f.auth(w.manager))
    assert r.status_code == 200, r.text
    rules = {(a["type"], a["severity"]): a for a in r.json()}
    fire = rules[("fire", None)]
    assert fire["is_default"] and fire["id"] is None and fire["emergency_notice"] and fire["include_on_duty"]
    assert set(fire["recipient_roles"]) == {
        "property_manager", "property_staff", "committee_member", "grid_worker", "community_admin"
    }  # fmt: skip
    assert fire["channels"] == ["push", "sms"] and fire["type_label"] == "明火"
    assert [s["after_minutes"] for s in fire["escalation_stages"]] == [5, 15]
    assert rules[("illegal_parking", None)]["recipient_roles"] == ["property_staff"]
    assert rules[("off_post", None)]["recipient_roles"] == ["property_manager"]
    assert rules[("motion", None)]["enabled"] is False

    body = {
        "recipient_roles": ["grid_worker"],
        "channels": ["push"],
        "escalation_stages": [
            {"after_minutes": 3, "roles": ["community_admin"], "channels": ["push", "sms"]}
        ],
    }
    # Strangers 401, other staff 403, another community 404, bad role / stages 422.
    assert (await client.put(f"{base}/illegal_parking", json=body)).status_code == 401
    assert (await client.get(base)).status_code == 401
    for who in (w.resident, w.technician, w.committee, x.grid):
        assert (
            await client.put(f"{base}/illegal_parking", json=body, headers=f.auth(who))
        ).status_code == 403
    assert (await client.get(base, headers=f.auth(w.technician))).status_code == 403
    stranger = await f.ticket_world(db)
    r = await client.put(
        f"/v1/communities/{stranger.cid}/alarm-rules/illegal_parking", json=body, headers=f.auth(w.manager)
    )
    assert r.status_code == 404
    r = await client.put(
        f"{base}/illegal_parking", json={**body, "recipient_roles": ["resident"]}, headers=f.auth(w.manager)
    )
    assert r.status_code == 422 and r.json()["error"]["code"]
    r = await client.put(
        f"{base}/illegal_parking", json={**body, "channels": ["fax"]}, headers=f.auth(w.manager)
    )
    assert r.status_code == 422
    stages = [
        {"after_minutes": 10, "roles": ["community_admin"]},
        {"after_minutes": 5, "roles": ["grid_worker"]},
    ]
    r = await client.put(
        f"{base}/illegal_parking", json={**body, "escalation_stages": stages}, headers=f.auth(w.admin)
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "alarm.rule_bad_stages"
    assert (await client.put(f"{base}/no_such_type", json=body, headers=f.auth(w.manager))).status_code == 422

    r = await client.put(f"{base}/illegal_parking", json=body, headers=f.auth(w.manager))
    assert r.status_code == 200, r.text
    assert (
        r.json()["is_default"] is False and r.json()["id"] and r.json()["recipient_roles"] == ["grid_worker"]
    )
    r = await client.put(
        f"{base}/illegal_parking", json={**body, "include_on_duty": True}, headers=f.auth(w.admin)
    )
    assert r.status_code == 200 and r.json()["include_on_duty"] is True  # upsert: still one row
    r = await client.get(base, headers=f.auth(w.admin))
    parking = [a for a in r.json() if a["type"] == "illegal_parking"]
    assert len(parking) == 1 and not parking[0]["is_default"]

    cam = await f.alarm_device(client, w.manager, w.cid, building_id=w.building.id)
    a1 = await raise_alarm(client, cam, "illegalParking")
    assert set(await inbox(db, a1, "alarm.raised")) == ids(x.grid, x.member)
    stage = (await db.exec(select(AlarmEscalation).where(AlarmEscalation.alarm_id == a1))).one()
    assert stage.due_at is not None

    # A severity-specific rule wins over the any-severity one for that severity only.
    r = await client.put(
        f"{base}/illegal_parking", json={**body, "severity": "critical", "recipient_roles": ["community_admin"]},
        headers=f.auth(w.manager),
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["severity"] == "critical"

    # DELETE goes back to the default.
    r = await client.delete(f"{base}/illegal_parking", headers=f.auth(w.technician))
    assert r.status_code == 403
    assert (await client.delete(f"{base}/illegal_parking", headers=f.auth(w.manager))).status_code == 204
    r = await client.delete(f"{base}/illegal_parking", headers=f.auth(w.manager))
    assert r.status_code == 404 and r.json()["error"]["code"] == "alarm.rule_not_found"
    r = await client.delete(
        f"{base}/illegal_parking", params={"severity": "critical"}, headers=f.auth(w.manager)
    )
    assert r.status_code == 204
    r = await client.get(base, headers=f.auth(w.manager))
    parking = [a for a in r.json() if a["type"] == "illegal_parking"]
    assert (
        len(parking) == 1 and parking[0]["is_default"] and parking[0]["recipient_roles"] == ["property_staff"]
    )

    actions = (await db.exec(select(AuditLog.action).where(AuditLog.entity == "alarm_route_rule"))).all()
    assert sorted(actions) == [
        "alarm.rule_delete",
        "alarm.rule_delete",
        "alarm.rule_put",
        "alarm.rule_put",
        "alarm.rule_put",
    ]


async def test_english_recipients_read_english(client: httpx.AsyncClient, db: AsyncSession) -> None:
    x = await world(db)
    w = x.w
    w.manager.locale = "en"
    w.resident.locale = "en"
    db.add_all([w.manager, w.resident])
    await db.flush()
    cam = await f.alarm_device(client, w.manager, w.cid, building_id=w.building.id)
    alarm_id = await raise_alarm(client, cam, "smokedetection")
    n = (await inbox(db, alarm_id, "alarm.raised"))[w.manager.id or 0]
    assert n.title == "Critical alarm: Smoke"
    notice = (await inbox(db, alarm_id, "alarm.emergency_notice"))[w.resident.id or 0]
    assert "Do not use the lifts; follow the evacuation signs" in notice.body
