from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AuthCtx, CommunityId
from services.tickets import sla_policies
from services.tickets.sla_schemas import CalendarExceptionsIn, CalendarOut, SlaPoliciesIn, SlaTableOut

router = APIRouter(prefix="/v1", tags=["sla"])


@router.get("/communities/{cid}/sla-policies", summary="Effective SLA targets (defaults + overrides)")
async def get_sla_policies(cid: CommunityId, ctx: AuthCtx) -> SlaTableOut:
    return await sla_policies.get_policies(ctx, cid)


@router.put("/communities/{cid}/sla-policies", summary="Replace the community's SLA overrides")
async def put_sla_policies(cid: CommunityId, body: SlaPoliciesIn, ctx: AuthCtx) -> SlaTableOut:
    return await sla_policies.put_policies(ctx, cid, body)


@router.get(
    "/communities/{cid}/calendar-exceptions",
    summary="The community's working-day exceptions and the statutory calendar of a year",
)
async def get_calendar_exceptions(
    cid: CommunityId, ctx: AuthCtx, year: Annotated[int | None, Query(ge=1950, le=2100)] = None
) -> CalendarOut:
    return await sla_policies.get_calendar(ctx, cid, year)


@router.put(
    "/communities/{cid}/calendar-exceptions",
    summary="Replace the exceptions of a year (e.g. the State Council's schedule), or all of them",
)
async def put_calendar_exceptions(cid: CommunityId, body: CalendarExceptionsIn, ctx: AuthCtx) -> CalendarOut:
    return await sla_policies.put_calendar(ctx, cid, body)
