"""S7: 64 clients transitioning 100 hot tickets — no lost updates, no illegal transitions, and the rate.

    .venv/bin/python bench/s7_hot.py [--quick] [--sqlite] [--repeats 3]

Harness scenario (bench/harness.py calls `run(env, repeat)` three times, interleaved). Setup, once per
harness run (the first `run`): its own PostgreSQL database `linli_bench_s7`, reset and migrated with
services.migrations, seeded through the ORM with one company managing one community, 64 households
with a verified resident each, one property manager, 8 technicians and 100 repair tickets
`in_progress` at version 1, assigned round-robin to the technicians; then one uvicorn process of the
real app (`linli_app:create`, no embedded worker, Redis db 11) pinned to CPU 0, kept in
env.servers["s7"] for the repeats.

The load: 64 closed-loop virtual users; each operation picks a random hot ticket, GETs it (status and
version) and POSTs the action that continues the endless legal cycle

    in_progress --pause (reason_code)--> paused --resume--> in_progress

with the version it read, as the ticket's assignee (one operation in eight as the property manager,
who may do both too). A lost race is 409 `ticket.version_conflict` (stale version seen by the check,
or the conditional UPDATE matching no row); anything else unexpected — a 422 from an illegal
transition, a 5xx, a transport failure — is an error, and the target for errors is 0.

Verification after every repeat, in SQL: the ticket_event rows added for the 100 tickets equal the
transitions the clients saw accepted (2xx), and every ticket's whole history is a legal chain from its
seeded state (each from_status is the previous to_status, each (from, action, to) is in
services.tickets.transitions.TABLE), with the ticket's final status its last event's to_status and its
version 1 + its number of events (one version per accepted transition: nothing applied twice or lost).

The reference is S1 (ticket create req/s at 64 connections), taken from `env.results["S1 create req/s
@64"]` when the harness provides it; otherwise a create run of the same shape (64 residents filing
repairs, closed loop) is measured on this server right before the transitions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    HttpError,
    Server,
    make_client,
    percentile,
    pin_self,
    run_async,
    run_load,
    start_uvicorn,
    table,
    wait_quiet,
    wait_ready,
)
from bench.env import JWT_SECRET, BenchEnv, token
from bench.figures import Figure, combine

SCENARIO = "S7"
SERVER = "s7"
DB = "linli_bench_s7"
REDIS_DB_URL = "redis://127.0.0.1:6379/11"
USERS = 64
HOT = 100
TECHS = 8
RESIDENTS = 64
MANAGER_SHARE = 8  # one operation in this many acts as the manager
S1_KEY = "S1 create req/s @64"
CONFLICT = b"ticket.version_conflict"

# Ids are explicit so the load can address people and tickets directly.
COMPANY = COMMUNITY = BUILDING = 1
MANAGER = RESIDENTS + 1
TECH0 = RESIDENTS + 2  # technicians TECH0 .. TECH0 + TECHS - 1


def assignee_of(ticket_id: int) -> int:
    return TECH0 + (ticket_id - 1) % TECHS


def reporter_of(ticket_id: int) -> int:
    return 1 + (ticket_id - 1) % RESIDENTS


NEXT = {"in_progress": "pause", "paused": "resume"}  # the endless legal cycle
START_STATUS = "in_progress"


# --------------------------------------------------------------------------- data


def sa_url(env: BenchEnv, sqlite_path: Path | None) -> str:
    if sqlite_path is not None:
        return f"sqlite+aiosqlite:///{sqlite_path}"
    return f"postgresql+asyncpg://{env.pg}/{DB}"


async def reset_pg(env: BenchEnv) -> None:
    from bench.gen_tickets import reset

    await reset(env.pg, DB)


async def seed(url: str) -> None:
    """The people and the 100 hot tickets, through the ORM (the same rows on PostgreSQL and SQLite)."""
    import sqlalchemy as sa

    from services.db import create_engine, session_factory
    from services.models import Building, Community, Household, ManagementContract, Membership, User, utcnow
    from services.models.places import PropertyCompany
    from services.models.tickets import Ticket

    now = utcnow()
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as s:
            s.add(PropertyCompany(id=COMPANY, name="基准物业服务有限公司"))
            s.add(Community(id=COMMUNITY, name="热点小区", address="基准路 7 号", time_zone="Asia/Shanghai"))
            await s.flush()
            s.add(ManagementContract(company_id=COMPANY, community_id=COMMUNITY, starts_on=date(2020, 1, 1)))
            s.add(Building(id=BUILDING, community_id=COMMUNITY, name="1号楼", floors=6))
            await s.flush()
            for i in range(1, RESIDENTS + 1):
                s.add(
                    Household(
                        id=i,
                        community_id=COMMUNITY,
                        building_id=BUILDING,
                        entrance="1单元",
                        room=f"{i:03d}",
                        area_m2=Decimal(80),
                    )
                )
                s.add(User(id=i, phone=f"+86137{i:08d}", name=f"住户{i}"))
            s.add(User(id=MANAGER, phone=f"+86158{MANAGER:08d}", name="经理"))
            for n in range(TECHS):
                s.add(User(id=TECH0 + n, phone=f"+86159{TECH0 + n:08d}", name=f"技工{n + 1}"))
            await s.flush()
            for i in range(1, RESIDENTS + 1):
                s.add(
                    Membership(
                        user_id=i,
                        community_id=COMMUNITY,
                        role="resident",
                        household_id=i,
                        relation="owner",
                        status="verified",
                        verified_at=now,
                    )
                )
            s.add(Membership(user_id=MANAGER, company_id=COMPANY, role="property_manager", verified_at=now))
            for n in range(TECHS):
                s.add(
                    Membership(user_id=TECH0 + n, company_id=COMPANY, role="property_staff", verified_at=now)
                )
            await s.flush()
            created = now - timedelta(hours=2)
            for tid in range(1, HOT + 1):
                resident = reporter_of(tid)
                s.add(
                    Ticket(
                        id=tid,
                        community_id=COMMUNITY,
                        building_id=BUILDING,
                        household_id=resident,
                        kind="repair",
                        category="plumbing",
                        priority="normal",
                        status=START_STATUS,
                        title=f"热点工单 {tid}",
                        description="卫生间水管漏水",
                        reporter_id=resident,
                        created_by_id=resident,
                        assignee_id=assignee_of(tid),
                        version=1,
                        response_minutes=480,
                        resolution_minutes=2880,
                        response_due_at=created + timedelta(minutes=480),
                        response_warn_at=created + timedelta(minutes=360),
                        resolution_due_at=created + timedelta(minutes=2880),
                        resolution_warn_at=created + timedelta(minutes=2160),
                        escalate_at=created + timedelta(minutes=3600),
                        accepted_at=created + timedelta(minutes=5),
                        assigned_at=created + timedelta(minutes=6),
                        started_at=created + timedelta(minutes=30),
                        created_at=created,
                        updated_at=created + timedelta(minutes=30),
                    )
                )
            await s.commit()
            if engine.dialect.name == "postgresql":
                for name in (
                    "property_company",
                    "community",
                    "building",
                    "household",
                    "user_account",
                    "ticket",
                ):
                    await s.exec(sa.text(f"SELECT setval('{name}_id_seq', (SELECT max(id) FROM {name}))"))  # type: ignore[call-overload]  # noqa: S608
                await s.commit()
    finally:
        await engine.dispose()


@dataclass
class Check:
    events: int  # ticket_event rows of the hot tickets after the snapshot
    lost: int  # |events - accepted| + tickets whose version disagrees with their history
    illegal: int  # broken links, transitions not in the table, final status not the last event's
    details: list[str] = field(default_factory=list)


async def max_event_id(url: str) -> int:
    import sqlalchemy as sa

    from services.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int(
                (await conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM ticket_event"))).scalar_one()
            )
    finally:
        await engine.dispose()


async def pg_sessions(env: BenchEnv) -> int | None:
    """Sessions PostgreSQL has opened on the S7 database so far (pg_stat_database, PostgreSQL 14+):
    the difference over a repeat shows pool churn (overflow connections are closed on return)."""
    if _sqlite_path(env) is not None:
        return None
    import asyncpg

    conn = await asyncpg.connect(env.dsn("postgres"))
    try:
        value = await conn.fetchval("SELECT sessions FROM pg_stat_database WHERE datname = $1", DB)
        return int(value) if value is not None else None
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()


async def verify(url: str, since_event: int, accepted: int) -> Check:
    """Every hot ticket's whole history against the transition table, and this repeat's event count."""
    import sqlalchemy as sa

    from services.db import create_engine
    from services.tickets.transitions import TABLE

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            events = (
                await conn.execute(
                    sa.text(
                        "SELECT id, ticket_id, action, from_status, to_status FROM ticket_event "
                        "WHERE ticket_id <= :hot ORDER BY ticket_id, id"
                    ),
                    {"hot": HOT},
                )
            ).all()
            tickets = (
                await conn.execute(
                    sa.text("SELECT id, status, version FROM ticket WHERE id <= :hot ORDER BY id"),
                    {"hot": HOT},
                )
            ).all()
    finally:
        await engine.dispose()
    by_ticket: dict[int, list[Any]] = {}
    for row in events:
        by_ticket.setdefault(row.ticket_id, []).append(row)
    new = sum(1 for row in events if row.id > since_event)
    check = Check(events=new, lost=abs(new - accepted), illegal=0)
    if new != accepted:
        check.details.append(f"{new} events written, {accepted} transitions accepted by the clients")
    for t in tickets:
        status = START_STATUS
        for e in by_ticket.get(t.id, []):
            rule = TABLE.get(e.action)
            legal = (
                rule is not None
                and e.from_status in rule.sources
                and e.to_status == (rule.target or e.from_status)
            )
            if e.from_status != status or not legal:
                check.illegal += 1
                if len(check.details) < 10:
                    check.details.append(
                        f"ticket {t.id} event {e.id}: {e.from_status} -{e.action}-> {e.to_status} after {status}"
                    )
            status = e.to_status
        if t.status != status:
            check.illegal += 1
            check.details.append(f"ticket {t.id}: status {t.status}, last event says {status}")
        n = len(by_ticket.get(t.id, []))
        if t.version != 1 + n:
            check.lost += 1
            check.details.append(f"ticket {t.id}: version {t.version} after {n} events (expected {1 + n})")
    return check


# --------------------------------------------------------------------------- virtual users


@dataclass
class Tally:
    """Outcomes of every POST, warm-up included (the events in the database count them all)."""

    accepted: int = 0
    accepted_in_window: int = 0
    conflicts: int = 0
    attempts_in_window: int = 0
    window: tuple[float, float] = (0.0, 0.0)
    latencies_ms: list[float] = field(default_factory=list)  # POSTs in the window


class HotUser:
    """GET a random hot ticket, POST the next action of the cycle with the version it read."""

    def __init__(
        self, port: int, seed_: int, tally: Tally, headers: dict[int, tuple[tuple[str, str], ...]]
    ) -> None:
        self.client = make_client("raw", "127.0.0.1", port)
        self.rng = random.Random(seed_)
        self.tally = tally
        self.headers = headers

    async def op(self) -> None:
        tid = self.rng.randint(1, HOT)
        actor = MANAGER if self.rng.randrange(MANAGER_SHARE) == 0 else assignee_of(tid)
        hdrs = self.headers[actor]
        status, data = await self.client.request("GET", f"/v1/tickets/{tid}", None, hdrs)
        if status != 200:
            raise HttpError(f"GET {status}: {data[:100].decode(errors='replace')}")
        ticket = orjson.loads(data)
        action = NEXT.get(ticket["status"])
        if action is None:
            raise HttpError(f"ticket {tid} left the cycle: {ticket['status']}")
        body: dict[str, Any] = {"action": action, "version": ticket["version"]}
        if action == "pause":
            body["reason_code"] = "waiting_for_parts"
        t0 = time.perf_counter()
        status, data = await self.client.request(
            "POST", f"/v1/tickets/{tid}/transitions", orjson.dumps(body), hdrs
        )
        t1 = time.perf_counter()
        lo, hi = self.tally.window
        inside = lo <= t1 <= hi
        if inside:
            self.tally.attempts_in_window += 1
        if 200 <= status < 300:
            self.tally.accepted += 1
            if inside:
                self.tally.accepted_in_window += 1
                self.tally.latencies_ms.append((t1 - t0) * 1000)
        elif status == 409 and CONFLICT in data:
            self.tally.conflicts += 1
            if inside:
                self.tally.latencies_ms.append((t1 - t0) * 1000)
        else:
            raise HttpError(f"POST {action} {status}: {data[:100].decode(errors='replace')}")

    async def close(self) -> None:
        await self.client.close()


class CreateUser:
    """S1-like: files repairs as its own resident (the fallback reference)."""

    def __init__(self, port: int, resident: int) -> None:
        self.client = make_client("raw", "127.0.0.1", port)
        self.path = f"/v1/communities/{COMMUNITY}/tickets"
        self.headers = (("Authorization", f"Bearer {token(resident)}"),)
        self.body = orjson.dumps(
            {
                "kind": "repair",
                "category": "plumbing",
                "title": "卫生间水管漏水",
                "description": "洗手池下方水管接头滴水，请尽快处理。",
                "household_id": resident,
            }
        )

    async def op(self) -> None:
        status, data = await self.client.request("POST", self.path, self.body, self.headers)
        if status != 201:
            raise HttpError(f"create {status}: {data[:100].decode(errors='replace')}")

    async def close(self) -> None:
        await self.client.close()


# --------------------------------------------------------------------------- scenario


def _sqlite_path(env: BenchEnv) -> Path | None:
    """`env.facts["s7 database"] == "sqlite"` (set by --sqlite) runs the scenario on the embedded default."""
    if env.facts.get("s7 database") != "sqlite":
        return None
    return env.log_dir / "s7.sqlite3"


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def setup(env: BenchEnv) -> Server:
    """Reset, migrate and seed the database, start the app; once per harness run."""
    from services import migrations

    sqlite_path = _sqlite_path(env)
    url = sa_url(env, sqlite_path)
    if sqlite_path is None:
        await reset_pg(env)
    else:
        remove_sqlite(sqlite_path)
    await asyncio.to_thread(migrations.upgrade, url)
    await seed(url)
    with contextlib.suppress(Exception):  # stale streams of an earlier run (this db number is S7's)
        import redis.asyncio as aioredis

        r = aioredis.from_url(REDIS_DB_URL)
        await r.flushdb()
        await r.aclose()
    server = start_uvicorn(
        "s7",
        "linli_app:create",
        factory=True,
        log_dir=env.log_dir,
        env={
            "LINLI_DATABASE_URL": url,
            "LINLI_JWT_SECRET": JWT_SECRET,
            "LINLI_EMBEDDED_WORKER": "false",
            "LINLI_REDIS_URL": REDIS_DB_URL,
        },
    )
    await wait_ready(server, "/readyz")
    env.servers[SERVER] = server
    await warm(server)
    return server


async def warm(server: Server) -> None:
    """One GET per virtual user at once: the pool's connections are open before anything is measured."""
    clients = [make_client("raw", "127.0.0.1", server.port) for _ in range(USERS)]
    try:
        await asyncio.gather(
            *(
                c.request(
                    "GET",
                    f"/v1/tickets/{1 + n % HOT}",
                    None,
                    (("Authorization", f"Bearer {token(MANAGER)}"),),
                )
                for n, c in enumerate(clients)
            )
        )
    finally:
        for c in clients:
            await c.close()


