"""`make bench`: every scenario (S1–S8) beside its references, three interleaved repeats, one table.

    .venv/bin/python bench/harness.py [--quick] [--only S1 S2 …] [--repeats 3] [--no-peer] [--no-docs]

1. Data sets (built if missing, timed; the time it took is kept with the data): the standard 1M set
   and a 10k set on PostgreSQL (bench/gen_tickets.py), the 1M set copied into SQLite, the KPI
   roll-ups of the 1M set, and django-helpdesk with as many tickets (bench/peer_helpdesk.py).
2. Servers, each one process pinned to CPU 0 (the load generator pins itself to CPU 1): Linli on the
   1M set (with Redis, no embedded worker: as deployed), Linli on the 10k set, the bare FastAPI
   ceiling (bench/bare_app.py), the peer (gunicorn), and later the embedded SQLite default.
3. Repeats: S1, S2, S3+S4, S5, S6, S7, S8 and the request floor (bench/floor_bench.py) in turn,
   three times; each figure is the median of its three, printed with its reference, ratio, target
   and met / missed, and written to docs/benchmarks.md (section `harness`) with the machine, date
   and commit. A scenario module with a `finish(env, repeats, started)` also writes its own section
   (the floor: its CPU-per-request table, section `floor`).
--quick shortens every measurement (2 s) and runs on a 100k data set: a smoke run, not a result.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import redis.asyncio as aioredis

from bench import gen_tickets
from bench.common import ROOT, fmt, machine_facts, pin_self, replace_section, start_uvicorn, table, wait_ready
from bench.env import DB_10K, JWT_SECRET, PG, REDIS_URL, BenchEnv, pg_dsn
from bench.figures import Figure, combine

SCENARIOS = [
    ("S1", "bench.s1_create"),
    ("S2", "bench.s2_list"),
    ("S3/S4", "bench.s34_kpis"),
    ("S5", "bench.s5_fanout"),
    ("S6", "bench.s6_push"),
    ("S7", "bench.s7_hot"),
    ("S8", "bench.s8_sqlite"),
    # After S1–S8: issue 17's request floor (CPU per request beside a lean same-work app); its own
    # table goes to section `floor` through the module's finish().
    ("floor", "bench.floor_bench"),
]


def linli_env(db: str) -> dict[str, str]:
    return {
        "LINLI_ENV": "dev",
        "LINLI_DATABASE_URL": f"postgresql+asyncpg://{PG}/{db}",
        "LINLI_REDIS_URL": REDIS_URL,
        "LINLI_JWT_SECRET": JWT_SECRET,
        "LINLI_EMBEDDED_WORKER": "false",
        "BENCH_LOG_LEVEL": "WARNING",
    }


async def rollup_if_missing(db: str) -> str:
    """KPI snapshots for every closed period of the data set (the scheduler's job, run once)."""
    conn = await asyncpg.connect(pg_dsn(db))
    try:
        have = await conn.fetchval("SELECT count(*) FROM kpi_snapshot")
    finally:
        await conn.close()
    if have:
        return f"kept ({have:,} snapshot rows)"
    # (ANALYZE afterwards: without statistics the planner reads every snapshot for a dashboard.)
    from services.db import create_engine, session_factory
    from services.kpis import jobs

    engine = create_engine(f"postgresql+asyncpg://{PG}/{db}")
    t0 = time.perf_counter()
    try:
        async with session_factory(engine)() as session, session.begin():
            result = await jobs.rollup(session)
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(pg_dsn(db))
    try:
        await conn.execute("ANALYZE kpi_snapshot")
    finally:
        await conn.close()
    return f"built in {time.perf_counter() - t0:.0f} s ({result.snapshots:,} snapshot rows)"


async def prepare(env: BenchEnv, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    big = await gen_tickets.ensure(env.pg, env.db, env.tickets)
    env.facts["data set"] = f"{env.tickets:,} tickets in `{env.db}`: {big.note()}"
    small = await gen_tickets.ensure(env.pg, DB_10K, 10_000)
    env.facts["10k data set"] = f"`{DB_10K}`: {small.note()}"
    env.facts["KPI roll-ups"] = await rollup_if_missing(env.db)
    if wants(args, "S8"):
        from bench.s8_sqlite import sqlite_path

        lite = await gen_tickets.ensure_sqlite(sqlite_path(env), env.tickets, db=env.db)
        env.facts["SQLite copy"] = f"`{sqlite_path(env).relative_to(ROOT)}`: {lite.note()}"
    if args.peer:
        from bench import peer_helpdesk

        versions = await asyncio.to_thread(peer_helpdesk.ensure_venv)
        env.facts["peer"] = peer_helpdesk.versions_text(versions)
        loaded = await peer_helpdesk.ensure_data_async(tickets=env.tickets)
        env.facts["peer data"] = peer_helpdesk.data_note(loaded)
    env.facts["preparation"] = f"{time.perf_counter() - t0:.0f} s"


async def start_servers(env: BenchEnv, args: argparse.Namespace) -> None:
    r = aioredis.from_url(REDIS_URL)
    try:
        await r.flushdb()
    finally:
        await r.aclose()
    starting = [
        (
            "linli",
            start_uvicorn(
                "linli", "linli_app:create", env=linli_env(env.db), log_dir=env.log_dir, factory=True
            ),
            "/healthz",
        ),
        (
            "linli_10k",
            start_uvicorn(
                "linli_10k", "linli_app:create", env=linli_env(DB_10K), log_dir=env.log_dir, factory=True
            ),
            "/healthz",
        ),
        ("bare", start_uvicorn("bare", "bare_app:app", env={}, log_dir=env.log_dir), "/ping"),
        # S1's reference and the floor's: the same work in SQLAlchemy Core (a bench reference).
        (
            "lean",
            start_uvicorn("lean", "lean_app:app", env=linli_env(env.db), log_dir=env.log_dir),
            "/healthz",
        ),
    ]
    if args.peer:
        from bench import peer_helpdesk

        peer = peer_helpdesk.start(env.log_dir, cpu=0)
        starting.append(("peer", peer, peer_helpdesk.READY_PATH))
    for name, server, ready in starting:
        env.servers[name] = server
        await wait_ready(server, ready, within=120)


def wants(args: argparse.Namespace, scenario: str) -> bool:
    return not args.only or any(s in scenario.split("/") or s == scenario for s in args.only)


async def run_repeats(env: BenchEnv, args: argparse.Namespace) -> list[list[Figure]]:
    runs: list[list[Figure]] = []
    for repeat in range(args.repeats):
        figures: list[Figure] = []
        for name, module_name in SCENARIOS:
            if not wants(args, name):
                continue
            print(f"--- repeat {repeat + 1}/{args.repeats}: {name}", flush=True)
            t0 = time.perf_counter()
            try:
                got = await importlib.import_module(module_name).run(env, repeat)
            except Exception as exc:  # one broken scenario must not hide the others' figures
                traceback.print_exc()
                got = [
                    Figure(name, "scenario failed", float("nan"), note=f"{type(exc).__name__}: {exc}"[:300])
                ]
            for f in got:
                print(
                    f"    {f.metric:<44} {fmt(f.value, 2):>10} {f.unit:<6} ratio {fmt(f.ratio or float('nan'), 3)}",
                    flush=True,
                )
            print(f"    ({time.perf_counter() - t0:.0f} s)", flush=True)
            figures.extend(got)
        runs.append(figures)
    return runs


def render(figures: list[Figure], env: BenchEnv, repeats: int, started: float) -> str:
    rows = []
    for f in figures:
        ratio = f.ratio
        met = {True: "met", False: "**missed**", None: ""}[f.met]
        rows.append(
            [
                f"{f.scenario} {f.metric}",
                fmt(f.value, 2 if abs(f.value) < 100 else 0) + (f" {f.unit}" if f.unit else ""),
                (
                    f"{fmt(f.ref_value, 2 if abs(f.ref_value) < 100 else 0)} ({f.ref_name})"
                    if f.ref_value is not None
                    else f.ref_name
                ),
                fmt(ratio, 3) if ratio is not None else "",
                f.target,
                met,
                f.note,
            ]
        )
    facts = machine_facts(
        {
            **env.facts,
            "repeats": f"{repeats}, interleaved; each figure is the median",
            "load": f"{env.duration:g} s measured after {env.warmup:g} s warm-up per level; latency at 4 connections, throughput at 64",
            "pinning": "each server on CPU 0, the load generator on CPU 1",
            "whole run": f"{(time.perf_counter() - started) / 60:.1f} min",
        }
    )
    met = sum(1 for f in figures if f.met)
    judged = sum(1 for f in figures if f.met is not None)
    return "\n".join(
        [
            "## The harness: S1–S8 beside their references (`make bench`)",
            "",
            table(
                ["scenario / figure", "value", "reference (same run)", "ratio", "target", "met?", "note"],
                rows,
            ),
            "",
            f"Targets met: {met} of {judged}.",
            "",
            *(f"- {k}: {v}" for k, v in facts.items()),
        ]
    )


async def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    pinned = pin_self(1)
    log_dir = Path(tempfile.mkdtemp(prefix="linli-bench-"))
    env = BenchEnv(log_dir=log_dir, tickets=args.tickets, quick=args.quick)
    if args.quick:
        env.duration, env.warmup = 2.0, 0.5
    env.facts["server logs"] = str(log_dir)
    if not pinned:
        env.facts["pinning"] = "NOT pinned (fewer than 2 CPUs)"
    await prepare(env, args)
    if args.prepare_only:
        for key, value in env.facts.items():
            print(f"- {key}: {value}")
        return 0
    await start_servers(env, args)
    runs = await run_repeats(env, args)
    figures = combine(runs)
    text = render(figures, env, args.repeats, started)
    print("\n" + text)
    if args.docs and not args.quick and not args.only:  # a partial run must not replace the full table
        replace_section("harness", text)
    for name, module_name in SCENARIOS:
        finish = getattr(importlib.import_module(module_name), "finish", None)
        section = finish(env, args.repeats, started) if finish and wants(args, name) else None
        if section is not None:
            print("\n" + section[1])
            if args.docs and not args.quick:
                replace_section(*section)
    failed = [f for f in figures if f.metric == "scenario failed"]
    return 1 if failed else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 s per level on a 100k data set (smoke run)")
    parser.add_argument("--only", nargs="*", help="scenarios to run (S1 … S8, floor)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tickets", type=int, default=None)
    parser.add_argument("--no-peer", dest="peer", action="store_false")
    parser.add_argument("--no-docs", dest="docs", action="store_false")
    parser.add_argument(
        "--prepare-only", action="store_true", help="build the data sets and the peer, then stop"
    )
    args = parser.parse_args(argv)
    if args.tickets is None:
        args.tickets = 100_000 if args.quick else 1_000_000
    return args


def entry(argv: list[str] | None = None) -> int:
    from bench.common import run_async

    result: Any = run_async(lambda: main(parse(argv)))
    return int(result)


if __name__ == "__main__":
    sys.exit(entry())
