"""No N+1, as a test rather than a timing: the lists and tables the apps poll issue the same number of
SQL statements whatever the page size, the range, the granularity or the number of communities.

Counted with a `before_cursor_execute` listener on the app's engine (tests/statements.py), over
worlds big enough that every page measured is full: ticket lists per role and queue, the notice
feed (resident, committee) and the notice's missing-receipt and comment lists, the
KPI tables of a community and of a company (JSON, CSV, chart, drill-down), and poll results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from services.kpis import jobs as kpi_jobs
from services.kpis.metrics import METRICS
from services.kpis.optional import READ_WINDOW
from services.models import Attachment, ManagementContract, User, utcnow
from services.models.duty import DutyCheckin, DutyPost, DutyShift
from services.models.kpis import KpiTarget
from services.models.notices import Notice, NoticeComment, NoticeReceipt
from services.models.polls import Poll
from services.models.tickets import Inspection, InspectionItem, Ticket, TicketEvent, TicketRating
from services.polls import ballots as ballot_service
from tests import factories as f
from tests.statements import assert_same_count, count_statements

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

LIMITS = (1, 5, 25)
BJ = ZoneInfo("Asia/Shanghai")


@dataclass
class Probe:
    """GETs over HTTP while counting the statements each one costs."""

    client: httpx.AsyncClient
    engine: AsyncEngine

    async def get(self, url: str, who: User, **params: Any) -> tuple[httpx.Response, list[str]]:
        with count_statements(self.engine) as seen:
            r = await self.client.get(url, params=params, headers=f.auth(who))
        assert r.status_code == 200, r.text
        return r, list(seen)

    async def pages(
        self, url: str, who: User, total: int, key: str = "id", **params: Any
    ) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
        """Pages of LIMITS rows, then the page after a full one (keyset cursor); each must hold as
        many rows as it can, so that a constant count cannot come from empty pages."""
        runs: dict[str, list[str]] = {}
        items: list[dict[str, Any]] = []
        cursor = None
        for limit in LIMITS:
            r, seen = await self.get(url, who, **params, limit=limit)
            body = r.json()
            assert len(body["items"]) == limit, (url, params, limit, len(body["items"]))
            assert body["next_cursor"] is not None
            runs[f"limit={limit}"] = seen
            items, cursor = body["items"], body["next_cursor"]
        r, seen = await self.get(url, who, **params, limit=LIMITS[-1], cursor=cursor)
        rest = r.json()["items"]
        assert len(rest) == min(LIMITS[-1], total - LIMITS[-1]), (url, params, len(rest))
        assert not {i[key] for i in rest} & {i[key] for i in items}
        runs["limit=25 after a cursor"] = seen
        return runs, items


@pytest.fixture
def probe(client: httpx.AsyncClient, engine: AsyncEngine) -> Probe:
    return Probe(client, engine)


def _attachment(cid: int, owner_type: str, owner_id: int, purpose: str, by: User) -> Attachment:
    assert by.id is not None
    return Attachment(
        community_id=cid, owner_type=owner_type, owner_id=owner_id, purpose=purpose,
        content_type="image/jpeg", size_bytes=1, sha256="0" * 64, storage_key=f"k/{owner_type}/{owner_id}/{purpose}",
        uploaded_by=by.id,
    )  # fmt: skip


# --- tickets ---------------------------------------------------------------------------------------

PER_KIND = 36  # tickets of each of the three kinds below: more than a page of 25 in every queue


async def _ticket_pile(db: AsyncSession, w: f.TicketWorld) -> None:
    """For the world's resident, PER_KIND each of: submitted, unassigned and past its response due
    (the grab queue, overdue); in progress with the first technician; closed and rated. Each with
    its events, before/after photos and (closed ones) a rating."""
    now = utcnow()
    me, tech = w.resident.id or 0, w.technician.id or 0
    common: dict[str, Any] = {"community_id": w.cid, "building_id": w.building.id, "household_id": w.household.id,
              "category": "plumbing", "reporter_id": me, "created_by_id": me, "description": "滴水"}  # fmt: skip
    tickets: list[tuple[Ticket, list[str]]] = []
    for i in range(PER_KIND):
        at = now - timedelta(days=3, minutes=i)
        waiting = Ticket(**common, kind="repair", title=f"待受理{i}", status="submitted", created_at=at,
                         response_due_at=now - timedelta(hours=1), resolution_due_at=now + timedelta(days=2))  # fmt: skip
        running = Ticket(**common, kind="repair", title=f"处理中{i}", status="in_progress", created_at=at,
                         assignee_id=tech, accepted_at=at, assigned_at=at, started_at=at, version=4,
                         response_due_at=at + timedelta(hours=2), resolution_due_at=now + timedelta(days=2))  # fmt: skip
        closed = Ticket(**common, kind="complaint", title=f"已关闭{i}", status="closed", created_at=at,
                        complaint_target="property_service", complaint_valid=True, assignee_id=tech,
                        accepted_at=at, resolved_at=at + timedelta(hours=5), closed_at=at + timedelta(hours=6),
                        response_due_at=at + timedelta(hours=2), resolution_due_at=at + timedelta(days=1),
                        rating_overall=4, version=6)  # fmt: skip
        tickets += [(waiting, ["create"]), (running, ["create", "accept", "assign", "start"]),
                    (closed, ["create", "accept", "assign", "start", "resolve", "close", "rate"])]  # fmt: skip
    db.add_all([t for t, _ in tickets])
    await db.flush()
    rows: list[Any] = []
    for t, actions in tickets:
        assert t.id is not None
        rows += [TicketEvent(ticket_id=t.id, community_id=w.cid, actor_id=me, action=a, to_status=t.status)
                 for a in actions]  # fmt: skip
        rows.append(_attachment(w.cid, "ticket", t.id, "before", w.resident))
        if t.status == "closed":
            rows.append(_attachment(w.cid, "ticket", t.id, "after", w.technician))
            rows.append(
                TicketRating(ticket_id=t.id, community_id=w.cid, user_id=me, overall=4, speed=4, attitude=5)
            )
    db.add_all(rows)
    await db.flush()


TICKET_LISTS = {
    # name: (who, query, rows visible)
    "resident": ("resident", {}, 3 * PER_KIND),
    "manager": ("manager", {}, 3 * PER_KIND),
    "committee, complaints": ("committee", {"kind": "complaint"}, PER_KIND),
    "manager, overdue": ("manager", {"overdue": "true"}, PER_KIND),
    "technician, own and grab queue": ("technician", {}, 3 * PER_KIND),
    "technician, grab queue": ("technician", {"queue": "grab"}, PER_KIND),
    "technician, assigned queue": ("technician", {"queue": "assigned"}, 2 * PER_KIND),
}


@pytest.mark.parametrize("case", list(TICKET_LISTS))
async def test_ticket_lists(probe: Probe, db: AsyncSession, case: str) -> None:
    """GET /v1/tickets for each role and queue (grab and assigned are separate code paths): one
    SELECT on `ticket` per page, whatever the page size; no query per row."""
    w = await f.ticket_world(db)
    await _ticket_pile(db, w)
    role, query, total = TICKET_LISTS[case]
    runs, items = await probe.pages("/v1/tickets", getattr(w, role), total, **query)
    assert_same_count(runs)
    for seen in runs.values():
        assert len([s for s in seen if re.search(r"\bFROM ticket\b", s)]) == 1, seen
    if query.get("queue") == "grab":
        assert all(i["assignee_id"] is None and i["overdue"] for i in items)
    if query.get("queue") == "assigned":
        assert {i["assignee_id"] for i in items} == {w.technician.id}


async def test_ticket_list_cost_does_not_grow_with_the_table(
    probe: Probe, db: AsyncSession, client: httpx.AsyncClient
) -> None:
    """A page of one row and a page of thirty: the same statements (one of them on `ticket`)."""
    w = await f.ticket_world(db)
    first = await f.file_ticket(client, w)
    _, one = await probe.get("/v1/tickets", w.manager, limit=50)
    template = await db.get(Ticket, first["id"])
    assert template is not None
    db.add_all(Ticket(**{**template.model_dump(exclude={"id"}), "title": f"批量{i}"}) for i in range(29))
    await db.flush()
    r, thirty = await probe.get("/v1/tickets", w.manager, limit=50)
    assert len(r.json()["items"]) == 30
    assert_same_count({"1 row": one, "30 rows": thirty})
    assert len([s for s in thirty if re.search(r"\bFROM ticket\b", s)]) == 1


# --- notices ---------------------------------------------------------------------------------------

COMMUNITY_WIDE, BUILDING_ONE = 30, 12  # published notices by audience; plus drafts and expired ones


async def _notice_pile(db: AsyncSession, w: f.NoticeWorld) -> Notice:
    """Published notices with attachments and receipts: COMMUNITY_WIDE to everyone, BUILDING_ONE to
    building 1 only (residents 0 and 1); some pinned, some to acknowledge, resident 0 has read
    every other one and acknowledged some. Plus drafts and expired notices the feed leaves out.
    Returns the newest community-wide notice, with a receipt per extra resident and comments."""
    now = utcnow()
    author = w.committee.id or 0
    b1 = w.buildings[0].id or 0
    notices = []
    for i in range(COMMUNITY_WIDE + BUILDING_ONE):
        wide = i < COMMUNITY_WIDE
        notices.append(
            Notice(community_id=w.cid, author_id=author, author_role="committee_member",
                   kind="announcement" if i % 3 else "publicity", title=f"通知{i}", body_md="正文",
                   audience_type="community" if wide else "buildings",
                   audience_building_ids=[] if wide else [b1], status="published",
                   published_at=now - timedelta(hours=i), pinned=i % 9 == 0, requires_ack=i % 4 == 0,
                   comment_closes_at=None if i % 3 else now + timedelta(days=5))
        )  # fmt: skip
    for i in range(5):
        notices.append(Notice(community_id=w.cid, author_id=author, author_role="committee_member",
                              kind="announcement", title=f"草稿{i}", body_md="x", status="draft"))  # fmt: skip
        notices.append(Notice(community_id=w.cid, author_id=author, author_role="committee_member",
                              kind="announcement", title=f"过期{i}", body_md="x", status="published",
                              published_at=now - timedelta(days=30), expires_at=now - timedelta(days=1)))  # fmt: skip
    db.add_all(notices)
    await db.flush()
    rows: list[Any] = []
    for n in notices:
        if n.status != "published":
            continue
        assert n.id is not None
        rows += [_attachment(w.cid, "notice", n.id, "document", w.committee) for _ in range(2)]
        audience = range(4) if n.audience_type == "community" else range(2)
        for k in audience:
            h = w.households[k]
            read = k == 0 and n.id % 2 == 0
            rows.append(NoticeReceipt(notice_id=n.id, user_id=w.residents[k].id or 0, household_id=h.id,
                                      building_id=h.building_id, read_at=now if read else None,
                                      acked_at=now if read and n.requires_ack else None))  # fmt: skip
    db.add_all(rows)
    await db.flush()
    # The newest community-wide notice: many more recipients (one per new resident) and comments.
    target = notices[0]
    assert target.id is not None
    extra: list[Any] = []
    for k in range(40):
        h = await f.household(db, w.buildings[k % 2], room=f"{k + 3}02")
        u = await f.resident(db, h, name=f"住户甲{k}")
        extra.append(NoticeReceipt(notice_id=target.id, user_id=u.id or 0, household_id=h.id,
                                   building_id=h.building_id))  # fmt: skip
        extra.append(NoticeComment(notice_id=target.id, user_id=u.id or 0, household_id=h.id,
                                   body=f"意见{k}", is_objection=k % 4 == 0))  # fmt: skip
    db.add_all(extra)
    await db.flush()
    return target


async def test_notice_feed(probe: Probe, db: AsyncSession) -> None:
    """GET /v1/notices: a SELECT with the caller's receipt joined, an UPDATE marking the page
    delivered — for a resident (receipts and community-wide notices), the committee (every notice of
    its community, the staff path); a pending claimant sees none (issue 13)."""
    w = await f.notice_world(db)
    await _notice_pile(db, w)
    cases = {
        "resident of building 1": (w.residents[0], COMMUNITY_WIDE + BUILDING_ONE),
        "resident of building 2": (w.residents[2], COMMUNITY_WIDE),
        "committee": (w.committee, COMMUNITY_WIDE + BUILDING_ONE),
    }
    counts = {}
    for name, (who, total) in cases.items():
        runs, items = await probe.pages("/v1/notices", who, total)
        counts[name] = assert_same_count(runs)
        if who is w.residents[0]:
            assert {i["unread"] for i in items} == {True, False}  # the receipts are really joined
        assert all(i["pinned"] for i in items[:2]) and not items[-1]["pinned"]
    assert counts["resident of building 1"] <= 10, counts


async def test_notice_missing_receipts_and_comments(probe: Probe, db: AsyncSession) -> None:
    """The committee's lists under one notice: who has not read it yet, and its comments."""
    w = await f.notice_world(db)
    target = await _notice_pile(db, w)
    url = f"/v1/notices/{target.id}"
    read_by_resident_0 = (target.id or 0) % 2 == 0
    runs, items = await probe.pages(
        f"{url}/receipts/missing", w.committee, 40 + 4 - read_by_resident_0, "user_id"
    )
    assert_same_count(runs)
    assert all(i["name"] and i["building_name"] for i in items)
    runs, items = await probe.pages(f"{url}/comments", w.residents[1], 40)
    assert_same_count(runs)
    # A neighbour reads unsigned comments by building only (issue 21): a label instead of the flat.
    assert all(i["user_name"] and (i["household_label"] or i["name_masked"]) for i in items)


