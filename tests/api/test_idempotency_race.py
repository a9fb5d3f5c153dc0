"""Two simultaneous creates with one Idempotency-Key make one ticket.

Each request on its own connection (committed rows, cleaned up after). On PostgreSQL both have
looked the key up before either stores it: the second's INSERT of the key waits on the unique index
for the first to commit, then fails, and its whole transaction — the ticket with it — rolls back
(409 idempotency.in_progress; the app retries and gets the replay). SQLite writes one at a time, so
the second sees the first's key and replays its answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from services import idempotency
from services.config import Settings
from services.db import session_factory, transaction
from services.models import IdempotencyRecord
from services.models.tickets import Ticket
from tests import factories as f
from tests.committed_world import delete_ticket_world
from tests.conftest import committed_client


async def test_two_simultaneous_creates_with_one_key_make_one_ticket(
    settings: Settings, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        barrier = asyncio.Barrier(2)
        original = idempotency.find

        calls = 0

        async def after_both_looked(ctx: Any, key: str, fingerprint: str) -> Any:
            nonlocal calls
            calls += 1
            found = await original(ctx, key, fingerprint)
            if calls <= 2:  # the twins; the later retry looks up alone
                await asyncio.wait_for(barrier.wait(), timeout=10)
            return found

        monkeypatch.setattr(idempotency, "find", after_both_looked)
    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        w = await f.ticket_world(s)
    assert w.household.id is not None
    headers = {**f.auth(w.resident), "Idempotency-Key": "twin-create-1"}
    body = f.ticket_body(w.household.id)
    try:
        async with committed_client(settings, engine, maker) as client:
            url = f"/v1/communities/{w.cid}/tickets"
            results = await asyncio.gather(
                client.post(url, json=body, headers=headers), client.post(url, json=body, headers=headers)
            )
            statuses = sorted(r.status_code for r in results)
            if postgres:
                assert statuses == [201, 409], [r.text for r in results]
                loser = next(r for r in results if r.status_code == 409)
                assert loser.json()["error"]["code"] == "idempotency.in_progress"
            else:
                assert statuses == [201, 201], [r.text for r in results]
                assert sorted(r.headers.get("Idempotent-Replayed", "") for r in results) == ["", "true"]
                assert results[0].json()["id"] == results[1].json()["id"]
            again = await client.post(url, json=body, headers=headers)  # the app's retry: the replay
            assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
            winner = next(r for r in results if r.status_code == 201).json()
            assert again.json()["id"] == winner["id"]
            async with maker() as s:
                tickets = (
                    await s.execute(
                        sa.select(sa.func.count())
                        .select_from(Ticket)
                        .where(col(Ticket.community_id) == w.cid)
                    )
                ).scalar_one()
                keys = (
                    await s.execute(
                        sa.select(sa.func.count())
                        .select_from(IdempotencyRecord)
                        .where(col(IdempotencyRecord.user_id) == w.resident.id)
                    )
                ).scalar_one()
            assert (tickets, keys) == (1, 1)
    finally:
        async with maker() as s, transaction(s):
            await s.execute(
                sa.delete(IdempotencyRecord).where(col(IdempotencyRecord.user_id) == w.resident.id)
            )
        await delete_ticket_world(engine, w)
