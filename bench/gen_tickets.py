"""Generate the tickets bench database: 1,000,000 tickets in 50 communities over 24 months.

    .venv/bin/python bench/gen_tickets.py [--tickets 1000000] [--force] [--db linli_bench_tickets]

PostgreSQL database `linli_bench_tickets` (created if missing; schema reset and migrated with
services.migrations.upgrade), filled with INSERT … SELECT generate_series on the server (no ORM rows):

- one property company (基准物业) managing all 50 communities under contract; 5 company-wide property
  managers and 200 technicians (company property_staff; tickets of a community go to "its" 4);
- per community 20 buildings × 100 households = 2,000 households (100,000 in all), each with one
  verified resident (user id = household id);
- tickets spread evenly over the 730 days before now (ids grow with created_at, as in production),
  on a uniformly random household of a community: 85 % repairs, 15 % complaints; priorities
  3 % urgent / 12 % high / 70 % normal / 15 % low with the 24x7 default SLA targets; histories whose
  timestamps follow the lifecycle (accept → assign → start → [pause] → resolve → close); statuses by
  age: older than 14 days 96 % closed, 3 % cancelled, 0.8 % rejected, 0.2 % forgotten open; the
  last two weeks have the open work (submitted, accepted, assigned, in progress, paused, resolved),
  part of it past its due time — the overdue list; sla_state says which SLA notices went out;
- ratings for 60 % of closed tickets (ticket_rating + rating_overall);
- ticket_event rows for every ticket of the last 60 days (create, accept, assign, start, pause,
  resolve, rate, close / cancel / reject).

Idempotent: the database comment records the size; a database already at that size is only
migrated (new migrations applied on top) and left alone. `--force` regenerates.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services import migrations

DB = "linli_bench_tickets"
COMMUNITIES = 50
BUILDINGS = 20  # per community
PER_BUILDING = 100  # households per building
HOUSEHOLDS = BUILDINGS * PER_BUILDING  # per community
MANAGERS = 5
TECHS_PER_COMMUNITY = 4
DAYS = 730
EVENT_DAYS = 60
CHUNK = 100_000
MARK = "linli bench tickets: n="


@dataclass(frozen=True)
class Layout:
    """Where the generated people are (ids are explicit, so the bench can address them directly)."""

    communities: int = COMMUNITIES
    households: int = COMMUNITIES * HOUSEHOLDS

    @property
    def staff0(self) -> int:
        return self.households + 1

    def manager(self, n: int = 0) -> int:
        return self.staff0 + n

    def technician(self, community: int, n: int = 0) -> int:
        return self.staff0 + MANAGERS + (community - 1) * TECHS_PER_COMMUNITY + n

    @property
    def users(self) -> int:
        return self.households + MANAGERS + self.communities * TECHS_PER_COMMUNITY

    def resident(self, community: int, household: int) -> int:
        """The verified resident of household number `household` (0-based) of a community."""
        return (community - 1) * HOUSEHOLDS + 1 + household


LAYOUT = Layout()


def pg_dsn(pg: str, db: str) -> str:
    return f"postgresql://{pg}/{db}"


def sa_url(pg: str, db: str) -> str:
    return f"postgresql+asyncpg://{pg}/{db}"


PLACES = [
    "INSERT INTO property_company (id, name, created_at) VALUES (1, '基准物业服务有限公司', now())",
    """INSERT INTO community (id, name, address, radius_m, time_zone, created_at)
       SELECT c, '基准小区' || c, '基准路 ' || c || ' 号', 300, 'Asia/Shanghai', now()
       FROM generate_series(1, {C}) c""",
    """INSERT INTO management_contract (company_id, community_id, starts_on, created_at)
       SELECT 1, c, DATE '2020-01-01', now() FROM generate_series(1, {C}) c""",
    """INSERT INTO building (id, community_id, name, floors, created_at)
       SELECT (c - 1) * {B} + b, c, b || '号楼', 6, now()
       FROM generate_series(1, {C}) c, generate_series(1, {B}) b""",
    """INSERT INTO household (id, community_id, building_id, entrance, room, area_m2, created_at)
       SELECT (c - 1) * {H} + i, c, (c - 1) * {B} + 1 + (i - 1) / {PB},
              (1 + ((i - 1) % {PB}) / 25) || '单元', lpad((1 + (i - 1) % {PB})::text, 3, '0'),
              45 + (i % 41), now()
       FROM generate_series(1, {C}) c, generate_series(1, {H}) i""",
    # Residents: user id = household id; staff after them.
    """INSERT INTO user_account (id, phone, name, locale, created_at)
       SELECT u, '+8613' || lpad(u::text, 9, '0'), '住户' || u, 'zh-CN', now()
       FROM generate_series(1, {NH}) u""",
    """INSERT INTO user_account (id, phone, name, locale, created_at)
       SELECT u, '+8615' || lpad(u::text, 9, '0'),
              CASE WHEN u < {S0} + {M} THEN '经理' ELSE '技工' END || u, 'zh-CN', now()
       FROM generate_series({S0}, {NU}) u""",
    """INSERT INTO membership (user_id, community_id, role, household_id, relation, status, verified_at, created_at)
       SELECT h.id, h.community_id, 'resident', h.id, 'owner', 'verified', now(), now() FROM household h""",
    """INSERT INTO membership (user_id, company_id, role, status, verified_at, created_at)
       SELECT u, 1, CASE WHEN u < {S0} + {M} THEN 'property_manager' ELSE 'property_staff' END,
              'verified', now(), now()
       FROM generate_series({S0}, {NU}) u""",
]

# One chunk of tickets g in [{lo}, {hi}]. Every timestamp is clamped to "now" and to its predecessor,
# so young tickets have short, consistent histories.
TICKETS = """
INSERT INTO ticket (id, community_id, building_id, household_id, kind, category, priority, status, title,
    description, complaint_target, intake_channel, reporter_id, created_by_id, assignee_id, version,
    response_minutes, resolution_minutes, response_due_at, resolution_due_at, response_warn_at,
    resolution_warn_at, escalate_at, sla_state, paused_at, pause_reason, paused_seconds,
    paused_working_minutes, resolution_elapsed_minutes, accepted_at, assigned_at, started_at, resolved_at,
    closed_at, resolution_note, complaint_valid, rating_overall, created_at, updated_at)
