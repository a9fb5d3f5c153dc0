"""S2 — a property manager's ticket list: one community, status filter, newest first, 20 rows, cursor.

GET /v1/tickets?community_id=1&status=closed&limit=20 on the 1M data set (community 1 is the
10,000-household estate: ~100,000 of the tickets), on page 1 and on page 500 (the cursor after 9,980
rows), at 4 connections for latency and 64 for throughput; the same on the 10k data set; beside
- the database's floor: the very statement services.tickets.queries builds for that request,
  compiled for PostgreSQL and run through asyncpg by as many connections;
- the peer: django-helpdesk's staff ticket list (its datatables view, paginated in the database).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import peer_helpdesk
from bench.common import HttpError, RawClient, Result, expect
from bench.env import DB_10K, BenchEnv, MakeUsers, auth, measure
from bench.figures import Figure
from bench.s1_create import Poster, Request

LIMIT = 20
DEEP_PAGE = 500
FILTER = "community_id=1&status=closed"
BACKLOG = 20_000  # open tickets filed "just now", mixed over all communities (the backlog case)
BACKLOG_TITLE = "bench backlog"
BACKLOG_STATUSES = "ARRAY['submitted', 'accepted', 'assigned', 'in_progress']"
# Columns the backlog copies give their own values; every other column is copied from the source row.
BACKLOG_SET = {
    "status": f"({BACKLOG_STATUSES})[1 + s.g % 4]",
    "title": f"'{BACKLOG_TITLE} ' || s.g",
    "created_at": "now() - s.g * interval '1 second'",
    "updated_at": "now()",
    "assignee_id": "CASE WHEN s.g % 4 >= 2 THEN t.assignee_id END",
    **{c: "NULL" for c in ("accepted_at", "assigned_at", "started_at", "resolved_at", "closed_at")},
    **{c: "NULL" for c in ("paused_at", "pause_reason", "rating_overall", "resolution_note")},
}


async def manager(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT user_id FROM membership WHERE role = 'property_manager' AND status = 'verified' "
                "ORDER BY user_id LIMIT 1"
            )
        )
    finally:
        await conn.close()


async def page_path(port: int, uid: int, page: int) -> str:
    """The URL of page `page` (1-based), found by walking the cursors 100 rows at a time."""
    client = RawClient("127.0.0.1", port)
    cursor: str | None = None
    rows = 0
    try:
        while rows < (page - 1) * LIMIT:
            step = min(100, (page - 1) * LIMIT - rows)
            path = f"/v1/tickets?{FILTER}&limit={step}" + (f"&cursor={cursor}" if cursor else "")
            status, data = await client.request("GET", path, None, auth(uid))
            expect(status, 200, data, path)
            body = orjson.loads(data)
            rows += len(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                raise RuntimeError(f"only {rows} rows: no page {page}")
    finally:
        await client.close()
    return f"/v1/tickets?{FILTER}&limit={LIMIT}" + (f"&cursor={cursor}" if cursor else "")


def deep_page(env: BenchEnv) -> int:
    """Page 500 of the 1M set; a smoke run's smaller set has fewer pages."""
    return DEEP_PAGE if env.tickets >= 1_000_000 else 40


def getters(port: int, path: str, uid: int) -> MakeUsers:
    request: Request = ("GET", path, None, auth(uid))
    return lambda n: [Poster(port, [request], 200) for _ in range(n)]