# --- KPIs ------------------------------------------------------------------------------------------

MONTHS_OF_DATA = 14


def _local_month_start(now: datetime, back: int) -> date:
    d = now.astimezone(BJ).date().replace(day=1)
    for _ in range(back):
        d = (d - timedelta(days=1)).replace(day=1)
    return d


def _bj(d: date, hour: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=BJ).astimezone(UTC)


def _fact_time(now: datetime, back: int) -> datetime:
    """A moment of the month `back` months ago (0: this one) that has passed, on any day of the month:
    the 6th of a closed month; halfway from its start to now in the current one (at 00:30 on the 1st,
    "five days ago" is last month, and this month would have no facts)."""
    start = _bj(_local_month_start(now, back))
    return start + (now - start) / 2 if back == 0 else start + timedelta(days=5)


async def _kpi_history(db: AsyncSession, cid: int, household_id: int, resident: User, staff: User) -> None:
    """Every metric has facts in each of the last MONTHS_OF_DATA months (and some still open)."""
    now = utcnow()
    me, tech = resident.id or 0, staff.id or 0
    common: dict[str, Any] = {"community_id": cid, "household_id": household_id, "category": "plumbing", "title": "t",
              "reporter_id": me, "created_by_id": me}  # fmt: skip
    post = DutyPost(
        community_id=cid, category="security_watch", description="巡逻", headcount=1, created_by=tech
    )
    db.add(post)
    await db.flush()
    tickets, notices, shifts, inspections = [], [], [], []
    for k in range(MONTHS_OF_DATA):
        at = _fact_time(now, k)
        tickets += [
            Ticket(**common, kind="repair", status="closed", created_at=at, accepted_at=at + timedelta(hours=1),
                   response_due_at=at + timedelta(hours=2), resolution_due_at=at + timedelta(hours=48),
                   resolved_at=at + timedelta(hours=24), closed_at=at + timedelta(hours=30), assignee_id=tech,
                   rating_overall=5),
            Ticket(**common, kind="repair", status="resolved", created_at=at, accepted_at=at + timedelta(hours=3),
                   response_due_at=at + timedelta(hours=2), resolution_due_at=at + timedelta(hours=24),
                   resolved_at=at + timedelta(hours=72), assignee_id=tech),
            Ticket(**common, kind="repair", status="in_progress", created_at=at, accepted_at=at,
                   response_due_at=at + timedelta(hours=2), resolution_due_at=at + timedelta(hours=24),
                   assignee_id=tech),
            Ticket(**common, kind="complaint", status="closed", complaint_valid=True, created_at=at,
                   accepted_at=at, response_due_at=at + timedelta(hours=2),
                   resolution_due_at=at + timedelta(hours=48), closed_at=at + timedelta(hours=40)),
            Ticket(**common, kind="complaint", status="closed", complaint_valid=False, created_at=at,
                   accepted_at=at, response_due_at=at + timedelta(hours=2),
                   resolution_due_at=at + timedelta(hours=48), closed_at=at + timedelta(hours=10)),
        ]  # fmt: skip
        # A notice counts in the period its read window ends in (services.kpis.optional): publish it a
        # window before `at`, so that month k has one whose window has closed, even at 00:30 on the 1st.
        notices.append(Notice(community_id=cid, author_id=tech, author_role="property_manager", kind="announcement",
                              title="n", body_md="x", status="published", published_at=at - READ_WINDOW))  # fmt: skip
        shifts.append(DutyShift(post_id=post.id or 0, community_id=cid, starts_at=at, ends_at=at + timedelta(hours=2),
                                created_by=tech))  # fmt: skip
        inspections.append(Inspection(community_id=cid, kind="greening", area="中心绿地", inspector_id=tech,
                                      inspected_at=at, created_at=at))  # fmt: skip
    db.add_all([*tickets, *notices, *shifts, *inspections])
    await db.flush()
    rows: list[Any] = []
    for t in tickets:
        if t.rating_overall is not None:
            rows.append(TicketRating(ticket_id=t.id or 0, community_id=cid, user_id=me, overall=5, speed=5,
                                     attitude=5, created_at=t.closed_at or now, updated_at=now))  # fmt: skip
    for n in notices:
        rows.append(NoticeReceipt(notice_id=n.id or 0, user_id=me, household_id=household_id,
                                  read_at=n.published_at))  # fmt: skip
        rows.append(NoticeReceipt(notice_id=n.id or 0, user_id=tech))
    for s in shifts:
        rows.append(DutyCheckin(shift_id=s.id or 0, user_id=tech, checkin_at=s.starts_at))
    for ins in inspections:
        rows += [InspectionItem(inspection_id=ins.id or 0, community_id=cid, kind="greening", name=f"项{j}",
                                passed=j != 0, created_at=ins.inspected_at) for j in range(3)]  # fmt: skip
    db.add_all(rows)
    await db.flush()


