"""Alarm routing rules per community: type (× severity) → roles, the party member on duty, channels,
escalation stages, the residents' emergency notice.

A community that stored no rule for a type gets the defaults below (DEFAULTS). A stored rule names a
type and optionally a severity: a rule for the alarm's exact severity wins over the type's any-severity
rule, which wins over the default. DELETE removes the stored rules of a type (back to the default).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.alarms.labels
import services.alarms.messages  # noqa: F401  (registers the error codes and labels)
from services import audit
from services.access import require_community
from services.communities.common import load_community
from services.errors import InvalidInput, NotFound
from services.i18n import Labelled, register
from services.models import Community, Role
from services.models.alarms import AlarmRouteRule, AlarmSeverity, AlarmType
from services.models.base import utcnow
from services.runtime import Ctx
from services.schemas import RequestBody, ResponseBody

register(
    {
        "alarm.rule_not_found": ("该类型没有自定义告警规则", "No custom rule is stored for this alarm type"),
        "alarm.rule_bad_stages": (
            "升级阶段的分钟数须逐级递增且不重复",
            "Escalation stages must come at strictly increasing minutes",
        ),
    }
)

RULE_MANAGERS = (Role.property_manager, Role.community_admin)

# The roles an alarm may be routed to (residents never: they get only the emergency notice).
RouteRole = Literal[
    "property_manager", "property_staff", "committee_member", "grid_worker", "community_admin"
]
RouteChannel = Literal["push", "sms"]


def _push_only() -> list[RouteChannel]:
    return ["push"]


ROUTE_ROLES: tuple[str, ...] = (
    Role.property_manager,
    Role.property_staff,
    Role.committee_member,
    Role.grid_worker,
    Role.community_admin,
)
MAX_STAGES = 5


@dataclass(frozen=True)
class Stage:
    after_minutes: int
    roles: tuple[str, ...]
    channels: tuple[str, ...] = ("push",)


@dataclass(frozen=True)
class EffectiveRule:
    """The rule that applies to one alarm (stored, or the default for its type)."""

    type: str
    severity: str | None
    recipient_roles: tuple[str, ...]
    include_on_duty: bool
    channels: tuple[str, ...]
    auto_ticket: bool
    emergency_notice: bool
    escalation_stages: tuple[Stage, ...]
    enabled: bool
    is_default: bool
    id: int | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def routed(self) -> bool:
        return self.enabled and bool(self.recipient_roles or self.include_on_duty)

    @property
    def sms_at_once(self) -> bool:
        return "sms" in self.channels


_EVERYONE = ROUTE_ROLES
_ESCALATE = (
    Stage(5, (Role.property_manager,)),
    Stage(15, (Role.community_admin, Role.committee_member)),
)
_ESCALATE_CRITICAL = tuple(Stage(s.after_minutes, s.roles, ("push", "sms")) for s in _ESCALATE)


def _default(
    type_: str,
    roles: tuple[str, ...],
    *,
    on_duty: bool = False,
    channels: tuple[str, ...] = ("push",),
    notice: bool = False,
    stages: tuple[Stage, ...] = _ESCALATE,
    enabled: bool = True,
    ticket: bool = False,
) -> EffectiveRule:
    return EffectiveRule(
        type=type_,
        severity=None,
        recipient_roles=roles,
        include_on_duty=on_duty,
        channels=channels,
        auto_ticket=ticket,
        emergency_notice=notice,
        escalation_stages=stages,
        enabled=enabled,
        is_default=True,
    )


_CRITICAL = {"on_duty": True, "channels": ("push", "sms"), "stages": _ESCALATE_CRITICAL}
_SECURITY = (Role.property_staff,)
_MANAGER = (Role.property_manager,)
_STAFF = (Role.property_staff, Role.property_manager)

DEFAULTS: dict[str, EffectiveRule] = {
    r.type: r
    for r in (
        # Fire, smoke and gas: critical, everyone on the route and the member on duty, push + SMS at once.
        _default(AlarmType.fire, _EVERYONE, notice=True, **_CRITICAL),  # type: ignore[arg-type]
        _default(AlarmType.smoke, _EVERYONE, notice=True, **_CRITICAL),  # type: ignore[arg-type]
        _default(AlarmType.gas_leak, _EVERYONE, **_CRITICAL),  # type: ignore[arg-type]
        _default(AlarmType.smoke_detector, _EVERYONE, **_CRITICAL),  # type: ignore[arg-type]
        # Illegal parking (a blocked fire lane): the security post.
        _default(AlarmType.illegal_parking, _SECURITY),
        # A guard away from or asleep at the post: the property manager only.
        _default(AlarmType.off_post, _MANAGER, stages=()),
        _default(AlarmType.asleep_on_post, _MANAGER, stages=()),
        _default(AlarmType.intrusion, _SECURITY, on_duty=True),
        _default(AlarmType.tampering, _SECURITY),
        _default(AlarmType.video_loss, _SECURITY),
        _default(AlarmType.device_offline, _SECURITY, stages=()),
        # A water leak always needs a plumber: its ticket is filed at once.
        _default(AlarmType.water_leak, _STAFF, ticket=True),
        _default(AlarmType.door_open, _SECURITY, stages=()),
        _default(AlarmType.other, _MANAGER, stages=()),
        # Motion (vmd): stored, not routed.
        _default(AlarmType.motion, (), stages=(), enabled=False),
    )
}


def _stages(raw: list[dict[str, Any]]) -> tuple[Stage, ...]:
    return tuple(
        Stage(int(s["after_minutes"]), tuple(s.get("roles") or ()), tuple(s.get("channels") or ("push",)))
        for s in raw
    )


def effective(row: AlarmRouteRule) -> EffectiveRule:
    return EffectiveRule(
        type=row.type,
        severity=row.severity,
        recipient_roles=tuple(row.recipient_roles),
        include_on_duty=row.include_on_duty,
        channels=tuple(row.channels),
        auto_ticket=row.auto_ticket,
        emergency_notice=row.emergency_notice,
        escalation_stages=_stages(row.escalation_stages),
        enabled=row.enabled,
        is_default=False,
        id=row.id,
        updated_at=row.updated_at,
    )


def default_for(type_: str) -> EffectiveRule:
    return DEFAULTS.get(type_) or DEFAULTS[AlarmType.other]


async def rule_for(session: AsyncSession, community_id: int, type_: str, severity: str) -> EffectiveRule:
    """The rule that applies: the stored one for this severity, else for any severity, else the default."""
    rows = (
        await session.exec(
            select(AlarmRouteRule).where(
                AlarmRouteRule.community_id == community_id, AlarmRouteRule.type == type_
            )
        )
    ).all()
    exact = [r for r in rows if r.severity == severity]
    anyone = [r for r in rows if r.severity is None]
    if exact:
        return effective(exact[0])
    if anyone:
        return effective(anyone[0])
    return default_for(type_)


# --- the API -------------------------------------------------------------------------------------


class StageIn(RequestBody):
    after_minutes: int = Field(ge=1, le=1440)
    roles: list[RouteRole] = Field(min_length=1, max_length=5)
    channels: list[RouteChannel] = Field(default_factory=_push_only, min_length=1, max_length=2)


class RuleIn(RequestBody):
    severity: AlarmSeverity | None = None
    recipient_roles: list[RouteRole] = Field(default_factory=list, max_length=5)
    include_on_duty: bool = False
    channels: list[RouteChannel] = Field(default_factory=_push_only, min_length=1, max_length=2)
    auto_ticket: bool = False
    emergency_notice: bool = False
    escalation_stages: list[StageIn] = Field(default_factory=list, max_length=MAX_STAGES)
    enabled: bool = True


class StageOut(ResponseBody):
    after_minutes: int
    roles: list[str]
    channels: list[str]


class RuleOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"type": "alarm.type", "severity": "alarm.severity"}
    id: int | None
    type: AlarmType
    severity: AlarmSeverity | None
    recipient_roles: list[str]
    include_on_duty: bool
    channels: list[str]
    auto_ticket: bool
    emergency_notice: bool
    escalation_stages: list[StageOut]
    enabled: bool
    is_default: bool
    updated_at: datetime | None
    type_label: str | None = None
    severity_label: str | None = None


def rule_out(r: EffectiveRule) -> RuleOut:
    data = asdict(r)
    data.pop("extra", None)
    return RuleOut.model_validate(data)


def _check(body: RuleIn) -> None:
    after = [s.after_minutes for s in body.escalation_stages]
    if after != sorted(set(after)):
        raise InvalidInput("alarm.rule_bad_stages", details={"after_minutes": after})


async def list_rules(ctx: Ctx, community_id: int) -> list[RuleOut]:
    """Every type's effective rules: the stored ones, and the default where a type has no
    any-severity rule stored."""
    require_community(ctx.require_principal(), community_id, RULE_MANAGERS)
    rows = (
        await ctx.session.exec(
            select(AlarmRouteRule)
            .where(AlarmRouteRule.community_id == community_id)
            .order_by(col(AlarmRouteRule.type), col(AlarmRouteRule.id))
        )
    ).all()
    out: list[RuleOut] = []
    for type_ in AlarmType:
        mine = [r for r in rows if r.type == type_]
        out += [rule_out(effective(r)) for r in mine]
        if not any(r.severity is None for r in mine):
            out.append(rule_out(default_for(type_)))
    return out


async def put_rule(ctx: Ctx, community_id: int, type_: AlarmType, body: RuleIn) -> RuleOut:
    require_community(ctx.require_principal(), community_id, RULE_MANAGERS)
    await load_community(ctx, community_id)
    _check(body)
    # Serialise upserts of one community's rules (no unique index can cover a NULL severity on both).
    await ctx.session.exec(select(Community.id).where(Community.id == community_id).with_for_update())
    row = (
        await ctx.session.exec(
            select(AlarmRouteRule).where(
                AlarmRouteRule.community_id == community_id,
                AlarmRouteRule.type == type_,
                AlarmRouteRule.severity == body.severity
                if body.severity is not None
                else col(AlarmRouteRule.severity).is_(None),
            )
        )
    ).first()
    now = utcnow()
    fields = body.model_dump()
    fields["recipient_roles"] = sorted(set(fields["recipient_roles"]))
    fields["channels"] = sorted(set(fields["channels"]))
    for s in fields["escalation_stages"]:
        s["roles"], s["channels"] = sorted(set(s["roles"])), sorted(set(s["channels"]))
    before = None
    if row is None:
        row = AlarmRouteRule(community_id=community_id, type=type_, created_at=now, **fields)
    else:
        before = {k: getattr(row, k) for k in fields}
        for key, value in fields.items():
            setattr(row, key, value)
    row.updated_at = now
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(
        ctx,
        "alarm.rule_put",
        "alarm_route_rule",
        row.id,
        community_id=community_id,
        before=before,
        after=fields,
    )
    return rule_out(effective(row))


async def delete_rule(ctx: Ctx, community_id: int, type_: AlarmType, severity: str | None) -> None:
    """Remove the stored rule of a type (one severity, or the any-severity one): the default applies."""
    require_community(ctx.require_principal(), community_id, RULE_MANAGERS)
    rows = (
        await ctx.session.exec(
            select(AlarmRouteRule).where(
                AlarmRouteRule.community_id == community_id,
                AlarmRouteRule.type == type_,
                AlarmRouteRule.severity == severity
                if severity is not None
                else col(AlarmRouteRule.severity).is_(None),
            )
        )
    ).all()
    if not rows:
        raise NotFound("alarm.rule_not_found")
    for row in rows:
        await ctx.session.delete(row)
        await audit.record(
            ctx,
            "alarm.rule_delete",
            "alarm_route_rule",
            row.id,
            community_id=community_id,
            before={"type": row.type, "severity": row.severity},
        )
    await ctx.session.flush()
