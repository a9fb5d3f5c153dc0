"""Two members of one household cast at the same moment: exactly one ballot, the other gets 409.

The usual fixtures share one connection inside a rolled-back transaction, which would serialise the
two requests. Here each request has its own session and connection from the engine, the set-up rows
are committed, and everything this test committed is deleted at the end.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

import services.polls.ballots
from services.config import Settings
from services.db import session_factory, transaction
from services.models import (
    AuditLog,
    Building,
    Community,
    Delivery,
    Household,
    Membership,
    Notification,
    User,
)
from services.models.polls import Ballot, BallotAnswer, BallotVoter, Poll, PollOption, PollQuestion
from tests import factories as f
from tests.conftest import committed_client


async def _cleanup(engine: AsyncEngine, w: f.PollWorld) -> None:
    cid = w.community.id
    other = w.outsider
    async with session_factory(engine)() as s, transaction(s):
        members = sa.select(Membership.user_id).where(col(Membership.community_id) == cid)
        users = [*(await s.execute(members)).scalars(), other.id]
        other_cids = list(
            (
                await s.execute(sa.select(Membership.community_id).where(col(Membership.user_id) == other.id))
            ).scalars()
        )
        polls = sa.select(Poll.id).where(col(Poll.community_id) == cid)
        ballots = sa.select(Ballot.id).where(col(Ballot.poll_id).in_(polls))
        for stmt in (
            sa.delete(BallotAnswer).where(col(BallotAnswer.ballot_id).in_(ballots)),
            sa.delete(BallotVoter).where(col(BallotVoter.poll_id).in_(polls)),
            sa.delete(Ballot).where(col(Ballot.poll_id).in_(polls)),
            sa.delete(PollOption).where(col(PollOption.poll_id).in_(polls)),
            sa.delete(PollQuestion).where(col(PollQuestion.poll_id).in_(polls)),
            sa.delete(Poll).where(col(Poll.community_id) == cid),
            sa.delete(AuditLog).where(col(AuditLog.actor_id).in_(users)),
            sa.delete(Delivery).where(col(Delivery.user_id).in_(users)),
            sa.delete(Notification).where(col(Notification.user_id).in_(users)),
            sa.delete(Membership).where(col(Membership.user_id).in_(users)),
            sa.delete(User).where(col(User.id).in_(users)),
        ):
            await s.execute(stmt)
        for c in [cid, *other_cids]:
            await s.execute(sa.delete(Household).where(col(Household.community_id) == c))
            await s.execute(sa.delete(Building).where(col(Building.community_id) == c))
            await s.execute(sa.delete(Community).where(col(Community.id) == c))


@pytest.mark.parametrize("kind", ["survey", "vote"])
async def test_two_members_cast_at_once_one_ballot(
    settings: Settings, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    # On PostgreSQL both requests must have passed the early duplicate check before either writes:
    # hold each at a barrier just before it links its ballot onto the chain. SQLite transactions take
    # the write lock at BEGIN (BEGIN IMMEDIATE): the second cast waits, then meets the first ballot.
    if engine.dialect.name == "postgresql":
        barrier = asyncio.Barrier(2)
        original = services.polls.ballots.append_ballot

        async def append_after_both_checked(*args: Any, **kwargs: Any) -> Any:
            await asyncio.wait_for(barrier.wait(), timeout=10)
            return await original(*args, **kwargs)

        monkeypatch.setattr(services.polls.ballots, "append_ballot", append_after_both_checked)
    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        w = await f.poll_world(s)
        # A survey: the owner and a family member; an owners' vote: two co-owners.
        second = w.family if kind == "survey" else await f.resident(s, w.households[0], "owner", "共有人")
    try:
        async with committed_client(settings, engine, maker) as client:
            poll = await f.create_poll(client, w.committee, w.cid, kind=kind)
            results = await asyncio.gather(
                f.cast(client, w.owner, poll, w.households[0], f.choice(poll, option=0)),
                f.cast(client, second, poll, w.households[0], f.choice(poll, option=1)),
            )
            statuses = sorted(r.status_code for r in results)
            assert statuses == [201, 409], [r.text for r in results]
            loser = next(r for r in results if r.status_code == 409)
            assert loser.json()["error"]["code"] == "poll.already_voted"
            winner = next(r for r in results if r.status_code == 201).json()
            async with maker() as s:
                rows = (await s.execute(sa.select(Ballot).where(col(Ballot.poll_id) == poll["id"]))).scalars()
                assert [(b.seq, b.hash) for b in rows] == [(1, winner["hash"])]
                head = await s.get(Poll, poll["id"])
                assert head is not None and (head.ballot_count, head.last_hash) == (1, winner["hash"])
            r = await client.get(f"/v1/polls/{poll['id']}/ballots/verify", headers=f.auth(w.committee))
            assert r.json()["ok"] is True
    finally:
        await _cleanup(engine, w)
