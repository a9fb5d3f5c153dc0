"""The transition table, the order of checks, due-time arithmetic, auto-close and the worker jobs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.access import Principal
from services.errors import Conflict, Forbidden, InvalidInput, RateLimited
from services.models import Notification, User
from services.models.tickets import Ticket, TicketEvent, TicketStatus
from services.tickets import deadlines
from services.tickets.sla import ResolvedPolicy
from services.tickets.sla_sweep import auto_close
from services.tickets.transitions import HANDLERS, TABLE, Facts, allowed_actions, check
from tests import factories as f
from workers.tasks import sla as sla_jobs

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def _ticket(**kw: Any) -> Ticket:
    base: dict[str, Any] = {
        "id": 1,
        "community_id": 10,
        "kind": "repair",
        "category": "plumbing",
        "title": "t",
        "reporter_id": 100,
        "created_by_id": 100,
        "status": TicketStatus.submitted,
        "version": 3,
        "created_at": datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    }
    base.update(kw)
    return Ticket(**base)


def _principal(user_id: int, roles: dict[int, set[str]] | None = None) -> Principal:
    return Principal(
        user=User(id=user_id, phone=f"+8613900000{user_id:03d}"),
        community_roles={k: frozenset(v) for k, v in (roles or {}).items()},
    )


def test_every_action_has_a_handler_and_targets_are_statuses() -> None:
    import services.tickets.actions  # noqa: F401

    statuses = {s.value for s in TicketStatus}
    assert set(TABLE) == set(HANDLERS)
    for rule in TABLE.values():
        assert rule.sources <= statuses
        assert rule.target is None or rule.target in statuses
    # Terminal states allow nothing but the complaint call.
    for terminal in ("cancelled",):
        assert not [a for a, r in TABLE.items() if terminal in r.sources]


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FACTS = Facts(now=NOW)


def test_check_order_version_then_state_then_role() -> None:
    t = _ticket()
    with pytest.raises(Conflict):
        check(t, "resolve", 2, frozenset(), FACTS)  # stale beats everything
    with pytest.raises(InvalidInput) as exc:
        check(t, "resolve", 3, frozenset({"manager"}), FACTS)
    assert exc.value.code == "ticket.invalid_transition"
    with pytest.raises(Forbidden):
        check(t, "accept", 3, frozenset({"reporter"}), FACTS)
    assert check(t, "accept", 3, frozenset({"manager"}), FACTS).target == "accepted"


def test_allowed_actions_per_role() -> None:
    t = _ticket()
    reporter = _principal(100, {10: {"resident"}})
    manager = _principal(200, {10: {"property_manager"}})
    tech = _principal(300, {10: {"property_staff"}})
    assert allowed_actions(reporter, t, FACTS) == ["cancel", "urge"]
    assert allowed_actions(manager, t, FACTS) == ["accept", "assign", "reject", "reprioritise"]
    assert allowed_actions(tech, t, FACTS) == ["grab"]
    taken = _ticket(status=TicketStatus.assigned, assignee_id=300)
    assert allowed_actions(tech, taken, FACTS) == ["start", "pause"]
    complaint = _ticket(kind="complaint", category="neighbour")
    committee = _principal(400, {10: {"committee_member"}})
    # Nothing to dispute until the manager calls the complaint invalid.
    assert allowed_actions(committee, complaint, FACTS) == []
    assert allowed_actions(committee, _ticket(kind="complaint", complaint_valid=False), FACTS) == ["dispute"]


def _refused(t: Ticket, action: str, roles: set[str], facts: Facts) -> str | None:
    """The code check() raises, or None when it passes."""
    try:
        check(t, action, t.version, frozenset(roles), facts)
    except (Conflict, Forbidden, InvalidInput, RateLimited) as exc:
        return exc.code
    return None


@pytest.mark.parametrize(
    ("status", "kw", "facts"),
    [
        # closed with a good rating, with a low one, with none; resolved long ago; just resolved
        (TicketStatus.closed, {"rating_overall": 4}, Facts(now=NOW, rated_at=NOW - timedelta(days=1))),
        (TicketStatus.closed, {"rating_overall": 2}, Facts(now=NOW, rated_at=NOW - timedelta(days=1))),
        (TicketStatus.closed, {}, FACTS),
        (TicketStatus.resolved, {"resolved_at": NOW - timedelta(days=8)}, FACTS),
        (TicketStatus.resolved, {}, FACTS),
        (TicketStatus.resolved, {"rating_overall": 5}, Facts(now=NOW, rated_at=NOW - timedelta(days=8))),
        (TicketStatus.in_progress, {"assignee_id": 300}, FACTS),
        (TicketStatus.in_progress, {"assignee_id": 300}, Facts(now=NOW, after_photos=1)),
        (TicketStatus.assigned, {"last_urged_at": NOW - timedelta(hours=1), "assignee_id": 300}, FACTS),
        (TicketStatus.submitted, {"last_urged_at": NOW - timedelta(hours=5)}, FACTS),
    ],
)
def test_allowed_actions_are_exactly_what_check_accepts(
    status: TicketStatus, kw: dict[str, Any], facts: Facts
) -> None:
    """One source of truth: for every role, an action is offered iff the transition would pass."""
    t = _ticket(status=status, resolved_at=kw.pop("resolved_at", NOW - timedelta(days=1)), **kw)
    people = {
        "reporter": (_principal(100, {10: {"resident"}}), {"reporter"}),
        "manager": (_principal(200, {10: {"property_manager"}}), {"manager"}),
        "assignee": (_principal(300, {10: {"property_staff"}}), {"assignee", "technician"}),
    }
    for principal, roles in people.values():
        if principal.user_id != t.assignee_id:
            roles = roles - {"assignee"}
        offered = allowed_actions(principal, t, facts)
        for action in TABLE:
            assert (action in offered) == (_refused(t, action, roles, facts) is None), (action, roles)
    offered = allowed_actions(people["reporter"][0], t, facts)
    if status == TicketStatus.closed:
        assert ("reopen" in offered) == (t.rating_overall == 2)
        assert "rate" in offered
    if status == TicketStatus.resolved:
        assert "close" in offered
        assert ("rate" in offered) == (facts.rated_at is None or NOW - facts.rated_at <= timedelta(days=7))
    if status in (TicketStatus.in_progress,):
        tech = allowed_actions(people["assignee"][0], t, facts)
        assert ("resolve" in tech) == (facts.after_photos > 0)
    if t.last_urged_at is not None:
        assert ("urge" in offered) == (NOW - t.last_urged_at >= timedelta(hours=4))


def _business_policy() -> ResolvedPolicy:
    return ResolvedPolicy(
        policy_id=1,
        response_minutes=120,
        resolution_minutes=16 * 60,
        calendar="business_hours",
        time_zone="Asia/Shanghai",
        business_start=time(9, 0),
        business_end=time(17, 0),
        extra_workdays=frozenset(),
        extra_holidays=frozenset(),
    )


def test_due_times_in_business_hours_and_pause_arithmetic() -> None:
    policy = _business_policy()
    # Tuesday 2026-12-01 09:00 Shanghai = 01:00 UTC; 16 working hours = two working days.
    created = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    t = _ticket(created_at=created, status=TicketStatus.in_progress)
    values = deadlines.initial(created, policy)
    assert values["response_due_at"] == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert values["resolution_due_at"] == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # Wed 17:00 local
    for key, value in values.items():
        setattr(t, key, value)
    # Paused at Tue 13:00 local (4 working hours used), resumed Thu 09:00 local.
    paused = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    for key, value in deadlines.on_pause(t, paused, policy).items():
        setattr(t, key, value)
    assert t.resolution_elapsed_minutes == 240
    resumed = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
    out = deadlines.on_resume(t, resumed, policy)
    # Remaining 12 working hours from Thu 09:00: Thu full day (8 h) + Fri 4 h → Fri 13:00 local.
    assert out["resolution_due_at"] == datetime(2026, 12, 4, 5, 0, tzinfo=UTC)
    assert out["paused_working_minutes"] == 12 * 60  # Tue 13–17 + Wed 9–17
    assert out["paused_seconds"] == 44 * 3600


def test_holidays_do_not_count() -> None:
    policy = _business_policy()
    # Wednesday 2026-09-30 16:00 local; National Day holidays follow (1–7 Oct are days off).
    start = datetime(2026, 9, 30, 8, 0, tzinfo=UTC)
    due = deadlines.initial(start, policy)["response_due_at"]
    assert isinstance(due, datetime)
    assert due.astimezone(UTC).date() > date(2026, 10, 7)


async def test_auto_close_after_three_days(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    r = await f.act(client, w.technician, r.json(), "start")
    assert (await f.upload_photo(client, w.technician, t["id"], "after")).status_code == 201
    r = await f.act(client, w.technician, r.json(), "resolve", note="ok")
    resolved_at = datetime.fromisoformat(r.json()["resolved_at"])
    assert await auto_close(db, resolved_at + timedelta(days=2)) == 0
    assert await auto_close(db, resolved_at + timedelta(days=3, minutes=1)) == 1
    assert await auto_close(db, resolved_at + timedelta(days=4)) == 0
    row = await db.get(Ticket, t["id"])
    assert row is not None
    await db.refresh(row)
    assert row.status == "closed" and row.closed_at is not None
    events = (await db.exec(select(TicketEvent).where(TicketEvent.ticket_id == t["id"]))).all()
    last = events[-1]
    assert (last.action, last.actor_id, last.reason) == ("close", None, "auto_close")
    notes = (await db.exec(select(Notification).where(Notification.user_id == w.resident.id))).all()
    assert notes[-1].data["template"] == "ticket.closed"


async def test_worker_jobs_run_in_their_own_transaction(db: AsyncSession) -> None:
    class _Maker:
        def __call__(self) -> _NoClose:
            return _NoClose(db)

    class _NoClose:
        def __init__(self, s: AsyncSession) -> None:
            self.s = s

        async def __aenter__(self) -> AsyncSession:
            return self.s

        async def __aexit__(self, *exc: object) -> None:
            return None

    resources = SimpleNamespace(sessionmaker=_Maker())
    assert await sla_jobs.sweep_sla(resources) >= 0  # type: ignore[arg-type]
    assert await sla_jobs.auto_close_resolved(resources) >= 0  # type: ignore[arg-type]
