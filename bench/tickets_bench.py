"""Tickets bench on 1,000,000 tickets (PostgreSQL): filing throughput and the hot lists' latency.

    .venv/bin/python bench/tickets_bench.py [--tickets 1000000] [--rounds 2] [--slice 3] [--no-docs]

Data: bench/gen_tickets.py (database `linli_bench_tickets`, generated once, kept between runs). One
uvicorn process of the real app (`linli_app:create`, LINLI_EMBEDDED_WORKER=false, no Redis) pinned
to CPU 0, the load generator on CPU 1, closed loop (bench/common.py). Tokens are minted with
issue_access_token and the bench secret, so no login is measured.

- create: POST /v1/communities/{cid}/tickets by distinct verified residents (each virtual user
  cycles over its own residents), at 4 and 64 concurrent clients;
- resident: GET /v1/tickets — a resident's household tickets (~10 over two years);
- technician grab queue: GET /v1/tickets?queue=grab (unassigned submitted/accepted, 50 communities);
- technician assigned: GET /v1/tickets?queue=assigned (~5,000 over two years);
- manager overdue: GET /v1/tickets?overdue=true (company-wide: all 50 communities);
each list on page 1 and on a deep page (the cursor after 1,000 rows), at 1 and 16 clients.

Then EXPLAIN (ANALYZE, BUFFERS) of the three list statements exactly as services.tickets.queries
builds them (same filters, compiled for PostgreSQL), and docs/benchmarks.md section `tickets`.
Rows the bench creates are deleted at the end, so the database stays at its generated size.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gen_tickets
from common import (
    HttpError,
    Result,
    VirtualUser,
    expect,
    fmt,
    machine_facts,
    make_client,
    merge,
    pin_self,
    replace_section,
    run_async,
    run_load,
    start_uvicorn,
    table,
    wait_quiet,
    wait_ready,
)
from gen_tickets import LAYOUT

from services.pagination import id_after
from services.security import issue_access_token

JWT_SECRET = "bench-secret-bench-secret-bench-secret-0123456789"
DEEP = 1_000  # rows before the deep page
LIMIT = 20


def token(uid: int) -> str:
    return issue_access_token(JWT_SECRET, "linli", uid, 24 * 60)[0]


# --------------------------------------------------------------------------- virtual users


class CreateUser:
    """Files repair tickets as its own residents in turn (each for their own household)."""

    def __init__(self, port: int, residents: Sequence[tuple[int, int, int]]) -> None:
        self.client = make_client("raw", "127.0.0.1", port)
        self.cycle = itertools.cycle(
            [
                (
                    f"/v1/communities/{cid}/tickets",
                    (("Authorization", f"Bearer {token(uid)}"),),
                    orjson.dumps(
                        {
                            "kind": "repair",
                            "category": "plumbing",
                            "title": "卫生间水管漏水",
                            "description": "洗手池下方水管接头滴水，请尽快处理。",
                            "household_id": hid,
                        }
                    ),
                )
                for uid, cid, hid in residents
            ]
        )

    async def op(self) -> None:
        path, headers, body = next(self.cycle)
        status, data = await self.client.request("POST", path, body, headers)
        expect(status, 201, data, "create")

    async def close(self) -> None:
        await self.client.close()


class ListUser:
    """GETs one list URL as one of its principals in turn; checks the page is not empty."""

    def __init__(self, port: int, requests: Sequence[tuple[str, str]]) -> None:
        self.client = make_client("raw", "127.0.0.1", port)
        self.cycle = itertools.cycle(
            [(path, (("Authorization", f"Bearer {tok}"),)) for path, tok in requests]
        )

    async def op(self) -> None:
        path, headers = next(self.cycle)
        status, data = await self.client.request("GET", path, None, headers)
        expect(status, 200, data, "list")
        if data.startswith(b'{"items":[]'):
            raise HttpError("empty page")

    async def close(self) -> None:
        await self.client.close()


@dataclass
class Spec:
    scenario: str
    users: Callable[[int], list[VirtualUser]]
    levels: tuple[int, ...]


# --------------------------------------------------------------------------- helpers


async def get_json(port: int, path: str, tok: str) -> dict[str, Any]:
    client = make_client("raw", "127.0.0.1", port)
    try:
        status, data = await client.request("GET", path, None, (("Authorization", f"Bearer {tok}"),))
    finally:
        await client.close()
    expect(status, 200, data, path)
    result: dict[str, Any] = orjson.loads(data)
    return result


async def deep_cursor(port: int, path: str, tok: str, rows: int = DEEP) -> tuple[str, int]:
    """The cursor after `rows` rows of the list (walked 100 at a time) and the rows actually seen."""
    sep = "&" if "?" in path else "?"
    cursor: str | None = None
    seen = 0
    while seen < rows:
        page = await get_json(port, f"{path}{sep}limit=100" + (f"&cursor={cursor}" if cursor else ""), tok)
        seen += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    if cursor is None:
        raise RuntimeError(f"{path}: only {seen} rows, no deep page")
    return cursor, seen


def with_cursor(path: str, cursor: str | None) -> str:
    sep = "&" if "?" in path else "?"
    return f"{path}{sep}limit={LIMIT}" + (f"&cursor={cursor}" if cursor else "")


async def snapshot_ids(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            name: int(await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {name}"))  # noqa: S608
            for name in ("ticket", "ticket_event", "notification", "delivery", "idempotency_record")
        }
    finally:
        await conn.close()


async def delete_created(dsn: str, before: dict[str, int]) -> int:
    """Remove what the bench added (the database keeps its generated size between runs)."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for name in ("delivery", "notification", "ticket_event", "idempotency_record"):
                await conn.execute(f"DELETE FROM {name} WHERE id > $1", before[name])  # noqa: S608
            status = await conn.execute("DELETE FROM ticket WHERE id > $1", before["ticket"])
        await conn.execute(f"SELECT setval('ticket_id_seq', {before['ticket']})")
        return int(status.split()[-1])
    finally:
        await conn.close()


