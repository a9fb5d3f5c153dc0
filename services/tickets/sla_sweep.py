"""SLA sweeps: warn at 80 % of a target, escalate on breach, auto-close resolved tickets.

Idempotent: each notice first flips its bit in ticket.sla_state with a conditional UPDATE (two
sweepers racing on one ticket: one wins), and notify() dedupes on keys such as
"ticket:{id}:sla:warn:resolution", so a repeated run sends nothing twice.

Escalation ladder: a warning to the assignee and managers at 80 %; the property manager(s) on
breach; the community admin and the committee when the ticket is still open ESCALATE_SHARE of the
resolution target after its deadline (ticket.escalate_at).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.models.tickets
import services.tickets.templates  # noqa: F401
from services.errors import Conflict
from services.models import Community, Role, utcnow
from services.models.tickets import SlaFlag, Ticket, TicketStatus
from services.notifications.metrics import SLA_NOTICES
from services.tickets import people
from services.tickets.events import tell, template_data, write_event
from services.tickets.queries import RUNNING
from services.tickets.schemas import TransitionIn
from services.tickets.transitions import Call, apply

AUTO_CLOSE_AFTER = timedelta(days=3)
BATCH = 500


@dataclass(frozen=True)
class Stage:
    name: str  # dedupe key part: warn:response, breach:resolution, escalate:resolution
    clock: str
    flag: int
    statuses: tuple[str, ...]
    at: str  # the ticket column holding the moment the stage fires
    due: str  # the deadline shown in the message
    template: str
    audience: tuple[str, ...]  # "assignee", "managers", "oversight"
    event: bool

    @property
    def warning(self) -> bool:
        return self.name.startswith("warn:")


STAGES = (
    Stage(
        "warn:response", "response", SlaFlag.response_warned, (TicketStatus.submitted,),
        "response_warn_at", "response_due_at", "ticket.sla_warning", ("managers",), False,
    ),
    Stage(
        "breach:response", "response", SlaFlag.response_breached, (TicketStatus.submitted,),
        "response_due_at", "response_due_at", "ticket.sla_breached", ("managers",), True,
    ),
    Stage(
        "warn:resolution", "resolution", SlaFlag.resolution_warned, RUNNING,
        "resolution_warn_at", "resolution_due_at", "ticket.sla_warning", ("assignee", "managers"), False,
    ),
    Stage(
        "breach:resolution", "resolution", SlaFlag.resolution_breached, RUNNING,
        "resolution_due_at", "resolution_due_at", "ticket.sla_breached", ("assignee", "managers"), True,
    ),
    Stage(
        "escalate:resolution", "resolution", SlaFlag.escalated, RUNNING,
        "escalate_at", "resolution_due_at", "ticket.sla_escalated", ("managers", "oversight"), True,
    ),
)  # fmt: skip


class _Cache:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.managers: dict[int, list[int]] = {}
        self.oversight: dict[int, list[int]] = {}
        self.zones: dict[int, ZoneInfo] = {}

    async def audience(self, t: Ticket, who: tuple[str, ...]) -> list[int | None]:
        users: list[int | None] = []
        if "assignee" in who:
            users.append(t.assignee_id)
        if "managers" in who:
            if t.community_id not in self.managers:
                self.managers[t.community_id] = await people.managers(self.session, t.community_id)
            users += self.managers[t.community_id]
        if "oversight" in who:
            if t.community_id not in self.oversight:
                self.oversight[t.community_id] = await people.users_with_roles(
                    self.session, t.community_id, [Role.community_admin, Role.committee_member]
                )
            users += self.oversight[t.community_id]
        return users

    async def local(self, community_id: int, when: datetime | None) -> str:
        if when is None:
            return ""
        if community_id not in self.zones:
            zone = (
                await self.session.exec(select(Community.time_zone).where(Community.id == community_id))
            ).first()
            try:
                self.zones[community_id] = ZoneInfo(zone or "Asia/Shanghai")
            except (ValueError, KeyError):
                self.zones[community_id] = ZoneInfo("Asia/Shanghai")
        return when.astimezone(self.zones[community_id]).strftime("%Y-%m-%d %H:%M")


async def sweep(session: AsyncSession, now: datetime | None = None, batch: int = BATCH) -> int:
    """Run every stage once; returns how many SLA notices fired (tickets × stages; a warning whose
    deadline has already passed is skipped, not counted)."""
    now = now or utcnow()
    cache = _Cache(session)
    fired = 0
    for stage in STAGES:
        stage_fired = await _run_stage(session, stage, now, batch, cache)
        SLA_NOTICES.labels(stage.name).inc(stage_fired)
        fired += stage_fired
    return fired


async def _run_stage(session: AsyncSession, stage: Stage, now: datetime, batch: int, cache: _Cache) -> int:
    table = Ticket.__table__  # type: ignore[attr-defined]
    at = getattr(table.c, stage.at)
    rows = (
        await session.exec(
            select(Ticket)
            .where(
                col(Ticket.status).in_(stage.statuses),
                at <= now,
                table.c.sla_state.op("&")(stage.flag) == 0,
            )
            .order_by(at)
            .limit(batch)
        )
    ).all()
    fired = 0
    for t in rows:
        claimed = await session.execute(
            sa.update(table)
            .where(table.c.id == t.id, table.c.sla_state.op("&")(stage.flag) == 0)
            .values(sla_state=table.c.sla_state.op("|")(stage.flag))
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another sweeper got here first
        due: datetime | None = getattr(t, stage.due)
        if stage.warning and due is not None and due <= now:
            # Catching up after downtime: "about to expire" is a lie once the deadline has passed.
            # The bit stays set (the warning is spent); the breach stage tells the truth.
            continue
        fired += 1
        if stage.event:
            await write_event(
                session,
                t,
                f"sla_{stage.name.split(':')[0]}",
                actor_id=None,
                from_status=t.status,
                to_status=t.status,
                reason=stage.clock,
                data={"due_at": due.isoformat() if due else None, "stage": stage.name},
                at=now,
            )
        data = template_data(t, clock=stage.clock, due=await cache.local(t.community_id, due))
        await tell(session, t, await cache.audience(t, stage.audience), stage.template, _key(t, stage), data)
    return fired


def _key(t: Ticket, stage: Stage) -> str:
    return f"ticket:{t.id}:sla:{stage.name}"


async def auto_close(session: AsyncSession, now: datetime | None = None, batch: int = BATCH) -> int:
    """Resolved tickets the reporter has not answered for 3 days are closed by the system."""
    now = now or utcnow()
    rows = (
        await session.exec(
            select(Ticket)
            .where(Ticket.status == TicketStatus.resolved, col(Ticket.resolved_at) <= now - AUTO_CLOSE_AFTER)
            .order_by(col(Ticket.resolved_at))
            .limit(batch)
        )
    ).all()
    closed = 0
    for t in rows:
        body = TransitionIn(action="close", version=t.version)
        try:
            await apply(Call(session, None, t, body, now, None), "close")
        except Conflict:
            continue  # the reporter acted meanwhile
        closed += 1
    return closed


def describe() -> list[dict[str, Any]]:
    """The stages, for docs and the admin screen."""
    return [{"stage": s.name, "fires_at": s.at, "audience": list(s.audience)} for s in STAGES]
