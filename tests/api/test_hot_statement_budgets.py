"""A budget of SQL statements per hot read (issue 17): every extra statement on these paths is a
round trip on every request of every user, so the count is pinned; lower it when a change earns it.

Counted with the engine's `before_cursor_execute` listener (tests/statements.py), the test's
SAVEPOINT pair aside, over a world with tickets, a notice and inbox rows; the create budget lives in
tests/api/test_ticket_create_cost.py. On PostgreSQL a GET runs in autocommit in production (no
BEGIN/COMMIT, which this listener would not see either).
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from services.kpis import jobs as kpi_jobs
from tests import factories as f
from tests.statements import count_statements

pytestmark = pytest.mark.at("2026-06-16T10:00:00+08:00")

# (path, who) → statements; the same on both engines.
BUDGET = {
    "me": 2,  # principal; households ⋈ building ⋈ community
    "tickets page 1": 2,  # principal (with the communities a staff member's company manages); the page
    "tickets by cursor": 2,
    "notice feed": 2,  # principal; the page with its receipts (read again: nothing to mark delivered)
    "inbox": 2,  # principal; the page
    "inbox badge": 2,  # principal; the capped count
    "community KPIs": 2,  # principal; community ⋈ its targets with its roll-up mark (the table is kept)
}


async def _count(
    client: httpx.AsyncClient, engine: AsyncEngine, path: str, headers: dict[str, str]
) -> list[str]:
    with count_statements(engine) as seen:
        r = await client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    return [s for s in seen if "SAVEPOINT" not in s]


async def test_hot_reads_stay_within_their_statement_budget(
    client: httpx.AsyncClient, engine: AsyncEngine, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    for _ in range(3):
        await f.file_ticket(client, w)
    await f.post_notice(client, w.committee, w.cid)
    await kpi_jobs.rollup(db, community_ids=[w.cid])  # the filings also put 3 rows in the manager's inbox
    manager, resident = f.auth(w.manager), f.auth(w.resident)
    page = await client.get(f"/v1/tickets?community_id={w.cid}&limit=2", headers=manager)
    cursor = page.json()["next_cursor"]
    assert cursor
    kpis = f"/v1/communities/{w.cid}/kpis?from=2026-04-01&to=2026-05-31&granularity=month"
    await client.get(kpis, headers=manager)  # the first read builds the table the next ones reuse
    await client.get("/v1/notices?limit=20", headers=resident)  # the first read marks the receipts
    paths = {
        "me": ("/v1/me", resident),
        "tickets page 1": (f"/v1/tickets?community_id={w.cid}&limit=2", manager),
        "tickets by cursor": (f"/v1/tickets?community_id={w.cid}&limit=2&cursor={cursor}", manager),
        "notice feed": ("/v1/notices?limit=20", resident),
        "inbox": ("/v1/notifications?limit=20", manager),
        "inbox badge": ("/v1/notifications/unread-count", manager),
        "community KPIs": (kpis, manager),
    }
    over = {}
    for name, (path, headers) in paths.items():
        seen = await _count(client, engine, path, headers)
        if len(seen) != BUDGET[name]:
            over[name] = (len(seen), BUDGET[name], [" ".join(s.split())[:140] for s in seen])
    assert over == {}, "\n".join(
        f"{k}: {n} statements, budget {b}:\n  " + "\n  ".join(s) for k, (n, b, s) in over.items()
    )
