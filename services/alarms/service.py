"""The app's view of alarms: lists with cursors, one alarm with its history and pictures, badge
counts, and the staff actions. Residents see none of it (403 in their community, 404 elsewhere)."""

from __future__ import annotations

from sqlmodel import col, func, select

import services.alarms.labels
import services.alarms.messages  # noqa: F401  (registers the error codes and labels)
from services.access import community_filter, require_community
from services.alarms import lifecycle
from services.alarms.schemas import AlarmBadge, AlarmDetail, AlarmEventOut, AlarmOut, ClearIn
from services.attachments.service import to_out
from services.errors import NotFound
from services.models import Role
from services.models.alarms import (
    Alarm,
    AlarmDevice,
    AlarmEvent,
    AlarmPicture,
    AlarmSeverity,
    AlarmStatus,
    ClearReason,
)
from services.models.attachments import Attachment
from services.pagination import id_after, next_id_cursor
from services.runtime import Ctx
from services.schemas import Page

# Everyone who may be on an alarm's route: the property company, the committee, the grid worker,
# the community admin and the party members (the one on duty is routed by 15b's rules).
ALARM_STAFF = (
    Role.property_manager,
    Role.property_staff,
    Role.community_admin,
    Role.committee_member,
    Role.grid_worker,
    Role.party_secretary,
    Role.party_member,
)


def alarm_out(a: Alarm, device_name: str | None = None) -> AlarmOut:
    return AlarmOut.model_validate({**a.model_dump(), "device_name": device_name})


async def list_alarms(
    ctx: Ctx,
    community_id: int,
    *,
    status: str | None,
    type_: str | None,
    building_id: int | None,
    limit: int,
    cursor: str | None,
) -> Page[AlarmOut]:
    require_community(ctx.require_principal(), community_id, ALARM_STAFF)
    stmt = (
        select(Alarm, AlarmDevice.name)
        .join(AlarmDevice, col(AlarmDevice.id) == col(Alarm.device_id), isouter=True)
        .where(Alarm.community_id == community_id)
    )
    if status == "active":
        stmt = stmt.where(
            col(Alarm.status).in_((AlarmStatus.active_unacknowledged, AlarmStatus.active_acknowledged))
        )
    elif status is not None:
        stmt = stmt.where(Alarm.status == status)
    if type_ is not None:
        stmt = stmt.where(Alarm.type == type_)
    if building_id is not None:
        stmt = stmt.where(Alarm.building_id == building_id)
    after = id_after(cursor)
    if after is not None:
        stmt = stmt.where(col(Alarm.id) < after)
    rows = (await ctx.session.exec(stmt.order_by(col(Alarm.id).desc()).limit(limit))).all()
    items = [alarm_out(a, name) for a, name in rows]
    return Page(items=items, next_cursor=next_id_cursor([i.id for i in items], limit))


async def badge(ctx: Ctx, community_id: int) -> AlarmBadge:
    require_community(ctx.require_principal(), community_id, ALARM_STAFF)
    rows = (
        await ctx.session.exec(
            select(Alarm.status, Alarm.severity, func.count())
            .where(
                Alarm.community_id == community_id,
                col(Alarm.status).in_((AlarmStatus.active_unacknowledged, AlarmStatus.active_acknowledged)),
            )
            .group_by(col(Alarm.status), col(Alarm.severity))
        )
    ).all()
    counts = {AlarmStatus.active_unacknowledged: 0, AlarmStatus.active_acknowledged: 0}
    critical = 0
    for status, severity, n in rows:
        counts[AlarmStatus(status)] += n
        if status == AlarmStatus.active_unacknowledged and severity == AlarmSeverity.critical:
            critical += n
    return AlarmBadge(
        active_unacknowledged=counts[AlarmStatus.active_unacknowledged],
        active_acknowledged=counts[AlarmStatus.active_acknowledged],
        critical_unacknowledged=critical,
    )


async def load_alarm(ctx: Ctx, alarm_id: int, *, lock: bool = False) -> Alarm:
    """The alarm if it lies in one of the caller's communities (else 404) and the caller is staff
    there (else 403)."""
    principal = ctx.require_principal()
    stmt = select(Alarm).where(Alarm.id == alarm_id, community_filter(principal, col(Alarm.community_id)))
    if lock:
        stmt = stmt.with_for_update()
    alarm = (await ctx.session.exec(stmt)).first()
    if alarm is None:
        raise NotFound("alarm.not_found")
    require_community(principal, alarm.community_id, ALARM_STAFF)
    return alarm


async def get_alarm(ctx: Ctx, alarm_id: int) -> AlarmDetail:
    alarm = await load_alarm(ctx, alarm_id)
    device = await ctx.session.get(AlarmDevice, alarm.device_id) if alarm.device_id else None
    events = (
        await ctx.session.exec(
            select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id).order_by(col(AlarmEvent.id))
        )
    ).all()
    pictures = (
        await ctx.session.exec(
            select(Attachment)
            .join(AlarmPicture, col(AlarmPicture.attachment_id) == col(Attachment.id))
            .where(AlarmPicture.alarm_id == alarm_id, col(Attachment.deleted_at).is_(None))
            .order_by(col(AlarmPicture.id))
        )
    ).all()
    base = alarm_out(alarm, device.name if device else None)
    return AlarmDetail(
        **base.model_dump(),
        raw_event=alarm.raw_event,
        history=[AlarmEventOut.model_validate(e, from_attributes=True) for e in events],
        pictures=[to_out(ctx.settings, p) for p in pictures],
    )


async def acknowledge(ctx: Ctx, alarm_id: int, note: str | None) -> AlarmDetail:
    alarm = await load_alarm(ctx, alarm_id, lock=True)
    lifecycle.acknowledge(ctx.session, alarm, ctx.require_principal().user_id, note)
    await lifecycle.stop_escalation(ctx.session, alarm)
    await ctx.session.flush()
    return await get_alarm(ctx, alarm_id)


async def clear(ctx: Ctx, alarm_id: int, body: ClearIn) -> AlarmDetail:
    alarm = await load_alarm(ctx, alarm_id, lock=True)
    lifecycle.clear(ctx.session, alarm, ctx.require_principal().user_id, ClearReason(body.reason), body.note)
    await lifecycle.stop_escalation(ctx.session, alarm)
    await ctx.session.flush()
    return await get_alarm(ctx, alarm_id)


async def close(ctx: Ctx, alarm_id: int, note: str | None) -> AlarmDetail:
    alarm = await load_alarm(ctx, alarm_id, lock=True)
    lifecycle.close(ctx.session, alarm, ctx.require_principal().user_id, note)
    await lifecycle.stop_escalation(ctx.session, alarm)
    await ctx.session.flush()
    return await get_alarm(ctx, alarm_id)


async def comment(ctx: Ctx, alarm_id: int, note: str) -> AlarmDetail:
    alarm = await load_alarm(ctx, alarm_id)
    lifecycle.comment(ctx.session, alarm, ctx.require_principal().user_id, note)
    await ctx.session.flush()
    return await get_alarm(ctx, alarm_id)
