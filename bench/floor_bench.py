"""Issue 17's request floor: server CPU per request of Linli beside a lean same-work app and bare FastAPI.

    .venv/bin/python bench/floor_bench.py [--quick] [--seconds 4] [--rounds 3] [--tickets 1000000]
                                          [--db NAME] [--redis-url URL] [--port-base N] [--no-docs]
                                          [--profile]

Three servers, one uvicorn process each, pinned to CPU 0 (the load generator pins itself to CPU 1), on
the same PostgreSQL data set (bench/gen_tickets.py, with its KPI roll-ups) and Redis:
- Linli as deployed (bench/linli_app.py: PostgreSQL + Redis, no embedded worker, WARNING logs);
- lean: bench/lean_app.py, the same work per endpoint in SQLAlchemy Core — a bench reference, not
  product code (its docstring lists what it does and skips per endpoint);
- bare: bench/bare_app.py — the same POST body validated with the same pydantic model, and every GET
  answering Linli's own answer for that URL (canned, serialised per request), no database.

Rows (each at 4 connections, closed loop, the whole latency of every request): create a ticket (a
verified resident files for their household, a fresh Idempotency-Key each time), the manager's
ticket list (community 1, closed, 20 rows) on page 1 and on a deep page, GET /v1/me (a resident),
one community's KPIs for the last closed month (a manager, from the roll-ups), the notice feed (a
resident of community 1; 40 published notices are seeded once) and the inbox (a manager; page and
badge count alternating, 300 inbox rows seeded once). Rounds are interleaved: every row on every
server, then again; each cell is the median of the rounds. CPU ms/req is the server process's own
CPU time (utime + stime from /proc) over the measured window divided by the requests completed in it.
Rows the creates add are deleted after each round (bench.env.trim_to).

Harness: `make bench` runs it after S1–S8 on the harness's 1M data set and servers (`run`, `finish`);
`make bench-areas` runs this file on its own. Writes section `floor` of docs/benchmarks.md (not with
--quick or --no-docs). --quick: 2 s per point, one round, a 100k data set: a smoke run, not a result.
--profile: after the rounds, one more pass of Linli alone under py-spy (200 Hz, not counted in the
table), each row's self time by library and inclusive time of our functions printed and kept in the
log directory (profiles.txt and one raw file per row).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from bench import profiles
from bench.common import (
    RawClient,
    Result,
    Server,
    expect,
    fmt,
    machine_facts,
    make_client,
    pin_self,
    replace_section,
    run_async,
    run_load,
    start_uvicorn,
    table,
    wait_quiet,
    wait_ready,
)
from bench.env import JWT_SECRET, PG, REDIS_URL, BenchEnv, auth, high_water, trim_to
from bench.s1_create import BODY, Request
from bench.s2_list import LIMIT, manager, page_path
from bench.s34_kpis import month_before

SERVERS = ("linli", "lean", "bare")
CONNECTIONS = 4
SEEDED_NOTICES = 40
SEEDED_INBOX = 300
SEED_KEY = "floor-seed"


@dataclass(frozen=True)
class Row:
    key: str
    title: str
    target_ms: float  # Linli's CPU ms per request
    p99_ms: float | None = None  # Linli's p99 at 4 connections


ROWS = (
    Row("create", "create ticket (POST)", 2.5, 15.0),
    Row("list1", "list tickets, page 1", 1.5, 6.0),
    Row("listdeep", "list tickets, deep page", 1.5),
    Row("me", "GET /v1/me", 0.6),
    Row("kpi", "community KPI, one month", 1.0),
    Row("feed", "notice feed", 1.5),
    Row("inbox", "inbox (page + badge, alternating)", 1.5),
)


@dataclass
class Cell:
    ms_per_req: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)
    errors: int = 0

    def add(self, r: Result) -> None:
        self.ms_per_req.append(cpu_ms(r))
        self.p50.append(r.pct(50))
        self.p99.append(r.pct(99))
        self.rate.append(r.rate)
        self.errors += r.error_count

    @staticmethod
    def med(values: list[float]) -> float:
        ok = [v for v in values if v == v]
        return statistics.median(ok) if ok else float("nan")


def cpu_ms(r: Result) -> float:
    """Server CPU milliseconds per completed request over the measured window."""
    return r.cpu[0] / 100 * r.seconds * 1000 / r.ops if r.ops else float("nan")


# --------------------------------------------------------------------------- load


class Cycler:
    """One keep-alive connection sending its own cycle of requests; creates get a fresh key each."""

    def __init__(self, port: int, requests: Sequence[Request], status: int, fresh_key: bool = False) -> None:
        self.client = make_client("raw", "127.0.0.1", port)
        self.cycle = itertools.cycle(requests)
        self.status, self.fresh_key = status, fresh_key

    async def op(self) -> None:
        method, path, body, headers = next(self.cycle)
        if self.fresh_key:
            headers = (*headers, ("Idempotency-Key", uuid.uuid4().hex))
        status, data = await self.client.request(method, path, body, headers)
        expect(status, self.status, data, path)

    async def close(self) -> None:
        await self.client.close()


@dataclass
class Plan:
    """The requests of every row, found once per data set."""

    creates: list[Request]
    gets: dict[str, list[Request]]

    def users(self, row: str, port: int) -> list[Cycler]:
        if row == "create":
            share = len(self.creates) // CONNECTIONS
            parts = [self.creates[i * share : (i + 1) * share] for i in range(CONNECTIONS)]
            return [Cycler(port, part, 201, fresh_key=True) for part in parts]
        return [Cycler(port, self.gets[row], 200) for _ in range(CONNECTIONS)]


async def make_plan(dsn: str, linli_port: int, deep: int) -> Plan:
    conn = await asyncpg.connect(dsn)
    try:
        people = await conn.fetch(
            "SELECT user_id, community_id, household_id FROM membership WHERE role = 'resident' "
            "AND status = 'verified' AND household_id IS NOT NULL ORDER BY md5(user_id::text) LIMIT 4096"
        )
        resident = int(
            await conn.fetchval(
                "SELECT user_id FROM membership WHERE role = 'resident' AND status = 'verified' "
                "AND community_id = 1 ORDER BY user_id LIMIT 1"
            )
        )
    finally:
        await conn.close()
    boss = await manager(dsn)
    creates: list[Request] = [
        ("POST", f"/v1/communities/{cid}/tickets", orjson.dumps({**BODY, "household_id": hid}), auth(uid))
        for uid, cid, hid in people
    ]
    first, last = month_before(date.today())

    def get(path: str, uid: int) -> Request:
        return ("GET", path, None, auth(uid))

    gets = {
        "list1": [get(await page_path(linli_port, boss, 1), boss)],
        "listdeep": [get(await page_path(linli_port, boss, deep), boss)],
        "me": [get("/v1/me", resident)],
        "kpi": [get(f"/v1/communities/1/kpis?from={first}&to={last}&granularity=month", boss)],
        "feed": [get(f"/v1/notices?limit={LIMIT}", resident)],
        "inbox": [get(f"/v1/notifications?limit={LIMIT}", boss), get("/v1/notifications/unread-count", boss)],
    }
    return Plan(creates, gets)


async def seed(dsn: str, boss: int) -> str:
    """40 published community notices in community 1 (a receipt for each of its residents' first
    500) and 300 inbox rows for the manager; once per data set (kept between runs)."""
    conn = await asyncpg.connect(dsn)
    try:
        have = await conn.fetchval("SELECT count(*) FROM notice WHERE title LIKE 'floor-seed%'")
        if not have:
            async with conn.transaction():
                await conn.execute(
                    """
                    INSERT INTO notice (community_id, author_id, author_role, kind, title, body_md,
                        audience_type, audience_building_ids, audience_roles, status, publish_at,
                        published_at, pinned, requires_ack, offline_reach, round, reminders_sent, version,
                        created_at, updated_at)
                    SELECT 1, $1, 'property_manager', 'announcement', 'floor-seed 通知 ' || g, '停水通知正文', 'community',
                        '[]', '[]', 'published', now() - g * interval '1 hour', now() - g * interval '1 hour',
                        g <= 2, g % 5 = 0, false, 1, 0, 1, now(), now()
                    FROM generate_series(1, $2) g
                    """,
                    boss,
                    SEEDED_NOTICES,
                )
                await conn.execute(
                    """
                    INSERT INTO notice_receipt (notice_id, user_id, household_id, building_id, channel,
                        delivered_at, read_at)
                    SELECT n.id, m.user_id, m.household_id, h.building_id, 'app', now(),
                        CASE WHEN n.id % 3 = 0 THEN now() END
                    FROM notice n
                    CROSS JOIN (SELECT user_id, household_id FROM membership WHERE community_id = 1
                                AND role = 'resident' AND status = 'verified' ORDER BY user_id LIMIT 500) m
                    JOIN household h ON h.id = m.household_id
                    WHERE n.title LIKE 'floor-seed%'
                    """
                )
        inbox = await conn.fetchval(
            "SELECT count(*) FROM notification WHERE user_id = $1 AND dedupe_key LIKE 'floor-seed%'", boss
        )
        if not inbox:
            await conn.execute(
                """
                INSERT INTO notification (user_id, community_id, category, critical, title, body, data,
                    dedupe_key, created_at, read_at)
                SELECT $1, 1, 'ticket', false, '新工单 #' || g, '卫生间水管漏水（报修）待受理',
                    json_build_object('ticket_id', g, 'template', 'ticket.created'),
                    'floor-seed:' || g, now() - ($2 - g) * interval '1 minute',
                    CASE WHEN g % 4 <> 0 THEN now() END
                FROM generate_series(1, $2) g
                """,
                boss,
                SEEDED_INBOX,
            )
        await conn.execute("ANALYZE notice; ANALYZE notice_receipt; ANALYZE notification")
    finally:
        await conn.close()
    return f"{SEEDED_NOTICES} notices in community 1 and {SEEDED_INBOX} inbox rows of manager {boss}"


async def canned_answers(port: int, plan: Plan) -> dict[str, Any]:
    """Linli's answer to every GET of the plan, for the bare app to serve."""
    client = RawClient("127.0.0.1", port)
    out: dict[str, Any] = {}
    try:
        for requests in plan.gets.values():
            for method, path, body, headers in requests:
                status, data = await client.request(method, path, body, headers)
                expect(status, 200, data, path)
                out[path] = orjson.loads(data)
    finally:
        await client.close()
    return out


