"""Alarm routing rules of a community: the effective rules (stored and defaults), upsert per type,
delete back to the default. Property managers and community admins; every change is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AuthCtx, CommunityId
from services.alarms import rules
from services.alarms.rules import RuleIn, RuleOut
from services.models.alarms import AlarmSeverity, AlarmType

router = APIRouter(prefix="/v1", tags=["alarms"])


@router.get(
    "/communities/{cid}/alarm-rules",
    summary="Effective alarm routing rules: the stored ones and, per type without one, the default",
)
async def list_rules(cid: CommunityId, ctx: AuthCtx) -> list[RuleOut]:
    return await rules.list_rules(ctx, cid)


@router.put(
    "/communities/{cid}/alarm-rules/{alarm_type}",
    summary="Store the routing rule of an alarm type (optionally for one severity)",
)
async def put_rule(cid: CommunityId, alarm_type: AlarmType, body: RuleIn, ctx: AuthCtx) -> RuleOut:
    return await rules.put_rule(ctx, cid, alarm_type, body)


@router.delete(
    "/communities/{cid}/alarm-rules/{alarm_type}",
    status_code=204,
    summary="Remove the stored rule of a type (one severity with ?severity=): the default applies again",
)
async def delete_rule(
    cid: CommunityId,
    alarm_type: AlarmType,
    ctx: AuthCtx,
    severity: Annotated[AlarmSeverity | None, Query()] = None,
) -> Response:
    await rules.delete_rule(ctx, cid, alarm_type, severity)
    return Response(status_code=204)
