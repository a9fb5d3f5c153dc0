"""The demo's renovation projects (services/demo_renovation.py) read back through the API: the 2023
project closed with every phase's evidence, a balanced and verifiable ledger, sign-offs and aftercare;
the 2026 project in construction with a late milestone and a supervisor's open problem (a ticket)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo, demo_renovation
from services.config import Settings
from services.models import Community, Ticket, User
from services.models.renovation import Payment, RenovationProject
from tests import factories as f

pytestmark = pytest.mark.calendar


async def _user(db: AsyncSession, phone: str) -> User:
    return (await db.exec(select(User).where(User.phone == phone))).one()


async def _get(client: httpx.AsyncClient, who: User, url: str) -> Any:
    r = await client.get(url, headers=f.auth(who))
    assert r.status_code == 200, r.text
    return r.json()


async def test_demo_renovation_projects(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, sessionmaker: Any
) -> None:
    await demo.seed(settings, sessionmaker=sessionmaker)
    cid = (await db.exec(select(Community.id).where(Community.name == demo.COMMUNITY["name"]))).one()
    assert cid is not None
    counts = [
        (await db.exec(select(func.count()).select_from(t))).one() for t in (RenovationProject, Payment)
    ]
    await demo.seed(settings, sessionmaker=sessionmaker)  # idempotent
    assert [
        (await db.exec(select(func.count()).select_from(t))).one() for t in (RenovationProject, Payment)
    ] == counts

    admin = await _user(db, demo_renovation.ADMIN)
    chair = await _user(db, demo_renovation.CHAIR)
    resident = await _user(db, "+8613700000001")
    listed = await _get(client, resident, f"/v1/communities/{cid}/renovation/projects")
    by_title = {p["title"]: p for p in listed}
    closed, building = by_title[demo_renovation.CLOSED_TITLE], by_title[demo_renovation.BUILDING_TITLE]

    # --- the 2023 project: closed, every phase's evidence complete ---------------------------------
    assert (closed["year"], closed["status"]) == (2023, "closed")
    assert all(e["complete"] for e in closed["evidence"]) and len(closed["evidence"]) == 7
    for link in ("needs_poll_id", "design_poll_id", "design_notice_id", "design_notice2_id", "vote_poll_id",
                 "satisfaction_poll_id"):  # fmt: skip
        assert closed[link] is not None, link
    assert closed["vote_required"] is True
    vote = await _get(client, resident, f"/v1/polls/{closed['vote_poll_id']}/results")
    assert vote["decision"]["outcome"] == "passed"
    assert {i["item_class"] for i in closed["items"]} == {"basic", "improvement", "upgrade"}
    assert all(i["signoff"] == "pass" and i["quantity"] and i["contractor"] for i in closed["items"])
    rails = next(i for i in closed["items"] if i["name"] == "楼道适老扶手")
    assert len(rails["building_ids"]) == 3 and rails["unit"] == "m"
    pid = closed["id"]
    base = f"/v1/renovation/projects/{pid}"
    team = await _get(client, resident, base + "/roles")
    assert sorted(r["role"] for r in team) == ["collector", "inspector", "supervisor"]
    signoffs = await _get(client, resident, base + "/signoffs")
    assert [s["verdict"] for s in signoffs].count("rectify") == 1 and len(signoffs) == 8
    requests = await _get(client, resident, base + "/requests")
    assert [r["outcome"] for r in requests] == ["design_change"]
    assert all(m["actual_on"] for m in await _get(client, resident, base + "/milestones"))
    tl = await _get(client, resident, base + "/approval-steps")
    assert [s["working_days"] for s in tl["steps"]] == [3, 3] and tl["total_working_days"] == 7
    assert [a["period"] for a in await _get(client, resident, base + "/self-assessments")] == [
        "2024H1",
        "2024H2",
    ]

    # The ledger balances to the fen: committed = received = spent, every balance zero; the chain verifies.
    led = await _get(client, chair, base + "/ledger")
    total = demo_renovation.LEDGER_TOTAL_FEN
    assert (led["committed_fen"], led["received_fen"], led["spent_fen"]) == (total, total, total)
    assert all(src["balance_fen"] == 0 for src in led["sources"]) and len(led["sources"]) == 7
    assert len(led["payments"]) == 12 and sum(p["amount_fen"] for p in led["payments"]) == total
    assert sum(i["spent_fen"] for i in closed["items"]) == total
    assert (await _get(client, resident, base + "/ledger"))["payments"] is None  # residents: the summary
    check = await _get(client, chair, base + "/ledger/verify")
    assert check["ok"] is True and check["payments"] == 12
    r = await client.get(base + "/ledger.csv", headers=f.auth(chair))
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")

    # A closed project takes no more changes.
    r = await client.post(
        base + "/milestones", json={"name": "补充", "planned_on": "2024-01-01"}, headers=f.auth(admin)
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "renovation.closed"

    # --- the project in construction: a late milestone and an open supervisor problem -------------
    assert building["status"] == "construction"
    assert [e["complete"] for e in building["evidence"]][:4] == [True, True, True, True]
    bbase = f"/v1/renovation/projects/{building['id']}"
    plan = await _get(client, resident, bbase + "/milestones")
    late = [m for m in plan if m["late"]]
    assert [m["name"] for m in late] == [demo_renovation.LATE_MILESTONE]
    # Five days on the community's calendar (4 where the schedule counts in UTC, 00:00–08:00 Beijing).
    assert late[0]["days_late"] in (4, 5) and late[0]["actual_on"] is None
    records = await _get(client, resident, bbase + "/supervision")
    problem = next(s for s in records if s["problem"])
    assert problem["note"] == demo_renovation.PROBLEM_NOTE and problem["photo_ids"]
    ticket = await db.get(Ticket, problem["ticket_id"])
    assert ticket is not None and ticket.status not in ("closed", "resolved", "cancelled")
    assert ticket.community_id == cid and ticket.resolution_due_at is not None
    bled = await _get(client, chair, bbase + "/ledger")
    assert bled["spent_fen"] == 25_800_000 and bled["received_fen"] == 30_000_000
    assert (await _get(client, chair, bbase + "/ledger/verify"))["ok"] is True