# --------------------------------------------------------------------------- plans


def list_cases(
    people: dict[str, int], cursors: dict[str, int]
) -> list[tuple[str, int, dict[str, Any], int | None]]:
    return [
        ("resident: GET /v1/tickets", people["resident"], {}, None),
        ("technician: GET /v1/tickets", people["technician"], {}, None),
        ("technician: GET /v1/tickets?q=漏水", people["technician"], {"q": "漏水"}, None),
        ("technician: GET /v1/tickets?queue=grab", people["technician"], {"queue": "grab"}, None),
        ("technician: GET /v1/tickets?queue=assigned", people["technician"], {"queue": "assigned"}, None),
        (
            "technician: ?queue=assigned, deep page",
            people["technician"],
            {"queue": "assigned"},
            cursors["assigned"],
        ),
        (
            "manager: GET /v1/tickets?queue=assigned (none are)",
            people["manager"],
            {"queue": "assigned"},
            None,
        ),
        ("manager: GET /v1/tickets?overdue=true", people["manager"], {"overdue": True}, None),
        ("manager: ?overdue=true, deep page", people["manager"], {"overdue": True}, cursors["overdue"]),
        ("manager: ?overdue=true, last page", people["manager"], {"overdue": True}, cursors["overdue_last"]),
        (
            "manager: ?overdue=true&community_id=1",
            people["manager"],
            {"overdue": True, "community_id": 1},
            None,
        ),
    ]