# --------------------------------------------------------------------------- servers


@dataclass
class Floor:
    """What one floor run holds: the servers it measures, the plan and the cells."""

    dsn: str
    db_url: str
    redis_url: str
    log_dir: Path
    seconds: float
    warmup: float
    deep: int
    servers: dict[str, Server] = field(default_factory=dict)
    plan: Plan | None = None
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)
    loads: list[float] = field(default_factory=list)


def app_env(db_url: str, redis_url: str) -> dict[str, str]:
    return {
        "LINLI_ENV": "dev",
        "LINLI_DATABASE_URL": db_url,
        "LINLI_REDIS_URL": redis_url,
        "LINLI_JWT_SECRET": JWT_SECRET,
        "LINLI_EMBEDDED_WORKER": "false",
        "BENCH_LOG_LEVEL": "WARNING",
    }


async def start(
    floor: Floor, port_base: int, linli: Server | None = None, lean: Server | None = None
) -> None:
    """Linli and lean (unless the harness passes its own); the bare app once Linli's answers are canned."""
    env = app_env(floor.db_url, floor.redis_url)

    def port(i: int) -> int | None:
        return port_base + i if port_base else None

    if linli is None:
        linli = start_uvicorn(
            "linli", "linli_app:create", env=env, log_dir=floor.log_dir, factory=True, port=port(0)
        )
        await wait_ready(linli, "/healthz", within=120)
    floor.servers["linli"] = linli
    if lean is None:
        lean = start_uvicorn("lean", "lean_app:app", env=env, log_dir=floor.log_dir, port=port(1))
        await wait_ready(lean, "/healthz", within=60)
    floor.servers["lean"] = lean
    boss = await manager(floor.dsn)
    floor.facts["seeded"] = await seed(floor.dsn, boss)
    floor.plan = await make_plan(floor.dsn, linli.port, floor.deep)
    canned = floor.log_dir / "canned.json"
    canned.write_bytes(orjson.dumps(await canned_answers(linli.port, floor.plan)))
    bare = start_uvicorn(
        "bare_floor", "bare_app:app", env={"BENCH_CANNED": str(canned)}, log_dir=floor.log_dir, port=port(2)
    )
    await wait_ready(bare, "/ping", within=60)
    floor.servers["bare"] = bare
    await check_same_shape(floor)


