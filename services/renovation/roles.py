"""The three roles (三员): appointments, the collectors' requests, supervision records, sign-offs.

Appointees are verified residents of the community; the community admin or the owners' committee
appoints them (audited). A supervisor's problem opens a repair ticket (intake "inspection") due at the
end of the deadline day for the contractor; an inspector signs each item off pass / rectify / fail.
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from services import audit
from services.access import require_community
from services.attachments.schemas import AttachmentOut
from services.attachments.service import DOCUMENT_TYPES, PHOTO_TYPES, PreparedUpload, store_upload
from services.duty.common import zone_of
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.models import Attachment, Household, Membership, MembershipStatus, Role, User
from services.models.renovation import (
    ItemSignOff,
    ProjectStatus,
    RenovationProject,
    RenovationRequest,
    RenovationRole,
    SupervisionRecord,
)
from services.renovation.common import (
    APPOINTERS,
    MANAGERS,
    community_today,
    is_staff,
    load_item,
    load_project,
    project_rows,
)
from services.renovation.schemas import (
    RequestCreate,
    RequestDecision,
    RequestOut,
    RoleCreate,
    RoleOut,
    SignOffCreate,
    SignOffOut,
    SupervisionCreate,
    SupervisionOut,
)
from services.runtime import Ctx


async def appoint(ctx: Ctx, project_id: int, body: RoleCreate) -> RoleOut:
    p = await load_project(ctx, project_id)
    principal = ctx.require_principal()
    require_community(principal, p.community_id, APPOINTERS)
    resident = (
        await ctx.session.exec(
            select(Membership.id).where(
                Membership.community_id == p.community_id,
                Membership.user_id == body.user_id,
                Membership.role == Role.resident,
                Membership.status == MembershipStatus.verified,
            )
        )
    ).first()
    if resident is None:
        raise InvalidInput("renovation.not_resident", details={"user_id": body.user_id})
    row = RenovationRole(
        project_id=p.id or 0, user_id=body.user_id, role=body.role, appointed_by=principal.user_id
    )
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(row)
            await ctx.session.flush()
    except IntegrityError as exc:
        raise Conflict("renovation.role_exists") from exc
    await audit.record(
        ctx, "renovation.appoint", "renovation_role", row.id, community_id=p.community_id,
        after={"project_id": p.id, "user_id": body.user_id, "role": body.role},
    )  # fmt: skip
    user = await ctx.session.get(User, body.user_id)
    return _role_out(row, user.name if user else "")


def _role_out(r: RenovationRole, name: str) -> RoleOut:
    return RoleOut(
        id=r.id or 0,
        user_id=r.user_id,
        name=name,
        role=r.role,
        appointed_by=r.appointed_by,
        created_at=r.created_at,
    )


async def list_roles(ctx: Ctx, project_id: int) -> list[RoleOut]:
    p = await load_project(ctx, project_id)
    rows = (
        await ctx.session.exec(
            select(RenovationRole, User.name)
            .join(User, col(User.id) == RenovationRole.user_id)
            .where(RenovationRole.project_id == p.id)
            .order_by(col(RenovationRole.id))
        )
    ).all()
    return [_role_out(r, name) for r, name in rows]


async def _require_role(ctx: Ctx, p: RenovationProject, role: str) -> int:
    principal = ctx.require_principal()
    require_community(principal, p.community_id)
    held = (
        await ctx.session.exec(
            select(RenovationRole.id).where(
                RenovationRole.project_id == p.id,
                RenovationRole.user_id == principal.user_id,
                RenovationRole.role == role,
            )
        )
    ).first()
    if held is None:
        raise Forbidden("renovation.not_appointed", details={"role": role})
    return principal.user_id


async def _check_photos(ctx: Ctx, p: RenovationProject, photo_ids: list[int]) -> list[int]:
    ids = sorted(set(photo_ids))
    if not ids:
        return []
    found = set(
        (
            await ctx.session.exec(
                select(Attachment.id).where(
                    col(Attachment.id).in_(ids),
                    Attachment.owner_type == "renovation_project",
                    Attachment.owner_id == p.id,
                    Attachment.purpose == "photo",
                    col(Attachment.deleted_at).is_(None),
                )
            )
        ).all()
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput("renovation.voucher_invalid", details={"photo_ids": missing})
    return ids


# --- opinion collectors' requests ------------------------------------------------------------------


def _request_out(r: RenovationRequest) -> RequestOut:
    return RequestOut.model_validate(r, from_attributes=True)


async def log_request(ctx: Ctx, project_id: int, body: RequestCreate) -> RequestOut:
    p = await load_project(ctx, project_id)
    collector = await _require_role(ctx, p, "collector")
    if body.household_id is not None:
        h = await ctx.session.get(Household, body.household_id)
        if h is None or h.community_id != p.community_id:
            raise InvalidInput("household.not_found", details={"household_id": body.household_id})
    row = RenovationRequest(
        project_id=p.id or 0, collector_id=collector, household_id=body.household_id, text=body.text
    )
    ctx.session.add(row)
    await ctx.session.flush()
    return _request_out(row)


async def list_requests(ctx: Ctx, project_id: int) -> list[RequestOut]:
    p = await load_project(ctx, project_id)
    rows = await project_rows(ctx, RenovationRequest, p, col(RenovationRequest.id))
    return [_request_out(r) for r in rows]


async def decide_request(ctx: Ctx, project_id: int, request_id: int, body: RequestDecision) -> RequestOut:
    """The admin turns a request into a ticket, records it as a design change, or declines it."""
    from services.tickets.service import open_ticket

    p = await load_project(ctx, project_id)
    require_community(ctx.require_principal(), p.community_id, MANAGERS)
    r = (
        await ctx.session.exec(
            select(RenovationRequest)
            .where(RenovationRequest.id == request_id, RenovationRequest.project_id == p.id)
            .with_for_update()
        )
    ).first()
    if r is None:
        raise NotFound("renovation.request_not_found")
    if r.outcome != "open":
        raise Conflict("renovation.request_decided", details={"outcome": r.outcome})
    if body.outcome == "ticket":
        household = await ctx.session.get(Household, r.household_id) if r.household_id else None
        t = await open_ticket(
            ctx,
            community_id=p.community_id,
            kind="repair",
            category=body.category,
            priority="normal",
            title=f"改造意见：{r.text}"[:100],
            description=r.text,
            reporter_id=None,
            intake_channel="inspection",
            household=household,
        )
        r.ticket_id = t.id
    r.outcome = body.outcome
    r.note = body.note
    ctx.session.add(r)
    await ctx.session.flush()
    await audit.record(
        ctx, "renovation.request_decide", "renovation_request", r.id, community_id=p.community_id,
        after={"outcome": r.outcome, "ticket_id": r.ticket_id},
    )  # fmt: skip
    return _request_out(r)


# --- supervision -----------------------------------------------------------------------------------


async def supervise(ctx: Ctx, project_id: int, body: SupervisionCreate) -> SupervisionOut:
    from services.tickets.service import open_ticket

    p = await load_project(ctx, project_id)
    supervisor = await _require_role(ctx, p, "supervisor")
    if p.status != ProjectStatus.construction:
        raise Conflict("renovation.phase_invalid", details={"status": p.status})
    item = await load_item(ctx, p, body.item_id)
    photos = await _check_photos(ctx, p, body.photo_ids)
    row = SupervisionRecord(
        project_id=p.id or 0,
        item_id=item.id or 0,
        supervisor_id=supervisor,
        note=body.note,
        problem=body.problem,
        deadline_on=body.deadline_on,
        photo_ids=photos,
    )
    if body.problem:
        if body.deadline_on is None or body.deadline_on < await community_today(ctx, p.community_id):
            raise InvalidInput("renovation.bad_dates", details={"deadline_on": body.deadline_on})
        t = await open_ticket(
            ctx,
            community_id=p.community_id,
            kind="repair",
            category="public_facility",
            priority="normal",
            title=f"改造监督问题：{item.name}"[:100],
            description=f"{body.note}\n施工单位：{item.contractor}\n整改期限：{body.deadline_on.isoformat()}",
            reporter_id=None,
            intake_channel="inspection",
        )
        zone = await zone_of(ctx.session, p.community_id)
        t.resolution_due_at = datetime.combine(body.deadline_on, time(23, 59, 59), zone)
        ctx.session.add(t)
        row.ticket_id = t.id
    ctx.session.add(row)
    await ctx.session.flush()
    return SupervisionOut.model_validate(row, from_attributes=True)


async def list_supervision(ctx: Ctx, project_id: int) -> list[SupervisionOut]:
    p = await load_project(ctx, project_id)
    rows = await project_rows(ctx, SupervisionRecord, p, col(SupervisionRecord.id))
    return [SupervisionOut.model_validate(r, from_attributes=True) for r in rows]


# --- acceptance sign-offs --------------------------------------------------------------------------


async def sign_off(ctx: Ctx, project_id: int, body: SignOffCreate) -> SignOffOut:
    p = await load_project(ctx, project_id)
    inspector = await _require_role(ctx, p, "inspector")
    if p.status != ProjectStatus.acceptance:
        raise Conflict("renovation.phase_invalid", details={"status": p.status})
    item = await load_item(ctx, p, body.item_id)
    row = ItemSignOff(
        project_id=p.id or 0,
        item_id=item.id or 0,
        inspector_id=inspector,
        verdict=body.verdict,
        note=body.note,
        photo_ids=await _check_photos(ctx, p, body.photo_ids),
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(
        ctx, "renovation.signoff", "renovation_signoff", row.id, community_id=p.community_id,
        after={"item_id": item.id, "verdict": body.verdict},
    )  # fmt: skip
    return SignOffOut.model_validate(row, from_attributes=True)


async def list_signoffs(ctx: Ctx, project_id: int) -> list[SignOffOut]:
    p = await load_project(ctx, project_id)
    rows = await project_rows(ctx, ItemSignOff, p, col(ItemSignOff.id))
    return [SignOffOut.model_validate(r, from_attributes=True) for r in rows]


async def add_attachment(ctx: Ctx, project_id: int, purpose: str, upload: PreparedUpload) -> AttachmentOut:
    """Vouchers (images or PDFs) by the community admin; photos by the admin or an appointee of the
    project. They belong to the project; payments, supervision records and sign-offs cite their ids."""
    p = await load_project(ctx, project_id)
    principal = ctx.require_principal()
    require_community(principal, p.community_id)
    if not is_staff(principal, p.community_id, MANAGERS):
        if purpose == "voucher":
            raise Forbidden()
        appointed = (
            await ctx.session.exec(
                select(RenovationRole.id).where(
                    RenovationRole.project_id == p.id, RenovationRole.user_id == principal.user_id
                )
            )
        ).first()
        if appointed is None:
            raise Forbidden("renovation.not_appointed")
    return await store_upload(
        ctx,
        community_id=p.community_id,
        owner_type="renovation_project",
        owner_id=p.id or 0,
        purpose=purpose,
        upload=upload,
        allowed=DOCUMENT_TYPES if purpose == "voucher" else PHOTO_TYPES,
    )
