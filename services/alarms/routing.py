"""Who hears of a new alarm: the routing rule (services.alarms.rules), the party member on duty now,
the residents' emergency notice, and the escalation stages with their sweep.

`on_alarm_raised` runs in the lifecycle's transaction of the new alarm, so everything queued here
(inbox rows and deliveries through the outbox, escalation stages) commits or rolls back with it.

Categories: a critical alarm goes out as `safety` (critical: no quiet hours, no opt-out, SMS for
people without the app and again when the push is not opened within settings.sms_fallback_minutes,
see services.notifications.fallback); the others as `alarm`. A rule's "sms" channel adds an SMS
delivery at once, under the same key the fallbacks use, so nobody gets the same SMS twice.

Escalation: one alarm_escalation row per stage of the rule, due `after_minutes` after the alarm.
`sweep_escalations` sends each due stage once: the alarm row is locked first (as acknowledge does,
so the two never deadlock) and the stage is claimed by a conditional UPDATE (sent_at IS NULL AND
cancelled_at IS NULL): of two sweepers only one changes the row, only that one sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.alarms.rules import EffectiveRule, Stage, rule_for
from services.duty.common import active_on, local_today, zone_of
from services.i18n import en, zh
from services.models import Building, Household, Membership, MembershipStatus, Role, utcnow
from services.models.alarms import (
    Alarm,
    AlarmDevice,
    AlarmEscalation,
    AlarmEvent,
    AlarmEventKind,
    AlarmSeverity,
    AlarmStatus,
)
from services.models.duty import DutyAssignment, DutyPost, DutyShift, DutyShiftAssignee, ShiftStatus
from services.models.notifications import Notification
from services.notifications.catalog import register_templates
from services.notifications.fallback import add_sms_deliveries
from services.notifications.outbox import notify
from services.notifications.sms_templates import SmsTemplate, register_sms, register_sms_templates
from services.tickets.people import users_with_roles

BATCH = 200
EMERGENCY_TEXT_ZH = "请勿使用电梯，按疏散指示撤离"
EMERGENCY_TEXT_EN = "Do not use the lifts; follow the evacuation signs"

register_templates(
    {
        "alarm.raised": (
            ("{severity_zh}告警：{type_zh}", "{title}（{place}），请尽快处置并在邻里App中确认"),
            (
                "{severity} alarm: {type}",
                "{title} ({place}); please deal with it and acknowledge it in Linli",
            ),
        ),
        "alarm.escalated": (
            ("告警升级：{type_zh}", "{title}（{place}）已 {minutes} 分钟无人确认，请立即处置"),
            (
                "Alarm escalated: {type}",
                "{title} ({place}) is unacknowledged after {minutes} minutes; act now",
            ),
        ),
        "alarm.emergency_notice": (
            ("紧急通知：{type_zh}", f"{{place}}发生{{type_zh}}告警。{EMERGENCY_TEXT_ZH}。"),
            ("Emergency: {type}", f"{{type}} alarm at {{place}}. {EMERGENCY_TEXT_EN}."),
        ),
    }
)
register_sms_templates(
    [
        SmsTemplate("alarm_raised", "${severity}告警：${type}，地点：${place}，说明：${title}。请尽快处置。"),
        SmsTemplate(
            "alarm_escalated", "告警升级：${type}，地点：${place}，已${minutes}分钟无人确认，请立即处置。"
        ),
        SmsTemplate("alarm_emergency", "紧急通知：${place}发生${type}告警。请勿使用电梯，按疏散指示撤离。"),
    ]
)
register_sms(
    {
        "alarm.raised": ("alarm_raised", {"severity": "{severity_zh}", "type": "{type_zh}", "place": "{place}", "title": "{title}"}),
        "alarm.escalated": ("alarm_escalated", {"type": "{type_zh}", "place": "{place}", "minutes": "{minutes}"}),
        "alarm.emergency_notice": ("alarm_emergency", {"place": "{place}", "type": "{type_zh}"}),
    }
)  # fmt: skip


# --- resolution ------------------------------------------------------------------------------------


async def resolve_rule(session: AsyncSession, alarm: Alarm) -> EffectiveRule:
    """The rule that applies to this alarm (stored for its community, type and severity, or the default)."""
    return await rule_for(session, alarm.community_id, alarm.type, alarm.severity)


async def on_duty(session: AsyncSession, alarm: Alarm, now: datetime | None = None) -> list[int]:
    """The party members on duty now for the alarm's place: the device's duty post, else the posts
    covering its building (or the whole community); people on a running shift of those posts, else
    (no shift running) the members holding the posts today."""
    now = now or utcnow()
    device = await session.get(AlarmDevice, alarm.device_id) if alarm.device_id else None
    if device is not None and device.duty_post_id is not None:
        post_ids = [device.duty_post_id]
    else:
        posts = (
            await session.exec(
                select(DutyPost.id, DutyPost.building_ids).where(
                    DutyPost.community_id == alarm.community_id, col(DutyPost.deleted_at).is_(None)
                )
            )
        ).all()
        post_ids = [
            int(pid or 0)
            for pid, buildings in posts
            if not buildings or (alarm.building_id is not None and alarm.building_id in buildings)
        ]
    if not post_ids:
        return []
    shift_people = (
        await session.exec(
            select(DutyShiftAssignee.user_id)
            .join(DutyShift, col(DutyShift.id) == col(DutyShiftAssignee.shift_id))
            .where(
                col(DutyShift.post_id).in_(post_ids),
                DutyShift.status == ShiftStatus.scheduled,
                col(DutyShift.starts_at) <= now,
                col(DutyShift.ends_at) > now,
            )
            .distinct()
        )
    ).all()
    if shift_people:
        return sorted(int(u) for u in shift_people)
    today = local_today(await zone_of(session, alarm.community_id), now)
    holders = (
        await session.exec(
            select(DutyAssignment.user_id)
            .where(col(DutyAssignment.post_id).in_(post_ids), *active_on(today))
            .distinct()
        )
    ).all()
    return sorted(int(u) for u in holders)


async def residents_of(session: AsyncSession, community_id: int, building_id: int | None) -> list[int]:
    stmt = (
        select(Membership.user_id)
        .join(Household, col(Household.id) == col(Membership.household_id))
        .where(
            Membership.role == Role.resident,
            Membership.status == MembershipStatus.verified,
            Household.community_id == community_id,
        )
        .distinct()
    )
    if building_id is not None:
        stmt = stmt.where(Household.building_id == building_id)
    return sorted(int(u) for u in (await session.exec(stmt)).all())


# --- sending ---------------------------------------------------------------------------------------


def category_of(alarm: Alarm) -> str:
    return "safety" if alarm.severity == AlarmSeverity.critical else "alarm"


async def _data(session: AsyncSession, alarm: Alarm) -> dict[str, Any]:
    from services.alarms.lifecycle import TYPE_ZH

    device = await session.get(AlarmDevice, alarm.device_id) if alarm.device_id else None
    building = await session.get(Building, alarm.building_id) if alarm.building_id else None
    area = device.area if device else ""
    name = building.name if building else ""
    # "3号楼 1单元 门厅", not "3号楼 3号楼 1单元 门厅": areas often start with their building.
    place = (
        (area if name and area.startswith(name) else " ".join(p for p in (name, area) if p))
        or (device.name if device else "")
        or "小区"
    )
    return {
        "alarm_id": alarm.id or 0,
        "community_id": alarm.community_id,
        "type": en("alarm.type", alarm.type),
        "type_zh": TYPE_ZH.get(alarm.type, alarm.type),
        "severity": en("alarm.severity", alarm.severity),
        "severity_zh": zh("alarm.severity", alarm.severity),
        "title": alarm.title,
        "place": place,
    }


async def sms_now(session: AsyncSession, notification_ids: list[int]) -> int:
    """An SMS delivery, due now, for each of these inbox rows (a rule's "sms" channel), through the
    fallbacks' own path: a user gets at most one SMS per notification."""
    if not notification_ids:
        return 0
    rows = (
        await session.exec(
            select(Notification.id, Notification.user_id, Notification.dedupe_key).where(
                col(Notification.id).in_(notification_ids)
            )
        )
    ).all()
    return await add_sms_deliveries(
        session, [(int(nid or 0), uid, key) for nid, uid, key in rows if uid is not None]
    )


async def _send(
    session: AsyncSession,
    alarm: Alarm,
    users: list[int],
    channels: tuple[str, ...],
    template: str,
    data: dict[str, Any],
    key: str,
) -> list[int]:
    if not users:
        return []
    created = await notify(
        session, users, category_of(alarm), template, data, key, community_id=alarm.community_id
    )
    if "sms" in channels:
        await sms_now(session, created)
    return created


def _event(alarm: Alarm, kind: AlarmEventKind, at: datetime, data: dict[str, Any]) -> AlarmEvent:
    return AlarmEvent(alarm_id=alarm.id or 0, community_id=alarm.community_id, kind=kind, at=at, data=data)


async def on_alarm_raised(session: AsyncSession, alarm: Alarm) -> None:
    """Route a new alarm by its rule: notify the roles and the member on duty, post the residents'
    emergency notice, schedule the escalation stages. A disabled rule (motion by default) stores only."""
    assert alarm.id is not None
    rule = await resolve_rule(session, alarm)
    if not rule.enabled:
        return
    now = utcnow()
    data = await _data(session, alarm)
    duty = await on_duty(session, alarm, now) if rule.include_on_duty else []
    staff = await users_with_roles(session, alarm.community_id, rule.recipient_roles)
    people = sorted(set(staff) | set(duty))
    created = await _send(
        session, alarm, people, rule.channels, "alarm.raised", data, f"alarm:{alarm.id}:raised"
    )
    residents: list[int] = []
    if rule.emergency_notice:
        residents = await residents_of(session, alarm.community_id, alarm.building_id)
        if residents:
            await notify(
                session,
                residents,
                "emergency",
                "alarm.emergency_notice",
                data,
                f"alarm:{alarm.id}:emergency",
                community_id=alarm.community_id,
            )
    if people or residents:
        session.add(
            _event(
                alarm,
                AlarmEventKind.notified,
                now,
                {
                    "recipients": people,
                    "on_duty": duty,
                    "channels": list(rule.channels),
                    "residents": len(residents),
                    "rule": "default" if rule.is_default else rule.id,
                    "inbox_rows": len(created),
                },
            )
        )
    for number, stage in enumerate(rule.escalation_stages, start=1):
        session.add(
            AlarmEscalation(
                alarm_id=alarm.id,
                stage=number,
                due_at=alarm.first_seen_at + timedelta(minutes=stage.after_minutes),
            )
        )
    await session.flush()
    if rule.auto_ticket:
        from services.alarms.tickets import auto_ticket  # lazy: tickets → lifecycle → routing

        await auto_ticket(session, alarm)


async def cancel_escalations(session: AsyncSession, alarm_id: int, now: datetime | None = None) -> int:
    """Stop the clock: every pending stage of the alarm is cancelled (acknowledged, cleared, closed)."""
    t = AlarmEscalation.__table__  # type: ignore[attr-defined]
    result = await session.execute(
        sa.update(t)
        .where(t.c.alarm_id == alarm_id, t.c.sent_at.is_(None), t.c.cancelled_at.is_(None))
        .values(cancelled_at=now or utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _claim(session: AsyncSession, escalation_id: int, now: datetime) -> bool:
    t = AlarmEscalation.__table__  # type: ignore[attr-defined]
    result = await session.execute(
        sa.update(t)
        .where(t.c.id == escalation_id, t.c.sent_at.is_(None), t.c.cancelled_at.is_(None))
        .values(sent_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _send_stage(session: AsyncSession, alarm: Alarm, number: int, now: datetime) -> bool:
    rule = await resolve_rule(session, alarm)
    stages = rule.escalation_stages
    stage: Stage | None = stages[number - 1] if 0 < number <= len(stages) else None
    if stage is None:  # the rule changed since: the stage no longer exists
        return False
    data = await _data(session, alarm) | {"minutes": stage.after_minutes, "stage": number}
    people = await users_with_roles(session, alarm.community_id, stage.roles)
    await _send(
        session, alarm, people, stage.channels, "alarm.escalated", data, f"alarm:{alarm.id}:esc:{number}"
    )
    alarm.escalation_stage = max(alarm.escalation_stage, number)
    alarm.updated_at = now
    session.add(alarm)
    session.add(
        _event(
            alarm,
            AlarmEventKind.escalated,
            now,
            {
                "stage": number,
                "after_minutes": stage.after_minutes,
                "roles": list(stage.roles),
                "recipients": people,
            },
        )
    )
    return True


async def sweep_escalations(session: AsyncSession, now: datetime | None = None, limit: int = BATCH) -> int:
    """Send each due, unsent, uncancelled stage once; stages of alarms no longer unacknowledged are
    cancelled instead. Returns the stages sent. Safe to run twice and on several workers at once."""
    now = now or utcnow()
    due = (
        await session.exec(
            select(AlarmEscalation.id, AlarmEscalation.alarm_id, AlarmEscalation.stage)
            .where(
                col(AlarmEscalation.sent_at).is_(None),
                col(AlarmEscalation.cancelled_at).is_(None),
                col(AlarmEscalation.due_at) <= now,
            )
            .order_by(col(AlarmEscalation.alarm_id), col(AlarmEscalation.stage))
            .limit(limit)
        )
    ).all()
    sent = 0
    for escalation_id, alarm_id, number in due:
        # The alarm first, as acknowledge / clear lock it: the two never wait on each other crosswise.
        alarm = (await session.exec(select(Alarm).where(Alarm.id == alarm_id).with_for_update())).first()
        if alarm is None:
            continue
        if alarm.status != AlarmStatus.active_unacknowledged:
            await cancel_escalations(session, alarm_id, now)
            continue
        if not await _claim(session, int(escalation_id or 0), now):
            continue  # another sweeper sent it (or someone cancelled it) a moment ago
        if await _send_stage(session, alarm, int(number), now):
            sent += 1
    await session.flush()
    return sent