async def check_same_shape(floor: Floor) -> None:
    """Lean answers every GET of the plan with 200 and as many items as Linli (same rows, same scope)."""
    assert floor.plan is not None
    for requests in floor.plan.gets.values():
        for method, path, body, headers in requests:
            got = {}
            for name in ("linli", "lean"):
                client = RawClient("127.0.0.1", floor.servers[name].port)
                try:
                    status, data = await client.request(method, path, body, headers)
                finally:
                    await client.close()
                expect(status, 200, data, f"{name} {path}")
                answer = orjson.loads(data)
                got[name] = [i.get("id") for i in answer.get("items", [])] if isinstance(answer, dict) else []
            if got["linli"] != got["lean"]:
                raise RuntimeError(f"lean and Linli differ on {path}: {got}")


# --------------------------------------------------------------------------- measuring


async def one_round(floor: Floor) -> None:
    assert floor.plan is not None
    marks = await high_water(floor.dsn)
    try:
        for row in ROWS:
            for name in SERVERS:
                await wait_quiet(60.0, 3.0, silent=True)
                floor.loads.append(os.getloadavg()[0])
                server = floor.servers[name]
                users = floor.plan.users(row.key, server.port)
                r = await run_load(
                    f"{row.key} {name}",
                    users,
                    duration=floor.seconds,
                    warmup=floor.warmup,
                    server_pid=server.pid,
                )
                floor.cells.setdefault((row.key, name), Cell()).add(r)
                print(
                    f"    {row.title:<36} {name:<6} {fmt(cpu_ms(r), 3):>7} ms CPU/req  "
                    f"p50 {fmt(r.pct(50), 2):>6}  p99 {fmt(r.pct(99), 2):>6} ms  {fmt(r.rate, 0):>6} req/s"
                    + (f"  errors {dict(r.errors)}" if r.error_count else ""),
                    flush=True,
                )
    finally:
        await trim_to(floor.dsn, marks)