async def floor_sql(dsn: str, uid: int, after: int | None = None) -> tuple[str, list[Any]]:
    """The list statement and its arguments exactly as the app sends them to asyncpg for this
    manager and these filters."""
    from services.access import load_principal
    from services.db import create_engine, session_factory
    from services.tickets import queries

    engine = create_engine(dsn.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with session_factory(engine)() as session:
            principal = await load_principal(session, uid)
    finally:
        await engine.dispose()
    filters = {"community_id": 1, "status": ["closed"]}
    return queries.list_bound(principal, filters, after, LIMIT, datetime.now(UTC), engine.dialect)


async def floor(
    dsn: str, bound: tuple[str, list[Any]], concurrency: int, seconds: float, rows: int | None = LIMIT
) -> Result:
    """Closed loop of the bare statement over `concurrency` asyncpg connections."""
    sql, args = bound
    conns = [await asyncpg.connect(dsn) for _ in range(concurrency)]
    latencies: list[float] = []
    try:
        for c in conns:
            await c.fetch(sql, *args)  # prepare + warm
        end = time.perf_counter() + seconds

        async def loop(c: Any) -> None:
            while (t0 := time.perf_counter()) < end:
                got = await c.fetch(sql, *args)
                if rows is not None and len(got) != rows:
                    raise HttpError("floor: short page")
                latencies.append((time.perf_counter() - t0) * 1000)

        await asyncio.gather(*(loop(c) for c in conns))
    finally:
        for c in conns:
            await c.close()
    return Result("S2 floor", concurrency, len(latencies), seconds, latencies)


_paths: dict[str, Any] = {}


async def scopes(env: BenchEnv) -> str:
    """What each side's list reads, counted in the two databases: the same scope on both (community 1
    = queue 1, the estate's 10 % of the tickets, closed), and what each does per request."""
    ours = await asyncpg.connect(env.dsn())
    try:
        linli = await ours.fetchval(
            "SELECT count(*) FROM ticket WHERE community_id = 1 AND status = 'closed'"
        )
    finally:
        await ours.close()
    theirs = await asyncpg.connect(peer_helpdesk.pg_dsn(peer_helpdesk.PG, peer_helpdesk.DB))
    try:
        peer = await theirs.fetchval("SELECT count(*) FROM helpdesk_ticket WHERE queue_id = 1 AND status = 4")
    finally:
        await theirs.close()
    return (
        f"same scope: Linli community 1 closed ({linli:,} tickets) — principal + one keyset page of 20; "
        f"peer queue 1 closed ({peer:,} tickets) — 2 COUNTs over the queue + an OFFSET page + ~55 per-row statements"
    )


async def run(env: BenchEnv, repeat: int) -> list[Figure]:
    uid = await manager(env.dsn())
    port = env.port("linli")
    if not _paths:
        _paths["p1"] = await page_path(port, uid, 1)
        _paths["p500"] = await page_path(port, uid, deep_page(env))
        _paths["sql"] = await floor_sql(env.dsn(), uid)
    p1_4 = await measure(env, "linli", "S2 page 1", getters(port, _paths["p1"], uid), 4)
    p500_4 = await measure(env, "linli", "S2 page 500", getters(port, _paths["p500"], uid), 4)
    p1_64 = await measure(env, "linli", "S2 page 1", getters(port, _paths["p1"], uid), 64)
    small_uid = await manager(env.dsn(DB_10K))
    small = await measure(
        env, "linli_10k", "S2 10k", getters(env.port("linli_10k"), _paths["p1"], small_uid), 4
    )
    floor4 = await floor(env.dsn(), _paths["sql"], 4, env.duration)
    figures = [
        Figure(
            "S2",
            "list p99 ms @4 (1M, page 1)",
            p1_4.pct(99),
            "ms",
            "asyncpg, same SQL, p99 @4",
            floor4.pct(99),
            "<=",
            5.0,
        ),
        Figure(
            "S2",
            "list p50 ms @4 (1M, page 1)",
            p1_4.pct(50),
            "ms",
            "asyncpg, same SQL, p50 @4",
            floor4.pct(50),
        ),
        Figure(
            "S2",
            "page 500 p99 ÷ page 1 p99",
            p500_4.pct(99),
            "ms",
            "page 1 p99 @4",
            p1_4.pct(99),
            "<=",
            1.2,
            "ratio",
        ),
        Figure(
            "S2",
            "1M p99 ÷ 10k p99",
            p1_4.pct(99),
            "ms",
            "10k data set p99 @4",
            small.pct(99),
            "<=",
            1.3,
            "ratio",
        ),
        Figure(
            "S2",
            "list req/s @64",
            p1_64.rate,
            "req/s",
        ),
    ]
    if "peer" in env.servers:

        def peer_users(n: int) -> list[Poster]:
            # Closed tickets of one queue, as ours; each user with its own staff session.
            reqs = [peer_helpdesk.list_request(1, user=i, statuses=(4,)) for i in range(n)]
            return [Poster(env.port("peer"), [(m, p, None, h)], 200) for m, p, h in reqs]

        peer = await measure(env, "peer", "S2 peer", peer_users, 64, env.peer_duration)
        figures.append(
            Figure(
                "S2",
                "list req/s @64 vs peer",
                p1_64.rate,
                "req/s",
                "django-helpdesk datatables list",
                peer.rate,
                ">=",
                100.0,
                "ratio",
                note=await scopes(env),
            )
        )
    figures += await backlog_case(env, uid)
    env.results["S2 list p99 ms @4"] = p1_4.pct(99)
    errors = sum(r.error_count for r in (p1_4, p500_4, p1_64, small))
    figures.append(Figure("S2", "list errors", errors, "", op="<=", limit=0))
    return figures


# --------------------------------------------------------------------------- the backlog case
# Page 1 of a closed list sits behind every newer ticket. In the generated data the open work is
# two weeks' worth; a busy estate after a storm has far more. BACKLOG open tickets, newest of all and
# spread over the communities, are added for this case and deleted after it (the foreign keys
# referencing ticket are indexed, so the delete is quick), and ANALYZE lets the planner see them.


async def add_backlog(dsn: str, n: int = BACKLOG) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        await drop_backlog_rows(conn)
        cols = [
            r[0]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'ticket' "
                "AND column_name <> 'id' ORDER BY ordinal_position"
            )
        ]
        top = int(await conn.fetchval("SELECT max(id) FROM ticket"))
        values = ", ".join(BACKLOG_SET.get(c, f"t.{c}") for c in cols)
        await conn.execute(
            f"INSERT INTO ticket ({', '.join(cols)}) SELECT {values} "  # noqa: S608  (names from the catalogue)
            "FROM (SELECT src, row_number() OVER () AS g FROM "
            f"(SELECT DISTINCT 1 + floor(random() * {top})::bigint AS src FROM generate_series(1, {n * 2})) r "
            f"LIMIT {n}) s JOIN ticket t ON t.id = s.src ORDER BY s.g DESC"
        )
        await conn.execute("ANALYZE ticket")
        return int(
            await conn.fetchval("SELECT count(*) FROM ticket WHERE title LIKE $1", f"{BACKLOG_TITLE} %")
        )
    finally:
        await conn.close()


