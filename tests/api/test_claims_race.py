"""One user files six claims at the same moment: the per-user cap (3 pending) still holds.

As in test_tickets_grab_race.py, each request gets its own session and connection from the engine,
the set-up rows are committed, and everything this test committed is deleted at the end.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from services.communities import claims
from services.config import Settings
from services.db import session_factory, transaction
from services.models import AuditLog, Building, Community, Household, Membership, User
from tests import factories as f
from tests.conftest import committed_client

CLAIMS = 6


async def test_parallel_claims_respect_the_per_user_cap(
    settings: Settings, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL hold every request just before it takes the claimant's row lock, so all six count
    # the pending claims at once unless that lock serialises them. SQLite takes its write lock at
    # BEGIN: there the requests are serialised by construction (and a barrier would deadlock).
    if engine.dialect.name == "postgresql":
        barrier = asyncio.Barrier(CLAIMS)
        original = claims.load_community

        async def load_after_all_arrive(ctx: object, community_id: int) -> object:
            await asyncio.wait_for(barrier.wait(), timeout=10)
            return await original(ctx, community_id)  # type: ignore[arg-type]

        monkeypatch.setattr(claims, "load_community", load_after_all_arrive)
    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        c = await f.community(s)
        b = await f.building(s, c)
        homes = [await f.household(s, b) for _ in range(CLAIMS)]
        claimant = await f.user(s, "并发申请")
    try:
        async with committed_client(settings, engine, maker) as client:
            results = await asyncio.gather(
                *(
                    client.post(
                        f"/v1/communities/{c.id}/claims",
                        json={"household_id": h.id, "relation": "owner"},
                        headers=f.auth(claimant),
                    )
                    for h in homes
                )
            )
        statuses = sorted(r.status_code for r in results)
        assert statuses == [201] * 3 + [409] * 3, [r.text for r in results]
        assert {r.json()["error"]["code"] for r in results if r.status_code == 409} == {"claim.user_limit"}
        async with maker() as s:
            stmt = sa.select(sa.func.count()).where(col(Membership.user_id) == claimant.id)
            assert (await s.execute(stmt)).scalar_one() == 3
    finally:
        async with maker() as s, transaction(s):
            await s.execute(sa.delete(AuditLog).where(col(AuditLog.community_id) == c.id))
            await s.execute(sa.delete(Membership).where(col(Membership.community_id) == c.id))
            await s.execute(sa.delete(Household).where(col(Household.community_id) == c.id))
            await s.execute(sa.delete(Building).where(col(Building.community_id) == c.id))
            await s.execute(sa.delete(Community).where(col(Community.id) == c.id))
            await s.execute(sa.delete(User).where(col(User.id) == claimant.id))