async def profile_pass(floor: Floor) -> str:
    """One more pass of Linli alone with py-spy attached (not counted in the cells: sampling costs
    the server a little): where each row's CPU goes, written beside the server logs."""
    assert floor.plan is not None
    server = floor.servers["linli"]
    marks = await high_water(floor.dsn)
    out: list[str] = []
    try:
        for row in ROWS:
            await wait_quiet(60.0, 3.0, silent=True)
            raw = floor.log_dir / f"profile-{row.key}.raw"
            spy = profiles.start(server.pid, raw, cpu=1)
            try:
                await run_load(
                    f"{row.key} profiled",
                    floor.plan.users(row.key, server.port),
                    duration=floor.seconds,
                    warmup=floor.warmup,
                )
            finally:
                profiles.stop(spy)
            out += [f"{row.title} ({raw.name})", *profiles.summary(profiles.read(raw), top=16), ""]
    finally:
        await trim_to(floor.dsn, marks)
    text = "\n".join(out)
    (floor.log_dir / "profiles.txt").write_text(text)
    return text


def render(floor: Floor, rounds: int, started: float) -> str:
    rows = []
    met_count = judged = 0
    for row in ROWS:
        ms = {name: Cell.med(floor.cells[(row.key, name)].ms_per_req) for name in SERVERS}
        ok = ms["linli"] <= row.target_ms
        met_count, judged = met_count + ok, judged + 1
        rows.append(
            [
                row.title,
                fmt(ms["linli"], 3),
                fmt(ms["lean"], 3),
                fmt(ms["bare"], 3),
                fmt(ms["linli"] / ms["lean"], 2) if ms["lean"] else "–",
                f"≤ {row.target_ms:g}",
                "met" if ok else "**missed**",
            ]
        )
    lat = []
    for row in ROWS:
        cells = {name: floor.cells[(row.key, name)] for name in SERVERS}
        p99 = Cell.med(cells["linli"].p99)
        judged_p99 = row.p99_ms is not None
        ok = judged_p99 and p99 <= (row.p99_ms or 0)
        if judged_p99:
            met_count, judged = met_count + ok, judged + 1
        lat.append(
            [
                row.title,
                fmt(Cell.med(cells["linli"].p50), 2),
                fmt(p99, 2),
                fmt(Cell.med(cells["lean"].p99), 2),
                fmt(Cell.med(cells["bare"].p99), 2),
                fmt(Cell.med(cells["linli"].rate), 0),
                fmt(Cell.med(cells["lean"].rate), 0),
                f"≤ {row.p99_ms:g} ms" if judged_p99 else "",
                ("met" if ok else "**missed**") if judged_p99 else "",
            ]
        )
    errors = {f"{k[0]} {k[1]}": c.errors for k, c in floor.cells.items() if c.errors}
    loads = floor.loads or [0.0]
    facts = machine_facts(
        {
            **floor.facts,
            "machine": "2 cores, shared with other agents' test runs (figures are noisy; medians of the rounds)",
            "load average (1 min) before each point": f"median {statistics.median(loads):.1f}, "
            f"min {min(loads):.1f}, max {max(loads):.1f}",
            "rounds": f"{rounds}, interleaved (every row on every server, then again); each cell is the median",
            "load": f"{CONNECTIONS} connections, closed loop, {floor.seconds:g} s measured after "
            f"{floor.warmup:g} s warm-up per point",
            "pinning": "each server on CPU 0, the load generator on CPU 1",
            "errors": str(errors) if errors else "none",
            "whole run": f"{(time.perf_counter() - started) / 60:.1f} min",
        }
    )
    return "\n".join(
        [
            "## The request floor: CPU per request beside a lean same-work app (issue 17)",
            "",
            "Server process CPU (user + system) per request, at 4 connections. *lean* is "
            "`bench/lean_app.py`, a bench reference (not product code) doing the same database work in "
            "SQLAlchemy Core with one transaction per request; *bare* is `bench/bare_app.py` answering "
            "Linli's own answer for the URL with no database (POST: the same body through the same "
            "pydantic model). Target: Linli's CPU ms/req.",
            "",
            table(
                ["request", "Linli ms", "lean ms", "bare ms", "Linli ÷ lean", "target", "met?"],
                rows,
            ),
            "",
            table(
                [
                    "request",
                    "Linli p50",
                    "Linli p99",
                    "lean p99",
                    "bare p99",
                    "Linli req/s",
                    "lean req/s",
                    "p99 target",
                    "met?",
                ],
                lat,
            ),
            "",
            f"Targets met: {met_count} of {judged}.",
            "",
            *(f"- {k}: {v}" for k, v in facts.items()),
        ]
    )


