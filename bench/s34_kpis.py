"""S3 and S4 — KPIs from the roll-ups on the 1M data set, as a property manager through HTTP.

S3: one community, one closed month (GET /v1/communities/1/kpis?from=…&to=…), p99 at 4 connections,
beside the database's floor (the snapshot rows of that community-month read through asyncpg).
S4: the company dashboard, 50 communities × 24 months (GET /v1/companies/1/kpis), p50/p99 at 4 (a
manager's dashboard between two roll-ups is reused) and as built for a request not seen before;
in the first repeat also `&live=true` (every period computed from the tickets) to prove the
roll-ups give identical figures.
"""

from __future__ import annotations

import itertools
import time
from datetime import date

import orjson

from bench.common import RawClient, expect
from bench.env import BenchEnv, auth, measure
from bench.figures import Figure
from bench.s1_create import Poster
from bench.s2_list import floor, manager
from services.kpis.metrics import METRICS


def month_before(today: date) -> tuple[date, date]:
    last = today.replace(day=1).toordinal() - 1
    end = date.fromordinal(last)
    return end.replace(day=1), end


def dashboard_range(today: date) -> tuple[date, date]:
    """The 24 whole months before this one."""
    first = date(today.year - 2, today.month, 1)
    return first, month_before(today)[1]


def figures_of(body: bytes) -> list[tuple[str, str, int, int]]:
    table = orjson.loads(body)
    return [
        (
            m["metric"],
            p["period"],
            p["numerator"],
            p["denominator"],
        )
        for m in table["metrics"]
        for p in m["periods"]
    ]


_live_checked: dict[str, float] = {}


async def run(env: BenchEnv, repeat: int) -> list[Figure]:
    uid = await manager(env.dsn())
    port = env.port("linli")
    first, last = month_before(date.today())
    one = f"/v1/communities/1/kpis?from={first}&to={last}&granularity=month"
    d_first, d_last = dashboard_range(date.today())
    dash = f"/v1/companies/1/kpis?from={d_first}&to={d_last}&granularity=month"
    s3 = await measure(
        env,
        "linli",
        "S3",
        lambda n: [Poster(port, [("GET", one, None, auth(uid))], 200) for _ in range(n)],
        4,
    )
    s4 = await measure(
        env,
        "linli",
        "S4",
        lambda n: [Poster(port, [("GET", dash, None, auth(uid))], 200) for _ in range(n)],
        4,
    )
    # The first request after a roll-up (or for a new range) is built, not reused: every request asks
    # for the metrics in an order not asked before, which is the same table under a new cache key.
    orders = [",".join(o) for o in itertools.islice(itertools.permutations(METRICS), 20_000)]
    cold = await measure(
        env,
        "linli",
        "S4 uncached",
        lambda n: [
            Poster(port, [("GET", f"{dash}&metrics={o}", None, auth(uid)) for o in orders[i::n]], 200)
            for i in range(n)
        ],
        4,
    )
    snapshot_sql = (
        "SELECT * FROM kpi_snapshot WHERE scope = 'community' AND scope_id = 1 "  # noqa: S608
        f"AND granularity = 'month' AND period_start = DATE '{first}'"
    )
    floor4 = await floor(env.dsn(), snapshot_sql, 4, env.duration, rows=None)
    figures = [
        Figure(
            "S3",
            "community-month KPI p99 ms @4",
            s3.pct(99),
            "ms",
            "asyncpg snapshot rows p99 @4",
            floor4.pct(99),
            "<=",
            8.0,
        ),
        Figure("S3", "community-month KPI p50 ms @4", s3.pct(50), "ms"),
        Figure("S4", "dashboard 50 × 24 months p99 ms @4", s4.pct(99), "ms", op="<=", limit=50.0),
        Figure("S4", "dashboard 50 × 24 months p50 ms @4", s4.pct(50), "ms"),
        Figure("S4", "dashboard, built (not reused) p99 ms @4", cold.pct(99), "ms"),
        Figure("S4", "dashboard, built (not reused) p50 ms @4", cold.pct(50), "ms"),
    ]
    if not _live_checked:
        client = RawClient("127.0.0.1", port)
        try:
            status, rolled = await client.request("GET", dash, None, auth(uid))
            expect(status, 200, rolled, dash)
            t0 = time.perf_counter()
            status, live = await client.request("GET", dash + "&live=true", None, auth(uid))
            expect(status, 200, live, dash + "&live=true")
            _live_checked["seconds"] = time.perf_counter() - t0
        finally:
            await client.close()
        a, b = figures_of(rolled), figures_of(live)
        _live_checked["differ"] = float(
            sum(1 for x, y in zip(a, b, strict=False) if x != y) + abs(len(a) - len(b))
        )
        _live_checked["cells"] = float(len(a))
    figures.append(
        Figure(
            "S4",
            "dashboard cells differing from live",
            _live_checked["differ"],
            "",
            "live computation (s)",
            _live_checked["seconds"],
            "<=",
            0,
            note=f"{_live_checked['cells']:.0f} cells compared",
        )
    )
    errors = s3.error_count + s4.error_count + cold.error_count
    figures.append(Figure("S3", "KPI errors", errors, "", op="<=", limit=0))
    return figures
