"""Property-style check of the KPI figures: random ticket histories (pauses, reopens, cancellations,
rejections, ratings, complaint calls, moments on Beijing midnights and month ends) are driven
through the real transition engine, then every figure the API returns is compared with a
straightforward recomputation written here from the raw rows — the event log, not the ticket's
summary columns, decides when a ticket was resolved, accepted, paused, closed or cancelled.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models.tickets import Inspection, InspectionItem, Ticket, TicketEvent, TicketRating
from tests import factories as f

# Written around a fixed history (January to May 2026): it runs after it, at any LINLI_TEST_NOW.
pytestmark = pytest.mark.at("2026-06-16T10:00:00+08:00")

FIRST = date(2026, 1, 1)
LAST = date(2026, 4, 30)
CASES = 12
ZONES = ["Asia/Shanghai", "Asia/Shanghai", "Asia/Shanghai", "America/New_York"]


# --- the independent recomputation -----------------------------------------------------------------


def local_periods(tz: ZoneInfo, granularity: str) -> list[tuple[str, datetime, datetime]]:
    """(label, start, end) by walking local days one at a time."""
    out: list[tuple[str, datetime, datetime]] = []
    day = FIRST
    while day <= LAST:
        if granularity == "day":
            nxt, label = day + timedelta(days=1), day.isoformat()
        elif granularity == "week":
            day = day - timedelta(days=day.weekday())
            nxt = day + timedelta(days=7)
            label = f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}"
        else:
            nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
            label = f"{day.year}-{day.month:02d}"
        out.append(
            (
                label,
                datetime(day.year, day.month, day.day, tzinfo=tz),
                datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz),
            )
        )
        day = nxt
    return out  # fmt: skip


class Story:
    """One ticket as its event log tells it."""

    def __init__(self, t: Ticket, events: list[TicketEvent]) -> None:
        self.t = t
        self.resolved: datetime | None = None
        self.closed: datetime | None = None
        self.accepted: datetime | None = None
        self.rejected: datetime | None = None
        self.paused_since: datetime | None = None
        self.cancelled = False
        self.valid: bool | None = None
        self.actions = [e.action for e in events]
        for e in sorted(events, key=lambda e: e.id or 0):
            if e.action == "resolve":
                self.resolved = e.created_at
            elif e.action == "reopen":
                self.resolved = self.closed = None
            elif e.action == "close":
                self.closed = e.created_at
            elif e.action in ("accept", "assign", "grab") and self.accepted is None:
                self.accepted = e.created_at
            elif e.action == "reject":
                self.rejected = e.created_at
            elif e.action == "cancel":
                self.cancelled = True
            elif e.action == "pause":
                self.paused_since = e.created_at
            elif e.action == "resume":
                self.paused_since = None
            elif e.action == "classify":
                self.valid = bool(e.data["valid"])


def oracle(
    metric: str,
    stories: list[Story],
    ratings: list[TicketRating],
    items: list[tuple[bool, datetime]],
    start: datetime,
    end: datetime,
) -> tuple[set[int], set[int]]:
    """(numerator ids, denominator ids) of one period, by the rules in services/kpis/metrics.py."""
    num: set[int] = set()
    den: set[int] = set()
    for s in stories:
        t = s.t
        tid = t.id or 0
        if metric == "repair_timeliness" and t.kind == "repair" and not s.cancelled and s.rejected is None:
            due = t.resolution_due_at
            assert due is not None
            if s.resolved is not None and start <= s.resolved < end:
                den.add(tid)
                if s.resolved <= due:
                    num.add(tid)
            still_open = s.resolved is None or s.resolved >= end
            clock_stopped = s.resolved is None and s.paused_since is not None and s.paused_since <= due
            if t.created_at < end and due < end and still_open and not clock_stopped:
                den.add(tid)
        if metric == "response_timeliness" and not (s.cancelled and s.accepted is None):
            due = t.response_due_at
            assert due is not None
            answered = s.accepted or s.rejected
            if answered is not None and start <= answered < end:
                den.add(tid)
                if answered <= due:
                    num.add(tid)
            if due < end and (answered is None or answered >= end):
                den.add(tid)
        if (
            metric == "rating_rate"
            and s.closed is not None
            and start <= s.closed < end
            and t.status == "closed"
        ):
            den.add(tid)
            if t.rating_overall is not None:
                num.add(tid)
        if metric == "complaint_handling" and t.kind == "complaint":
            due = t.resolution_due_at
            assert due is not None
            if start <= due < end and not s.cancelled and s.rejected is None and s.valid is not False:
                den.add(tid)
                if s.closed is not None and s.closed < end:
                    num.add(tid)
    if metric == "owner_satisfaction":
        for r in ratings:
            if start <= r.created_at < end:
                den.add(r.ticket_id)
                if r.overall >= 4:
                    num.add(r.ticket_id)
    if metric == "greening_pass_rate":
        for i, (passed, at) in enumerate(items):
            if start <= at < end:
                den.add(i)
                if passed:
                    num.add(i)
    return num, den  # fmt: skip


# --- the test --------------------------------------------------------------------------------------

SEEN: set[str] = set()
METRICS = ["repair_timeliness", "response_timeliness", "owner_satisfaction", "rating_rate", "complaint_handling", "greening_pass_rate"]  # fmt: skip


async def _history(db: AsyncSession, seed: int) -> tuple[f.TicketWorld, ZoneInfo]:
    rng = random.Random(seed)
    w = await f.ticket_world(db)
    tz = ZoneInfo(ZONES[seed % len(ZONES)])
    w.community.time_zone = tz.key
    db.add(w.community)
    await db.flush()
    h = f.KpiHistory(w, await f.kpi_ctx(db, w.manager), tz)
    first = datetime(2025, 12, 25, tzinfo=tz).astimezone(UTC)
    await f.random_history(db, h, rng, tickets=22, first=first, days=125)
    await f.random_greening(db, h, rng, count=12, first=first, days=125)
    return w, tz


async def _stories(
    db: AsyncSession, cid: int
) -> tuple[list[Story], list[TicketRating], list[tuple[bool, datetime]]]:
    tickets = (await db.exec(select(Ticket).where(Ticket.community_id == cid))).all()
    events = (await db.exec(select(TicketEvent).where(TicketEvent.community_id == cid))).all()
    by_ticket: dict[int, list[TicketEvent]] = {}
    for e in events:
        by_ticket.setdefault(e.ticket_id, []).append(e)
    for t in tickets:
        await db.refresh(t)
    ratings = list((await db.exec(select(TicketRating).where(TicketRating.community_id == cid))).all())
    items = (
        await db.exec(
            select(InspectionItem.passed, Inspection.inspected_at)
            .join(Inspection, col(Inspection.id) == InspectionItem.inspection_id)
            .where(InspectionItem.community_id == cid, InspectionItem.kind == "greening")
            .order_by(col(InspectionItem.id))
        )
    ).all()
    return [Story(t, by_ticket.get(t.id or 0, [])) for t in tickets], ratings, [(p, a) for p, a in items]


async def _drill(
    client: httpx.AsyncClient, who: Any, cid: int, metric: str, label: str, part: str
) -> set[int]:
    ids: set[int] = set()
    cursor = ""
    while True:
        r = await client.get(
            f"/v1/communities/{cid}/kpis/{metric}/tickets",
            params={"period": label, "part": part, "limit": 7, **({"cursor": cursor} if cursor else {})},
            headers=f.auth(who),
        )
        assert r.status_code == 200, r.text
        ids |= {row["id"] for row in r.json()["items"]}
        cursor = r.json()["next_cursor"]
        if not cursor:
            return ids


@pytest.mark.parametrize("seed", range(CASES))
async def test_random_histories_match_a_straightforward_recount(
    client: httpx.AsyncClient, db: AsyncSession, seed: int
) -> None:
    w, tz = await _history(db, seed)
    stories, ratings, items = await _stories(db, w.cid)
    SEEN.update(a for s in stories for a in s.actions)
    rng = random.Random(seed)
    for granularity in ("day", "week", "month"):
        r = await client.get(
            f"/v1/communities/{w.cid}/kpis",
            params={"from": FIRST.isoformat(), "to": LAST.isoformat(), "granularity": granularity,
                    "metrics": ",".join(METRICS), "live": "true"},
            headers=f.auth(w.admin),
        )  # fmt: skip
        assert r.status_code == 200, r.text
        periods = local_periods(tz, granularity)
        for series in r.json()["metrics"]:
            got = {p["period"]: (p["numerator"], p["denominator"]) for p in series["periods"]}
            assert list(got) == [label for label, _, _ in periods]
            for label, start, end in periods:
                num, den = oracle(series["metric"], stories, ratings, items, start, end)
                assert got[label] == (len(num), len(den)), (seed, series["metric"], label)
                # The drill-down lists exactly the tickets behind the figure (sampled periods).
                if granularity == "month" and series["metric"] != "greening_pass_rate" and rng.random() < 0.5:
                    metric = series["metric"]
                    assert await _drill(client, w.admin, w.cid, metric, label, "numerator") == num
                    assert await _drill(client, w.admin, w.cid, metric, label, "denominator") == den


def test_the_histories_covered_every_kind_of_event() -> None:
    """Runs after the cases above (same module, in order): the generator really exercised them."""
    wanted = {"create", "accept", "assign", "start", "pause", "resume", "resolve", "close", "reopen",
              "cancel", "reject", "classify", "rate"}  # fmt: skip
    assert wanted <= SEEN, wanted - SEEN