# --------------------------------------------------------------------------- harness hooks

_floor: dict[str, Floor] = {}


async def run(env: BenchEnv, repeat: int) -> list[Any]:
    """One round per harness repeat, on the harness's 1M data set, its Linli and Redis."""
    from bench.figures import Figure

    if "floor" not in _floor:
        floor = Floor(
            dsn=env.dsn(),
            db_url=f"postgresql+asyncpg://{env.pg}/{env.db}",
            redis_url=env.redis_url,
            log_dir=env.log_dir,
            seconds=env.duration,
            warmup=min(env.warmup, 1.0),
            deep=500 if env.tickets >= 1_000_000 else 40,
        )
        floor.facts["data set"] = env.facts.get("data set", env.db)
        await start(floor, 0, env.servers["linli"], env.servers.get("lean"))
        env.servers["bare_floor"] = floor.servers["bare"]
        _floor["floor"] = floor
    floor = _floor["floor"]
    before = {k: len(c.ms_per_req) for k, c in floor.cells.items()}
    await one_round(floor)
    figures = []
    for row in ROWS:
        linli, lean = floor.cells[(row.key, "linli")], floor.cells[(row.key, "lean")]
        n = before.get((row.key, "linli"), 0)
        figures.append(
            Figure(
                "floor",
                f"{row.key} CPU ms/req",
                linli.ms_per_req[n],
                "ms",
                "lean same-work app",
                lean.ms_per_req[n],
                "<=",
                row.target_ms,
            )
        )
    return figures


