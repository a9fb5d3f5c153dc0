"""The standard bench data set: 50 communities (one of them a 10,000-household estate), 100,000
residents, ~120,000 push devices, 1,000,000 tickets over 24 months, inspections; on PostgreSQL, and
copied into a SQLite file on request.

    .venv/bin/python bench/gen_tickets.py [--tickets 1000000] [--db linli_bench_tickets] [--force]
                                          [--check] [--sqlite [PATH]] [--force-sqlite]

PostgreSQL database `linli_bench_tickets` (created if missing; schema reset and migrated with
services.migrations.upgrade), filled with INSERT … SELECT generate_series on the server (no ORM rows,
foreign-key triggers off and secondary indexes dropped during the load and rebuilt after; `--check`
verifies every foreign key afterwards):

- one property company (基准物业) managing all 50 communities under contract; 5 company-wide property
  managers and ~200 technicians (company property_staff; one per ~500 households, so each community's
  tickets go to "its" 2–20 technicians);
- community 1 is the big estate: 100 buildings × 100 = 10,000 households; the other 90,000 households
  are spread over communities 2–50 (12–25 buildings of 100 each); every household has one verified
  resident (user id = household id, ids contiguous per community: `Layout` addresses them);
- push devices: one per resident and per staff member, a second one for every fifth resident
  (~72 % android, 28 % ios; fake FCM tokens, unique, seen in the last 30 days);
- tickets spread evenly over the 730 days before now (ids grow with created_at, as in production),
  each on a uniformly random household, so a community's share follows its households: 85 %
  repairs, 15 % complaints; priorities 3 % urgent / 12 % high / 70 % normal / 15 % low with the 24x7
  default SLA targets; histories whose timestamps follow the lifecycle (accept → assign → start →
  [pause → resume] → resolve → [reopen → start → resolve] → close): 10 % of the resolved tickets were
  paused once on the way (the pause moves the resolution due time), 2 % were reopened by the resident
  and resolved again; 25 % of the closed ones were closed by the system 3 days after the resolve.
  Statuses by age: older than 14 days 96 % closed, 3 % cancelled, 0.8 % rejected, 0.2 % forgotten
  open; the last two weeks have the open work (submitted, accepted, assigned, in progress, paused,
  resolved), part of it past its due time — the overdue list; sla_state says which SLA notices went out;
- ratings for 60 % of closed tickets (ticket_rating + rating_overall; reopened tickets rate low), a
  return visit (ticket_followup) for every rating ≤ 2, done unless it is younger than 3 days;
- greening and sanitation inspections: each community weekly per kind and per 20 buildings, 10 items
  each, ~98 % passed; every failed item is linked to the repair ticket it opened (a ticket filed just
  after the inspection becomes that ticket: intake channel `inspection`, reported by the inspector);
- ticket_event rows for every ticket of the last 60 days (create, accept, assign, start, pause, resume,
  resolve, reopen, rate, close / cancel / reject), ids in time order as in production.

Idempotent: the database comment records the data set version, the size and the generation time;
a database already at that size is only migrated (new migrations applied on top) and left alone,
and `ensure()` still reports how long its generation took. `--force` regenerates.

`--sqlite` also builds the same data into a SQLite file (default var/bench/<db>.db), migrated with
services.migrations like the app's own database and filled table by table from PostgreSQL (chunks of
50,000 rows, one transaction each); its `bench_meta` table records the PostgreSQL marker it was
copied from and the copy time, so it is rebuilt only when the PostgreSQL data changed (or with
`--force-sqlite`).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services import migrations
from services.config import PROJECT_ROOT

DB = "linli_bench_tickets"
PG = "postgres@127.0.0.1:5432"
SQLITE_DIR = PROJECT_ROOT / "var" / "bench"
COMMUNITIES = 50
PER_BUILDING = 100  # households per building
ESTATE = 10_000  # households of community 1
HOUSEHOLDS = 100_000  # in all
MANAGERS = 5
HOUSEHOLDS_PER_TECH = 500
DAYS = 730
EVENT_DAYS = 60
CHUNK = 100_000  # tickets per INSERT … SELECT
SQLITE_CHUNK = 50_000  # rows per fetch / SQLite transaction
MARK = "linli bench dataset v2:"
INSPECTION_AREA = 20  # buildings per weekly inspection round
PAUSE_REASONS = (
    "ARRAY['resident_not_home', 'waiting_for_parts', 'needs_owner_consent', 'needs_third_party', 'weather']"
)


def _spread(buildings: int, communities: int) -> tuple[int, ...]:
    """12–25 buildings per community in a fixed pattern, nudged so they add up exactly."""
    counts = [12 + (k * 7) % 13 for k in range(communities)]
    k = 0
    while (diff := buildings - sum(counts)) != 0:
        counts[k % communities] += 1 if diff > 0 else -1
        k += 1
    return tuple(counts)


@dataclass(frozen=True)
class Layout:
    """Where the generated places and people are. Ids are explicit and contiguous, so the bench can
    address them directly: buildings and households are numbered community by community, a
    resident's user id is their household id, and the staff come after the residents (managers, then
    each community's technicians in community order)."""

    buildings: tuple[int, ...] = (
        ESTATE // PER_BUILDING,
        *_spread((HOUSEHOLDS - ESTATE) // PER_BUILDING, COMMUNITIES - 1),
    )

    @property
    def communities(self) -> int:
        return len(self.buildings)

    @property
    def households(self) -> int:
        return sum(self.buildings) * PER_BUILDING

    def first_building(self, community: int) -> int:
        return sum(self.buildings[: community - 1]) + 1

    def size(self, community: int) -> int:
        """Households (= verified residents) of a community."""
        return self.buildings[community - 1] * PER_BUILDING

    def household(self, community: int, household: int) -> int:
        """The id of household number `household` (0-based) of a community."""
        if not 0 <= household < self.size(community):
            raise IndexError(f"community {community} has {self.size(community)} households")
        return (self.first_building(community) - 1) * PER_BUILDING + 1 + household

    def resident(self, community: int, household: int) -> int:
        """The verified resident of household number `household` (0-based) of a community."""
        return self.household(community, household)

    def techs(self, community: int) -> int:
        """Technicians of a community (one per ~500 households, at least 2)."""
        return max(2, round(self.size(community) / HOUSEHOLDS_PER_TECH))

    @property
    def staff0(self) -> int:
        return self.households + 1

    def manager(self, n: int = 0) -> int:
        return self.staff0 + n

    def technician(self, community: int, n: int = 0) -> int:
        if not 0 <= n < self.techs(community):
            raise IndexError(f"community {community} has {self.techs(community)} technicians")
        return self.staff0 + MANAGERS + sum(self.techs(c) for c in range(1, community)) + n

    def technicians(self, community: int) -> list[int]:
        return [self.technician(community, n) for n in range(self.techs(community))]

    @property
    def staff(self) -> int:
        return MANAGERS + sum(self.techs(c) for c in range(1, self.communities + 1))

    @property
    def users(self) -> int:
        return self.households + self.staff

    def arrays(self) -> dict[str, list[int]]:
        """Per-community and per-building lookups for the SQL (1-based like the ids)."""
        cs = range(1, self.communities + 1)
        return {
            "building_community": [c for c in cs for _ in range(self.buildings[c - 1])],
            "buildings": list(self.buildings),
            "building0": [self.first_building(c) - 1 for c in cs],
            "tech0": [self.technician(c, 0) for c in cs],
            "techs": [self.techs(c) for c in cs],
        }


LAYOUT = Layout()


@dataclass
class Generated:
    """What ensure() / ensure_sqlite() found or did."""

    n: int
    seconds: float  # how long the generation took (now, or when the kept data was generated)
    reused: bool
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase (empty when reused)
    where: str = ""

    def note(self) -> str:
        what = f"generated in {self.seconds:.0f} s"
        return f"reused ({what})" if self.reused else what


def pg_dsn(pg: str, db: str) -> str:
    return f"postgresql://{pg}/{db}"


def sa_url(pg: str, db: str) -> str:
    return f"postgresql+asyncpg://{pg}/{db}"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def sqlite_path(db: str = DB) -> Path:
    return SQLITE_DIR / f"{db}.db"


# --------------------------------------------------------------------------- progress


def say(text: str) -> None:
    print(text, flush=True)


class Progress:
    """One line per step: redrawn in place (`\\r`) on a terminal, only the final line otherwise."""

    WIDTH = 24

    def __init__(self, label: str, total: int | None = None) -> None:
        self.label, self.total = label, total
        self.t0 = time.perf_counter()
        self.tty = sys.stdout.isatty()
        self.shown = 0

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def update(self, done: int) -> None:
        if self.tty:
            self._draw(done, "")

    def finish(self, done: int | None = None, note: str = "") -> float:
        self._draw(done, note, final=True)
        return self.elapsed

    def _draw(self, done: int | None, note: str, final: bool = False) -> None:
        elapsed = self.elapsed
        if self.total:
            frac = min(1.0, (done or 0) / self.total)
            bar = "#" * round(frac * self.WIDTH)
            counts = f"{done or 0:>11,} / {self.total:,}"
        else:
            bar = "#" * self.WIDTH if final else ""
            counts = f"{done:>11,}" if done is not None else ""
        rate = f"  {done / elapsed:>9,.0f}/s" if done and elapsed > 0.05 else ""
        line = f"  {self.label:<26} [{bar:<{self.WIDTH}}] {counts}{rate}  {elapsed:6.1f} s"
        if note:
            line += f"  {note}"
        pad = " " * max(0, self.shown - len(line))
        self.shown = len(line)
        sys.stdout.write(("\r" if self.tty else "") + line + pad + ("\n" if final else ""))
        sys.stdout.flush()


# --------------------------------------------------------------------------- SQL

T0 = "now() - interval '800 days'"  # when the places and people were registered

PLACES: list[tuple[str, str]] = [
    (
        "company",
        "INSERT INTO property_company (id, name, created_at) VALUES (1, '基准物业服务有限公司', {T0})",
    ),
    (
        "communities",
        """INSERT INTO community (id, name, address, radius_m, time_zone, created_at)
           SELECT c, CASE WHEN c = 1 THEN '基准城（大型社区）' ELSE '基准小区' || c END, '基准路 ' || c || ' 号',
                  CASE WHEN c = 1 THEN 900 ELSE 300 END, 'Asia/Shanghai', {T0}
           FROM generate_series(1, {C}) c""",
    ),
    (
        "contracts",
        """INSERT INTO management_contract (company_id, community_id, starts_on, created_at)
           SELECT 1, c, DATE '2020-01-01', {T0} FROM generate_series(1, {C}) c""",
    ),
    (
        "buildings",
        """INSERT INTO building (id, community_id, name, floors, created_at)
           SELECT b0 + b, c, b || '号楼', CASE WHEN c = 1 THEN 18 ELSE 6 + (b % 3) * 6 END, {T0}
           FROM unnest($1::int[], $2::int[]) WITH ORDINALITY AS u(nb, b0, c), generate_series(1, nb) b""",
    ),
    (
        "households",
        """INSERT INTO household (id, community_id, building_id, entrance, room, area_m2, created_at)
           SELECT (b.id - 1) * {PB} + i, b.community_id, b.id, (1 + (i - 1) / 25) || '单元',
                  lpad(i::text, 3, '0'), 45 + (i % 41), {T0}
           FROM building b, generate_series(1, {PB}) i""",
    ),
    # Residents: user id = household id; staff after them.
    (
        "residents",
        """INSERT INTO user_account (id, phone, name, locale, created_at)
           SELECT u, '+8613' || lpad(u::text, 9, '0'), '住户' || u, 'zh-CN', {T0}
           FROM generate_series(1, {NH}) u""",
    ),
    (
        "staff",
        """INSERT INTO user_account (id, phone, name, locale, created_at)
           SELECT u, '+8615' || lpad(u::text, 9, '0'),
                  CASE WHEN u < {S0} + {M} THEN '经理' ELSE '技工' END || u, 'zh-CN', {T0}
           FROM generate_series({S0}, {NU}) u""",
    ),
    (
        "resident memberships",
        """INSERT INTO membership (user_id, community_id, role, household_id, relation, status, verified_at, created_at)
           SELECT h.id, h.community_id, 'resident', h.id, 'owner', 'verified', {T0}, {T0}
           FROM household h ORDER BY h.id""",
    ),
    (
        "staff memberships",
        """INSERT INTO membership (user_id, company_id, role, status, verified_at, created_at)
           SELECT u, 1, CASE WHEN u < {S0} + {M} THEN 'property_manager' ELSE 'property_staff' END,
                  'verified', {T0}, {T0}
           FROM generate_series({S0}, {NU}) u""",
    ),
]

# One device per user, a second one for every fifth resident; tokens shaped like FCM's (~150 chars).
DEVICES = """
INSERT INTO device (user_id, token, provider, platform, app_version, created_at, last_seen_at)
SELECT u, 'bench' || lpad(u::text, 7, '0') || '-' || k || ':APA91b' || repeat(md5(u || '/' || k), 4), 'fcm',
       CASE WHEN r1 < 0.72 THEN 'android' ELSE 'ios' END,
       (ARRAY['3.2.0', '3.2.1', '3.3.0', '3.4.0', '3.4.1'])[1 + floor(r2 * 5)::int],
       now() - (30 + r3 * 670) * interval '1 day', now() - r4 * interval '30 days'
FROM (SELECT u, k, random() AS r1, random() AS r2, random() AS r3, random() AS r4
      FROM generate_series(1, {NU}) u CROSS JOIN generate_series(1, 2) k
      WHERE k = 1 OR (u <= {NH} AND u % 5 = 0)
      ORDER BY u, k) d
"""

HISTORY_TABLE = """
CREATE UNLOGGED TABLE bench_history (
  ticket_id bigint PRIMARY KEY, pause_at timestamptz, resume_at timestamptz, pause_reason text,
  resolved1_at timestamptz, reopen_at timestamptz, restart_at timestamptz)
"""

# Step offsets in minutes from creation; each step comes after the one before, so the clamped times
# below (at most "now minus k minutes", k shrinking along the chain, at least created_at) stay ordered.
# Written out as expressions (no intermediate CTEs: every materialized step costs a copy of the rows).
_AGE = "({DAYS} * (1 - g::float8 / {N}))"  # days before now
_DID_ACCEPT = "(status <> 'submitted' AND NOT (status IN ('cancelled', 'rejected') AND r1 < 0.7))"
_DID_ASSIGN = "status IN ('assigned', 'in_progress', 'paused', 'resolved', 'closed')"
_DID_START = "status IN ('in_progress', 'paused', 'resolved', 'closed')"
_DID_RESOLVE = "status IN ('resolved', 'closed')"
_HAD_PAUSE = f"({_DID_RESOLVE} AND r5 < 0.10)"  # paused once on the way, resumed
_REOPENED = f"({_DID_RESOLVE} AND r6 < 0.02)"  # reopened by the resident, resolved again
_WORK = "(res * (0.05 + 1.1 * r4 * r4))"
_PAUSE_LEN = "(30 + r8 * r8 * 2850)"
_ACC = "(CASE WHEN r1 < 0.95 THEN r1 * 0.9 * resp ELSE resp * (1 + r1) END)"
_ASG = f"({_ACC} + 1 + r2 * 29)"
_START = f"({_ASG} + 10 + r3 * 350)"
_HP = f"({_START} + {_WORK} * 0.5 * r7)"
_HR = f"({_HP} + {_PAUSE_LEN})"
_RES1 = f"({_START} + {_WORK} + CASE WHEN {_HAD_PAUSE} THEN {_PAUSE_LEN} ELSE 0 END)"
_REOPEN = f"({_RES1} + 20 + r9 * 2880)"
_RESTART = f"({_REOPEN} + 15 + r6 * 50 * 345)"  # r6 < 0.02 for reopened tickets: r6 * 50 is uniform
_RES = f"CASE WHEN {_REOPENED} THEN {_RESTART} + res * (0.02 + 0.3 * r8) ELSE {_RES1} END"
_PAUSED = f"({_START} + res * 0.3 * r4)"


def _at(offset: str, k: int) -> str:
    return (
        f"greatest(ca, least(ca + {offset} * interval '1 minute', $1::timestamptz - interval '{k} minutes'))"
    )


# One chunk of tickets g in [{lo}, {hi}]. $1 now, $2 community of each building, $3 first technician
# and $4 technicians of each community. Pauses and reopens on the way go to bench_history as well
# (for the events), then the ticket row as the app would have it now.
TICKETS = f"""
WITH rnd AS MATERIALIZED (
  SELECT g, 1 + floor(random() * {{NH}})::int AS hid,
         random() AS rs, random() AS rk, random() AS rp, random() AS r1, random() AS r2, random() AS r3,
         random() AS r4, random() AS r5, random() AS r6, random() AS r7, random() AS r8, random() AS r9,
         random() AS r10
  FROM generate_series({{lo}}, {{hi}}) g
), s AS MATERIALIZED (
  SELECT *, 1 + (hid - 1) / {{PB}} AS bid, ($2::int[])[1 + (hid - 1) / {{PB}}] AS c,
    $1::timestamptz - interval '{{DAYS}} days' + (g::float8 / {{N}}) * interval '{{DAYS}} days' AS ca,
    CASE WHEN rk < 0.85 THEN 'repair' ELSE 'complaint' END AS kind,
    CASE WHEN rp < 0.03 THEN 'urgent' WHEN rp < 0.15 THEN 'high' WHEN rp < 0.85 THEN 'normal' ELSE 'low' END AS prio,
    CASE WHEN rp < 0.03 THEN 30 WHEN rp < 0.15 THEN 120 WHEN rp < 0.85 THEN 480 ELSE 1440 END AS resp,
    CASE WHEN rp < 0.03 THEN 240 WHEN rp < 0.15 THEN 1440 WHEN rp < 0.85 THEN 2880 ELSE 4320 END AS res,
    CASE
      WHEN {_AGE} > 14 THEN CASE WHEN rs < 0.960 THEN 'closed' WHEN rs < 0.990 THEN 'cancelled'
        WHEN rs < 0.998 THEN 'rejected' WHEN rs < 0.9990 THEN 'in_progress' WHEN rs < 0.9995 THEN 'paused'
        ELSE 'assigned' END
      WHEN {_AGE} > 3 THEN CASE WHEN rs < 0.80 THEN 'closed' WHEN rs < 0.83 THEN 'cancelled'
        WHEN rs < 0.86 THEN 'rejected' WHEN rs < 0.87 THEN 'submitted' WHEN rs < 0.88 THEN 'accepted'
        WHEN rs < 0.91 THEN 'assigned' WHEN rs < 0.95 THEN 'in_progress' WHEN rs < 0.98 THEN 'paused'
        ELSE 'resolved' END
      WHEN {_AGE} > 1 THEN CASE WHEN rs < 0.35 THEN 'closed' WHEN rs < 0.37 THEN 'cancelled'
        WHEN rs < 0.40 THEN 'rejected' WHEN rs < 0.43 THEN 'submitted' WHEN rs < 0.48 THEN 'accepted'
        WHEN rs < 0.60 THEN 'assigned' WHEN rs < 0.75 THEN 'in_progress' WHEN rs < 0.80 THEN 'paused'
        ELSE 'resolved' END
      ELSE CASE WHEN rs < 0.05 THEN 'closed' WHEN rs < 0.07 THEN 'cancelled' WHEN rs < 0.08 THEN 'rejected'
        WHEN rs < 0.33 THEN 'submitted' WHEN rs < 0.45 THEN 'accepted' WHEN rs < 0.65 THEN 'assigned'
        WHEN rs < 0.85 THEN 'in_progress' WHEN rs < 0.90 THEN 'paused' ELSE 'resolved' END
    END AS status
  FROM rnd
), t AS MATERIALIZED (  -- when each step happened (NULL: the ticket did not get there)
  SELECT *,
    CASE WHEN {_DID_ACCEPT} THEN {_at(_ACC, 12)} END AS accepted_at,
    CASE WHEN {_DID_ASSIGN} THEN {_at(_ASG, 11)} END AS assigned_at,
    CASE WHEN {_DID_START} THEN {_at(_START, 10)} END AS started_at,
    CASE WHEN {_HAD_PAUSE} THEN {_at(_HP, 9)} END AS hp_at,
    CASE WHEN {_HAD_PAUSE} THEN {_at(_HR, 8)} END AS hr_at,
    CASE WHEN {_REOPENED} THEN {_at(_RES1, 7)} END AS resolved1_at,
    CASE WHEN {_REOPENED} THEN {_at(_REOPEN, 6)} END AS reopen_at,
    CASE WHEN {_REOPENED} THEN {_at(_RESTART, 5)} END AS restart_at,
    CASE WHEN {_DID_RESOLVE} THEN {_at(_RES, 4)} END AS resolved_at,
    CASE WHEN status = 'paused' THEN {_at(_PAUSED, 1)} END AS paused_at
  FROM s
), x AS MATERIALIZED (
  SELECT *,
    CASE WHEN status = 'closed' THEN
           CASE WHEN r10 >= 0.6 AND r10 < 0.85 AND resolved_at + interval '3 days' <= $1::timestamptz
                THEN resolved_at + interval '3 days'  -- closed by the system
                ELSE least(resolved_at + (10 + r1 * 4000) * interval '1 minute', $1::timestamptz) END
         WHEN status IN ('cancelled', 'rejected') THEN
           least(coalesce(accepted_at, ca) + (5 + r2 * 120) * interval '1 minute', $1::timestamptz)
    END AS closed_at,
    coalesce(extract(epoch FROM hr_at - hp_at), 0) AS pause_s,
    CASE WHEN status IN ('submitted', 'accepted', 'assigned', 'in_progress') THEN $1::timestamptz
         WHEN status = 'paused' THEN paused_at ELSE resolved_at END AS end_at,
    coalesce(accepted_at, CASE WHEN status = 'submitted' THEN $1::timestamptz END) AS answered_at,
    ca + resp * interval '1 minute' AS response_due,
    ca + res * interval '1 minute' + coalesce(hr_at - hp_at, interval '0') AS resolution_due,
    ca + res * 0.8 * interval '1 minute' + coalesce(hr_at - hp_at, interval '0') AS resolution_warn,
    CASE WHEN kind = 'repair' THEN (ARRAY['plumbing', 'electrical', 'elevator', 'roof_leak', 'door_window',
           'public_facility', 'greening', 'sanitation', 'other'])[1 + floor(r3 * 9)::int]
         ELSE (ARRAY['property_service', 'neighbour', 'facility', 'other'])[1 + floor(r3 * 4)::int] END AS category,
    CASE WHEN kind = 'repair' THEN (ARRAY['厨房水管漏水', '楼道灯不亮', '电梯运行异响', '屋顶渗水', '窗户关不严',
           '健身器材损坏', '绿化带杂草丛生', '垃圾未及时清运', '其他报修'])[1 + floor(r3 * 9)::int]
         ELSE (ARRAY['物业服务态度差', '邻居装修噪音扰民', '消防通道被占用', '其他投诉'])[1 + floor(r3 * 4)::int] END AS title
  FROM t
), hist AS (
  INSERT INTO bench_history (ticket_id, pause_at, resume_at, pause_reason, resolved1_at, reopen_at, restart_at)
  SELECT g, hp_at, hr_at, CASE WHEN hp_at IS NOT NULL THEN ({PAUSE_REASONS})[1 + floor(r7 * 5)::int] END,
         resolved1_at, reopen_at, restart_at
  FROM x WHERE hp_at IS NOT NULL OR reopen_at IS NOT NULL
)
INSERT INTO ticket (id, community_id, building_id, household_id, kind, category, priority, status, title,
    description, complaint_target, intake_channel, reporter_id, created_by_id, assignee_id, version,
    response_minutes, resolution_minutes, response_due_at, resolution_due_at, response_warn_at,
    resolution_warn_at, escalate_at, sla_state, paused_at, pause_reason, paused_seconds,
    paused_working_minutes, resolution_elapsed_minutes, accepted_at, assigned_at, started_at, resolved_at,
    closed_at, resolution_note, complaint_valid, rating_overall, created_at, updated_at)
SELECT g, c, bid, hid, kind, category, prio, status, title,
  title || '，请尽快处理。', CASE WHEN kind = 'complaint' THEN category END,
  CASE WHEN r2 < 0.92 THEN 'app' ELSE 'phone' END,
  hid,
  CASE WHEN r2 < 0.92 THEN hid ELSE {{S0}} + c % {{M}} END,
  CASE WHEN assigned_at IS NOT NULL THEN ($3::int[])[c] + floor(r2 * ($4::int[])[c])::int END,
  1 + (accepted_at IS NOT NULL)::int + (assigned_at IS NOT NULL)::int + (started_at IS NOT NULL)::int
    + (status = 'paused')::int + (resolved_at IS NOT NULL)::int + (closed_at IS NOT NULL)::int
    + 2 * (hp_at IS NOT NULL)::int + 3 * (reopen_at IS NOT NULL)::int,
  resp, res, response_due, resolution_due,
  ca + resp * 0.8 * interval '1 minute', resolution_warn,
  resolution_due + res * 0.5 * interval '1 minute',
  CASE WHEN answered_at > response_due THEN 3
       WHEN answered_at > ca + resp * 0.8 * interval '1 minute' THEN 1 ELSE 0 END
  | CASE WHEN end_at > resolution_due THEN 12 WHEN end_at > resolution_warn THEN 4 ELSE 0 END
  | CASE WHEN end_at > resolution_due + res * 0.5 * interval '1 minute' THEN 16 ELSE 0 END,
  paused_at,
  CASE WHEN paused_at IS NOT NULL THEN ({PAUSE_REASONS})[1 + floor(r4 * 5)::int] END,
  pause_s::int, round((pause_s / 60)::numeric, 3),
  CASE WHEN paused_at IS NOT NULL THEN round((extract(epoch FROM paused_at - ca) / 60)::numeric, 3) END,
  accepted_at, assigned_at, started_at, resolved_at, closed_at,
  CASE WHEN resolved_at IS NOT NULL THEN '已处理，现场测试正常。' END,
  CASE WHEN kind = 'complaint' AND status IN ('closed', 'resolved', 'rejected') THEN r1 < 0.8 END,
  CASE WHEN status = 'closed' AND r10 < 0.6 THEN
    CASE WHEN reopen_at IS NOT NULL THEN
           CASE WHEN r4 < 0.3 THEN 4 WHEN r4 < 0.6 THEN 3 WHEN r4 < 0.8 THEN 2 ELSE 1 END
         WHEN r4 < 0.6 THEN 5 WHEN r4 < 0.85 THEN 4 WHEN r4 < 0.93 THEN 3 WHEN r4 < 0.97 THEN 2 ELSE 1 END END,
  ca, coalesce(closed_at, resolved_at, paused_at, started_at, assigned_at, accepted_at, ca)
FROM x
"""  # noqa: S608  (constants)

# Inspections: per community, kind and week one round per 20 buildings (the estate has 5), on a
# weekday between 09:00 and 16:00 Beijing time; ids grow with inspected_at. $1 now, $2 buildings and
# $3 first building id - 1, $4 first technician and $5 technicians of each community.
INSPECTIONS = """
INSERT INTO inspection (id, community_id, kind, area, building_id, inspector_id, note, inspected_at, created_at)
SELECT row_number() OVER (ORDER BY at, c, kind, a), c, kind,
       (bid - b0) || CASE WHEN kind = 'greening' THEN '号楼周边绿地' ELSE '号楼楼道及垃圾分类点' END,
       bid, t0 + (w + a) % nt, '', at, at + interval '15 minutes'
FROM (
  SELECT cm.c::int AS c, cm.b0, cm.t0, cm.nt, k.kind, a, w,
         cm.b0 + 1 + (a * {AREA} + (w * 7) % {AREA}) % cm.nb AS bid,
         date_trunc('day', $1::timestamptz - interval '{DAYS} days') + (w * 7 + (cm.c + a) % 5 + k.d) * interval '1 day'
           + interval '1 hour' + ((cm.c * 37 + w * 13 + a * 7) % 420) * interval '1 minute' AS at
  FROM unnest($2::int[], $3::int[], $4::int[], $5::int[]) WITH ORDINALITY AS cm(nb, b0, t0, nt, c)
  CROSS JOIN (VALUES ('greening', 0), ('sanitation', 2)) AS k(kind, d)
  CROSS JOIN LATERAL generate_series(0, (cm.nb - 1) / {AREA}) a
  CROSS JOIN generate_series(0, {DAYS} / 7) w
) s
WHERE at < $1::timestamptz - interval '1 hour'
"""

INSPECTION_ITEMS = """
INSERT INTO inspection_item (inspection_id, community_id, kind, name, passed, note, created_at)
SELECT id, community_id, kind,
       CASE WHEN kind = 'greening' THEN (ARRAY['草坪修剪', '灌木整形', '病虫害', '补植', '浇灌', '清理落叶',
              '树木支撑', '花坛', '绿篱', '枯枝'])[k]
            ELSE (ARRAY['楼道清洁', '垃圾桶满溢', '分类投放', '积水', '小广告', '楼道堆物', '电梯轿厢',
              '地面油污', '消杀记录', '清运及时'])[k] END,
       passed, CASE WHEN passed THEN '' ELSE '现场检查不合格，需整改' END, created_at
FROM (SELECT i.id, i.community_id, i.kind, i.created_at, k, random() < 0.98 AS passed
      FROM inspection i CROSS JOIN generate_series(1, 10) k ORDER BY i.id, k) s
"""

FAILED_ITEMS = """
SELECT it.id AS item_id, it.name, i.id AS inspection_id, i.community_id, i.kind, i.area, i.building_id,
       i.inspector_id, i.created_at
FROM inspection_item it JOIN inspection i ON i.id = it.inspection_id
WHERE NOT it.passed ORDER BY i.community_id, i.created_at, it.id
"""

# The ticket a failed item opened: the first free normal-priority ticket of the community filed at or
# after the inspection was recorded becomes it (repair, category = the kind, reported by the inspector,
# no household; its SLA figures already fit a normal repair).
_ELIGIBLE = "priority = 'normal' AND status <> 'cancelled'"
LINK_CANDIDATES = f"""
SELECT f.k, ARRAY(SELECT id FROM ticket WHERE community_id = f.c AND id >= f.first AND {_ELIGIBLE}
                  ORDER BY id LIMIT 6) AS ids
FROM unnest($1::int[], $2::int[]) WITH ORDINALITY AS f(c, first, k)
ORDER BY f.k
"""  # noqa: S608  (constants)
LINK_ONE = f"SELECT min(id) FROM ticket WHERE community_id = $1 AND id >= $2 AND {_ELIGIBLE}"  # noqa: S608
LINK_TICKET = """
UPDATE ticket SET kind = 'repair', category = $2, complaint_target = NULL, complaint_valid = NULL,
       intake_channel = 'inspection', reporter_id = $3, created_by_id = $3, household_id = NULL,
       building_id = $4, title = $5, description = $6, rating_overall = NULL
WHERE id = $1
"""

RATINGS = """
INSERT INTO ticket_rating (ticket_id, community_id, user_id, overall, speed, attitude, comment, created_at, updated_at)
SELECT id, community_id, reporter_id, rating_overall, rating_overall, greatest(rating_overall, 3),
       CASE WHEN rating_overall <= 2 THEN '问题反复出现，处理不及时。' ELSE '' END,
       greatest(resolved_at, closed_at - interval '1 minute'), greatest(resolved_at, closed_at - interval '1 minute')
FROM ticket WHERE rating_overall IS NOT NULL ORDER BY id
"""

FOLLOWUPS = """
INSERT INTO ticket_followup (ticket_id, community_id, reason, status, note, done_by_id, done_at, created_at)
SELECT ticket_id, community_id, 'low_rating', CASE WHEN done THEN 'done' ELSE 'open' END,
       CASE WHEN done THEN '已电话回访，住户接受处理结果。' END,
       CASE WHEN done THEN {S0} + community_id % {M} END,
       CASE WHEN done THEN created_at + (120 + ticket_id % 2760) * interval '1 minute' END,
       created_at
FROM (SELECT r.*, r.created_at < $1::timestamptz - interval '3 days' AS done
      FROM ticket_rating r WHERE r.overall <= 2) f
ORDER BY ticket_id
"""

EVENTS = """
INSERT INTO ticket_event (ticket_id, community_id, actor_id, action, from_status, to_status, reason, data, created_at)
SELECT t.id, t.community_id, e.actor, e.action, e.from_status, e.to_status, e.reason, e.data::json, e.at
FROM ticket t
LEFT JOIN bench_history h ON h.ticket_id = t.id
CROSS JOIN LATERAL (SELECT t.status = 'closed' AND t.rating_overall IS NULL
                           AND t.closed_at = t.resolved_at + interval '3 days' AS auto) a
CROSS JOIN LATERAL (VALUES
  (1, t.created_by_id, 'create', NULL, 'submitted', NULL,
      json_build_object('intake_channel', t.intake_channel, 'on_behalf', t.created_by_id <> t.reporter_id,
                        'policy_id', NULL)::text, t.created_at),
  (2, {S0} + t.community_id % {M}, 'accept', 'submitted', 'accepted', NULL, '{{}}', t.accepted_at),
  (3, {S0} + t.community_id % {M}, 'assign', 'accepted', 'assigned', NULL,
      json_build_object('assignee_id', t.assignee_id, 'previous_assignee_id', NULL, 'mode', 'assign')::text,
      t.assigned_at),
  (4, t.assignee_id, 'start', 'assigned', 'in_progress', NULL, '{{}}', t.started_at),
  (5, t.assignee_id, 'pause', 'in_progress', 'paused', h.pause_reason,
      json_build_object('note', '', 'pause_reason', h.pause_reason)::text, h.pause_at),
  (6, t.assignee_id, 'resume', 'paused', 'in_progress', NULL, '{{}}', h.resume_at),
  (7, t.assignee_id, 'pause', 'in_progress', 'paused', t.pause_reason,
      json_build_object('note', '', 'pause_reason', t.pause_reason)::text, t.paused_at),
  (8, t.assignee_id, 'resolve', 'in_progress', 'resolved', NULL,
      json_build_object('note', '已处理，现场测试正常。', 'after_photos', json_build_array())::text,
      coalesce(h.resolved1_at, t.resolved_at)),
  (9, t.reporter_id, 'reopen', 'resolved', 'assigned', '问题没有解决，又出现了。',
      json_build_object('resolved_at', h.resolved1_at)::text, h.reopen_at),
  (10, t.assignee_id, 'start', 'assigned', 'in_progress', NULL, '{{}}', h.restart_at),
  (11, t.assignee_id, 'resolve', 'in_progress', 'resolved', NULL,
      json_build_object('note', t.resolution_note, 'after_photos', json_build_array())::text,
      CASE WHEN h.reopen_at IS NOT NULL THEN t.resolved_at END),
  (12, t.reporter_id, 'rate', 'resolved', 'resolved', NULL,
      json_build_object('overall', t.rating_overall, 'speed', t.rating_overall,
                        'attitude', greatest(t.rating_overall, 3))::text,
      CASE WHEN t.rating_overall IS NOT NULL THEN greatest(t.resolved_at, t.closed_at - interval '1 minute') END),
  (13, CASE WHEN a.auto THEN NULL ELSE t.reporter_id END, 'close', 'resolved', 'closed',
      CASE WHEN a.auto THEN 'auto_close' END, json_build_object('auto', a.auto)::text,
      CASE WHEN t.status = 'closed' THEN t.closed_at END),
  (14, t.reporter_id, 'cancel', CASE WHEN t.accepted_at IS NULL THEN 'submitted' ELSE 'accepted' END,
      'cancelled', NULL, '{{}}', CASE WHEN t.status = 'cancelled' THEN t.closed_at END),
  (15, {S0} + t.community_id % {M}, 'reject', CASE WHEN t.accepted_at IS NULL THEN 'submitted' ELSE 'accepted' END,
      'rejected', 'duplicate', '{{"note": ""}}', CASE WHEN t.status = 'rejected' THEN t.closed_at END)
) AS e(n, actor, action, from_status, to_status, reason, data, at)
WHERE t.created_at > $1::timestamptz - interval '{EVENT_DAYS} days' AND e.at IS NOT NULL
ORDER BY e.at, t.id, e.n
"""

SECONDARY_INDEXES = """
SELECT c.relname AS tbl, i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS ddl
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
WHERE c.relnamespace = 'public'::regnamespace AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname, name
"""

FOREIGN_KEYS = """
SELECT k.conrelid::regclass::text AS child, a.attname AS col, k.confrelid::regclass::text AS parent,
       pa.attname AS pcol
FROM pg_constraint k
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]
JOIN pg_class c ON c.oid = k.conrelid
WHERE k.contype = 'f' AND cardinality(k.conkey) = 1 AND k.connamespace = 'public'::regnamespace
  AND c.reltuples > 0
ORDER BY child, col
"""

KIND_ZH = {"greening": "绿化", "sanitation": "环境卫生"}


def fill(sql: str, n: int, **extra: Any) -> str:
    lay = LAYOUT
    return sql.format(
        C=lay.communities,
        PB=PER_BUILDING,
        NH=lay.households,
        S0=lay.staff0,
        M=MANAGERS,
        NU=lay.users,
        N=n,
        DAYS=DAYS,
        EVENT_DAYS=EVENT_DAYS,
        AREA=INSPECTION_AREA,
        T0=T0,
        **extra,
    )


def rows_of(status: str) -> int:
    """The row count of an asyncpg command status ("INSERT 0 123", "UPDATE 5")."""
    return int(status.split()[-1])


# --------------------------------------------------------------------------- PostgreSQL


def parse_mark(mark: str | None) -> tuple[int, float] | None:
    """(n, seconds) from a marker of this data set version, else None."""
    if not mark or not mark.startswith(MARK):
        return None
    found = re.search(r"\bn=(\d+) seconds=([\d.]+)", mark)
    return (int(found.group(1)), float(found.group(2))) if found else None


async def marker(pg: str, db: str) -> str | None:
    """The database comment (the data set marker), "" without one, None when the database is missing."""
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


async def link_inspection_tickets(conn: asyncpg.Connection, n: int, now: datetime) -> int:
    """Give every failed inspection item the ticket it opened; returns how many were linked."""
    start = now.timestamp() - DAYS * 86400
    failed = await conn.fetch(FAILED_ITEMS)
    firsts = [max(1, math.ceil((f["created_at"].timestamp() - start) / (DAYS * 86400) * n)) for f in failed]
    await conn.execute(f"CREATE INDEX bench_link ON ticket (community_id, id) WHERE {_ELIGIBLE}")
    candidates = await conn.fetch(LINK_CANDIDATES, [f["community_id"] for f in failed], firsts)
    last: dict[int, int] = {}
    tickets: list[tuple[Any, ...]] = []
    items: list[tuple[int, int]] = []
    for f, first, row in zip(failed, firsts, candidates, strict=True):
        c = int(f["community_id"])
        floor = max(first, last.get(c, 0) + 1)
        tid = next((t for t in row["ids"] if t >= floor), None)
        if tid is None:  # all candidates taken (or a small data set with no ticket after the inspection)
            tid = await conn.fetchval(LINK_ONE, c, floor)
            if tid is None:
                continue
        last[c] = tid
        title = f"巡查不合格：{f['area']} {f['name']}"[:100]
        note = f"{KIND_ZH[f['kind']]}巡查第 {f['inspection_id']} 号记录：{f['name']}不合格"
        tickets.append((tid, f["kind"], f["inspector_id"], f["building_id"], title, note))
        items.append((int(f["item_id"]), tid))
    await conn.execute("DROP INDEX bench_link")
    await conn.executemany(LINK_TICKET, tickets)
    await conn.executemany("UPDATE inspection_item SET ticket_id = $2 WHERE id = $1", items)
    return len(items)


async def check_foreign_keys(conn: asyncpg.Connection) -> None:
    """The load ran without foreign-key triggers: check every single-column key afterwards."""
    by_child: dict[str, list[tuple[str, str, str]]] = {}
    for r in await conn.fetch(FOREIGN_KEYS):
        by_child.setdefault(r["child"], []).append((r["col"], r["parent"], r["pcol"]))
    for child, keys in by_child.items():
        joins = " ".join(
            f"LEFT JOIN {parent} p{i} ON p{i}.{pcol} = x.{col}" for i, (col, parent, pcol) in enumerate(keys)
        )
        counts = ", ".join(
            f"count(*) FILTER (WHERE x.{col} IS NOT NULL AND p{i}.{pcol} IS NULL)"
            for i, (col, _parent, pcol) in enumerate(keys)
        )
        row = await conn.fetchrow(f"SELECT {counts} FROM {child} x {joins}")  # noqa: S608  (catalog names)
        bad = {keys[i][0]: v for i, v in enumerate(row) if v}
        if bad:
            raise RuntimeError(f"{child}: rows whose foreign key points nowhere: {bad}")


async def generate(pg: str, db: str, n: int, check: bool = False) -> dict[str, float]:
    """Reset, migrate and fill the database; returns seconds per phase. `check`: verify every
    foreign key afterwards (the load runs without their triggers)."""
    lay = LAYOUT
    arrays = lay.arrays()
    times: dict[str, float] = {}
    bar = Progress("migrate")
    await reset(pg, db)
    await asyncio.to_thread(migrations.upgrade, sa_url(pg, db))
    times["migrate"] = bar.finish()
    conn = await asyncpg.connect(pg_dsn(pg, db))
    try:
        await conn.execute(
            "SET synchronous_commit = off; SET session_replication_role = replica; SET TimeZone = 'UTC';"
            "SET work_mem = '256MB'; SET maintenance_work_mem = '512MB'; SET jit = off"
        )
        now: datetime = await conn.fetchval("SELECT now()")
        # Secondary indexes are built once at the end, not row by row (constraints stay).
        indexes = await conn.fetch(SECONDARY_INDEXES)
        for ix in indexes:
            await conn.execute(f"DROP INDEX {ix['name']}")

        bar = Progress("places and people", lay.users)
        for label, stmt in PLACES:
            args: list[Any] = [arrays["buildings"], arrays["building0"]] if label == "buildings" else []
            await conn.execute(fill(stmt, n), *args)
        times["places and people"] = bar.finish(
            lay.users, f"{lay.communities} communities, {lay.households:,} households, {lay.staff} staff"
        )

        bar = Progress("devices")
        devices = rows_of(await conn.execute(fill(DEVICES, n)))
        times["devices"] = bar.finish(devices)

        await conn.execute(HISTORY_TABLE)
        bar = Progress("tickets", n)
        args = [now, arrays["building_community"], arrays["tech0"], arrays["techs"]]
        for lo in range(1, n + 1, CHUNK):
            hi = min(n, lo + CHUNK - 1)
            await conn.execute(fill(TICKETS, n, lo=lo, hi=hi), *args)
            bar.update(hi)
        await conn.execute("ANALYZE ticket")
        times["tickets"] = bar.finish(n)

        bar = Progress("inspections")
        inspections = rows_of(
            await conn.execute(
                fill(INSPECTIONS, n),
                now,
                arrays["buildings"],
                arrays["building0"],
                arrays["tech0"],
                arrays["techs"],
            )
        )
        items = rows_of(await conn.execute(INSPECTION_ITEMS))
        linked = await link_inspection_tickets(conn, n, now)
        times["inspections"] = bar.finish(
            inspections, f"{items:,} items, {linked:,} failed, each linked to its ticket"
        )

        bar = Progress("ratings and return visits")
        ratings = rows_of(await conn.execute(RATINGS))
        followups = rows_of(await conn.execute(fill(FOLLOWUPS, n), now))
        times["ratings"] = bar.finish(ratings, f"{followups:,} return visits")

        bar = Progress(f"events (last {EVENT_DAYS} days)")
        events = rows_of(await conn.execute(fill(EVENTS, n), now))
        times["events"] = bar.finish(events)
        await conn.execute("DROP TABLE bench_history")

        bar = Progress("indexes", len(indexes))
        for k, ix in enumerate(indexes, 1):
            await conn.execute(ix["ddl"])
            bar.update(k)
        times["indexes"] = bar.finish(len(indexes))
        for table in (
            "property_company",
            "community",
            "building",
            "household",
            "user_account",
            "ticket",
            "inspection",
        ):
            await conn.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")  # noqa: S608

        bar = Progress("vacuum analyze")
        await conn.execute("VACUUM ANALYZE")
        times["vacuum analyze"] = bar.finish()
        if check:
            bar = Progress("foreign key check")
            await check_foreign_keys(conn)
            times["foreign key check"] = bar.finish()
    finally:
        await conn.close()
    return times


async def ensure(pg: str, db: str, n: int, force: bool = False, check: bool = False) -> Generated:
    """Generate unless the database already holds this data set at size n (then only migrate)."""
    mark = await marker(pg, db)
    found = parse_mark(mark)
    if not force and found is not None and found[0] == n:
        say(f"{db}: already {n:,} tickets (generated in {found[1]:.0f} s); migrating only")
        await asyncio.to_thread(migrations.upgrade, sa_url(pg, db))
        return Generated(n, found[1], True, where=db)
    say(f"{db}: generating {n:,} tickets …")
    t0 = time.perf_counter()
    phases = await generate(pg, db, n, check)
    total = time.perf_counter() - t0
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    admin = await asyncpg.connect(pg_dsn(pg, "postgres"))
    try:
        await admin.execute(f"COMMENT ON DATABASE \"{db}\" IS '{MARK} n={n} seconds={total:.1f} at={stamp}'")
    finally:
        await admin.close()
    say(f"{db}: done in {total:.0f} s")
    return Generated(n, total, False, phases, db)


async def summary(pg: str, db: str) -> list[tuple[str, int]]:
    conn = await asyncpg.connect(pg_dsn(pg, db))
    try:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM ticket GROUP BY status ORDER BY n DESC")
        return [(r["status"], int(r["n"])) for r in rows]
    finally:
        await conn.close()


# --------------------------------------------------------------------------- SQLite copy


def sqlite_meta(path: Path) -> dict[str, str]:
    """The bench_meta of a SQLite copy ({} when missing or unreadable)."""
    if not path.exists():
        return {}
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return dict(con.execute("SELECT key, value FROM bench_meta").fetchall())
        finally:
            con.close()
    except sqlite3.Error:
        return {}


def _unlink(path: Path, *suffixes: str) -> None:
    for suffix in suffixes:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _pg_expr(column: str, data_type: str) -> str:
    """A PostgreSQL column as SQLAlchemy stores it in SQLite: timestamps as naive UTC text
    "YYYY-MM-DD HH:MM:SS.ffffff" (microseconds always, so text order is time order), booleans 0/1,
    JSON as text. Formatted by the server: datetimes built and formatted in Python cost twice as much."""
    col = f'"{column}"'
    if data_type == "timestamp with time zone":
        return f"to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    if data_type == "timestamp without time zone":
        return f"to_char({col}, 'YYYY-MM-DD HH24:MI:SS.US')"
    if data_type == "date":
        return f"to_char({col}, 'YYYY-MM-DD')"
    if data_type.startswith("time"):
        return f"to_char({col}::interval, 'HH24:MI:SS.US')"
    if data_type == "boolean":
        return f"{col}::int"
    if data_type == "numeric":
        return f"{col}::float8"
    if data_type in ("json", "jsonb", "ARRAY", "USER-DEFINED", "uuid", "interval"):
        return f"{col}::text"
    return col


async def _copy_table(
    conns: Sequence[asyncpg.Connection],
    lite: sqlite3.Connection,
    table: str,
    select: str,
    insert: str,
    keyed: bool = True,
) -> int:
    """Copy one table in id ranges of SQLITE_CHUNK: the next ranges are fetched (one per connection,
    so the server formats them on as many cores) while this one is written, one transaction each."""

    def write(rows: Sequence[Any]) -> None:
        lite.execute("BEGIN")
        lite.executemany(insert, rows)
        lite.execute("COMMIT")

    total = int(await conns[0].fetchval(f'SELECT count(*) FROM "{table}"'))  # noqa: S608  (catalog name)
    if not keyed:  # small tables keyed otherwise (kpi_rollup_state: one row per community)
        rows = await conns[0].fetch(select)
        await asyncio.to_thread(write, rows)
        Progress(table, total).finish(len(rows))
        return len(rows)
    lo, hi = await conns[0].fetchrow(f'SELECT min(id), max(id) FROM "{table}"')  # noqa: S608
    starts = list(range(int(lo) - 1, int(hi), SQLITE_CHUNK))
    ranged = f"{select} WHERE id > $1 AND id <= $2 ORDER BY id"

    def fetch(k: int) -> asyncio.Task[list[asyncpg.Record]]:
        conn = conns[k % len(conns)]
        return asyncio.create_task(conn.fetch(ranged, starts[k], starts[k] + SQLITE_CHUNK))

    bar = Progress(table, total)
    pending = {k: fetch(k) for k in range(min(len(conns), len(starts)))}
    done = 0
    for k in range(len(starts)):
        rows = await pending.pop(k)
        if k + len(conns) < len(starts):
            pending[k + len(conns)] = fetch(k + len(conns))
        await asyncio.to_thread(write, rows)
        done += len(rows)
        bar.update(done)
    bar.finish(done)
    if done != total:
        raise RuntimeError(f"{table}: copied {done:,} rows of {total:,}")
    return done


async def build_sqlite(pg: str, db: str, path: Path, source_mark: str) -> dict[str, float]:
    """Migrate a fresh SQLite file and copy every non-empty table of the PostgreSQL data set into it."""
    times: dict[str, float] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    _unlink(part, "", "-wal", "-shm", "-journal")
    bar = Progress("migrate")
    await asyncio.to_thread(migrations.upgrade, sqlite_url(part))
    times["migrate"] = bar.finish()
    lite = sqlite3.connect(part, isolation_level=None, check_same_thread=False)
    conns = [await asyncpg.connect(pg_dsn(pg, db)) for _ in range(2)]
    try:
        # A throw-away file until it is complete: no journal, no fsync.
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "locking_mode=EXCLUSIVE",
            "foreign_keys=OFF",
            "temp_store=MEMORY",
            "cache_size=-262144",
            "threads=2",  # CREATE INDEX sorts with a helper thread
        ):
            lite.execute(f"PRAGMA {pragma}")
        indexes = lite.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
        ).fetchall()
        for name, _sql in indexes:
            lite.execute(f'DROP INDEX "{name}"')
        lite_tables = {
            name: {r[1] for r in lite.execute(f'PRAGMA table_info("{name}")')}
            for (name,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        t0 = time.perf_counter()
        conn = conns[0]
        tables = await conn.fetch(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' "
            "AND relname <> 'alembic_version' ORDER BY relname"
        )
        rows = 0
        for (table,) in tables:
            if table not in lite_tables:
                raise RuntimeError(f"{table}: not in the migrated SQLite schema")
            columns = [
                (r["column_name"], r["data_type"])
                for r in await conn.fetch(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                    table,
                )
                if r["column_name"] in lite_tables[table]
            ]
            if not await conn.fetchval(f'SELECT EXISTS (SELECT FROM "{table}")'):  # noqa: S608
                continue
            select = f'SELECT {", ".join(_pg_expr(c, t) for c, t in columns)} FROM "{table}"'  # noqa: S608
            names = ", ".join(f'"{c}"' for c, _t in columns)
            insert = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'  # noqa: S608
            keyed = any(c == "id" for c, _t in columns)
            rows += await _copy_table(conns, lite, table, select, insert, keyed)
        times["tables"] = time.perf_counter() - t0
        say(f"  {rows:,} rows in {times['tables']:.1f} s")
        bar = Progress("indexes", len(indexes))
        for k, (_name, sql) in enumerate(indexes, 1):
            await asyncio.to_thread(lite.execute, sql)
            bar.update(k)
        times["indexes"] = bar.finish(len(indexes))
        bar = Progress("analyze")
        lite.execute("PRAGMA analysis_limit = 1000")
        await asyncio.to_thread(lite.execute, "ANALYZE")
        times["analyze"] = bar.finish()
        lite.execute("CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        lite.executemany(
            "INSERT INTO bench_meta (key, value) VALUES (?, ?)",
            [("source", source_mark), ("database", db), ("built_at", datetime.now(UTC).isoformat())],
        )
    finally:
        for c in conns:
            await c.close()
        lite.close()
    return times


async def ensure_sqlite(
    path: Path | None,
    n: int,
    force: bool = False,
    *,
    pg: str = PG,
    db: str = DB,
    force_pg: bool = False,
    source: Generated | None = None,
) -> Generated:
    """The data set at size n in a SQLite file (default var/bench/<db>.db), copied from the PostgreSQL
    one (which ensure() generates first if needed; pass `source` when it was just ensured). Kept when
    it was copied from exactly the current PostgreSQL data (then only migrated); `force` rebuilds the
    copy, `force_pg` regenerates both."""
    path = path or sqlite_path(db)
    if source is None or force_pg:
        source = await ensure(pg, db, n, force_pg)
    mark = await marker(pg, db) or ""
    meta = sqlite_meta(path)
    if not force and meta.get("source") == mark and "seconds" in meta:
        seconds = float(meta["seconds"])
        say(f"{path}: already a copy of {db} at {n:,} tickets (copied in {seconds:.0f} s); migrating only")
        await asyncio.to_thread(migrations.upgrade, sqlite_url(path))
        return Generated(n, seconds, True, where=str(path))
    say(f"{path}: copying {db} ({source.note()}) …")
    t0 = time.perf_counter()
    phases = await build_sqlite(pg, db, path, mark)
    part = path.with_name(path.name + ".part")
    total = time.perf_counter() - t0
    lite = sqlite3.connect(part, isolation_level=None)
    try:
        lite.execute("INSERT INTO bench_meta (key, value) VALUES ('seconds', ?)", (f"{total:.1f}",))
        lite.execute("PRAGMA journal_mode=WAL")  # what the app uses (services.db sets it on connect too)
    finally:
        lite.close()
    _unlink(path, "-wal", "-shm", "-journal")
    os.replace(part, path)
    size = path.stat().st_size / 2**20
    say(f"{path}: done in {total:.0f} s, {size:,.0f} MiB")
    return Generated(n, total, False, phases, str(path))


# --------------------------------------------------------------------------- command line


async def _main(args: argparse.Namespace) -> None:
    source = await ensure(args.pg, args.db, args.tickets, args.force, args.check)
    for status, count in await summary(args.pg, args.db):
        say(f"  {status:<12} {count:>9,}")
    if args.sqlite is not None:
        path = Path(args.sqlite) if args.sqlite else None
        force = args.force or args.force_sqlite
        await ensure_sqlite(path, args.tickets, force, pg=args.pg, db=args.db, source=source)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--pg", default=PG, help="user[:password]@host:port")
    p.add_argument("--db", default=DB)
    p.add_argument("--force", action="store_true", help="regenerate even when already at size")
    p.add_argument(
        "--sqlite",
        nargs="?",
        const="",
        metavar="PATH",
        help="also build the SQLite copy (default var/bench/<db>.db)",
    )
    p.add_argument("--check", action="store_true", help="verify every foreign key after generating")
    p.add_argument("--force-sqlite", action="store_true", help="rebuild the SQLite copy even when current")
    asyncio.run(_main(p.parse_args()))


if __name__ == "__main__":
    main()