@dataclass
class KpiWorld:
    w: f.TicketWorld  # its company manages three communities (w.community first)
    lone: f.TicketWorld  # its company manages one
    cids: list[int]
    busy_month: date  # last month, with BUSY extra repairs in w.community


BUSY = 30


async def _kpi_world(db: AsyncSession) -> KpiWorld:
    w = await f.ticket_world(db)
    lone = await f.ticket_world(db)
    cids = [w.cid]
    await _kpi_history(db, w.cid, w.household.id or 0, w.resident, w.technician)
    await _kpi_history(db, lone.cid, lone.household.id or 0, lone.resident, lone.technician)
    for _ in range(2):
        c = await f.community(db)
        h = await f.household(db, await f.building(db, c))
        assert c.id is not None and h.id is not None
        db.add(
            ManagementContract(company_id=w.company.id or 0, community_id=c.id, starts_on=date(2020, 1, 1))
        )
        await _kpi_history(db, c.id, h.id, await f.resident(db, h), w.technician)
        cids.append(c.id)
    # A busy month in the first community, for a drill-down with more rows than a page.
    busy = _local_month_start(utcnow(), 1)
    at = _bj(busy.replace(day=10), 10)
    me = w.resident.id or 0
    db.add_all(
        Ticket(community_id=w.cid, household_id=w.household.id, kind="repair", category="plumbing", title=f"忙{i}",
               reporter_id=me, created_by_id=me, status="resolved", created_at=at, accepted_at=at,
               response_due_at=at + timedelta(hours=2), resolution_due_at=at + timedelta(hours=48),
               resolved_at=at + timedelta(hours=i), assignee_id=w.technician.id)
        for i in range(BUSY)
    )  # fmt: skip
    await db.flush()
    return KpiWorld(w, lone, cids, busy)


