"""S8 — the embedded default: SQLite file, no Redis, on the same 1M data set.

The app as `make run` serves it (LINLI_DATABASE_URL=sqlite+aiosqlite:///…; the in-process worker off,
see sqlite_env),
pinned to CPU 0 like the PostgreSQL server. Measured: S2's list (page 1, p99 at 4) beside
PostgreSQL's p99 from the same repeat; filing at 64 connections; then two processes on the one file
filing at the same time, counting "database is locked" and every other error.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bench import gen_tickets
from bench.common import start_uvicorn, wait_ready
from bench.env import JWT_SECRET, BenchEnv, measure
from bench.figures import Figure
from bench.s1_create import create_requests, residents, users_for
from bench.s2_list import getters, manager

GROWING = ("delivery", "notification", "ticket_event", "idempotency_record", "audit_log", "ticket")


def sqlite_path(env: BenchEnv) -> Path:
    return gen_tickets.sqlite_path(env.db)


def sqlite_env(path: Path) -> dict[str, str]:
    return {
        "LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{path}",
        "LINLI_JWT_SECRET": JWT_SECRET,
        "LINLI_REDIS_URL": "",
        # The in-process worker stays off here: its scheduler's first KPI roll-up of two years of a
        # 1M-ticket data set is one write transaction on SQLite that would block every filing while
        # it runs. Requests are served exactly as `make run` serves them.
        "LINLI_EMBEDDED_WORKER": "false",
        "BENCH_LOG_LEVEL": "WARNING",
    }


async def ensure_servers(env: BenchEnv) -> None:
    for name in ("sqlite", "sqlite2"):
        if name not in env.servers:
            server = start_uvicorn(
                name, "linli_app:create", env=sqlite_env(sqlite_path(env)), log_dir=env.log_dir, factory=True
            )
            env.servers[name] = server
            await wait_ready(server, "/healthz", within=120)


def high_water(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return {t: int(db.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0]) for t in GROWING}  # noqa: S608


def trim_to(path: Path, marks: dict[str, int]) -> None:
    with sqlite3.connect(path, timeout=60) as db:
        for t in GROWING:
            db.execute(f"DELETE FROM {t} WHERE id > ?", (marks[t],))  # noqa: S608


def locked(errors: dict[str, int]) -> int:
    return sum(n for label, n in errors.items() if "locked" in label.lower())


async def run(env: BenchEnv, repeat: int) -> list[Figure]:
    await ensure_servers(env)
    uid = await manager(env.dsn())  # ids are the same in the SQLite copy
    from bench.s2_list import _paths

    path = _paths.get("p1") or "/v1/tickets?community_id=1&status=closed&limit=20"
    lst = await measure(env, "sqlite", "S8 list", getters(env.port("sqlite"), path, uid), 4)
    reqs = create_requests(await residents(env))
    marks = high_water(sqlite_path(env))
    try:
        create = await measure(env, "sqlite", "S8 create", users_for(env.port("sqlite"), reqs), 64)
        half = len(reqs) // 2
        one, two = await asyncio.gather(
            measure(env, "sqlite", "S8 two processes", users_for(env.port("sqlite"), reqs[:half]), 32),
            measure(env, "sqlite2", "S8 two processes", users_for(env.port("sqlite2"), reqs[half:]), 32),
        )
    finally:
        trim_to(sqlite_path(env), marks)
    pg_p99 = env.results.get("S2 list p99 ms @4")
    both = one.errors + two.errors
    return [
        Figure(
            "S8",
            "SQLite list p99 ms @4 ÷ PostgreSQL",
            lst.pct(99),
            "ms",
            "PostgreSQL p99 @4 (S2)",
            pg_p99,
            "<=",
            1.5,
            "ratio",
        ),
        Figure("S8", "SQLite create req/s @64", create.rate, "req/s", op=">=", limit=500.0),
        Figure("S8", "two processes: create req/s (sum)", one.rate + two.rate, "req/s"),
        Figure("S8", "two processes: 'database is locked'", locked(both), "", op="<=", limit=0),
        Figure(
            "S8",
            "SQLite errors (all)",
            create.error_count + lst.error_count + sum(both.values()),
            "",
            op="<=",
            limit=0,
            note=str(dict(both + create.errors))[:200] if both or create.errors else "",
        ),
    ]