async def s1_reference(env: BenchEnv, server: Server) -> tuple[float | None, str]:
    results = getattr(env, "results", None)
    if isinstance(results, dict) and results.get(S1_KEY):
        return float(results[S1_KEY]), "S1 create req/s @64 (harness)"
    users = [CreateUser(server.port, 1 + n % RESIDENTS) for n in range(USERS)]
    res = await run_load(
        "S1-like create", users, duration=env.duration, warmup=env.warmup, server_pid=server.pid
    )
    if res.error_count:
        return None, f"S1-like create failed: {dict(res.errors)}"
    return res.rate, "create req/s @64 on this server (S1-like)"


async def run(env: BenchEnv, repeat: int) -> list[Figure]:
    server = env.servers.get(SERVER)
    if server is None or server.proc.poll() is not None:
        server = await setup(env)
    url = sa_url(env, _sqlite_path(env))
    ref, ref_name = await s1_reference(env, server)

    headers: dict[int, tuple[tuple[str, str], ...]] = {
        uid: (("Authorization", f"Bearer {token(uid)}"),) for uid in (MANAGER, *range(TECH0, TECH0 + TECHS))
    }
    tally = Tally()
    users = [HotUser(server.port, repeat * 1000 + n, tally, headers) for n in range(USERS)]
    before = await max_event_id(url)
    sessions_before = await pg_sessions(env)
    start = time.perf_counter()
    tally.window = (start + env.warmup, start + env.warmup + env.duration)
    res = await run_load(
        f"{SCENARIO} hot transitions", users, duration=env.duration, warmup=env.warmup, server_pid=server.pid
    )
    check = await verify(url, before, tally.accepted)
    sessions_after = await pg_sessions(env)
    churn = (
        f"; {sessions_after - sessions_before - 1} PostgreSQL sessions opened"
        if sessions_before is not None and sessions_after is not None
        else ""
    )

    accepted_rate = tally.accepted_in_window / env.duration
    attempts_rate = tally.attempts_in_window / env.duration
    total = tally.accepted + tally.conflicts
    errors = res.error_count
    err_note = "; ".join(f"{k} ×{v}" for k, v in res.errors.most_common(3))
    db_note = "SQLite" if _sqlite_path(env) else "PostgreSQL"
    cpu = "CPU server/load/db/other %: " + res.cpu_text
    return [
        Figure(
            SCENARIO,
            "accepted transitions/s @64",
            accepted_rate,
            "tx/s",
            ref_name=ref_name,
            ref_value=ref,
            op=">=",
            limit=0.5,
            on="ratio",
            note=f"{db_note}; {cpu}{churn}",
        ),
        Figure(SCENARIO, "transition attempts/s @64", attempts_rate, "req/s", note="GET + POST per attempt"),
        Figure(
            SCENARIO,
            "409 conflicts",
            100.0 * tally.conflicts / total if total else float("nan"),
            "% of attempts",
            note="ticket.version_conflict: a lost race",
        ),
        Figure(SCENARIO, "POST p95 @64", percentile(tally.latencies_ms, 95), "ms"),
        Figure(
            SCENARIO,
            "lost updates",
            float(check.lost),
            "",
            op="<=",
            limit=0,
            note=f"{check.events} events = {tally.accepted} accepted"
            if not check.lost
            else "; ".join(check.details[:3]),
        ),
        Figure(
            SCENARIO,
            "illegal transitions",
            float(check.illegal),
            "",
            op="<=",
            limit=0,
            note="; ".join(check.details[:3]) if check.illegal else "",
        ),
        Figure(SCENARIO, "5xx/errors", float(errors), "", op="<=", limit=0, note=err_note),
    ]