async def _roll_up(db: AsyncSession, cids: list[int]) -> None:
    """Snapshots for every closed period. Targets of 0 first: the roll-up would otherwise notify
    each below-target month one by one, which is slow and not what is measured here."""
    db.add_all(
        KpiTarget(scope="community", scope_id=c, metric=m, target=Decimal(0)) for c in cids for m in METRICS
    )
    await db.flush()
    result = await kpi_jobs.rollup(db, now=utcnow(), community_ids=cids)
    assert result.communities == len(cids) and result.snapshots > 0


def _ranges(now: datetime) -> dict[str, dict[str, str]]:
    """Ranges that all end today, so that (with snapshots) every one has the same live tail."""
    today = now.astimezone(BJ).date().isoformat()

    def back(months: int, granularity: str) -> dict[str, str]:
        first = _local_month_start(now, months - 1).isoformat()
        return {"from": first, "to": today, "granularity": granularity}

    return {
        "1 month by month": back(1, "month"),
        "1 month by day": back(1, "day"),
        "12 months by month": back(12, "month"),
        "24 months by month": back(24, "month"),
        "24 months by day": back(24, "day"),
        "24 months by week": back(24, "week"),
    }


def _periods_expected(params: dict[str, str]) -> int:
    first, last = date.fromisoformat(params["from"]), date.fromisoformat(params["to"])
    if params["granularity"] == "day":
        return (last - first).days + 1
    if params["granularity"] == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return (last - (first - timedelta(days=first.weekday()))).days // 7 + 1  # ISO weeks touched


