"""Tearing down a `ticket_world` that a race test committed (those tests give each request its own
connection, so the rolled-back-transaction fixtures cannot undo them).

One delete list for the tickets and alarms that such a test may have made: children before parents,
the alarm before the ticket it was filed as (alarm.ticket_id points at the ticket)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from services.db import session_factory, transaction
from services.models import (
    AuditLog,
    Building,
    Community,
    Delivery,
    Household,
    ManagementContract,
    Membership,
    Notification,
    PropertyCompany,
    User,
)
from services.models.alarms import Alarm, AlarmDevice, AlarmEscalation, AlarmEvent
from services.models.tickets import Ticket, TicketEvent
from tests.factories import TicketWorld


async def delete_ticket_world(engine: AsyncEngine, w: TicketWorld) -> None:
    users = [
        u.id
        for u in (w.resident, w.manager, w.technician, w.technician2, w.committee, w.admin)
        if u is not None
    ]
    cid = w.community.id
    alarms = sa.select(Alarm.id).where(col(Alarm.community_id) == cid)
    async with session_factory(engine)() as s, transaction(s):
        for stmt in (
            sa.delete(Delivery).where(col(Delivery.user_id).in_(users)),
            sa.delete(Notification).where(col(Notification.user_id).in_(users)),
            sa.delete(AlarmEvent).where(col(AlarmEvent.community_id) == cid),
            sa.delete(AlarmEscalation).where(col(AlarmEscalation.alarm_id).in_(alarms)),
            sa.delete(Alarm).where(col(Alarm.community_id) == cid),
            sa.delete(AlarmDevice).where(col(AlarmDevice.community_id) == cid),
            sa.delete(TicketEvent).where(col(TicketEvent.community_id) == cid),
            sa.delete(Ticket).where(col(Ticket.community_id) == cid),
            sa.delete(AuditLog).where(col(AuditLog.community_id) == cid),
            sa.delete(Membership).where(col(Membership.user_id).in_(users)),
            sa.delete(ManagementContract).where(col(ManagementContract.community_id) == cid),
            sa.delete(PropertyCompany).where(col(PropertyCompany.id) == w.company.id),
            sa.delete(User).where(col(User.id).in_(users)),
            sa.delete(Household).where(col(Household.community_id) == cid),
            sa.delete(Building).where(col(Building.community_id) == cid),
            sa.delete(Community).where(col(Community.id) == cid),
        ):
            await s.execute(stmt)