# Indexes the app does not have, tried on the bench database only (created, measured, dropped);
# the membership index the app has is measured against its absence. (ix_ticket_assignee_id_id, tried
# here until 2026-12-06, is the app's since h17b0as0001.)
WHAT_IF: list[tuple[str, str, list[str]]] = [
    (
        "ix_ticket_running_id",
        "CREATE INDEX ix_ticket_running_id ON ticket (community_id, id) "
        "WHERE status IN ('submitted', 'accepted', 'assigned', 'in_progress')",
        [
            "manager: ?overdue=true, last page",
            "manager: ?overdue=true&community_id=1",
            "technician: GET /v1/tickets?queue=grab",
        ],
    ),
]
MANAGERS_SQL = (
    "SELECT DISTINCT membership.user_id FROM membership WHERE membership.status = 'verified' "
    "AND membership.role IN ('property_manager') AND (membership.community_id = 1 OR membership.company_id IN "
    "(SELECT management_contract.company_id FROM management_contract WHERE management_contract.community_id = 1 "
    "AND management_contract.starts_on <= current_date AND (management_contract.ends_on IS NULL "
    "OR management_contract.ends_on >= current_date)))"
)
MEMBERSHIP_INDEX = (
    "ix_membership_role_status",
    "CREATE INDEX ix_membership_role_status ON membership (role, status)",
)


async def plans(
    url: str, people: dict[str, int], cursors: dict[str, int], what_if: bool
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str, str]]]:
    """EXPLAIN (ANALYZE, BUFFERS) of the list statements as services.tickets.queries builds them, and
    with `what_if` the same statements with each candidate index present: (index, case, before, after)."""
    import sqlalchemy as sa

    from services.access import load_principal
    from services.db import create_engine, session_factory
    from services.tickets import queries

    engine = create_engine(url)
    out: list[tuple[str, str, str]] = []
    tried: list[tuple[str, str, str, str]] = []
    try:
        async with session_factory(engine)() as session:
            compiled: dict[str, tuple[str, list[Any]]] = {}
            dialect = session.get_bind().dialect
            for title, uid, filters, after in list_cases(people, cursors):
                principal = await load_principal(session, uid)
                # As the driver sends it: the SQL with $n parameters and its arguments (a plan of
                # the values inline can differ: `IN ('closed')` is planned as an equality).
                sql, args = queries.list_bound(principal, filters, after, LIMIT, datetime.now(UTC), dialect)
                compiled[title] = (sql, args)
                await explain(session, sql, args)  # warm the cache: the figures compare warm runs
                out.append((title, f"{sql}\n-- arguments: {args}", await explain(session, sql, args)))
            await session.rollback()
            if what_if:
                before = {title: plan for title, _sql, plan in out}
                for name, ddl, titles in WHAT_IF:
                    await session.exec(sa.text(ddl))  # type: ignore[call-overload]
                    await session.exec(sa.text("ANALYZE ticket"))  # type: ignore[call-overload]
                    for title in titles:
                        await explain(session, *compiled[title])
                        after_plan = await explain(session, *compiled[title])
                        tried.append((name, title, execution_ms(before[title]), execution_ms(after_plan)))
                    await session.rollback()
                # The app now has this index (foundation migration): measure it against its absence,
                # dropped inside the transaction (PostgreSQL DDL rolls back).
                await explain(session, MANAGERS_SQL)
                with_index = await explain(session, MANAGERS_SQL)
                await session.exec(sa.text(f"DROP INDEX IF EXISTS {MEMBERSHIP_INDEX[0]}"))  # type: ignore[call-overload]
                await explain(session, MANAGERS_SQL)
                base = await explain(session, MANAGERS_SQL)
                tried.append(
                    (
                        MEMBERSHIP_INDEX[0],
                        "people.managers() (every filing, every transition that tells the managers)",
                        execution_ms(base),
                        execution_ms(with_index),
                    )
                )
                out.append(("people.managers(): a community's property managers", MANAGERS_SQL, with_index))
                await session.rollback()
    finally:
        await engine.dispose()
    return out, tried


async def explain(session: Any, sql: str, args: list[Any] | None = None) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) in the session's transaction, on its asyncpg connection: with
    `args`, planned for those values as the app's prepared statement is (a custom plan)."""
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    rows = await driver.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *(args or []))
    return "\n".join(r[0] for r in rows)


def execution_ms(plan: str) -> str:
    for line in plan.splitlines():
        if line.startswith("Execution Time:"):
            return line.split(":", 1)[1].strip()
    return "?"


# --------------------------------------------------------------------------- main