# --------------------------------------------------------------------------- standalone


def render(figures: list[Figure]) -> str:
    rows = []
    for f in figures:
        ratio = f.ratio
        met = f.met
        rows.append(
            [
                f"{f.scenario} {f.metric}",
                f"{f.value:,.1f} {f.unit}".rstrip(),
                "" if f.ref_value is None else f"{f.ref_value:,.1f} ({f.ref_name})",
                "" if ratio is None else f"{ratio:.2f}",
                f.target,
                "" if met is None else ("yes" if met else "NO"),
                f.note,
            ]
        )
    return table(["figure", "value", "reference", "ratio", "target", "met", "note"], rows)


async def main(args: argparse.Namespace) -> int:
    pin_self(1)
    log_dir = Path(tempfile.mkdtemp(prefix="linli-s7-"))
    env = BenchEnv(log_dir=log_dir, quick=args.quick)
    if args.quick:
        env.duration, env.warmup = 2.0, 0.5
    if args.duration:
        env.duration = args.duration
    if args.sqlite:
        env.facts["s7 database"] = "sqlite"
    runs = []
    try:
        for repeat in range(args.repeats or (1 if args.quick else 3)):
            await wait_quiet(args.quiet_below, 120)
            figures = await run(env, repeat)
            print(f"repeat {repeat + 1}:\n{render(figures)}\n", flush=True)
            runs.append(figures)
    finally:
        for server in env.servers.values():
            server.stop()
    final = combine(runs)
    print(f"median of {len(runs)}:\n{render(final)}\n(logs: {log_dir})")
    return 0 if all(f.met is not False for f in final) else 1


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one repeat of 2 s")
    p.add_argument(
        "--sqlite", action="store_true", help="the embedded default (SQLite file) instead of PostgreSQL"
    )
    p.add_argument("--repeats", type=int, default=0)
    p.add_argument("--duration", type=float, default=0.0, help="measured seconds per repeat")
    p.add_argument("--quiet-below", type=float, default=30.0, help="%% of a core: wait for this first")
    sys.exit(run_async(lambda: main(p.parse_args())))
