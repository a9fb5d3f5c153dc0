"""Prioritisation with the bureau's weights (ranked, each term shown) and aftercare's KPIs before vs
after construction from the existing metrics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Community, Ticket
from services.models.polls import Poll
from services.models.renovation import Milestone, RenovationProject
from tests import factories as f
from tests.api.renovation_world import ok, project, world

pytestmark = pytest.mark.calendar


async def test_ranked_list_with_breakdown(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await world(db)
    other = await f.community(db, "新小区")
    await db.execute(
        sa.update(Community).where(col(Community.id) == w.cid).values(built_year=datetime.now(UTC).year - 40)
    )
    pid = (await project(client, w))["id"]
    needs = await f.create_poll(client, w.committee, w.cid, kind="survey")
    await db.execute(
        sa.update(Poll).where(col(Poll.id) == needs["id"]).values(ballot_count=1)
    )  # 1 of 2 homes
    await db.execute(
        sa.update(RenovationProject).where(col(RenovationProject.id) == pid).values(needs_poll_id=needs["id"])
    )
    admin = await f.platform_admin(db)
    body = {
        "weights": {
            "building_age": 3,
            "facilities_missing": 2,
            "elderly_share": 2,
            "ticket_load": 1,
            "willingness": 2,
        },
        "candidates": [
            {"community_id": other.id, "facilities_missing": 1, "elderly_share": 0.1},
            {"community_id": w.cid, "facilities_missing": 5, "elderly_share": 0.35},
        ],
    }
    out = await ok(await client.post("/v1/renovation/prioritisation", json=body, headers=f.auth(admin)))
    first, second = out["items"]
    assert (first["rank"], first["community_id"]) == (1, w.cid) and second["community_id"] == other.id
    assert first["factors"] == {
        "building_age": 0.8, "facilities_missing": 0.5, "elderly_share": 0.35, "ticket_load": 0.0, "willingness": 0.5,
    }  # fmt: skip
    # 100 × (3×0.8 + 2×0.5 + 2×0.35 + 0 + 2×0.5) / 10
    assert first["weighted"]["building_age"] == 24.0 and first["score"] == 51.0
    for who in (w.admin, w.residents[0]):
        r = await client.post("/v1/renovation/prioritisation", json=body, headers=f.auth(who))
        assert r.status_code == 403


async def test_aftercare_compares_repair_timeliness(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await world(db)
    pid = (await project(client, w))["id"]
    r = await client.get(f"/v1/renovation/projects/{pid}/aftercare", headers=f.auth(w.committee))
    assert r.status_code == 409 and r.json()["error"]["code"] == "renovation.phase_invalid"
    today = datetime.now(UTC).date()
    began = today - timedelta(days=200)
    aftercare_on = today - timedelta(days=100)
    await db.execute(
        sa.update(RenovationProject).where(col(RenovationProject.id) == pid).values(status="aftercare", aftercare_starts_on=aftercare_on)
    )  # fmt: skip
    db.add(Milestone(project_id=pid, name="进场", planned_on=began, actual_on=began))

    def resolved(on: date, late: bool) -> Ticket:
        at = datetime.combine(on, datetime.min.time(), UTC) + timedelta(hours=10)
        return Ticket(
            community_id=w.cid, kind="repair", category="plumbing", priority="normal", title="漏水",
            created_by_id=w.admin.id or 0, status="resolved", created_at=at - timedelta(hours=5),
            resolved_at=at, resolution_due_at=at - timedelta(hours=1) if late else at + timedelta(hours=1),
        )  # fmt: skip

    # Before: 1 of 3 on time; after: 2 of 2.
    db.add_all([resolved(began - timedelta(days=d), late=d != 10) for d in (10, 20, 30)])
    db.add_all([resolved(aftercare_on + timedelta(days=d), late=False) for d in (5, 15)])
    await db.flush()
    out = await ok(await client.get(f"/v1/renovation/projects/{pid}/aftercare", headers=f.auth(w.committee)))
    timeliness = next(m for m in out["metrics"] if m["metric"] == "repair_timeliness")
    assert (
        timeliness["before_num"],
        timeliness["before_den"],
        timeliness["after_num"],
        timeliness["after_den"],
    ) == (1, 3, 2, 2)
    assert timeliness["before"] == 33.3 and timeliness["after"] == 100.0
    r = await client.get(f"/v1/renovation/projects/{pid}/aftercare", headers=f.auth(w.residents[0]))
    assert r.status_code == 403
