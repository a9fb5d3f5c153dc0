"""Two technicians grab the same ticket at the same moment: exactly one wins.

The usual fixtures share one connection inside a rolled-back transaction, which would serialise the
two requests. Here each request gets its own session and connection from the engine, the set-up rows
are committed, and everything this test committed is deleted at the end.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

import services.tickets.actions  # noqa: F401  (fills HANDLERS before the test patches one)
from services.config import Settings
from services.db import session_factory, transaction
from services.models.tickets import Ticket, TicketEvent
from services.tickets.transitions import HANDLERS, Call, Outcome
from tests import factories as f
from tests.committed_world import delete_ticket_world
from tests.conftest import committed_client


async def test_two_simultaneous_grabs_one_winner(
    settings: Settings, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL both requests must have read the ticket (version 1, unassigned) before either
    # writes, however the event loop schedules them: hold each grab at a barrier between its read and
    # its UPDATE. SQLite transactions take the write lock at BEGIN (BEGIN IMMEDIATE), so there the
    # second request waits and then finds the ticket taken: the race is serialised by construction.
    concurrent_reads = engine.dialect.name == "postgresql"
    if concurrent_reads:
        barrier = asyncio.Barrier(2)
        original = HANDLERS["grab"]

        async def grab_after_both_read(call: Call) -> Outcome:
            await asyncio.wait_for(barrier.wait(), timeout=10)
            return await original(call)

        monkeypatch.setitem(HANDLERS, "grab", grab_after_both_read)
    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        w = await f.ticket_world(s)
    try:
        async with committed_client(settings, engine, maker) as client:
            t = await f.file_ticket(client, w)
            results = await asyncio.gather(
                f.act(client, w.technician, t, "grab"), f.act(client, w.technician2, t, "grab")
            )
            statuses = sorted(r.status_code for r in results)
            # Both databases answer the loser the same: 409 ticket.already_taken. (Serialised, on
            # SQLite, the loser finds the ticket in another technician's hands, which it cannot
            # read; the grab still says "taken", not "does not exist".)
            assert statuses == [200, 409], [r.text for r in results]
            loser = next(r for r in results if r.status_code == 409)
            assert loser.json()["error"]["code"] == "ticket.already_taken", loser.text
            winner = next(r for r in results if r.status_code == 200).json()
            async with maker() as s:
                row = await s.get(Ticket, t["id"])
                assert row is not None and row.assignee_id == winner["assignee_id"]
                assert row.version == 2
                grabs = (
                    await s.execute(
                        sa.select(sa.func.count())
                        .select_from(TicketEvent)
                        .where(col(TicketEvent.ticket_id) == t["id"], col(TicketEvent.action) == "grab")
                    )
                ).scalar_one()
                assert grabs == 1
    finally:
        await delete_ticket_world(engine, w)