def finish(env: BenchEnv, repeats: int, started: float) -> tuple[str, str] | None:
    """(section name, text) of the `floor` section, after the harness's repeats."""
    floor = _floor.get("floor")
    if floor is None:
        return None
    floor.facts["invoked by"] = "`make bench` (bench/harness.py), one round per repeat"
    return "floor", render(floor, repeats, started)


# --------------------------------------------------------------------------- standalone


async def main(args: argparse.Namespace) -> int:
    from bench import gen_tickets
    from bench.harness import rollup_if_missing

    started = time.perf_counter()
    pinned = pin_self(1)
    log_dir = Path(tempfile.mkdtemp(prefix="linli-floor-"))
    env = BenchEnv(log_dir=log_dir, tickets=args.tickets)
    db = args.db or env.db
    floor = Floor(
        dsn=f"postgresql://{PG}/{db}",
        db_url=f"postgresql+asyncpg://{PG}/{db}",
        redis_url=args.redis_url,
        log_dir=log_dir,
        seconds=args.seconds,
        warmup=0.5 if args.quick else 1.0,
        deep=500 if args.tickets >= 1_000_000 else 40,
    )
    made = await gen_tickets.ensure(PG, db, args.tickets)
    floor.facts["data set"] = f"{args.tickets:,} tickets in `{db}`: {made.note()}"
    floor.facts["KPI roll-ups"] = await rollup_if_missing(db)
    floor.facts["deep page"] = f"page {floor.deep} (the cursor after {(floor.deep - 1) * LIMIT:,} rows)"
    floor.facts["server logs"] = str(log_dir)
    if not pinned:
        floor.facts["pinning"] = "NOT pinned (fewer than 2 CPUs)"
    import redis.asyncio as aioredis

    r = aioredis.from_url(args.redis_url)
    try:
        await r.flushdb()
    finally:
        await r.aclose()
    await start(floor, args.port_base)
    for i in range(args.rounds):
        print(f"--- round {i + 1}/{args.rounds}", flush=True)
        await one_round(floor)
    if args.profile:
        print("--- profiles (Linli, py-spy)\n" + await profile_pass(floor), flush=True)
    text = render(floor, args.rounds, started)
    print("\n" + text)
    if args.docs and not args.quick:
        replace_section("floor", text)
    return 1 if any(c.errors for c in floor.cells.values()) else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 s per point, one round, 100k tickets")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per point (4)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (3)")
    parser.add_argument("--tickets", type=int, default=None)
    parser.add_argument("--db", default=None, help="PostgreSQL database (default: the data set's own)")
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--port-base", type=int, default=0, help="Linli, lean, bare on N, N+1, N+2")
    parser.add_argument("--no-docs", dest="docs", action="store_false")
    parser.add_argument(
        "--profile", action="store_true", help="then one py-spy pass of Linli per row (bench/profiles.py)"
    )
    args = parser.parse_args(argv)
    args.tickets = args.tickets or (100_000 if args.quick else 1_000_000)
    args.seconds = args.seconds or (2.0 if args.quick else 4.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    return args


if __name__ == "__main__":
    sys.exit(int(run_async(lambda: main(parse()))))