def _check_table(body: dict[str, Any], params: dict[str, str], communities: int, snapshots: bool) -> None:
    """Every metric, one row per period of the range, real figures; snapshots used, or not."""
    assert [s["metric"] for s in body["metrics"]] == list(METRICS)
    assert len(body["community_ids"]) == communities
    for s in body["metrics"]:
        assert len(s["periods"]) == _periods_expected(params), (s["metric"], params)
    for metric in ("repair_timeliness", "response_timeliness", "notice_read_rate", "greening_pass_rate"):
        series = next(s for s in body["metrics"] if s["metric"] == metric)
        assert sum(p["denominator"] for p in series["periods"]) > 0, (metric, params)
    sources = {p["source"] for s in body["metrics"] for p in s["periods"]}
    assert bool(sources & {"snapshot", "mixed"}) == snapshots, (params, sources)
    assert sources & {"live", "mixed"}, sources  # the current period is always computed live


CSV_RANGES = ("1 month by month", "24 months by month")


async def _table_runs(
    probe: Probe, url: str, who: User, communities: int, *, live: bool, rolled_up: bool
) -> dict[str, list[str]]:
    """The table (JSON) for every range, and as CSV for two; the statements of each request."""
    runs = {}
    for name, params in _ranges(utcnow()).items():
        r, runs[name] = await probe.get(url, who, **params, live=str(live).lower())
        closed = _periods_expected(params) > 1  # ranges with closed periods, answered from snapshots
        _check_table(r.json(), params, communities, rolled_up and closed and not live)
        if name in CSV_RANGES:
            r, runs[f"{name}, csv"] = await probe.get(
                url, who, **params, live=str(live).lower(), format="csv"
            )
            assert len(r.text.splitlines()) == 1 + len(METRICS) * _periods_expected(params)
    return runs


