"""Tickets: filing (by a resident, or by staff on a resident's behalf), detail, transitions, photos."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.models.tickets
import services.tickets.actions  # fills the transition handlers
import services.tickets.messages  # noqa: F401
from services.access import require_community, require_verified_resident
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.labels import labelled
from services.models import Household, Role, utcnow
from services.models.tickets import OPEN_STATUSES, IntakeChannel, Ticket, TicketRating
from services.models.tickets import TicketStatus as S
from services.notifications.outbox import notify_recipients
from services.runtime import Ctx
from services.tickets import calls, deadlines, filing, intake, occupant_sms, people, queries
from services.tickets.events import template_data
from services.tickets.schemas import DETAIL_LABELS, AttachmentRef, TicketCreate, TicketOut, TransitionIn
from services.tickets.sla import resolve_policy
from services.tickets.transitions import Call, Facts, actor_roles, allowed_actions, apply, check

if TYPE_CHECKING:  # imported lazily below (attachments imports tickets)
    from services.attachments.service import PreparedUpload

MAX_PHOTOS = 9  # per phase: a ticket holds up to 9 before-photos and 9 after-photos
STAFF = (Role.property_staff, Role.property_manager)
# Who may file for an occupant without the app: the property desk and the community office (hotline).
DESK = (*STAFF, Role.community_admin)
DESK_CHANNELS = (IntakeChannel.phone, IntakeChannel.walk_in, IntakeChannel.hotline)


async def create_ticket(ctx: Ctx, community_id: int, body: TicketCreate) -> TicketOut:
    principal = ctx.require_principal()
    require_community(principal, community_id)
    now = utcnow()
    start, end = body.appointment_start, body.appointment_end
    if start is not None and end is not None and not now < start < end:
        raise InvalidInput("ticket.appointment_invalid")
    occupant = None
    if body.occupant_id is not None:
        # The desk files for an occupant without the app: they are the reporter, told by SMS.
        require_community(principal, community_id, DESK)
        occupant = await intake.load_occupant(ctx, community_id, body.occupant_id)
    household, building_id = await intake.where_for(ctx, community_id, body, occupant)
    if body.about_staff_id is not None and not await people.is_property_staff(
        ctx.session, community_id, body.about_staff_id
    ):
        raise InvalidInput("ticket.about_staff_invalid")
    reporter_id: int | None
    if occupant is not None:
        if body.intake_channel not in DESK_CHANNELS:
            raise InvalidInput("ticket.intake_channel_invalid")
        reporter_id = None
    elif body.on_behalf_of_user_id is not None:
        # Reception (民生接待): staff file for a resident who phoned or walked in.
        require_community(principal, community_id, STAFF)
        if body.intake_channel not in DESK_CHANNELS:
            raise InvalidInput("ticket.intake_channel_invalid")
        if not await intake.is_resident_for(ctx, body.on_behalf_of_user_id, community_id, household):
            raise InvalidInput("ticket.on_behalf_invalid")
        reporter_id = body.on_behalf_of_user_id
    else:
        require_verified_resident(principal, community_id, household.id if household else None)
        if body.intake_channel != IntakeChannel.app:
            raise InvalidInput("ticket.intake_channel_invalid")
        reporter_id = principal.user_id
    t = await open_ticket(
        ctx,
        community_id=community_id,
        kind=body.kind,
        category=body.category,
        priority=body.priority,
        title=body.title,
        description=body.description,
        reporter_id=reporter_id,
        intake_channel=body.intake_channel,
        household=household,
        building_id=building_id,
        occupant_id=occupant.id if occupant else None,
        place=body.place,
        complaint_target=body.complaint_target,
        appointment=(body.appointment_start, body.appointment_end),
        now=now,
        about_staff_id=body.about_staff_id,
    )
    return await ticket_out(ctx, t, photos=[])  # a ticket just filed has no photos yet


async def open_ticket(
    ctx: Ctx,
    *,
    community_id: int,
    kind: str,
    category: str,
    priority: str,
    title: str,
    description: str,
    reporter_id: int | None,
    intake_channel: str,
    household: Household | None = None,
    building_id: int | None = None,
    occupant_id: int | None = None,
    place: str | None = None,
    complaint_target: str | None = None,
    appointment: tuple[datetime | None, datetime | None] = (None, None),
    now: datetime | None = None,
    about_staff_id: int | None = None,
    created_by_id: int | None = None,
    event_data: dict[str, object] | None = None,
) -> Ticket:
    """Insert a ticket with its due times, its 'create' event and the managers' notification.

    `created_by_id`: who is recorded as filing it (default: the caller); `event_data` joins the
    'create' event's data (e.g. the alarm it came from)."""
    return await file_ticket(
        ctx.session,
        created_by_id=created_by_id if created_by_id is not None else ctx.require_principal().user_id,
        community_id=community_id,
        kind=kind,
        category=category,
        priority=priority,
        title=title,
        description=description,
        reporter_id=reporter_id,
        intake_channel=intake_channel,
        household=household,
        building_id=building_id,
        occupant_id=occupant_id,
        place=place,
        complaint_target=complaint_target,
        appointment=appointment,
        now=now,
        about_staff_id=about_staff_id,
        event_data=event_data,
    )


