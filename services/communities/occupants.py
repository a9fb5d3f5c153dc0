"""Occupants of a household recorded by community staff, with no app account needed (issue 21).

Who may do what (services.access scoping: another community's occupant is 404):
  read    community staff (admin, committee, property manager and staff, grid worker) and the
          verified residents of the household;
  write   community admin, committee, property manager and staff;
  phones  in full for community staff only, masked for everyone else (PIPL: minimum necessary).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

import services.communities.messages  # noqa: F401  (error codes)
from services import access, audit
from services.communities.common import after_id, load_community, page
from services.communities.occupant_schemas import OccupantIn, OccupantOut, OccupantPatch
from services.errors import Conflict, Forbidden, NotFound
from services.models import Building, Household, Membership, MembershipStatus, Role, User, utcnow
from services.models.occupants import Occupant
from services.phones import mask, normalise_mobile
from services.privacy import reads
from services.runtime import Ctx
from services.schemas import Page

OCCUPANT_WRITERS = (
    Role.community_admin,
    Role.committee_member,
    Role.property_manager,
    Role.property_staff,
)
OCCUPANT_STAFF = (*OCCUPANT_WRITERS, Role.grid_worker)


def household_label(building: str, entrance: str, room: str) -> str:
    unit = f"{entrance}单元" if entrance.isdigit() else entrance  # "2" or already "2单元"
    return " ".join(x for x in (building, unit, room) if x)


def is_staff(p: access.Principal, community_id: int) -> bool:
    return p.is_platform_admin or bool(set(OCCUPANT_STAFF) & p.roles_in(community_id))


def _can_read(p: access.Principal, community_id: int, household_id: int) -> bool:
    return is_staff(p, community_id) or household_id in p.households.get(community_id, {})


async def _household(ctx: Ctx, community_id: int, household_id: int) -> tuple[Household, str]:
    row = (
        await ctx.session.exec(
            select(Household, Building.name)
            .join(Building, col(Building.id) == Household.building_id)
            .where(Household.id == household_id, Household.community_id == community_id)
        )
    ).first()
    if row is None:
        raise NotFound("household.not_found")
    h, name = row
    return h, household_label(name, h.entrance, h.room)


async def _app_phones(ctx: Ctx, household_ids: list[int]) -> set[tuple[int, str]]:
    """(household, phone) of the verified app residents of these households."""
    if not household_ids:
        return set()
    rows = (
        await ctx.session.exec(
            select(Membership.household_id, User.phone)
            .join(User, col(User.id) == Membership.user_id)
            .where(
                col(Membership.household_id).in_(household_ids),
                Membership.role == Role.resident,
                Membership.status == MembershipStatus.verified,
            )
        )
    ).all()
    return {(int(h), phone) for h, phone in rows if h is not None}


def _out(o: Occupant, label: str, staff: bool, app: set[tuple[int, str]]) -> OccupantOut:
    phone = o.phone if staff or o.phone is None else mask(o.phone)
    return OccupantOut(
        id=o.id or 0,
        community_id=o.community_id,
        household_id=o.household_id,
        household=label,
        name=o.name,
        phone=phone,
        phone_masked=bool(o.phone) and not staff,
        relation=o.relation,
        note=o.note if staff else "",
        has_app=o.phone is not None and (o.household_id, o.phone) in app,
        created_at=o.created_at,
        updated_at=o.updated_at,
    )


async def _check_unique_phone(ctx: Ctx, household_id: int, phone: str | None, own_id: int | None) -> None:
    if phone is None:
        return
    stmt = select(Occupant.id).where(
        Occupant.household_id == household_id, Occupant.phone == phone, col(Occupant.deleted_at).is_(None)
    )
    if own_id is not None:
        stmt = stmt.where(Occupant.id != own_id)
    taken = (await ctx.session.exec(stmt)).first()
    if taken is not None:
        raise Conflict("occupant.duplicate", details={"occupant_id": taken})


async def list_household_occupants(
    ctx: Ctx, community_id: int, household_id: int, limit: int, cursor: str | None
) -> Page[OccupantOut]:
    p = ctx.require_principal()
    access.require_community(p, community_id)
    await load_community(ctx, community_id)
    _, label = await _household(ctx, community_id, household_id)
    if not _can_read(p, community_id, household_id):
        raise Forbidden()
    rows = (
        await ctx.session.exec(
            select(Occupant)
            .where(
                Occupant.household_id == household_id,
                col(Occupant.deleted_at).is_(None),
                col(Occupant.id) > after_id(cursor),
            )
            .order_by(col(Occupant.id))
            .limit(limit)
        )
    ).all()
    staff = is_staff(p, community_id)
    app = await _app_phones(ctx, [household_id])
    if staff:
        await reads.record_read(
            ctx, "read.household_occupants", purpose="household_management", community_id=community_id,
            entity="household", entity_id=household_id,
            subjects=await reads.household_residents(ctx, [household_id]),
        )  # fmt: skip
    return page([_out(o, label, staff, app) for o in rows], [o.id or 0 for o in rows], limit)


async def search_occupants(
    ctx: Ctx, community_id: int, phone: str | None, q: str | None, limit: int, cursor: str | None
) -> Page[OccupantOut]:
    """The desk's look-up: who is ringing (by phone) or by name; community staff only."""
    p = ctx.require_principal()
    access.require_community(p, community_id, OCCUPANT_STAFF)
    await load_community(ctx, community_id)
    stmt = (
        select(Occupant, Building.name, Household.entrance, Household.room)
        .join(Household, col(Household.id) == Occupant.household_id)
        .join(Building, col(Building.id) == Household.building_id)
        .where(
            Occupant.community_id == community_id,
            col(Occupant.deleted_at).is_(None),
            col(Occupant.id) > after_id(cursor),
        )
    )
    if phone:
        stmt = stmt.where(Occupant.phone == normalise_mobile(phone))
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(col(Occupant.name).ilike(f"%{escaped}%", escape="\\"))
    rows = (await ctx.session.exec(stmt.order_by(col(Occupant.id)).limit(limit))).all()
    homes = sorted({o.household_id for o, *_ in rows})
    app = await _app_phones(ctx, homes)
    if rows:
        await reads.record_read(
            ctx, "read.occupant_search", purpose="front_desk", community_id=community_id, entity="occupant",
            subjects=await reads.household_residents(ctx, homes),
            detail={"occupant_ids": ",".join(str(o.id) for o, *_ in rows)},
        )  # fmt: skip
    items = [_out(o, household_label(b, e, r), True, app) for o, b, e, r in rows]
    return page(items, [o.id or 0 for o, *_ in rows], limit)