WITH base AS MATERIALIZED (
  SELECT g, 1 + g % {C} AS c, floor(random() * {H})::int AS hi,
         $1::timestamptz - interval '{DAYS} days' + (g::float8 / {N}) * interval '{DAYS} days' AS ca,
         random() AS rs, random() AS rk, random() AS rp, random() AS r1, random() AS r2, random() AS r3,
         random() AS r4
  FROM generate_series({lo}, {hi}) g
), b AS MATERIALIZED (
  SELECT *, CASE WHEN rk < 0.85 THEN 'repair' ELSE 'complaint' END AS kind,
         CASE WHEN rp < 0.03 THEN 'urgent' WHEN rp < 0.15 THEN 'high' WHEN rp < 0.85 THEN 'normal'
              ELSE 'low' END AS prio,
         extract(epoch FROM $1::timestamptz - ca) / 86400 AS age
  FROM base
), s AS MATERIALIZED (
  SELECT *,
    CASE prio WHEN 'urgent' THEN 30 WHEN 'high' THEN 120 WHEN 'normal' THEN 480 ELSE 1440 END AS resp,
    CASE prio WHEN 'urgent' THEN 240 WHEN 'high' THEN 1440 WHEN 'normal' THEN 2880 ELSE 4320 END AS res,
    CASE
      WHEN age > 14 THEN CASE WHEN rs < 0.960 THEN 'closed' WHEN rs < 0.990 THEN 'cancelled'
        WHEN rs < 0.998 THEN 'rejected' WHEN rs < 0.9990 THEN 'in_progress' WHEN rs < 0.9995 THEN 'paused'
        ELSE 'assigned' END
      WHEN age > 3 THEN CASE WHEN rs < 0.80 THEN 'closed' WHEN rs < 0.83 THEN 'cancelled'
        WHEN rs < 0.86 THEN 'rejected' WHEN rs < 0.87 THEN 'submitted' WHEN rs < 0.88 THEN 'accepted'
        WHEN rs < 0.91 THEN 'assigned' WHEN rs < 0.95 THEN 'in_progress' WHEN rs < 0.98 THEN 'paused'
        ELSE 'resolved' END
      WHEN age > 1 THEN CASE WHEN rs < 0.35 THEN 'closed' WHEN rs < 0.37 THEN 'cancelled'
        WHEN rs < 0.40 THEN 'rejected' WHEN rs < 0.43 THEN 'submitted' WHEN rs < 0.48 THEN 'accepted'
        WHEN rs < 0.60 THEN 'assigned' WHEN rs < 0.75 THEN 'in_progress' WHEN rs < 0.80 THEN 'paused'
        ELSE 'resolved' END
      ELSE CASE WHEN rs < 0.05 THEN 'closed' WHEN rs < 0.07 THEN 'cancelled' WHEN rs < 0.08 THEN 'rejected'
        WHEN rs < 0.33 THEN 'submitted' WHEN rs < 0.45 THEN 'accepted' WHEN rs < 0.65 THEN 'assigned'
        WHEN rs < 0.85 THEN 'in_progress' WHEN rs < 0.90 THEN 'paused' ELSE 'resolved' END
    END AS status
  FROM b
), f AS MATERIALIZED (  -- which steps the ticket went through
  SELECT *,
    status NOT IN ('submitted') AND NOT (status IN ('cancelled', 'rejected') AND r1 < 0.7) AS did_accept,
    status IN ('assigned', 'in_progress', 'paused', 'resolved', 'closed') AS did_assign,
    status IN ('in_progress', 'paused', 'resolved', 'closed') AS did_start,
    status IN ('resolved', 'closed') AS did_resolve
  FROM s
), t1 AS MATERIALIZED (
  SELECT *, CASE WHEN did_accept THEN greatest(ca, least(
      ca + CASE WHEN r1 < 0.95 THEN r1 * 0.9 * resp ELSE resp * (1 + r1) END * interval '1 minute',
      $1::timestamptz - interval '4 minutes')) END AS accepted_at
  FROM f
), t2 AS MATERIALIZED (
  SELECT *, CASE WHEN did_assign THEN greatest(accepted_at, least(
      accepted_at + (1 + r2 * 29) * interval '1 minute', $1::timestamptz - interval '3 minutes')) END AS assigned_at
  FROM t1
), t3 AS MATERIALIZED (
  SELECT *, CASE WHEN did_start THEN greatest(assigned_at, least(
      assigned_at + (10 + r3 * 350) * interval '1 minute', $1::timestamptz - interval '2 minutes')) END AS started_at
  FROM t2
), t4 AS MATERIALIZED (
  SELECT *,
    CASE WHEN did_resolve THEN greatest(started_at, least(
      started_at + res * (0.05 + 1.1 * r4 * r4) * interval '1 minute',
      $1::timestamptz - interval '1 minute')) END AS resolved_at,
    CASE WHEN status = 'paused' THEN greatest(started_at, least(
      started_at + res * 0.3 * r4 * interval '1 minute', $1::timestamptz - interval '1 minute')) END AS paused_at
  FROM t3
), t5 AS MATERIALIZED (
  SELECT *,
    CASE WHEN status = 'closed' THEN least(resolved_at + (60 + r1 * 4260) * interval '1 minute', $1::timestamptz)
         WHEN status IN ('cancelled', 'rejected') THEN least(coalesce(accepted_at, ca) + (5 + r2 * 120) * interval '1 minute', $1::timestamptz)
    END AS closed_at,
    ca + resp * interval '1 minute' AS response_due,
    ca + res * interval '1 minute' AS resolution_due,
    CASE WHEN status IN ('submitted', 'accepted', 'assigned', 'in_progress') THEN $1::timestamptz
         ELSE resolved_at END AS end_at,
    CASE WHEN kind = 'repair' THEN (ARRAY['plumbing', 'electrical', 'elevator', 'roof_leak', 'door_window',
           'public_facility', 'greening', 'sanitation', 'other'])[1 + floor(r3 * 9)::int]
         ELSE (ARRAY['property_service', 'neighbour', 'facility', 'other'])[1 + floor(r3 * 4)::int] END AS category,
    CASE WHEN kind = 'repair' THEN (ARRAY['厨房水管漏水', '楼道灯不亮', '电梯运行异响', '屋顶渗水', '窗户关不严',
           '健身器材损坏', '绿化带杂草丛生', '垃圾未及时清运', '其他报修'])[1 + floor(r3 * 9)::int]
         ELSE (ARRAY['物业服务态度差', '邻居装修噪音扰民', '消防通道被占用', '其他投诉'])[1 + floor(r3 * 4)::int] END AS title
  FROM t4
)
SELECT g, c, (c - 1) * {B} + 1 + hi / {PB}, (c - 1) * {H} + 1 + hi, kind, category, prio, status, title,
  title || '，请尽快处理。', CASE WHEN kind = 'complaint' THEN category END,
  CASE WHEN r2 < 0.92 THEN 'app' ELSE 'phone' END,
  (c - 1) * {H} + 1 + hi,
  CASE WHEN r2 < 0.92 THEN (c - 1) * {H} + 1 + hi ELSE {S0} + c % {M} END,
  CASE WHEN did_assign THEN {S0} + {M} + (c - 1) * {TPC} + floor(r2 * {TPC})::int END,
  1 + did_accept::int + did_assign::int + did_start::int + (paused_at IS NOT NULL)::int + did_resolve::int
    + (closed_at IS NOT NULL)::int,
  resp, res, response_due, resolution_due,
  ca + resp * 0.8 * interval '1 minute', ca + res * 0.8 * interval '1 minute',
  resolution_due + res * 0.5 * interval '1 minute',
  CASE WHEN coalesce(accepted_at, CASE WHEN status = 'submitted' THEN $1::timestamptz END) > response_due
       THEN 3 ELSE 0 END
  | CASE WHEN end_at > resolution_due THEN 12 WHEN end_at > ca + res * 0.8 * interval '1 minute' THEN 4 ELSE 0 END
  | CASE WHEN end_at > resolution_due + res * 0.5 * interval '1 minute' THEN 16 ELSE 0 END,
  paused_at,
  CASE WHEN paused_at IS NOT NULL THEN (ARRAY['resident_not_home', 'waiting_for_parts', 'needs_owner_consent',
       'needs_third_party', 'weather'])[1 + floor(r4 * 5)::int] END,
  0, 0, CASE WHEN paused_at IS NOT NULL THEN round((extract(epoch FROM paused_at - ca) / 60)::numeric, 3) END,
  accepted_at, assigned_at, started_at, resolved_at, closed_at,
  CASE WHEN did_resolve THEN '已处理，现场测试正常。' END,
  CASE WHEN kind = 'complaint' AND status IN ('closed', 'resolved', 'rejected') THEN r1 < 0.8 END,
  CASE WHEN status = 'closed' AND r3 < 0.6 THEN CASE WHEN r4 < 0.6 THEN 5 WHEN r4 < 0.85 THEN 4
       WHEN r4 < 0.93 THEN 3 WHEN r4 < 0.97 THEN 2 ELSE 1 END END,
  ca, coalesce(closed_at, resolved_at, paused_at, started_at, assigned_at, accepted_at, ca)