async def file_ticket(
    session: AsyncSession,
    *,
    created_by_id: int,
    community_id: int,
    kind: str,
    category: str,
    priority: str,
    title: str,
    description: str,
    reporter_id: int | None,
    intake_channel: str,
    household: Household | None = None,
    building_id: int | None = None,
    occupant_id: int | None = None,
    place: str | None = None,
    complaint_target: str | None = None,
    appointment: tuple[datetime | None, datetime | None] = (None, None),
    now: datetime | None = None,
    about_staff_id: int | None = None,
    event_data: dict[str, object] | None = None,
) -> Ticket:
    """open_ticket without a request: the system files (an alarm rule's auto ticket), naming whom
    it files as."""
    now = now or utcnow()
    creator = created_by_id
    # The row as a dict, made an ORM instance once written (filing.insert): building a Ticket first
    # cost ~0.2 ms of a 3 ms filing in instrumented attribute sets (issue 17).
    row = filing.new_row(
        community_id=community_id,
        household_id=household.id if household else None,
        building_id=household.building_id if household else building_id,
        kind=kind,
        category=category,
        priority=priority,
        title=title,
        description=description,
        complaint_target=complaint_target,
        about_staff_id=about_staff_id,
        intake_channel=intake_channel,
        reporter_id=reporter_id,
        occupant_id=occupant_id,
        place=place,
        created_by_id=creator,
        appointment_start=appointment[0],
        appointment_end=appointment[1],
        created_at=now,
        updated_at=now,
    )
    policy = await resolve_policy(session, community_id, kind, category, priority)
    row |= deadlines.initial(now, policy)
    # Cached Core statements (services.tickets.filing): the ticket, its event and the managers to
    # tell with their locales and preferences, in one round trip on PostgreSQL.
    event = {
        "community_id": community_id,
        "actor_id": creator,
        "action": "create",
        "from_status": None,
        "to_status": row["status"],
        "reason": None,
        "data": {
            "intake_channel": intake_channel,
            "on_behalf": creator != reporter_id,
            "policy_id": policy.policy_id,
            **(event_data or {}),
        },
        "created_at": now,
    }
    t, event_id, managers = await filing.insert(session, row, event, "ticket")
    dedupe = f"ticket:{t.id}:event:{event_id}"  # events.event_key
    await notify_recipients(
        session, managers, "ticket", "ticket.created", template_data(t), dedupe, community_id=community_id
    )
    await occupant_sms.on_filed(session, t, dedupe)
    return t


async def facts_for(ctx: Ctx, t: Ticket, photos: Sequence[object]) -> Facts:
    """What the state rules read besides the row (see transitions.Facts)."""
    rated_at = None
    if t.rating_overall is not None:
        stmt = select(TicketRating.created_at).where(TicketRating.ticket_id == t.id)
        rated_at = (await ctx.session.exec(stmt)).first()
    after = sum(1 for p in photos if getattr(p, "purpose", None) == "after")
    return Facts(now=utcnow(), after_photos=after, rated_at=rated_at)