@pytest.mark.parametrize("rolled_up", [False, True], ids=["no snapshots", "snapshots"])
async def test_community_kpis(probe: Probe, db: AsyncSession, rolled_up: bool) -> None:
    """GET /v1/communities/{cid}/kpis (JSON and CSV), live or from snapshots: one query per metric,
    whatever the range (1 to 24 months) and the granularity (day, week, month)."""
    k = await _kpi_world(db)
    if rolled_up:
        await _roll_up(db, [k.w.cid])
    url = f"/v1/communities/{k.w.cid}/kpis"
    for live in (False, True):
        runs = await _table_runs(probe, url, k.w.manager, 1, live=live, rolled_up=rolled_up)
        count = assert_same_count(runs)
        assert count <= len(METRICS) + 12, (live, count)


@pytest.mark.parametrize("rolled_up", [False, True], ids=["no snapshots", "snapshots"])
async def test_company_kpis(probe: Probe, db: AsyncSession, rolled_up: bool) -> None:
    """GET /v1/companies/{id}/kpis (JSON and CSV): the same statements for a company of three
    communities as for a company of one, for every range and granularity, live or from snapshots
    (one query per metric for all the communities)."""
    k = await _kpi_world(db)
    if rolled_up:
        await _roll_up(db, [*k.cids, k.lone.cid])
    for live in (False, True):
        runs = {}
        for name, company, manager, n in (
            ("three communities", k.w.company, k.w.manager, 3),
            ("one community", k.lone.company, k.lone.manager, 1),
        ):
            url = f"/v1/companies/{company.id}/kpis"
            table = await _table_runs(probe, url, manager, n, live=live, rolled_up=rolled_up)
            runs.update({f"{name}, {r}": s for r, s in table.items()})
        count = assert_same_count(runs)
        assert count <= len(METRICS) + 14, (live, count)