FROM t5
"""

RATINGS = """
INSERT INTO ticket_rating (ticket_id, community_id, user_id, overall, speed, attitude, comment, created_at, updated_at)
SELECT id, community_id, reporter_id, rating_overall, rating_overall, greatest(rating_overall, 3), '',
       closed_at - interval '1 minute', closed_at - interval '1 minute'
FROM ticket WHERE rating_overall IS NOT NULL
"""

EVENTS = """
INSERT INTO ticket_event (ticket_id, community_id, actor_id, action, from_status, to_status, reason, data, created_at)
SELECT t.id, t.community_id, e.actor, e.action, e.from_status, e.to_status, e.reason, e.data::json, e.at
FROM ticket t
CROSS JOIN LATERAL (VALUES
  (1, t.created_by_id, 'create', NULL, 'submitted', NULL,
      json_build_object('intake_channel', t.intake_channel, 'on_behalf', t.created_by_id <> t.reporter_id,
                        'policy_id', NULL)::text, t.created_at),
  (2, {S0} + t.community_id % {M}, 'accept', 'submitted', 'accepted', NULL, '{{}}', t.accepted_at),
  (3, {S0} + t.community_id % {M}, 'assign', 'accepted', 'assigned', NULL,
      json_build_object('assignee_id', t.assignee_id, 'previous_assignee_id', NULL, 'mode', 'assign')::text,
      t.assigned_at),
  (4, t.assignee_id, 'start', 'assigned', 'in_progress', NULL, '{{}}', t.started_at),
  (5, t.assignee_id, 'pause', 'in_progress', 'paused', t.pause_reason, '{{}}', t.paused_at),
  (6, t.assignee_id, 'resolve', 'in_progress', 'resolved', NULL,
      json_build_object('note', t.resolution_note, 'after_photos', json_build_array())::text, t.resolved_at),
  (7, t.reporter_id, 'rate', 'resolved', 'resolved', NULL,
      json_build_object('overall', t.rating_overall)::text,
      CASE WHEN t.rating_overall IS NOT NULL THEN t.closed_at - interval '1 minute' END),
  (8, t.reporter_id, 'close', 'resolved', 'closed', NULL, '{{"auto": false}}',
      CASE WHEN t.status = 'closed' THEN t.closed_at END),
  (9, t.reporter_id, 'cancel', CASE WHEN t.accepted_at IS NULL THEN 'submitted' ELSE 'accepted' END,
      'cancelled', NULL, '{{}}', CASE WHEN t.status = 'cancelled' THEN t.closed_at END),
  (10, {S0} + t.community_id % {M}, 'reject', CASE WHEN t.accepted_at IS NULL THEN 'submitted' ELSE 'accepted' END,
      'rejected', 'duplicate', '{{"note": ""}}', CASE WHEN t.status = 'rejected' THEN t.closed_at END)
) AS e(n, actor, action, from_status, to_status, reason, data, at)
WHERE t.created_at > $1::timestamptz - interval '{EVENT_DAYS} days' AND e.at IS NOT NULL
ORDER BY t.id, e.n
"""


def fill(sql: str, n: int, **extra: int) -> str:
    lay = LAYOUT
    return sql.format(
        C=lay.communities,
        B=BUILDINGS,
        PB=PER_BUILDING,
        H=HOUSEHOLDS,
        NH=lay.households,
        S0=lay.staff0,
        M=MANAGERS,
        TPC=TECHS_PER_COMMUNITY,
        NU=lay.users,
        N=n,
        DAYS=DAYS,
        EVENT_DAYS=EVENT_DAYS,
        **extra,
    )


async def marker(pg: str, db: str) -> str | None:
    """The database comment ("linli bench tickets: n=…"), or None when the database is missing."""
    admin = await asyncpg.connect(pg_dsn(pg, "postgres"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db)
        if not exists:
            return None
        comment: str | None = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", db
        )
        return comment or ""
    finally:
        await admin.close()


async def reset(pg: str, db: str) -> None:
    admin = await asyncpg.connect(pg_dsn(pg, "postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
            await admin.execute(f'CREATE DATABASE "{db}"')
        await admin.execute(f'COMMENT ON DATABASE "{db}" IS NULL')
    finally:
        await admin.close()
    conn = await asyncpg.connect(pg_dsn(pg, db))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


def say(text: str) -> None:
    print(text, flush=True)


async def generate(pg: str, db: str, n: int) -> dict[str, float]:
    """Reset, migrate and fill the database; returns seconds per phase."""
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    await reset(pg, db)
    await asyncio.to_thread(migrations.upgrade, sa_url(pg, db))
    times["migrate"] = time.perf_counter() - t0
    conn = await asyncpg.connect(pg_dsn(pg, db))
    try:
        await conn.execute("SET synchronous_commit = off")
        now = await conn.fetchval("SELECT now()")
        t0 = time.perf_counter()
        for stmt in PLACES:
            await conn.execute(fill(stmt, n))
        times["places and people"] = time.perf_counter() - t0
        say(
            f"  {LAYOUT.communities} communities, {LAYOUT.households:,} households and residents, "
            f"{MANAGERS} managers, {LAYOUT.communities * TECHS_PER_COMMUNITY} technicians: "
            f"{times['places and people']:.1f} s"
        )
        t0 = time.perf_counter()
        for lo in range(1, n + 1, CHUNK):
            hi = min(n, lo + CHUNK - 1)
            await conn.execute(fill(TICKETS, n, lo=lo, hi=hi), now)
            rate = hi / (time.perf_counter() - t0)
            say(f"  tickets {hi:>9,} / {n:,}  ({rate:,.0f}/s, {time.perf_counter() - t0:.0f} s)")
        times["tickets"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ratings = await conn.execute(RATINGS)
        times["ratings"] = time.perf_counter() - t0
        say(f"  ratings: {ratings.split()[-1]} rows, {times['ratings']:.1f} s")
        t0 = time.perf_counter()
        events = await conn.execute(fill(EVENTS, n), now)
        times["events"] = time.perf_counter() - t0
        say(
            f"  events (tickets of the last {EVENT_DAYS} days): {events.split()[-1]} rows, {times['events']:.1f} s"
        )
        for table in ("property_company", "community", "building", "household", "user_account", "ticket"):
            await conn.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")  # noqa: S608
        t0 = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        times["vacuum analyze"] = time.perf_counter() - t0
        say(f"  VACUUM ANALYZE: {times['vacuum analyze']:.1f} s")
        await conn.execute(f"COMMENT ON DATABASE \"{db}\" IS '{MARK}{n}'")
    finally:
        await conn.close()
    return times


async def ensure(pg: str, db: str, n: int, force: bool = False) -> dict[str, float] | None:
    """Generate unless the database is already at size n; returns the phase times, or None if kept."""
    mark = await marker(pg, db)
    if not force and mark == f"{MARK}{n}":
        say(f"{db}: already {n:,} tickets; migrating only")
        await asyncio.to_thread(migrations.upgrade, sa_url(pg, db))
        return None
    say(f"{db}: generating {n:,} tickets …")
    t0 = time.perf_counter()
    times = await generate(pg, db, n)
    times["total"] = time.perf_counter() - t0
    say(f"{db}: done in {times['total']:.0f} s")
    return times


async def summary(pg: str, db: str) -> list[tuple[str, int]]:
    conn = await asyncpg.connect(pg_dsn(pg, db))
    try:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM ticket GROUP BY status ORDER BY n DESC")
        return [(r["status"], int(r["n"])) for r in rows]
    finally:
        await conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--pg", default="postgres@127.0.0.1:5432", help="user[:password]@host:port")
    p.add_argument("--db", default=DB)
    p.add_argument("--force", action="store_true", help="regenerate even when already at size")
    args = p.parse_args()
    asyncio.run(ensure(args.pg, args.db, args.tickets, args.force))
    for status, count in asyncio.run(summary(args.pg, args.db)):
        say(f"  {status:<12} {count:>9,}")


if __name__ == "__main__":
    main()
