"""What every harness scenario gets: the data sets, the running servers, the timing knobs.

bench/harness.py builds one BenchEnv and passes it to each scenario's `run(env, repeat)`.
Servers run pinned to CPU 0 (bench.common.start_uvicorn); the harness pins itself (the load) to CPU 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.common import Result, Server, VirtualUser, run_load, wait_quiet
from services.security import issue_access_token

# The bench's own signing key: tokens are minted, so no login is measured.
JWT_SECRET = "bench-secret-bench-secret-bench-secret-0123456789"
PG = "postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/9"
DB_1M = "linli_bench_tickets"
DB_10K = "linli_bench_10k"


def token(uid: int) -> str:
    return issue_access_token(JWT_SECRET, "linli", uid, 24 * 60)[0]


def auth(uid: int) -> tuple[tuple[str, str], ...]:
    return (("Authorization", f"Bearer {token(uid)}"),)


def pg_dsn(db: str, pg: str = PG) -> str:
    return f"postgresql://{pg}/{db}"


@dataclass
class BenchEnv:
    log_dir: Path
    pg: str = PG
    redis_url: str = REDIS_URL
    tickets: int = 1_000_000
    duration: float = 5.0  # measured seconds per load level
    peer_duration: float = 20.0  # the peer answers in seconds at 64 connections
    warmup: float = 2.0  # at 64 connections one wave of slow requests must finish before measuring
    quick: bool = False
    # "linli": the real app on DB_1M (+ Redis, no embedded worker); "linli_10k": the same on DB_10K;
    # "bare": bench/bare_app.py; "peer": django-helpdesk; "sqlite": the embedded default.
    servers: dict[str, Server] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)  # printed above the table
    # Figures one scenario hands to another in the same repeat (S7 compares itself with S1's rate).
    results: dict[str, float] = field(default_factory=dict)

    def port(self, name: str) -> int:
        return self.servers[name].port

    @property
    def db(self) -> str:
        """The main data set's database: the standard one at 1M, a sized one for smoke runs."""
        return DB_1M if self.tickets == 1_000_000 else f"linli_bench_{self.tickets // 1000}k"

    def dsn(self, db: str | None = None) -> str:
        return pg_dsn(db or self.db, self.pg)


MakeUsers = Callable[[int], Sequence[VirtualUser]]


async def measure(
    env: BenchEnv,
    server: str,
    label: str,
    make_users: MakeUsers,
    concurrency: int,
    duration: float | None = None,
) -> Result:
    """One closed-loop measurement against a running server, after waiting for a quieter machine.
    `duration` overrides the env's for slow servers (a peer round trip of seconds needs a longer
    window than a fast one to see more than its first wave)."""
    await wait_quiet(45.0, 20.0, silent=True)
    users = make_users(concurrency)
    pid = env.servers[server].pid if server in env.servers else None
    seconds = duration or env.duration
    return await run_load(label, users, duration=seconds, warmup=env.warmup, server_pid=pid)


# Rows the scenarios add are deleted again, so the data set keeps its generated size between runs.
GROWING = ("delivery", "notification", "ticket_event", "idempotency_record", "audit_log", "ticket")


async def high_water(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            name: int(await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {name}"))  # noqa: S608
            for name in GROWING
        }
    finally:
        await conn.close()


async def trim_to(dsn: str, marks: dict[str, int]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for name in GROWING:
                await conn.execute(f"DELETE FROM {name} WHERE id > $1", marks[name])  # noqa: S608
        await conn.execute(f"SELECT setval('ticket_id_seq', {max(marks['ticket'], 1)})")
    finally:
        await conn.close()