async def ticket_out(ctx: Ctx, t: Ticket, photos: Sequence[object] | None = None) -> TicketOut:
    from services.attachments.service import list_for

    principal = ctx.require_principal()
    assert t.id is not None
    if photos is None:
        photos = await list_for(ctx, "ticket", t.id)
    facts = await facts_for(ctx, t, photos)
    verdict = None if t.complaint_valid is None else "valid" if t.complaint_valid else "invalid"
    return TicketOut.model_validate(
        labelled(
            {
                **t.model_dump(),
                "overdue": queries.is_overdue(t.status, t.response_due_at, t.resolution_due_at, facts.now),
                "attachments": [AttachmentRef.model_validate(p, from_attributes=True) for p in photos],
                "allowed_actions": allowed_actions(principal, t, facts),
                "assignee_name": await calls.assignee_name(ctx, t),
                "contact": await calls.contact_for(ctx, principal, t),
                "complaint_verdict": verdict,
                "recorded_by_id": t.created_by_id if t.created_by_id != t.reporter_id else None,
                "source_alarm_id": await queries.source_alarm_id(ctx.session, t),
            },
            ctx.locale,
            DETAIL_LABELS,
        )
    )


async def get_ticket(ctx: Ctx, ticket_id: int) -> TicketOut:
    return await ticket_out(ctx, await queries.load_visible(ctx, ticket_id))


async def transition(ctx: Ctx, ticket_id: int, body: TransitionIn) -> TicketOut:
    from services.attachments.service import list_for

    principal = ctx.require_principal()
    try:
        t = await queries.load_visible(ctx, ticket_id)
    except NotFound:
        # A technician who lost a grab race no longer sees the ticket (it left the queue): say it
        # was taken, as the concurrent loser hears on PostgreSQL, not that it does not exist.
        if body.action == "grab" and await queries.taken_from_queue(ctx, ticket_id):
            raise Conflict("ticket.already_taken") from None
        raise
    assert t.id is not None
    facts = await facts_for(ctx, t, await list_for(ctx, "ticket", t.id))
    check(t, body.action, body.version, actor_roles(principal, t), facts)
    await apply(Call(ctx.session, ctx, t, body, facts.now, principal.user_id), body.action)
    return await ticket_out(ctx, t)


async def add_photo(ctx: Ctx, ticket_id: int, purpose: str, upload: PreparedUpload) -> AttachmentRef:
    """Before-photos from the reporter (or who filed) while open; after-photos from the worker."""
    from services.attachments.service import store_upload

    t = await photo_ticket(ctx, ticket_id, purpose)
    assert t.id is not None
    stored = await store_upload(
        ctx,
        community_id=t.community_id,
        owner_type="ticket",
        owner_id=t.id,
        purpose=purpose,
        upload=upload,
        max_count=MAX_PHOTOS,
    )
    return AttachmentRef.model_validate(stored, from_attributes=True)


async def photo_ticket(ctx: Ctx, ticket_id: int, purpose: str) -> Ticket:
    """The ticket, if the caller may add a `purpose` photo to it now (also checked before a direct
    upload is handed out, services/tickets/photo_uploads.py)."""
    principal = ctx.require_principal()
    t = await queries.load_visible(ctx, ticket_id)
    roles = actor_roles(principal, t)
    if purpose == "before":
        allowed = "reporter" in roles or principal.user_id == t.created_by_id or "manager" in roles
        ok_status = t.status in OPEN_STATUSES
    elif purpose == "after":
        allowed = bool({"assignee", "manager"} & roles)
        ok_status = t.status in (S.assigned, S.in_progress, S.paused)
    else:
        raise InvalidInput("ticket.photo_not_allowed")
    if not allowed:
        raise Forbidden()
    if not ok_status:
        raise InvalidInput("ticket.photo_not_allowed", details={"status": t.status})
    return t


async def delete_photo(ctx: Ctx, ticket_id: int, attachment_id: int) -> None:
    """The uploader takes back their own photo until the ticket's status next changes (a photo the
    next step was decided on stays in the record)."""
    from services.attachments.service import soft_delete
    from services.models.attachments import Attachment

    principal = ctx.require_principal()
    t = await queries.load_visible(ctx, ticket_id)
    assert t.id is not None

    async def allow(row: Attachment) -> None:
        if row.uploaded_by != principal.user_id:
            raise Forbidden()
        if await queries.status_changed_since(ctx, t, row.created_at):
            raise InvalidInput("ticket.photo_locked", details={"status": t.status})

    await soft_delete(ctx, "ticket", t.id, attachment_id, allow=allow)
