"""What filing a ticket costs the database: a budget of SQL statements for POST …/tickets (issue 17).

Counted with the app engine's `before_cursor_execute` listener (tests/statements.py) over a world
where the filing notifies a manager with a device (an inbox row and a push delivery): the statements
must not grow with the managers or their devices either.
"""

from __future__ import annotations

import httpx
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


# The request's own statements (the test's SAVEPOINT pair aside): principal, household, SLA policy,
# then on PostgreSQL one statement for the ticket + its event + the managers to tell and one for the
# inbox rows + their push deliveries (SQLite, without data-modifying CTEs, splits those into 5).
BUDGET = {"postgresql": 5, "sqlite": 8}


async def test_filing_a_ticket_costs_few_statements(
    client: httpx.AsyncClient, engine: AsyncEngine, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    second = await f.company_staff(db, w.company, Role.property_manager, "物业经理乙")
    for who, n in ((w.manager, 2), (second, 1)):
        for i in range(n):
            db.add(Device(user_id=who.id or 0, token=f"cost-token-{who.id}-{i:020d}", platform="android"))
    await db.flush()
    seen = [s for s in await _file(client, engine, w) if "SAVEPOINT" not in s]
    assert len(seen) <= BUDGET[engine.dialect.name], "\n".join(" ".join(s.split())[:160] for s in seen)
    inbox = (await db.exec(select(Notification.user_id).where(Notification.category == "ticket"))).all()
    assert sorted(inbox) == sorted([w.manager.id, second.id])
    deliveries = (await db.exec(select(Delivery.user_id).order_by(col(Delivery.user_id)))).all()
    assert deliveries == sorted([w.manager.id, w.manager.id, second.id])