async def test_kpi_charts(probe: Probe, db: AsyncSession) -> None:
    """The SVG charts of a community and of a company: the same statements for 1 month as for 24."""
    k = await _kpi_world(db)
    for url, who in (
        (f"/v1/communities/{k.w.cid}/kpis/repair_timeliness/chart.svg", k.w.committee),
        (f"/v1/companies/{k.w.company.id}/kpis/repair_timeliness/chart.svg", k.w.manager),
    ):
        runs = {}
        for name, params in _ranges(utcnow()).items():
            r, runs[name] = await probe.get(url, who, **params)
            assert "<svg" in r.text and 'id="target-line"' in r.text
        assert_same_count(runs)


async def test_kpi_drilldown(probe: Probe, db: AsyncSession) -> None:
    """GET /v1/communities/{cid}/kpis/{metric}/tickets: one facts query per page, whatever its size."""
    k = await _kpi_world(db)
    url = f"/v1/communities/{k.w.cid}/kpis/repair_timeliness/tickets"
    period = k.busy_month.strftime("%Y-%m")
    # The busy month's repairs, that month's history and the still-open repairs past due by its end.
    r, _ = await probe.get(url, k.w.manager, period=period, part="denominator", limit=200)
    total = len(r.json()["items"])
    assert total > BUSY + LIMITS[-1] // 2
    runs, items = await probe.pages(url, k.w.manager, total, period=period, part="denominator")
    assert_same_count(runs)
    assert all(i["ref"] == "ticket" and i["denominator"] for i in items)


# --- poll results ----------------------------------------------------------------------------------


@pytest.mark.parametrize("anonymous", [False, True])
async def test_poll_results(
    probe: Probe, client: httpx.AsyncClient, db: AsyncSession, anonymous: bool
) -> None:
    """GET /v1/polls/{id}/results: the same statements for 10 households as for 100."""
    runs = {}
    for n in (10, 100):
        w = await f.poll_world(db, tuple(f"{50 + i % 7}.25" for i in range(n)))
        p = await f.create_poll(
            client,
            w.committee,
            w.cid,
            anonymous=anonymous,
            questions=[
                {"text": "是否同意？", "type": "single", "options": ["同意", "反对", "弃权"]},
                {"text": "意见", "type": "text", "required": False},
            ],
        )
        poll = await db.get(Poll, p["id"])
        assert poll is not None
        q: Any = p["questions"]
        now = datetime.now(UTC)
        for i, h in enumerate(w.households):
            answers = [(q[0]["id"], [q[0]["options"][i % 3]["id"]], None), (q[1]["id"], [], f"意见{i}")]
            await ballot_service.append_ballot(db, poll, h.id or 0, None, "seed", answers, now)
        r, runs[f"{n} households"] = await probe.get(f"/v1/polls/{p['id']}/results", w.committee)
        res = r.json()
        assert res["turnout"]["households_voted"] == n
        assert sum(o["households"] for o in res["questions"][0]["options"]) == n
        assert len(res["questions"][1]["texts"]) == n
        expected_area = sum((Decimal(f"{50 + i % 7}.25") for i in range(n) if i % 3 == 0), Decimal(0))
        assert Decimal(res["decision"]["options"][0]["area_m2"]) == expected_area
    assert_same_count(runs)
