"""Inspections (巡查): greening and sanitation checks recorded item by item.

Each item is a row (passed true/false) so the greening pass rate is a plain count. A failed item
opens a repair ticket in the same transaction (intake channel `inspection`, category = the kind).
"""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import col, select

from services.access import community_filter, require_community
from services.attachments.schemas import AttachmentOut
from services.attachments.service import PreparedUpload, list_for_many, store_upload
from services.communities.common import load_community
from services.errors import NotFound
from services.models import Building, Role, utcnow
from services.models.tickets import Inspection, InspectionItem, IntakeChannel
from services.pagination import id_after, next_id_cursor
from services.runtime import Ctx
from services.schemas import Page
from services.tickets.schemas import AttachmentRef, InspectionCreate, InspectionItemOut, InspectionOut
from services.tickets.service import MAX_PHOTOS, open_ticket

INSPECTORS = (Role.property_staff, Role.property_manager, Role.committee_member)
READERS = (*INSPECTORS, Role.community_admin)
KIND_ZH = {"greening": "绿化", "sanitation": "环境卫生"}


async def record(ctx: Ctx, community_id: int, body: InspectionCreate) -> InspectionOut:
    principal = ctx.require_principal()
    require_community(principal, community_id, INSPECTORS)
    await load_community(ctx, community_id)  # a platform admin passes the check for any id
    if body.building_id is not None:
        building = await ctx.session.get(Building, body.building_id)
        if building is None or building.community_id != community_id:
            raise NotFound("building.not_found")
    now = utcnow()
    inspection = Inspection(
        community_id=community_id,
        kind=body.kind,
        area=body.area,
        building_id=body.building_id,
        inspector_id=principal.user_id,
        note=body.note,
        inspected_at=body.inspected_at or now,
        created_at=now,
    )
    ctx.session.add(inspection)
    await ctx.session.flush()
    assert inspection.id is not None
    items: list[InspectionItem] = []
    for item in body.items:
        ticket_id = None
        if not item.passed:
            t = await open_ticket(
                ctx,
                community_id=community_id,
                kind="repair",
                category=body.kind,
                priority="normal",
                title=f"巡查不合格：{body.area} {item.name}"[:100],
                description=(item.note or f"{KIND_ZH[body.kind]}巡查第 {inspection.id} 号记录")[:2000],
                reporter_id=principal.user_id,
                intake_channel=IntakeChannel.inspection,
                building_id=body.building_id,
                now=now,
            )
            ticket_id = t.id
        row = InspectionItem(
            inspection_id=inspection.id,
            community_id=community_id,
            kind=body.kind,
            name=item.name,
            passed=item.passed,
            note=item.note,
            ticket_id=ticket_id,
            created_at=now,
        )
        ctx.session.add(row)
        items.append(row)
    await ctx.session.flush()
    return _out(inspection, items)


async def list_inspections(
    ctx: Ctx, community_id: int, limit: int, cursor: str | None, kind: str | None = None
) -> Page[InspectionOut]:
    """Two statements per page: the inspections, then all their items."""
    principal = ctx.require_principal()
    require_community(principal, community_id, READERS)
    stmt = select(Inspection).where(Inspection.community_id == community_id)
    if kind is not None:
        stmt = stmt.where(Inspection.kind == kind)
    after = id_after(cursor)
    if after is not None:
        stmt = stmt.where(col(Inspection.id) < after)
    rows = (await ctx.session.exec(stmt.order_by(col(Inspection.id).desc()).limit(limit))).all()
    ids = [r.id for r in rows if r.id is not None]
    by_inspection: dict[int, list[InspectionItem]] = defaultdict(list)
    if ids:
        for item in (
            await ctx.session.exec(
                select(InspectionItem)
                .where(col(InspectionItem.inspection_id).in_(ids))
                .order_by(col(InspectionItem.id))
            )
        ).all():
            by_inspection[item.inspection_id].append(item)
    photos = await list_for_many(ctx, "inspection", ids)
    return Page(
        items=[_out(r, by_inspection.get(r.id or 0, []), photos.get(r.id or 0, [])) for r in rows],
        next_cursor=next_id_cursor(ids, limit),
    )


async def add_photo(ctx: Ctx, inspection_id: int, upload: PreparedUpload) -> AttachmentRef:
    """Evidence of what was seen (e.g. a dead shrub bed), at most 9 per inspection."""
    principal = ctx.require_principal()
    inspection = (
        await ctx.session.exec(
            select(Inspection).where(
                Inspection.id == inspection_id, community_filter(principal, Inspection.community_id)
            )
        )
    ).first()
    if inspection is None or inspection.id is None:
        raise NotFound("inspection.not_found")
    require_community(principal, inspection.community_id, INSPECTORS)
    stored = await store_upload(
        ctx,
        community_id=inspection.community_id,
        owner_type="inspection",
        owner_id=inspection.id,
        purpose="photo",
        upload=upload,
        max_count=MAX_PHOTOS,
    )
    return AttachmentRef.model_validate(stored, from_attributes=True)


def _out(
    inspection: Inspection, items: list[InspectionItem], photos: list[AttachmentOut] | None = None
) -> InspectionOut:
    assert inspection.id is not None
    return InspectionOut(
        id=inspection.id,
        community_id=inspection.community_id,
        kind=inspection.kind,
        area=inspection.area,
        building_id=inspection.building_id,
        inspector_id=inspection.inspector_id,
        note=inspection.note,
        inspected_at=inspection.inspected_at,
        created_at=inspection.created_at,
        passed_items=sum(1 for i in items if i.passed),
        failed_items=sum(1 for i in items if not i.passed),
        items=[
            InspectionItemOut(id=i.id or 0, name=i.name, passed=i.passed, note=i.note, ticket_id=i.ticket_id)
            for i in items
        ],
        photos=[AttachmentRef.model_validate(p, from_attributes=True) for p in photos or []],
    )
