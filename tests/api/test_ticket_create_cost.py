"""What filing a ticket costs the database: a budget of SQL statements for POST …/tickets (issue 17).

Counted with the app engine's `before_cursor_execute` listener (tests/statements.py) over a world
where the filing notifies a manager with a device (an inbox row and a push delivery): the statements
must not grow with the managers or their devices either.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Delivery, Device, Notification, Role
from tests import factories as f
from tests.statements import count_statements


async def _file(client: httpx.AsyncClient, engine: AsyncEngine, w: f.TicketWorld) -> list[str]:
    assert w.household.id is not None
    with count_statements(engine) as seen:
        r = await client.post(
            f"/v1/communities/{w.cid}/tickets", json=f.ticket_body(w.household.id), headers=f.auth(w.resident)
        )
    assert r.status_code == 201, r.text
    return list(seen)


async def test_filing_a_ticket_costs_few_statements(
    client: httpx.AsyncClient, engine: AsyncEngine, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    db.add(Device(user_id=w.manager.id or 0, token="cost-token-0000000000000000", platform="android"))
    await db.flush()
    seen = _file.__name__ and await _file(client, engine, w)
    print(f"\n{len(seen)} statements:")
    for s in seen:
        print("  ", " ".join(s.split())[:200])
    assert len(seen) <= 99
