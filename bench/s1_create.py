"""S1 — file a repair ticket: Linli beside the bare-FastAPI ceiling and the django-helpdesk peer.

Throughput at 64 connections, latency at 4. Linli's virtual users are distinct verified residents of
the 1M data set, each filing for their own household (the real path: principal, household check,
SLA deadlines from the policy and calendar, the ticket, its event, the managers' notifications).
The bare endpoint takes the same body with the same pydantic model and touches no database; the peer
is django-helpdesk's REST create (bench/peer_helpdesk.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

import asyncpg
import orjson

from bench import peer_helpdesk
from bench.common import VirtualUser, expect, make_client
from bench.env import BenchEnv, MakeUsers, auth, high_water, measure, trim_to
from bench.figures import Figure

BODY = {
    "kind": "repair",
    "category": "plumbing",
    "title": "卫生间水管漏水",
    "description": "洗手池下方水管接头滴水，请尽快处理。",
}
Request = tuple[str, str, bytes | None, tuple[tuple[str, str], ...]]


class Poster:
    """Sends its own cycle of requests, one at a time, on one keep-alive connection."""

    def __init__(self, port: int, requests: Sequence[Request], status: int) -> None:
        self.client = make_client("raw", "127.0.0.1", port)
        self.cycle = itertools.cycle(requests)
        self.status = status

    async def op(self) -> None:
        method, path, body, headers = next(self.cycle)
        status, data = await self.client.request(method, path, body, headers)
        expect(status, self.status, data, path)

    async def close(self) -> None:
        await self.client.close()


_residents: list[tuple[int, int, int]] = []


async def residents(env: BenchEnv) -> list[tuple[int, int, int]]:
    """(user, community, household) of 4,096 verified residents spread over every community."""
    if not _residents:
        conn = await asyncpg.connect(env.dsn())
        try:
            rows = await conn.fetch(
                "SELECT user_id, community_id, household_id FROM membership "
                "WHERE role = 'resident' AND status = 'verified' AND household_id IS NOT NULL "
                "ORDER BY md5(user_id::text) LIMIT 4096"
            )
        finally:
            await conn.close()
        _residents.extend((r[0], r[1], r[2]) for r in rows)
    return _residents


def create_requests(people: Sequence[tuple[int, int, int]]) -> list[Request]:
    return [
        ("POST", f"/v1/communities/{cid}/tickets", orjson.dumps({**BODY, "household_id": hid}), auth(uid))
        for uid, cid, hid in people
    ]


def users_for(port: int, requests: Sequence[Request], status: int = 201) -> MakeUsers:
    def make(n: int) -> list[VirtualUser]:
        share = max(len(requests) // n, 1)
        return [Poster(port, requests[i * share : (i + 1) * share] or requests, status) for i in range(n)]

    return make


async def run(env: BenchEnv, repeat: int) -> list[Figure]:
    reqs = create_requests(await residents(env))
    marks = await high_water(env.dsn())
    try:
        linli = users_for(env.port("linli"), reqs)
        at64 = await measure(env, "linli", "S1 linli", linli, 64)
        at4 = await measure(env, "linli", "S1 linli", linli, 4)
        # The reference (issue 17): a one-statement-per-table create is bound by PostgreSQL's commit
        # on these two cores, so the lean same-work app of the same run, not bare FastAPI, is the bar.
        lean64 = await measure(env, "lean", "S1 lean", users_for(env.port("lean"), reqs), 64)
    finally:
        await trim_to(env.dsn(), marks)
    bare = users_for(env.port("bare"), reqs)
    bare64 = await measure(env, "bare", "S1 bare", bare, 64)
    bare4 = await measure(env, "bare", "S1 bare", bare, 4)
    figures = [
        Figure(
            "S1",
            "create req/s @64",
            at64.rate,
            "req/s",
            "lean same-work app (bench/lean_app.py)",
            lean64.rate,
            ">=",
            0.7,
            "ratio",
        ),
        Figure("S1", "create req/s @64 vs bare", at64.rate, "req/s", "bare FastAPI, same body", bare64.rate),
        Figure("S1", "create p99 ms @4", at4.pct(99), "ms", "bare FastAPI p99 @4", bare4.pct(99), "<=", 10.0),
        Figure("S1", "create p50 ms @4", at4.pct(50), "ms", "bare FastAPI p50 @4", bare4.pct(50)),
    ]
    if "peer" in env.servers:
        peer_reqs = [peer_helpdesk.create_request(i) for i in range(4096)]
        peer = users_for(env.port("peer"), peer_reqs, peer_helpdesk.CREATE_STATUS)
        before = await peer_helpdesk.last_ticket_id()
        try:
            peer64 = await measure(env, "peer", "S1 peer", peer, 64, env.peer_duration)
        finally:
            await peer_helpdesk.delete_created(before)
        figures.append(
            Figure(
                "S1",
                "create req/s @64 vs peer",
                at64.rate,
                "req/s",
                "django-helpdesk REST create",
                peer64.rate,
            )
        )
        if peer64.error_count:
            figures[-1] = replace(figures[-1], note=f"peer errors {dict(peer64.errors)}")
    env.results["S1 create req/s @64"] = at64.rate
    bad = at64.error_count + at4.error_count
    figures.append(
        Figure(
            "S1",
            "create errors",
            bad,
            "",
            op="<=",
            limit=0,
            note=str(dict(at64.errors + at4.errors)) if bad else "",
        )
    )
    return figures
