"""KPI bench: 1,000,000 tickets in 50 communities over 24 months on PostgreSQL (INSERT … SELECT
generate_series), then a 12-month monthly KPI query for one community and for the company (all 50)
live vs from snapshots (p50/p99), and the full roll-up's duration. Writes docs/benchmarks.md.

    .venv/bin/python bench/kpis_bench.py [--tickets 1000000] [--runs 20] [--keep]

Measured at the service layer (services.kpis.service.*_table, one session), i.e. the work behind
GET /v1/communities/{cid}/kpis and GET /v1/companies/{id}/kpis without HTTP and JSON encoding.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from bench.common import fmt, machine_facts, percentile, replace_section, run_async, table
from services import migrations
from services.db import create_engine, session_factory
from services.kpis import jobs
from services.kpis.service import Query, community_table, company_table, read_head

DB = "linli_bench_kpis"
URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DB}"
COMMUNITIES = 50
START = datetime(2024, 11, 30, 16, tzinfo=UTC)  # 1 December 2024, 00:00 Beijing
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)

SETUP = [
    "INSERT INTO property_company (id, name, created_at) VALUES (1, '基准物业', now())",
    "INSERT INTO user_account (id, phone, name, locale, created_at) VALUES (1, '+8613900000001', '居民', 'zh-CN', now())",
    f"""INSERT INTO community (id, name, address, radius_m, time_zone, created_at)
        SELECT g, '基准小区' || g, '路 ' || g, 500, 'Asia/Shanghai', now() FROM generate_series(1, {COMMUNITIES}) g""",  # noqa: S608  (constants)
    f"""INSERT INTO management_contract (company_id, community_id, starts_on, created_at)
        SELECT 1, g, DATE '2020-01-01', now() FROM generate_series(1, {COMMUNITIES}) g""",  # noqa: S608
]

# ~730 days of tickets; statuses: 85 % closed, 5 % resolved, 4 % open, 3 % cancelled, 3 % rejected.
TICKETS = """
INSERT INTO ticket (community_id, kind, category, priority, status, title, description, intake_channel,
    reporter_id, created_by_id, version, response_minutes, resolution_minutes, response_due_at,
    resolution_due_at, sla_state, paused_seconds, paused_working_minutes, accepted_at, assigned_at,
    resolved_at, closed_at, complaint_valid, rating_overall, created_at, updated_at)
SELECT c, k, 'plumbing', 'normal', s, 't', '', 'app', 1, 1, 1, 480, 2880,
       ca + interval '8 hours', ca + interval '48 hours', 0, 0, 0,
       CASE WHEN s IN ('cancelled', 'rejected') AND r < 0.97 THEN NULL ELSE ca + (r * interval '10 hours') END,
       CASE WHEN s IN ('cancelled', 'rejected') THEN NULL ELSE ca + (r * interval '10 hours') END,
       CASE WHEN s IN ('closed', 'resolved') THEN ca + (r2 * interval '60 hours') END,
       CASE WHEN s = 'closed' THEN ca + (r2 * interval '60 hours') + interval '1 day'
            WHEN s IN ('cancelled', 'rejected') THEN ca + interval '2 hours' END,
       CASE WHEN k = 'complaint' THEN r < 0.8 END,
       CASE WHEN s = 'closed' AND r3 < 0.6 THEN 1 + floor(r3 * 8.3)::int END,
       ca, ca
FROM (
  SELECT 1 + (g % {communities}) AS c,
         CASE WHEN g % 10 < 8 THEN 'repair' ELSE 'complaint' END AS k,
         CASE WHEN g % 100 < 85 THEN 'closed' WHEN g % 100 < 90 THEN 'resolved'
              WHEN g % 100 < 94 THEN (ARRAY['submitted','assigned','in_progress','paused'])[1 + g % 4]
              WHEN g % 100 < 97 THEN 'cancelled' ELSE 'rejected' END AS s,
         TIMESTAMPTZ '{start}' + (g::float8 / {n}) * interval '730 days' AS ca,
         random() AS r, random() AS r2, random() AS r3
  FROM generate_series(1, {n}) g
) x
"""
RATINGS = """
INSERT INTO ticket_rating (ticket_id, community_id, user_id, overall, speed, attitude, comment, created_at, updated_at)
SELECT id, community_id, 1, rating_overall, rating_overall, rating_overall, '', closed_at, closed_at
FROM ticket WHERE rating_overall IS NOT NULL
"""
GREENING = """
WITH ins AS (
  INSERT INTO inspection (community_id, kind, area, inspector_id, note, inspected_at, created_at)
  SELECT c, 'greening', 'a', 1, '', TIMESTAMPTZ '{start}' + w * interval '7 days', now()
  FROM generate_series(1, {communities}) c, generate_series(0, 103) w
  RETURNING id, community_id, inspected_at)
