"""Lists per role, filters, keyset pages and badge counts (their statement counts: test_no_n_plus_one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Role
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


async def _ids(client: httpx.AsyncClient, who: Any, query: str = "") -> list[int]:
    r = await client.get(f"/v1/tickets{query}", headers=f.auth(who))
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


async def test_each_role_sees_its_tickets(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    mine = await f.file_ticket(client, w, title="我家的")
    neighbour_home = await f.household(db, w.building)
    neighbour = await f.resident(db, neighbour_home)
    r = await client.post(
        f"/v1/communities/{w.cid}/tickets", json=f.ticket_body(neighbour_home.id), headers=f.auth(neighbour)
    )
    theirs = r.json()
    # A family member of the same household sees the household's tickets.
    family = await f.resident(db, w.household, relation="family")
    r = await f.act(client, w.manager, theirs, "assign", assignee_id=w.technician.id)
    assert r.status_code == 200

    assert await _ids(client, w.resident) == [mine["id"]]
    assert await _ids(client, family) == [mine["id"]]
    assert await _ids(client, neighbour) == [theirs["id"]]
    assert await _ids(client, w.manager) == [theirs["id"], mine["id"]]
    assert await _ids(client, w.committee) == [theirs["id"], mine["id"]]
    assert await _ids(client, w.admin) == [theirs["id"], mine["id"]]
    assert await _ids(client, w.technician) == [theirs["id"]]
    assert await _ids(client, w.technician, "?queue=grab") == [mine["id"]]
    assert await _ids(client, w.technician2) == []
    assert await _ids(client, w.technician, "?queue=assigned") == [theirs["id"]]
    assert await _ids(client, w.technician2, "?queue=assigned") == []
    assert await _ids(client, w.resident, "?queue=assigned") == []
    # Another community's people see nothing of it.
    other = await f.ticket_world(db)
    for who in (other.manager, other.committee, other.technician, other.resident):
        assert await _ids(client, who) == []
        assert (await client.get(f"/v1/tickets/{mine['id']}", headers=f.auth(who))).status_code == 404
    # A grid worker (no ticket role) sees nothing either.
    grid = await f.community_staff(db, w.community, Role.grid_worker)
    assert await _ids(client, grid) == []


async def test_filters_and_pages(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    other_building = await f.building(db, w.community)
    home2 = await f.household(db, other_building)
    resident2 = await f.resident(db, home2)
    a = await f.file_ticket(client, w, title="电梯异响", category="elevator", priority="high")
    b = await f.file_ticket(
        client, w, kind="complaint", category="neighbour", complaint_target="neighbour", title="噪音50%"
    )
    r = await client.post(
        f"/v1/communities/{w.cid}/tickets",
        json=f.ticket_body(home2.id, title="楼道灯坏", category="electrical", description="三楼的灯"),
        headers=f.auth(resident2),
    )
    c = r.json()
    m = w.manager
    assert await _ids(client, m, "?kind=complaint") == [b["id"]]
    assert await _ids(client, m, "?category=elevator") == [a["id"]]
    r = await client.get("/v1/tickets?category=水电", headers=f.auth(m))
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"  # outside TicketCategory
    assert await _ids(client, m, f"?building_id={other_building.id}") == [c["id"]]
    assert await _ids(client, m, "?q=三楼") == [c["id"]]
    assert await _ids(client, m, "?q=50%25") == [b["id"]]  # % is literal, not a wildcard
    assert await _ids(client, m, "?q=%25") == [b["id"]]
    assert await _ids(client, m, "?status=submitted&status=accepted") == [c["id"], b["id"], a["id"]]
    assert await _ids(client, m, "?status=closed") == []
    assert await _ids(client, m, "?overdue=false") == [c["id"], b["id"], a["id"]]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert await _ids(client, m, f"?created_from={future}") == []
    assert len(await _ids(client, m, f"?created_to={future}")) == 3
    r = await client.get("/v1/tickets?status=flying", headers=f.auth(m))
    assert r.status_code == 422

    # Keyset pages: id DESC, opaque cursor.
    r = await client.get("/v1/tickets?limit=2", headers=f.auth(m))
    page = r.json()
    assert [i["id"] for i in page["items"]] == [c["id"], b["id"]]
    r = await client.get(f"/v1/tickets?limit=2&cursor={page['next_cursor']}", headers=f.auth(m))
    assert [i["id"] for i in r.json()["items"]] == [a["id"]] and r.json()["next_cursor"] is None
    r = await client.get("/v1/tickets?cursor=garbage!", headers=f.auth(m))
    assert r.status_code == 422 and r.json()["error"]["code"] == "pagination.invalid_cursor"


async def test_counts_for_badges(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t1 = await f.file_ticket(client, w)
    await f.file_ticket(client, w)
    assert (await f.act(client, w.manager, t1, "accept")).status_code == 200
    r = await client.get("/v1/tickets/counts", headers=f.auth(w.manager))
    assert r.status_code == 200
    body = r.json()
    assert body["capped"] is False
    assert body["counts"]["submitted"] == 1 and body["counts"]["accepted"] == 1
    assert body["counts"]["resolved"] == 0
    r = await client.get("/v1/tickets/counts?queue=grab", headers=f.auth(w.technician))
    assert r.json()["counts"]["submitted"] == 1 and r.json()["counts"]["accepted"] == 1
    other = await f.ticket_world(db)
    r = await client.get("/v1/tickets/counts", headers=f.auth(other.manager))
    assert sum(r.json()["counts"].values()) == 0


async def test_assigned_list_ends_with_the_technician_role(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    from sqlmodel import select

    from services.models import Membership

    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    assert r.status_code == 200
    assert await _ids(client, w.technician, "?queue=assigned") == [t["id"]]
    # The technician leaves the company but, say, lives in the estate: the old work is no longer theirs to see.
    for m in (await db.exec(select(Membership).where(Membership.user_id == w.technician.id))).all():
        m.status = "revoked"
        db.add(m)
    await f.member(
        db, w.technician, Role.resident, community_id=w.cid, household_id=w.household.id, relation="tenant"
    )
    await db.flush()
    assert await _ids(client, w.technician, "?queue=assigned") == []