async def create_occupant(ctx: Ctx, community_id: int, household_id: int, body: OccupantIn) -> OccupantOut:
    p = ctx.require_principal()
    access.require_community(p, community_id, OCCUPANT_WRITERS)
    await load_community(ctx, community_id)
    _, label = await _household(ctx, community_id, household_id)
    phone = normalise_mobile(body.phone) if body.phone else None
    await _check_unique_phone(ctx, household_id, phone, None)
    now = utcnow()
    row = Occupant(
        community_id=community_id,
        household_id=household_id,
        name=body.name,
        phone=phone,
        relation=body.relation,
        note=body.note,
        created_by_id=p.user_id,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(
        ctx, "occupant.create", "occupant", row.id, community_id=community_id, after=_audit(row)
    )
    return _out(row, label, True, await _app_phones(ctx, [household_id]))


async def load_occupant(ctx: Ctx, occupant_id: int) -> Occupant:
    """A live occupant of one of the caller's communities, or 404."""
    p = ctx.require_principal()
    row = (
        await ctx.session.exec(
            select(Occupant).where(
                Occupant.id == occupant_id,
                col(Occupant.deleted_at).is_(None),
                access.community_filter(p, col(Occupant.community_id)),
            )
        )
    ).first()
    if row is None:
        raise NotFound("occupant.not_found")
    return row


async def get_occupant(ctx: Ctx, occupant_id: int) -> OccupantOut:
    p = ctx.require_principal()
    o = await load_occupant(ctx, occupant_id)
    if not _can_read(p, o.community_id, o.household_id):
        raise Forbidden()
    _, label = await _household(ctx, o.community_id, o.household_id)
    staff = is_staff(p, o.community_id)
    if staff:
        await reads.record_read(
            ctx, "read.occupant", purpose="household_management", community_id=o.community_id,
            entity="occupant", entity_id=o.id, subjects=await reads.household_residents(ctx, [o.household_id]),
        )  # fmt: skip
    return _out(o, label, staff, await _app_phones(ctx, [o.household_id]))


async def update_occupant(ctx: Ctx, occupant_id: int, body: OccupantPatch) -> OccupantOut:
    p = ctx.require_principal()
    o = await load_occupant(ctx, occupant_id)
    access.require_community(p, o.community_id, OCCUPANT_WRITERS)
    before = _audit(o)
    if body.clear_phone:
        o.phone = None
    elif body.phone is not None:
        o.phone = normalise_mobile(body.phone)
        await _check_unique_phone(ctx, o.household_id, o.phone, o.id)
    if body.name is not None:
        o.name = body.name
    if body.relation is not None:
        o.relation = body.relation
    if body.note is not None:
        o.note = body.note
    o.updated_at = utcnow()
    ctx.session.add(o)
    await ctx.session.flush()
    await audit.record(
        ctx, "occupant.update", "occupant", o.id, community_id=o.community_id, before=before, after=_audit(o)
    )
    _, label = await _household(ctx, o.community_id, o.household_id)
    return _out(o, label, True, await _app_phones(ctx, [o.household_id]))


async def delete_occupant(ctx: Ctx, occupant_id: int) -> None:
    p = ctx.require_principal()
    o = await load_occupant(ctx, occupant_id)
    access.require_community(p, o.community_id, OCCUPANT_WRITERS)
    o.deleted_at = utcnow()
    ctx.session.add(o)
    await ctx.session.flush()
    await audit.record(
        ctx, "occupant.delete", "occupant", o.id, community_id=o.community_id, before=_audit(o)
    )


def _audit(o: Occupant) -> dict[str, Any]:
    # The audit log keeps the masked number: it is read more widely than the register.
    return {
        "household_id": o.household_id,
        "name": o.name,
        "phone": mask(o.phone) if o.phone else None,
        "relation": o.relation,
    }


async def sms_contact(session: Any, household_ids: list[int]) -> dict[int, str]:
    """One phone per household (owners first, then the earliest recorded) for household SMS."""
    if not household_ids:
        return {}
    owner_first = sa.case((col(Occupant.relation) == "owner", 0), else_=1)
    rows = (
        await session.exec(
            select(Occupant.household_id, Occupant.phone)
            .where(
                col(Occupant.household_id).in_(household_ids),
                col(Occupant.deleted_at).is_(None),
                col(Occupant.phone).is_not(None),
            )
            .order_by(col(Occupant.household_id), owner_first, col(Occupant.id))
        )
    ).all()
    out: dict[int, str] = {}
    for h, phone in rows:
        out.setdefault(int(h), phone)
    return out
