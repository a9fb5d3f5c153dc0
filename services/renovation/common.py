"""Shared by the renovation area: who may do what, loading through the community filter, fen checks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, TypeVar

from sqlmodel import SQLModel, col, select

import services.renovation.messages  # noqa: F401  (registers this area's codes)
from services.access import Principal, community_filter
from services.duty.common import local_today, zone_of
from services.errors import InvalidInput, NotFound
from services.models import Building, Role
from services.models.base import utcnow
from services.models.renovation import RenovationItem, RenovationProject
from services.runtime import Ctx

# The community admin (居委会) runs the project; the owners' committee appoints the three roles with it.
MANAGERS = (Role.community_admin,)
APPOINTERS = (Role.community_admin, Role.committee_member)
APPROVERS = (Role.community_admin, Role.committee_member)
# Who sees every payment row and may verify the chain; residents see the ledger summary.
LEDGER_READERS = (Role.community_admin, Role.committee_member, Role.grid_worker, Role.property_manager)
T = TypeVar("T", bound=SQLModel)
MAX_FEN = 10**15  # a trillion yuan: well inside BIGINT and JSON-safe integers


def fen(value: Any, field: str) -> int:
    """Whole fen, never negative: a float (even 1.0), a bool or a negative number is refused."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_FEN:
        raise InvalidInput("renovation.invalid_amount", details={"field": field, "value": value})
    return value


def is_staff(principal: Principal, community_id: int, roles: Iterable[str]) -> bool:
    return principal.is_platform_admin or bool(set(roles) & principal.roles_in(community_id))


async def load_project(ctx: Ctx, project_id: int, *, lock: bool = False) -> RenovationProject:
    """The project if it is in one of the caller's communities, else 404."""
    principal = ctx.require_principal()
    stmt = select(RenovationProject).where(
        RenovationProject.id == project_id, community_filter(principal, col(RenovationProject.community_id))
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = (await ctx.session.exec(stmt)).first()
    if row is None:
        raise NotFound("renovation.project_not_found")
    return row


async def project_rows(ctx: Ctx, model: type[T], project: RenovationProject, *order: Any) -> list[T]:
    """A project's rows of one child table (each has `project_id`), in the given order."""
    project_id: Any = model.project_id  # type: ignore[attr-defined]  # every T has it; no common base
    stmt = select(model).where(project_id == project.id).order_by(*order)
    return list((await ctx.session.exec(stmt)).all())


async def community_today(ctx: Ctx, community_id: int) -> date:
    """Today on the community's calendar (Asia/Shanghai by default), not UTC's: from 00:00 to 08:00
    Beijing time the UTC date is still yesterday."""
    return local_today(await zone_of(ctx.session, community_id), utcnow())


async def load_item(ctx: Ctx, project: RenovationProject, item_id: int) -> RenovationItem:
    item = await ctx.session.get(RenovationItem, item_id)
    if item is None or item.project_id != project.id:
        raise InvalidInput("renovation.item_not_found", details={"item_id": item_id})
    return item


async def check_buildings(ctx: Ctx, community_id: int, building_ids: list[int]) -> list[int]:
    wanted = sorted(set(building_ids))
    if not wanted:
        return []
    found = set(
        (
            await ctx.session.exec(
                select(Building.id).where(Building.community_id == community_id, col(Building.id).in_(wanted))
            )
        ).all()
    )
    missing = [b for b in wanted if b not in found]
    if missing:
        raise InvalidInput("renovation.building_not_found", details={"building_ids": missing})
    return wanted