async def measure(args: argparse.Namespace, specs: Sequence[Spec], server_pid: int) -> list[Result]:
    results: list[Result] = []
    for spec in specs:
        if args.only and not any(word in spec.scenario for word in args.only):
            continue
        for c in spec.levels:
            users = spec.users(c)
            parts = []
            for _ in range(args.rounds):
                await wait_quiet(args.quiet_below, 60, silent=True)
                parts.append(
                    await run_load(
                        spec.scenario, users, duration=args.slice, warmup=args.warmup, server_pid=server_pid
                    )
                )
                users = spec.users(c)  # run_load closed the clients
            r = merge(parts)
            results.append(r)
            errs = f"  ERRORS {dict(r.errors)}" if r.errors else ""
            print(
                f"  {r.scenario:<48} c={c:<3} {r.rate:>7,.0f}/s  p50 {r.pct(50):7.2f} ms  p99 {r.pct(99):7.2f} ms"
                f"  cpu srv/load/db/else {r.cpu_text}%{errs}",
                flush=True,
            )
    return results


async def main(args: argparse.Namespace) -> int:
    dsn = gen_tickets.pg_dsn(args.pg, args.db)
    url = gen_tickets.sa_url(args.pg, args.db)
    t0 = time.perf_counter()
    generated = await gen_tickets.ensure(args.pg, args.db, args.tickets)
    gen_note = (
        f"{generated.note()}, checked in {time.perf_counter() - t0:.0f} s"
        if generated.reused
        else f"{generated.note()} (tickets {generated.phases['tickets']:.0f} s)"
    )
    statuses = await gen_tickets.summary(args.pg, args.db)
    conn = await asyncpg.connect(dsn)
    try:
        pg_version = await conn.fetchval("SHOW server_version")
        overdue_total, overdue_first = await conn.fetchrow(
            "SELECT count(*), min(id) FROM ticket WHERE (status = 'submitted' AND response_due_at < now()) OR "
            "(status IN ('submitted', 'accepted', 'assigned', 'in_progress') AND resolution_due_at < now())"
        )
        c1 = 1
        # The busiest technician of community 1 and a resident with a typical history.
        technician = await conn.fetchval(
            "SELECT assignee_id FROM ticket WHERE community_id = $1 AND assignee_id IS NOT NULL "
            "GROUP BY assignee_id ORDER BY count(*) DESC LIMIT 1",
            c1,
        )
        assigned_total = await conn.fetchval("SELECT count(*) FROM ticket WHERE assignee_id = $1", technician)
        grab_total = await conn.fetchval(
            "SELECT count(*) FROM ticket WHERE assignee_id IS NULL AND status IN ('submitted', 'accepted')"
        )
        resident_rows = await conn.fetch(
            "SELECT household_id, count(*) AS n FROM ticket WHERE community_id = $1 AND household_id IS NOT NULL "
            "GROUP BY household_id ORDER BY household_id LIMIT 400",
            c1,
        )
        table_size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('ticket'))")
    finally:
        await conn.close()
    residents = [int(r["household_id"]) for r in resident_rows]  # user id = household id
    resident_avg = sum(int(r["n"]) for r in resident_rows) / len(resident_rows)
    manager = LAYOUT.manager(0)
    people = {"resident": residents[0], "technician": int(technician), "manager": manager}
    technicians = LAYOUT.technicians(c1)
    before = await snapshot_ids(dsn)

    tmp = Path(tempfile.mkdtemp(prefix="linli-bench-tickets-"))
    server = start_uvicorn(
        "linli-tickets",
        "linli_app:create",
        factory=True,
        env={
            "LINLI_ENV": "dev",
            "LINLI_DATABASE_URL": url,
            "LINLI_REDIS_URL": "",
            "LINLI_JWT_SECRET": JWT_SECRET,
            "LINLI_EMBEDDED_WORKER": "false",
            "LINLI_VAR_DIR": str(tmp / "var"),
            "LINLI_SMS_OUTBOX_PATH": str(tmp / "sms.jsonl"),
        },
        log_dir=tmp,
    )
    pinned = False
    try:
        await wait_ready(server, "/readyz")
        pinned = pin_self(1)
        port = server.port
        tok_m, tok_t = token(manager), token(int(technician))
        cursors: dict[str, int] = {"overdue_last": int(overdue_first)}
        deep_paths: dict[str, tuple[str, str]] = {}
        for name, path, tok, total in (
            ("grab", "/v1/tickets?queue=grab", tok_t, int(grab_total)),
            ("assigned", "/v1/tickets?queue=assigned", tok_t, int(assigned_total)),
            ("overdue", "/v1/tickets?overdue=true", tok_m, int(overdue_total)),
        ):
            # The grab queue holds ~1,000 tickets (the data set's unassigned work, which varies from
            # one generation to the next): its deep page stops a page short of the end when needed.
            cursor, _ = await deep_cursor(port, path, tok, min(DEEP, total - 100))
            deep_paths[name] = (with_cursor(path, cursor), tok)
            cursors[name] = id_after(cursor) or 0
        # Distinct residents for filing: 50 per community (spread over its households), never the
        # same one twice in a row.
        filers = [
            (LAYOUT.resident(c, k * LAYOUT.size(c) // 50), c, LAYOUT.resident(c, k * LAYOUT.size(c) // 50))
            for k in range(50)
            for c in range(1, LAYOUT.communities + 1)
        ]

        def creators(c: int) -> list[VirtualUser]:
            return [CreateUser(port, filers[i::c]) for i in range(c)]

        def listers(requests: list[tuple[str, str]]) -> Callable[[int], list[VirtualUser]]:
            return lambda c: [ListUser(port, requests[i::c] or requests) for i in range(c)]

        res_reqs = [(with_cursor("/v1/tickets", None), token(uid)) for uid in residents]
        tech_tokens = [token(t) for t in technicians]
        specs = [
            Spec("create: POST /v1/communities/{cid}/tickets", creators, args.create_levels),
            Spec("resident: GET /v1/tickets", listers(res_reqs), args.list_levels),
            Spec(
                "technician: ?queue=grab, page 1",
                listers([(with_cursor("/v1/tickets?queue=grab", None), t) for t in tech_tokens]),
                args.list_levels,
            ),
            Spec("technician: ?queue=grab, deep page", listers([deep_paths["grab"]]), args.list_levels),
            Spec(
                "technician: ?queue=assigned, page 1",
                listers([(with_cursor("/v1/tickets?queue=assigned", None), tok_t)]),
                args.list_levels,
            ),
            Spec(
                "technician: ?queue=assigned, deep page", listers([deep_paths["assigned"]]), args.list_levels
            ),
            Spec(
                "manager: ?overdue=true, page 1",
                listers([(with_cursor("/v1/tickets?overdue=true", None), tok_m)]),
                args.list_levels,
            ),
            Spec("manager: ?overdue=true, deep page", listers([deep_paths["overdue"]]), args.list_levels),
        ]
        print(
            f"server pinned to CPU 0{', load generator to CPU 1' if pinned else ''}; per row {args.rounds} rounds"
            f" × ({args.warmup:g} s warm-up + {args.slice:g} s)",
            flush=True,
        )
        results = await measure(args, specs, server.pid)
    finally:
        server.stop()
        created = await delete_created(dsn, before)
        print(f"deleted the {created:,} tickets the bench filed", flush=True)
    found, tried = await plans(url, people, cursors, not args.no_what_if)

    rows = [
        [
            r.scenario,
            str(r.concurrency),
            fmt(r.rate, 0),
            fmt(r.pct(50), 2),
            fmt(r.pct(99), 2),
            str(r.error_count),
            r.cpu_text,
        ]
        for r in results
    ]
    headers = ["scenario", "clients", "req/s", "p50 ms", "p99 ms", "errors", "CPU % srv/load/db/else"]
    print()
    print(table(headers, rows))
    for title, _sql, plan in found:
        print(f"-- {title}: {execution_ms(plan)}")
    what_if_rows = [[f"`{name}`", case, before, after] for name, case, before, after in tried]
    what_if_headers = ["index", "statement", "without", "with the index"]
    if tried:
        print()
        print(table(what_if_headers, what_if_rows))
    status_text = ", ".join(f"{s} {n:,}" for s, n in statuses)
    facts = machine_facts(
        {
            "PostgreSQL": f"{pg_version} (shared_buffers 128 MB, default settings)",
            "data": f"`{args.db}`, {gen_note}; ticket table + indexes {table_size}",
        }
    )
    text = [
        "## Tickets: filing and the hot lists at 1,000,000 tickets",
        "",
        f"{args.tickets:,} tickets in {LAYOUT.communities} communities over 24 months ({status_text}), generated by",
        "`bench/gen_tickets.py` (INSERT … SELECT generate_series; 100,000 households with one verified resident",
        f"each, community 1 a {LAYOUT.size(1):,}-household estate and the other {LAYOUT.communities - 1} of"
        f" {min(LAYOUT.buildings[1:]) * 100:,}–{max(LAYOUT.buildings[1:]) * 100:,}, one company managing all"
        f" of them, {LAYOUT.staff - gen_tickets.MANAGERS} technicians and {gen_tickets.MANAGERS} managers,",
        "~120,000 push devices, pauses and reopens, ratings and return visits, inspections, events for the",
        "last 60 days). `bench/tickets_bench.py`: one uvicorn process of the real app (`LINLI_EMBEDDED_WORKER=false`,",
        "no Redis) pinned to CPU 0, the closed-loop load generator on CPU 1; tokens minted with the bench secret.",
        f"Per row {args.rounds} rounds × {args.slice:g} s after {args.warmup:g} s warm-up. Lists are `limit={LIMIT}`; the deep page",
        f"is the cursor after {DEEP:,} rows. Scope sizes: resident ~{resident_avg:.0f} tickets (household), technician",
        f"{assigned_total:,} assigned to them and {grab_total:,} in the company's grab queue, manager {overdue_total:,}",
        "overdue company-wide. Created tickets are deleted afterwards.",
        "",
        table(headers, rows),
        "",
        "CPU: % of one core for the server, the load generator, PostgreSQL, everything else (other programs on this",
        "shared machine: rows with a high last figure ran beside foreign load and are noisier).",
        "",
        "### Indexes that would help",
        "",
        "Tried on the bench database only (EXPLAIN ANALYZE warm, then rolled back). The ticket indexes are",
        "not in the app; `ix_membership_role_status` is (foundation migration) and is measured against its",
        "absence. Execution time of the statement in PostgreSQL:",
        "",
        table(what_if_headers, what_if_rows) if tried else "(not run: --no-what-if)",
        "",
        "### Query plans",
        "",
        "The statements exactly as `services/tickets/queries.py` builds them (scope + filters, keyset on",
        "`id DESC`), compiled for PostgreSQL, `EXPLAIN (ANALYZE, BUFFERS)` on the same data:",
        "",
    ]
    for title, sql, plan in found:
        text += [f"**{title}** ({execution_ms(plan)})", "", "```sql", sql, "```", "", "```", plan, "```", ""]
    text += [*(f"- {k}: {v}" for k, v in facts.items())]
    if not args.no_docs:
        replace_section("tickets", "\n".join(text))
        print("\nwrote docs/benchmarks.md section `tickets`")
    return 1 if any(r.error_count for r in results) else 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--pg", default="postgres@127.0.0.1:5432", help="user[:password]@host:port")
    p.add_argument("--db", default=gen_tickets.DB)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--slice", type=float, default=3.0, help="measured seconds per row and round")
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--create-levels", type=lambda s: tuple(int(x) for x in s.split(",")), default=(4, 64))
    p.add_argument("--list-levels", type=lambda s: tuple(int(x) for x in s.split(",")), default=(1, 16))
    p.add_argument("--quiet-below", type=float, default=30.0, help="%% of a core: wait for this first")
    p.add_argument("--only", action="append", help="run the scenarios whose name contains this (repeatable)")
    p.add_argument("--no-what-if", action="store_true", help="skip trying the candidate indexes")
    p.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    sys.exit(run_async(lambda: main(p.parse_args())))
