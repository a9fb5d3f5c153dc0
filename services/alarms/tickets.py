"""Alarm → ticket (issue 15 item 6): one action turns an alarm into a repair ticket, linked both ways
(alarm.ticket_id; the ticket answers `source_alarm_id`), the detection pictures copied as the
ticket's before-photos (new attachment rows over the same stored files: nothing is uploaded again).

* `alarm_to_ticket`: staff who may handle the alarm (the acknowledge rule). An alarm that already
  has a live ticket answers 409 `alarm.already_ticketed` with the ticket's id in the details (the
  app opens that ticket); one whose ticket was cancelled or rejected may be ticketed again (the alarm
  then points at the new ticket; the history keeps both); a closed alarm answers 409 `alarm.closed`.
* `auto_ticket`: a routing rule with auto_ticket (water leak by default) files it as the system, in the
  name of the device's owner (who registered it), else the community's first property manager.
* `on_ticket_closed`: the ticket lifecycle calls it when an alarm ticket reaches `closed`; an alarm
  the device has not cleared is cleared (reason `ticket_closed`, note 工单已关闭).
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.alarms.lifecycle import TYPE_ZH, _event
from services.alarms.routing import cancel_escalations
from services.alarms.schemas import AlarmTicketIn
from services.alarms.service import load_alarm
from services.errors import Conflict
from services.i18n import register
from services.models import utcnow
from services.models.alarms import (
    ACTIVE_STATUSES,
    Alarm,
    AlarmDevice,
    AlarmEventKind,
    AlarmPicture,
    AlarmStatus,
    AlarmType,
    ClearReason,
)
from services.models.attachments import Attachment
from services.models.tickets import IntakeChannel, Ticket, TicketStatus
from services.runtime import Ctx
from services.tickets import people
from services.tickets.schemas import TicketOut
from services.tickets.service import MAX_PHOTOS, file_ticket, ticket_out

log = logging.getLogger("linli.alarms")

register(
    {
        "alarm.already_ticketed": ("该告警已转为工单", "This alarm has already been turned into a ticket"),
    }
)

# Which repair category a ticket of each alarm type falls in (services.tickets.schemas.CATEGORIES).
CATEGORY: dict[str, str] = {
    AlarmType.water_leak: "plumbing",
    AlarmType.door_open: "door_window",
    AlarmType.smoke: "public_facility",
    AlarmType.fire: "public_facility",
    AlarmType.smoke_detector: "public_facility",
    AlarmType.gas_leak: "public_facility",
    AlarmType.illegal_parking: "public_facility",  # a blocked fire lane
    AlarmType.tampering: "electrical",  # the camera itself (weak-current system)
    AlarmType.video_loss: "electrical",
    AlarmType.device_offline: "electrical",
}
PRIORITY = {"critical": "urgent", "major": "high", "minor": "normal", "warning": "low"}
CLOSED_NOTE = "工单已关闭"


def _title(alarm: Alarm) -> str:
    return f"告警转工单：{alarm.title}"[:100]


def _description(alarm: Alarm, device: AlarmDevice | None) -> str:
    kind = TYPE_ZH.get(alarm.type, alarm.type)
    where = device.area if device is not None and device.area else (device.name if device else "")
    lines = [f"{kind}（告警 #{alarm.id}，{alarm.first_seen_at:%Y-%m-%d %H:%M} UTC，共 {alarm.count} 次）"]
    if where:
        lines.append(f"位置：{where}")
    return "\n".join(lines)[:2000]


async def _device(session: AsyncSession, alarm: Alarm) -> AlarmDevice | None:
    return await session.get(AlarmDevice, alarm.device_id) if alarm.device_id is not None else None


async def _open(
    session: AsyncSession,
    alarm: Alarm,
    device: AlarmDevice | None,
    *,
    filed_by: int,
    actor_id: int | None,
    body: AlarmTicketIn | None,
    now: datetime,
    replacing: int | None = None,
) -> Ticket:
    """File the ticket, copy the pictures, link both ways and record the alarm event."""
    assert alarm.id is not None
    body = body or AlarmTicketIn()
    place = (device.area or device.name) if device is not None else None
    t = await file_ticket(
        session,
        created_by_id=filed_by,
        community_id=alarm.community_id,
        kind="repair",
        category=body.category or CATEGORY.get(alarm.type, "other"),
        priority=body.priority or PRIORITY.get(alarm.severity, "normal"),
        title=body.title or _title(alarm),
        description=body.description or _description(alarm, device),
        reporter_id=filed_by,
        intake_channel=IntakeChannel.alarm,
        building_id=alarm.building_id,
        place=(place or None) and place[:100],
        now=now,
        event_data={"alarm_id": alarm.id, "auto": actor_id is None},
    )
    assert t.id is not None
    copied = await _copy_pictures(session, alarm.id, t)
    table = Alarm.__table__  # type: ignore[attr-defined]
    result = await session.execute(
        sa.update(table)
        .where(table.c.id == alarm.id, table.c.ticket_id.is_not_distinct_from(replacing))
        .values(ticket_id=t.id, updated_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("alarm.already_ticketed")  # a concurrent request won (its transaction has it)
    set_committed_value(alarm, "ticket_id", t.id)
    set_committed_value(alarm, "updated_at", now)
    session.add(
        _event(
            alarm,
            AlarmEventKind.ticketed,
            now,
            actor_id=actor_id,
            data={"ticket_id": t.id, "auto": actor_id is None, "pictures": copied},
        )
    )
    await session.flush()
    return t


async def _copy_pictures(session: AsyncSession, alarm_id: int, t: Ticket) -> int:
    """The alarm's pictures as the ticket's before-photos: new rows, the same stored objects (files
    are never deleted on soft delete, so two rows may share a key)."""
    assert t.id is not None
    rows = (
        await session.exec(
            select(Attachment)
            .join(AlarmPicture, col(AlarmPicture.attachment_id) == col(Attachment.id))
            .where(AlarmPicture.alarm_id == alarm_id, col(Attachment.deleted_at).is_(None))
            .order_by(col(AlarmPicture.id))
            .limit(MAX_PHOTOS)
        )
    ).all()
    for row in rows:
        session.add(
            Attachment(
                community_id=t.community_id,
                owner_type="ticket",
                owner_id=t.id,
                purpose="before",
                content_type=row.content_type,
                size_bytes=row.size_bytes,
                sha256=row.sha256,
                width=row.width,
                height=row.height,
                storage_key=row.storage_key,
                thumb_key=row.thumb_key,
                medium_key=row.medium_key,
                original_name=row.original_name,
                uploaded_by=row.uploaded_by,
            )
        )
    await session.flush()
    return len(rows)


async def alarm_to_ticket(ctx: Ctx, alarm_id: int, body: AlarmTicketIn | None = None) -> TicketOut:
    """POST /v1/alarms/{id}/ticket: the staff member who asks files the ticket and is its reporter
    (they confirm the repair, which clears the alarm)."""
    alarm = await load_alarm(ctx, alarm_id, lock=True)
    replacing = alarm.ticket_id
    if replacing is not None and await _ticket_is_live(ctx.session, replacing):
        raise Conflict("alarm.already_ticketed", details={"ticket_id": replacing})
    if alarm.status == AlarmStatus.closed:
        raise Conflict("alarm.closed")
    user_id = ctx.require_principal().user_id
    device = await _device(ctx.session, alarm)
    t = await _open(
        ctx.session,
        alarm,
        device,
        filed_by=user_id,
        actor_id=user_id,
        body=body,
        now=utcnow(),
        replacing=replacing,
    )
    return await ticket_out(ctx, t)


async def _ticket_is_live(session: AsyncSession, ticket_id: int) -> bool:
    """A cancelled or rejected ticket did not deal with the alarm: it may be ticketed again."""
    status = (await session.exec(select(Ticket.status).where(Ticket.id == ticket_id))).first()
    return status is not None and status not in (TicketStatus.cancelled, TicketStatus.rejected)


async def auto_ticket(session: AsyncSession, alarm: Alarm) -> Ticket | None:
    """Open the alarm's ticket as the system (a rule with auto_ticket); None when it already has one,
    is no longer active, or nobody can be named as filing it."""
    if alarm.id is None or alarm.ticket_id is not None or alarm.status not in ACTIVE_STATUSES:
        return None
    device = await _device(session, alarm)
    filed_by = device.created_by if device is not None else None
    if filed_by is None:
        managers = await people.managers(session, alarm.community_id)
        filed_by = managers[0] if managers else None
    if filed_by is None:
        log.warning("auto ticket skipped: nobody to file it as", extra={"alarm_id": alarm.id})
        return None
    return await _open(session, alarm, device, filed_by=filed_by, actor_id=None, body=None, now=utcnow())


async def on_ticket_closed(session: AsyncSession, t: Ticket, actor_id: int | None, now: datetime) -> None:
    """The ticket reached `closed`: clear its alarm if the device has not (None actor: auto-close)."""
    alarm = (await session.exec(select(Alarm).where(Alarm.ticket_id == t.id).with_for_update())).first()
    if alarm is None or alarm.status not in ACTIVE_STATUSES:
        return
    alarm.status = AlarmStatus.cleared
    alarm.cleared_at = now
    alarm.cleared_by = actor_id
    alarm.clear_reason = ClearReason.ticket_closed
    alarm.updated_at = now
    session.add(alarm)
    session.add(
        _event(
            alarm,
            AlarmEventKind.cleared,
            now,
            actor_id=actor_id,
            note=CLOSED_NOTE,
            data={"reason": ClearReason.ticket_closed, "ticket_id": t.id},
        )
    )
    await cancel_escalations(session, alarm.id or 0, now)
    await session.flush()