INSERT INTO inspection_item (inspection_id, community_id, kind, name, passed, note, created_at)
SELECT ins.id, ins.community_id, 'greening', 'i' || k, random() < 0.98, '', ins.inspected_at
FROM ins, generate_series(1, 10) k
"""


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", sql], check=True)


async def timed(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return percentile(samples, 50), percentile(samples, 99)


async def main(args: argparse.Namespace) -> None:
    engine = create_engine(URL)
    maker = session_factory(engine)
    facts: dict[str, str] = {}
    if not args.reuse:
        t0 = time.perf_counter()
        async with engine.begin() as conn:
            for stmt in SETUP:
                await conn.execute(sa.text(stmt))
            fill = dict(communities=COMMUNITIES, start=START.isoformat(), n=args.tickets)
            await conn.execute(sa.text(TICKETS.format(**fill)))
            await conn.execute(sa.text(RATINGS))
            await conn.execute(sa.text(GREENING.format(**fill)))
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text("VACUUM ANALYZE"))
        facts["data load"] = f"{time.perf_counter() - t0:.0f} s"
    else:  # keep the tickets, measure the full roll-up again
        async with engine.begin() as conn:
            for name in ("kpi_rollup_state", "kpi_snapshot", "kpi_alert"):
                await conn.execute(sa.text(f"DELETE FROM {name}"))  # noqa: S608  (constant names)
    q = Query(date(2025, 11, 1), date(2026, 10, 31), "month", list(jobs.METRICS))
    ql = Query(q.first, q.last, "month", q.metrics, live=True)
    async with maker() as session:
        c1 = await read_head(session, 1)
        assert c1 is not None
        rows = []
        live_c = await timed(lambda: community_table(session, c1, ql, NOW), args.runs)
        live_co = await timed(lambda: company_table(session, 1, ql, NOW), 3)
    t0 = time.perf_counter()
    async with maker() as session, session.begin():
        result = await jobs.rollup(session, now=NOW)
    rollup_s = time.perf_counter() - t0
    async with maker() as session:
        c1 = await read_head(session, 1)
        assert c1 is not None
        snap_c = await timed(lambda: community_table(session, c1, q, NOW), args.runs)
        snap_co = await timed(lambda: company_table(session, 1, q, NOW), args.runs)
        a = await community_table(session, c1, q, NOW)
        b = await community_table(session, c1, ql, NOW)
        agree = [(p.numerator, p.denominator) for s in a.metrics for p in s.periods] == [
            (p.numerator, p.denominator) for s in b.metrics for p in s.periods
        ]
    t0 = time.perf_counter()
    async with maker() as session, session.begin():
        again = await jobs.rollup(session, now=NOW.replace(minute=10))
    idle_s = time.perf_counter() - t0
    await engine.dispose()
    rows = [
        ["community (1 of 50), live", fmt(live_c[0]), fmt(live_c[1])],
        ["community (1 of 50), from snapshots", fmt(snap_c[0]), fmt(snap_c[1])],
        ["company (50 communities), live", fmt(live_co[0]), fmt(live_co[1])],
        ["company (50 communities), from snapshots", fmt(snap_co[0]), fmt(snap_co[1])],
    ]
    facts.update({"tickets": f"{args.tickets:,}", "communities": str(COMMUNITIES), "runs": str(args.runs)})
    text = "\n".join(
        [
            "## KPIs: 12 months, monthly, 8 metrics",
            "",
            f"{args.tickets:,} tickets in {COMMUNITIES} communities over 24 months (80 % repairs), ratings on 60 % of closed",
            f"tickets, 52,000 greening items; PostgreSQL `{DB}`, generated by `bench/kpis_bench.py` with INSERT … SELECT",
            "generate_series. Range Nov 2025 – Oct 2026 (all months closed), timed at the service layer"
            " (`community_table` / `company_table`), ms:",
            "",
            table(["query", "p50 ms", "p99 ms"], rows),
            "",
            f"Full roll-up (every granularity, every closed period since the first ticket, {result.communities} communities,",
            f"{result.snapshots:,} snapshot rows, {result.alerts:,} alerts): **{rollup_s:.1f} s**. A second run with nothing",
            f"changed: {idle_s * 1000:.0f} ms. Snapshot figures equal live figures: {'yes' if agree else 'NO'}.",
            "",
            *(f"- {k}: {v}" for k, v in machine_facts(facts).items()),
        ]
    )
    print(text)
    replace_section("kpis", text)
    if not agree or again.snapshots:
        raise SystemExit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep the existing database")
    args = parser.parse_args()
    if not args.reuse:
        psql(f"DROP DATABASE IF EXISTS {DB}")
        psql(f"CREATE DATABASE {DB}")
        migrations.upgrade(URL)
    run_async(lambda: main(args))