async def drop_backlog_rows(conn: Any) -> None:
    top = await conn.fetchval("SELECT min(id) FROM ticket WHERE title LIKE $1", f"{BACKLOG_TITLE} %")
    if top is not None:
        await conn.execute("DELETE FROM ticket WHERE id >= $1 AND title LIKE $2", top, f"{BACKLOG_TITLE} %")
        await conn.execute("ANALYZE ticket")


async def drop_backlog(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await drop_backlog_rows(conn)
    finally:
        await conn.close()


def cpu_ms_per_request(r: Result) -> float:
    """Server CPU per request: r.cpu[0] is the server process's share of one core over the window."""
    return r.cpu[0] / 100 * r.seconds * 1000 / r.ops if r.ops else float("nan")


async def backlog_case(env: BenchEnv, uid: int) -> list[Figure]:
    """S2 with BACKLOG newer open tickets: page 1 and a deep page of the closed list at 4 connections,
    beside the bare statement (asyncpg, same SQL) — the skew of issue 17 made visible."""
    from services.pagination import id_after

    port = env.port("linli")
    await add_backlog(env.dsn())
    try:
        p1 = await page_path(port, uid, 1)
        deep = await page_path(port, uid, deep_page(env))
        after = id_after(deep.split("cursor=")[1]) if "cursor=" in deep else None
        sql1, sql_deep = await floor_sql(env.dsn(), uid), await floor_sql(env.dsn(), uid, after)
        at1 = await measure(env, "linli", "S2 backlog page 1", getters(port, p1, uid), 4)
        at_deep = await measure(env, "linli", "S2 backlog deep page", getters(port, deep, uid), 4)
        floor1 = await floor(env.dsn(), sql1, 4, env.duration)
        floor_deep = await floor(env.dsn(), sql_deep, 4, env.duration)
    finally:
        await drop_backlog(env.dsn())
    bare = "asyncpg, same SQL"
    return [
        Figure(
            "S2",
            "backlog p99 ms @4 (page 1)",
            at1.pct(99),
            "ms",
            f"{bare}, p99 @4",
            floor1.pct(99),
            "<=",
            5.0,
        ),
        Figure("S2", "backlog p50 ms @4 (page 1)", at1.pct(50), "ms", f"{bare}, p50 @4", floor1.pct(50)),
        Figure(
            "S2",
            "backlog p99 ms @4 (deep page)",
            at_deep.pct(99),
            "ms",
            f"{bare}, p99 @4",
            floor_deep.pct(99),
        ),
        Figure("S2", "backlog CPU ms/request (page 1)", cpu_ms_per_request(at1), "ms"),
        Figure("S2", "backlog CPU ms/request (deep page)", cpu_ms_per_request(at_deep), "ms"),
        Figure("S2", "backlog errors", at1.error_count + at_deep.error_count, "", op="<=", limit=0),
    ]


@dataclass
class _OneDatabase(BenchEnv):
    """A BenchEnv on a database of the caller's choosing (the standalone run below)."""

    database: str = ""

    @property
    def db(self) -> str:
        return self.database


async def _standalone(args: argparse.Namespace) -> None:
    """Only the backlog case, on a data set and port of your choosing (the harness's servers, data
    sets and Redis db are shared names): one Linli server pinned to CPU 0, the load here."""
    from bench.common import fmt, pin_self, start_uvicorn, wait_ready
    from bench.env import JWT_SECRET, PG

    pin_self(1)
    env = _OneDatabase(log_dir=Path(tempfile.mkdtemp(prefix="linli-s2-")), database=args.db)
    env.duration, env.warmup = args.seconds, 1.0
    conn = await asyncpg.connect(env.dsn())
    try:
        await drop_backlog_rows(conn)  # a run that was cut short left its backlog behind
        env.tickets = int(await conn.fetchval("SELECT count(*) FROM ticket"))
    finally:
        await conn.close()
    server = start_uvicorn(
        "linli",
        "linli_app:create",
        env={
            "LINLI_ENV": "dev",
            "LINLI_DATABASE_URL": f"postgresql+asyncpg://{PG}/{args.db}",
            "LINLI_REDIS_URL": args.redis,
            "LINLI_JWT_SECRET": JWT_SECRET,
            "LINLI_EMBEDDED_WORKER": "false",
            "BENCH_LOG_LEVEL": "WARNING",
        },
        log_dir=env.log_dir,
        factory=True,
        port=args.port,
    )
    await wait_ready(server, "/healthz")
    env.servers["linli"] = server
    figures = await backlog_case(env, await manager(env.dsn()))
    print(f"{args.db}: {env.tickets:,} tickets + {BACKLOG:,} backlog, deep page {deep_page(env)}")
    for f in figures:
        ref = f"   {f.ref_name}: {fmt(f.ref_value, 2)}" if f.ref_value is not None else ""
        print(f"  {f.metric:<36} {fmt(f.value, 2):>8} {f.unit:<3}{ref}")


if __name__ == "__main__":
    from bench.common import run_async

    parser = argparse.ArgumentParser(description="S2's backlog case alone")
    parser.add_argument("--db", required=True, help="a database built by bench/gen_tickets.py")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True, help="redis://host:port/db")
    parser.add_argument("--seconds", type=float, default=3.0)
    run_async(lambda: _standalone(parser.parse_args()))
