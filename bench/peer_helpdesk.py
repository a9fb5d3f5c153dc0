"""The peer ticket system of the benchmark harness: django-helpdesk on the same PostgreSQL.

    .venv/bin/python bench/peer_helpdesk.py [--tickets 1000000] [--force] [--smoke] [--measure]
        [--users 4 64] [--seconds 3]

What and why: the tickets targets compare Linli with a widely used open-source ticket tracker run
the way it would be deployed: django-helpdesk (pinned, latest on PyPI) in its own virtualenv
(bench/.peer/venv, ignored by git) with our own small Django project (bench/peer/: settings, urls,
wsgi, manage.py, bench_setup.py), one gunicorn process pinned to one CPU, DEBUG off, persistent
database connections, the same number of tickets in the same PostgreSQL. This module never
imports Django: it drives the peer's virtualenv through subprocesses, so the harness (Linli's
.venv) can import it.

- ensure_venv(): the virtualenv, installed once (a stamp file records the pinned set);
- ensure_data(): database `linli_bench_peer` migrated, one staff superuser `bench`, 5 staff
  managers, 4 staff technicians per community, one Queue per community (50), then N tickets
  INSERT … SELECT generate_series on the server, spread like bench/gen_tickets.py's (each queue's share
  follows Linli's community sizes, so queue 1 is the estate's 10 % as community 1 is; 24 months, mostly closed, the open work in the last two weeks), follow-ups for the last 60 days, VACUUM
  ANALYZE; idempotent through the database comment;
- start(): gunicorn, one worker process, pinned with taskset, after (re)storing the bench user's
  fixed credentials (TOKEN, SESSION_KEYS); returns a PeerServer (a bench.common.Server whose pid
  is the gunicorn worker); READY_PATH for common.wait_ready;
- create_request(i) / list_request(page): the two measured requests (see their docstrings: routes,
  bodies, what the peer does with them), CREATE_STATUS / LIST_STATUS, and CreateUser / ListUser,
  virtual users for common.run_load; delete_created() trims what the creates added.

`--smoke` runs it all on 20,000 tickets (database linli_bench_peer_smoke): one create and one list
request printed, then 3 s of closed-loop load at 4 users for each. `--measure` does the same on
the full database at `--users` levels. Tickets the runs create are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    _RUNNING,
    ROOT,
    HttpError,
    RawClient,
    Result,
    Server,
    expect,
    fmt,
    free_port,
    pin_self,
    run_async,
    run_load,
    table,
    wait_quiet,
    wait_ready,
)
from bench.gen_tickets import PER_BUILDING, Layout
from bench.gen_tickets import marker as _marker  # the same database-comment marker
from bench.gen_tickets import reset as _reset

# --------------------------------------------------------------------------- constants

HELPDESK_VERSION = "2.6.1"
# What the peer needs on PostgreSQL under a production server; Django and DRF come in as
# django-helpdesk's own dependencies (latest releases that support this Python).
REQUIREMENTS = (f"django-helpdesk=={HELPDESK_VERSION}", "psycopg[binary]", "gunicorn")

BENCH = ROOT / "bench"
PROJECT = BENCH / "peer"  # our Django project (committed)
STATE = BENCH / ".peer"  # ignored by git: virtualenv, static, media
VENV = STATE / "venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".bench-installed.json"

PG = "postgres@127.0.0.1:5432"
DB = "linli_bench_peer"
SMOKE_DB = "linli_bench_peer_smoke"
MARK = "linli bench peer dataset v2:"  # v2: queues sized like Linli's communities

COMMUNITIES = 50  # one Queue each, as Linli's 50 communities
HOUSEHOLDS = 2_000  # per community (submitter e-mails)
TECHS_PER_COMMUNITY = 4
DAYS = 730
FOLLOWUP_DAYS = 60
CHUNK = 100_000

# django-helpdesk statuses (helpdesk.models.Ticket): 1 Open, 2 Reopened, 3 Resolved, 4 Closed,
# 5 Duplicate. "Open" in the staff list means 1 and 2 (its default ticket_list filter).
OPEN_STATUSES = (1, 2)

# Gunicorn, one process. gthread rather than sync: it keeps the clients' connections alive (sync
# answers `Connection: close`, a new TCP connection per request) and, above all, overlaps the waits
# on PostgreSQL, which dominate both requests (the create commits 5 times in autocommit, each an
# fsync; the list runs 3 statements over every ticket of the queue, then ~3 small ones per row).
# 4 threads: the list's database time is a few times its Python time, so 4 keep the process busy;
# more only add GIL contention (8 measured no better than 4, sync and 2 threads worse or equal).
WORKER_CLASS = "gthread"
THREADS = 4
READY_PATH = "/api/"  # DRF's API root: 200 without a login once Django is up

CREATE_PATH = "/api/tickets/"  # helpdesk.urls: DefaultRouter "tickets" → views.api.TicketViewSet
CREATE_STATUS = 201
LIST_PATH = "/datatables_ticket_list/"  # helpdesk.urls → views.staff.datatables_ticket_list
LIST_STATUS = 200

# Fixed credentials of the bench superuser, (re)stored by start(): the request builders need no
# running server, and a scenario in another process builds the same requests. A DRF token for the
# REST create (Linli's bench sends a bearer token too), and one logged-in session per virtual user
# for the staff list (a Django view behind login, as the staff UI uses it).
TOKEN = "linlibenchpeertoken" + "0" * 21  # DRF keys are 40 characters
SESSION_KEYS = tuple(f"linlibenchpeersession{n:011d}" for n in range(64))

Headers = tuple[tuple[str, str], ...]


def say(text: str) -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- virtualenv


def _peer_env(pg: str = PG, db: str = DB) -> dict[str, str]:
    """Environment of every peer process: our settings module and where the database is."""
    auth, _, hostport = pg.rpartition("@")
    user, _, password = auth.partition(":")
    host, _, port = hostport.partition(":")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(
        DJANGO_SETTINGS_MODULE="settings",
        PEER_DB_NAME=db,
        PEER_DB_USER=user or "postgres",
        PEER_DB_PASSWORD=password,
        PEER_DB_HOST=host or "127.0.0.1",
        PEER_DB_PORT=port or "5432",
        PEER_STATE_DIR=str(STATE),
        PYTHONDONTWRITEBYTECODE="1",
        VIRTUAL_ENV=str(VENV),
        PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def _peer(args: Sequence[str], pg: str = PG, db: str = DB) -> str:
    """Run the peer's Python (in bench/peer) and return its stdout; raise with its output on failure."""
    proc = subprocess.run(
        [str(VENV_PYTHON), *args],
        cwd=PROJECT,
        env=_peer_env(pg, db),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"peer {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def ensure_venv(force: bool = False) -> dict[str, str]:
    """Create bench/.peer/venv with the running Python and install REQUIREMENTS once; returns the
    installed versions (Django, django-helpdesk, djangorestframework, gunicorn, psycopg, python),
    also kept in the stamp file, which says the install is done when it lists the same pins."""
    if not force and STAMP.exists():
        with contextlib.suppress(ValueError, KeyError):
            stamp = json.loads(STAMP.read_text())
            if stamp["requirements"] == list(REQUIREMENTS) and VENV_PYTHON.exists():
                versions: dict[str, str] = stamp["versions"]
                return versions
    t0 = time.perf_counter()
    say(f"peer virtualenv: {VENV.relative_to(ROOT)} ({', '.join(REQUIREMENTS)}) …")
    if force and VENV.exists():
        shutil.rmtree(VENV)
    STATE.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *REQUIREMENTS], check=True)
    for sub in ("static", "media"):
        (STATE / sub).mkdir(exist_ok=True)
    versions = json.loads(_peer(["bench_setup.py", "versions"]))
    STAMP.write_text(json.dumps({"requirements": list(REQUIREMENTS), "versions": versions}, indent=2))
    say(f"peer virtualenv: done in {time.perf_counter() - t0:.0f} s: {versions_text(versions)}")
    return versions


def versions_text(versions: dict[str, str]) -> str:
    keys = ("django-helpdesk", "Django", "djangorestframework", "gunicorn", "psycopg", "python")
    return ", ".join(f"{k} {versions[k]}" for k in keys if k in versions)


# --------------------------------------------------------------------------- data

TICKETS = """
INSERT INTO helpdesk_ticket (id, title, created, modified, submitter_email, status, on_hold, description,
    resolution, priority, due_date, last_escalation, assigned_to_id, queue_id, secret_key, kbitem_id,
    merged_to_id)
WITH ids AS MATERIALIZED (
  SELECT (SELECT array_agg(id ORDER BY slug) FROM helpdesk_queue WHERE slug LIKE 'community-%') AS queues,
         (SELECT array_agg(id ORDER BY username) FROM auth_user WHERE username LIKE 'tech-%') AS techs
), base AS MATERIALIZED (
  -- The queue of a uniformly random household of Linli's layout (width_bucket over each community's
  -- first household): queue 1 holds the estate's 10 %, as Linli's community 1 does.
  SELECT g, width_bucket(random() * {HH}, ARRAY[{BOUNDS}]::float8[]) AS c, floor(random() * {H})::int AS hi,
         $1::timestamptz - interval '{DAYS} days' + (g::float8 / {N}) * interval '{DAYS} days' AS ca,
         random() AS rs, random() AS rk, random() AS rp, random() AS r1, random() AS r2, random() AS r3,
         random() AS r4
  FROM generate_series({lo}, {hi}) g
), s AS MATERIALIZED (
  SELECT *, extract(epoch FROM $1::timestamptz - ca) / 86400 AS age,
    CASE WHEN rp < 0.03 THEN 1 WHEN rp < 0.15 THEN 2 WHEN rp < 0.85 THEN 3 WHEN rp < 0.97 THEN 4 ELSE 5 END AS prio
  FROM base
), t AS MATERIALIZED (
  SELECT *,
    CASE
      WHEN age > 14 THEN CASE WHEN rs < 0.990 THEN 4 WHEN rs < 0.998 THEN 5 WHEN rs < 0.9995 THEN 1 ELSE 2 END
      WHEN age > 3 THEN CASE WHEN rs < 0.83 THEN 4 WHEN rs < 0.86 THEN 5 WHEN rs < 0.97 THEN 1
        WHEN rs < 0.98 THEN 2 ELSE 3 END
      WHEN age > 1 THEN CASE WHEN rs < 0.37 THEN 4 WHEN rs < 0.40 THEN 5 WHEN rs < 0.78 THEN 1
        WHEN rs < 0.80 THEN 2 ELSE 3 END
      ELSE CASE WHEN rs < 0.07 THEN 4 WHEN rs < 0.08 THEN 5 WHEN rs < 0.89 THEN 1 WHEN rs < 0.90 THEN 2
        ELSE 3 END
    END AS status,
    CASE prio WHEN 1 THEN 240 WHEN 2 THEN 1440 WHEN 3 THEN 2880 ELSE 4320 END AS res,
    CASE WHEN rk < 0.85 THEN (ARRAY['厨房水管漏水', '楼道灯不亮', '电梯运行异响', '屋顶渗水', '窗户关不严',
           '健身器材损坏', '绿化带杂草丛生', '垃圾未及时清运', '其他报修'])[1 + floor(r3 * 9)::int]
         ELSE (ARRAY['物业服务态度差', '邻居装修噪音扰民', '消防通道被占用', '其他投诉'])[1 + floor(r3 * 4)::int]
    END AS title
  FROM s
)
SELECT g, title, ca,
  least(ca + CASE WHEN status IN (3, 4, 5) THEN res * (0.05 + 1.5 * r1 * r1) ELSE 5 + r1 * 600 END
        * interval '1 minute', $1::timestamptz),
  'r' || ((c - 1) * {H} + 1 + hi) || '@residents.example.com',
  status, false, title || '，请尽快处理。',
  CASE WHEN status IN (3, 4) THEN '已处理，现场测试正常。' WHEN status = 5 THEN '重复报修，已在原工单处理。' END,
  prio, ca + res * interval '1 minute', NULL,
  CASE WHEN status IN (3, 4) OR (status IN (1, 2) AND r2 < 0.7)
       THEN ids.techs[(c - 1) * {TPC} + 1 + floor(r4 * {TPC})::int] END,
  ids.queues[c], gen_random_uuid()::text, NULL, NULL
FROM t, ids
"""

# What helpdesk writes along with a ticket: the "Ticket Opened" follow-up, and one more for the
# resolution / closing; for the tickets of the last FOLLOWUP_DAYS days (as gen_tickets' events).
FOLLOWUPS = """
INSERT INTO helpdesk_followup (ticket_id, date, title, comment, public, new_status, user_id, message_id,
    time_spent, email_recipients)
SELECT t.id, f.at, f.title, f.comment, true, f.new_status, f.user_id, NULL, NULL,
       json_build_array(t.submitter_email)::jsonb
FROM helpdesk_ticket t
CROSS JOIN LATERAL (VALUES
  (1, t.created, 'Ticket Opened', t.description, NULL::int, NULL::int),
  (2, CASE WHEN t.status IN (3, 4, 5) THEN t.modified END,
      CASE t.status WHEN 3 THEN 'Resolved' WHEN 4 THEN 'Closed' ELSE 'Closed (duplicate)' END,
      t.resolution, t.status, t.assigned_to_id)
) AS f(n, at, title, comment, new_status, user_id)
WHERE t.created > $1::timestamptz - interval '{FOLLOWUP_DAYS} days' AND f.at IS NOT NULL
ORDER BY t.id, f.n
"""


def _bounds() -> str:
    """Linli's first household index (0-based) of each community, in community order."""
    sizes = [b * PER_BUILDING for b in Layout().buildings]
    return ", ".join(str(sum(sizes[:k])) for k in range(len(sizes)))


def _fill(sql: str, n: int, **extra: int) -> str:
    return sql.format(
        HH=Layout().households,
        BOUNDS=_bounds(),
        C=COMMUNITIES,
        H=HOUSEHOLDS,
        TPC=TECHS_PER_COMMUNITY,
        DAYS=DAYS,
        FOLLOWUP_DAYS=FOLLOWUP_DAYS,
        N=n,
        **extra,
    )


def pg_dsn(pg: str, db: str) -> str:
    return f"postgresql://{pg}/{db}"


def _migrate(pg: str, db: str) -> float:
    t0 = time.perf_counter()
    _peer(["manage.py", "migrate", "--no-input", "-v", "0"], pg, db)
    return time.perf_counter() - t0


async def _generate(pg: str, db: str, n: int) -> dict[str, float]:
    times: dict[str, float] = {}
    await _reset(pg, db)
    times["migrate"] = await asyncio.to_thread(_migrate, pg, db)
    say(f"  migrate (django-helpdesk's migrations): {times['migrate']:.1f} s")
    t0 = time.perf_counter()
    people = json.loads(await asyncio.to_thread(_peer, ["bench_setup.py", "people"], pg, db))
    times["people and queues"] = time.perf_counter() - t0
    if people["queues"] != list(range(1, COMMUNITIES + 1)):
        raise RuntimeError(f"queue ids {people['queues'][:3]}…: create_request() expects 1..{COMMUNITIES}")
    say(
        f"  bench superuser, 5 managers, {len(people['techs'])} technicians (staff), "
        f"{len(people['queues'])} queues: {times['people and queues']:.1f} s"
    )
    conn = await asyncpg.connect(pg_dsn(pg, db))
    try:
        await conn.execute("SET synchronous_commit = off")
        now = await conn.fetchval("SELECT now()")
        t0 = time.perf_counter()
        for lo in range(1, n + 1, CHUNK):
            hi = min(n, lo + CHUNK - 1)
            await conn.execute(_fill(TICKETS, n, lo=lo, hi=hi), now)
            rate = hi / (time.perf_counter() - t0)
            say(f"  tickets {hi:>9,} / {n:,}  ({rate:,.0f}/s, {time.perf_counter() - t0:.0f} s)")
        times["tickets"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        followups = await conn.execute(_fill(FOLLOWUPS, n), now)
        times["followups"] = time.perf_counter() - t0
        say(
            f"  follow-ups (tickets of the last {FOLLOWUP_DAYS} days): {followups.split()[-1]} rows, "
            f"{times['followups']:.1f} s"
        )
        for table_name in ("helpdesk_ticket", "helpdesk_followup"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table_name}))"
            )
        t0 = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        times["vacuum analyze"] = time.perf_counter() - t0
        say(f"  VACUUM ANALYZE: {times['vacuum analyze']:.1f} s")
    finally:
        await conn.close()
    return times


def parse_mark(mark: str | None) -> tuple[int, float] | None:
    """(tickets, generation seconds) from this data set's database comment, else None."""
    if not mark or not mark.startswith(MARK):
        return None
    found = re.search(r"\bn=(\d+) seconds=([\d.]+)", mark)
    return (int(found.group(1)), float(found.group(2))) if found else None


async def ensure_data_async(
    pg: str = PG, db: str = DB, tickets: int = 1_000_000, force: bool = False
) -> dict[str, float]:
    """ensure_data() for callers already in an event loop."""
    await asyncio.to_thread(ensure_venv)
    found = parse_mark(await _marker(pg, db))
    if not force and found is not None and found[0] == tickets:
        say(f"{db}: already {tickets:,} tickets (generated in {found[1]:.0f} s); migrating only")
        migrate = await asyncio.to_thread(_migrate, pg, db)
        return {"tickets": tickets, "seconds": found[1], "reused": 1.0, "migrate": migrate}
    say(f"{db}: generating {tickets:,} django-helpdesk tickets …")
    t0 = time.perf_counter()
    times = await _generate(pg, db, tickets)
    total = time.perf_counter() - t0
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    admin = await asyncpg.connect(pg_dsn(pg, "postgres"))
    try:
        await admin.execute(
            f"COMMENT ON DATABASE \"{db}\" IS '{MARK} n={tickets} seconds={total:.1f} at={stamp}'"
        )
    finally:
        await admin.close()
    say(f"{db}: done in {total:.0f} s")
    # (times has a "tickets" phase too: the count must win)
    return {**times, "tickets": tickets, "seconds": total, "reused": 0.0}


def ensure_data(
    pg: str = PG, db: str = DB, tickets: int = 1_000_000, force: bool = False
) -> dict[str, float]:
    """Create (if missing), migrate and fill the peer database with `tickets` tickets. Returns
    {"tickets", "seconds" (the generation's, now or when the kept data was generated), "reused"
    (1.0 when kept), "migrate"} plus, when generated now, seconds per phase ("people and queues",
    "tickets", "followups", "vacuum analyze"). A database whose comment says it already holds that
    many tickets is only migrated; `force` regenerates."""
    result: dict[str, float] = asyncio.run(ensure_data_async(pg, db, tickets, force))
    return result


def data_note(loaded: dict[str, float]) -> str:
    """One line for the report, from ensure_data()'s answer."""
    what = f"{int(loaded['tickets']):,} tickets, generated in {loaded['seconds']:.0f} s"
    return f"{what} (reused)" if loaded.get("reused") else what


async def summary(pg: str = PG, db: str = DB) -> list[tuple[int, int]]:
    """(status, tickets) of the peer database, most frequent first."""
    conn = await asyncpg.connect(pg_dsn(pg, db))
    try:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM helpdesk_ticket GROUP BY 1 ORDER BY 2 DESC"
        )
        return [(int(r["status"]), int(r["n"])) for r in rows]
    finally:
        await conn.close()


async def last_ticket_id(pg: str = PG, db: str = DB) -> int:
    conn = await asyncpg.connect(pg_dsn(pg, db))
    try:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM helpdesk_ticket"))
    finally:
        await conn.close()


async def delete_created(before: int, pg: str = PG, db: str = DB) -> int:
    """Delete the tickets (and what hangs off them) with ids above `before`: a bench run leaves the
    database at its generated size."""
    conn = await asyncpg.connect(pg_dsn(pg, db))
    try:
        async with conn.transaction():
            fu = "SELECT id FROM helpdesk_followup WHERE ticket_id > $1"
            await conn.execute(f"DELETE FROM helpdesk_ticketchange WHERE followup_id IN ({fu})", before)  # noqa: S608
            await conn.execute(f"DELETE FROM helpdesk_followupattachment WHERE followup_id IN ({fu})", before)  # noqa: S608
            for name in ("helpdesk_followup", "helpdesk_ticketcc", "helpdesk_ticketcustomfieldvalue"):
                await conn.execute(f"DELETE FROM {name} WHERE ticket_id > $1", before)  # noqa: S608
            status = await conn.execute("DELETE FROM helpdesk_ticket WHERE id > $1", before)
        for name in ("helpdesk_ticket", "helpdesk_followup"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"  # noqa: S608
            )
        return int(status.split()[-1])
    finally:
        await conn.close()


# --------------------------------------------------------------------------- server


@dataclass
class PeerServer(Server):
    """A common.Server for the peer's gunicorn, with the installed versions. `pid` is the gunicorn
    *worker* (the process that serves; the master only supervises it), so common.run_load(
    server_pid=server.pid) accounts the right CPU; stop() still ends the whole process group."""

    versions: dict[str, str] = field(default_factory=dict)
    worker: int | None = None

    @property
    def pid(self) -> int:
        if self.worker is None or not Path(f"/proc/{self.worker}").exists():
            self.worker = _child_of(self.proc.pid)
        return self.worker or self.proc.pid


def _child_of(pid: int) -> int | None:
    """The (first) child process of `pid`: gunicorn's worker under its master."""
    with contextlib.suppress(OSError, ValueError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if children:
            return int(children[0])
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry.name}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    return int(entry.name)
    return None


def refresh_credentials(pg: str = PG, db: str = DB) -> None:
    """(Re)store TOKEN as the bench user's DRF token and SESSION_KEYS as its logged-in sessions
    (two weeks from now), through the peer's own models."""
    keys = ",".join(SESSION_KEYS)
    _peer(["bench_setup.py", "credentials", "--token", TOKEN, "--sessions", keys], pg, db)


def start(
    log_dir: Path,
    cpu: int | None = 0,
    *,
    pg: str = PG,
    db: str = DB,
    worker_class: str = WORKER_CLASS,
    threads: int = THREADS,
) -> PeerServer:
    """Start the peer: gunicorn with ONE worker process (`worker_class`, `threads` threads for
    gthread), DEBUG off, no access log, keep-alive 120 s, pinned to `cpu` with taskset when it
    exists; the credentials are refreshed first. Log: log_dir/peer-helpdesk.log. Then await
    common.wait_ready(server, READY_PATH) (or use start_ready())."""
    versions = ensure_venv()
    refresh_credentials(pg, db)
    port = free_port()
    cmd = [str(VENV / "bin" / "gunicorn"), "wsgi:application", "--chdir", str(PROJECT)]
    cmd += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", worker_class]
    if worker_class == "gthread":
        cmd += ["--threads", str(threads)]
    cmd += ["--keep-alive", "120", "--backlog", "2048", "--timeout", "120", "--log-level", "warning"]
    cmd += ["--no-control-socket"]
    if cpu is not None and shutil.which("taskset") and (os.cpu_count() or 1) > cpu:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    log_path = log_dir / "peer-helpdesk.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=PROJECT,
            env=_peer_env(pg, db),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = PeerServer("peer-helpdesk", port, proc, log_path, versions=versions)
    _RUNNING.append(server)
    return server


async def start_ready(log_dir: Path, cpu: int | None = 0, **kwargs: Any) -> PeerServer:
    """start(), then wait until it answers."""
    server = await asyncio.to_thread(start, log_dir, cpu, **kwargs)
    await wait_ready(server, READY_PATH, within=60)
    _ = server.pid  # find the worker now
    return server


# --------------------------------------------------------------------------- requests


def create_request(i: int, *, queue: int | None = None) -> tuple[str, str, bytes, Headers]:
    """POST /api/tickets/ (helpdesk.views.api.TicketViewSet.create: IsAdminUser, DRF token) with
    the fields of Linli's S1 filing: title, description, queue (the community; default 1 + i % 50),
    priority, submitter_email (a resident, by i). TicketSerializer.create() hands it to helpdesk's
    TicketForm.save(): the ticket, its "Ticket Opened" follow-up, the notification e-mail to the
    submitter rendered from its EmailTemplate (the dummy backend drops it). Answer: 201."""
    body = {
        "queue": 1 + i % COMMUNITIES if queue is None else queue,
        "title": "卫生间水管漏水",
        "description": "洗手池下方水管接头滴水，请尽快处理。",
        "priority": 3,
        "submitter_email": f"r{1 + i % (COMMUNITIES * HOUSEHOLDS)}@residents.example.com",
    }
    headers = (("Authorization", f"Token {TOKEN}"), ("Accept", "application/json"))
    return "POST", CREATE_PATH, json.dumps(body, ensure_ascii=False).encode(), headers


def list_query(queue: int, statuses: Sequence[int] = OPEN_STATUSES) -> str:
    """The base64 query of helpdesk's staff ticket list, built as views.staff.ticket_list builds it
    (query.query_to_base64 of its query_params) for /tickets/?queue=Q&status=1&status=2
    &sort=created&sortreverse=on: one queue, the given statuses, newest first."""
    params = {
        "filtering": {"queue__id__in": [queue], "status__in": list(statuses)},
        "filtering_null": {},
        "sorting": "created",
        "sortreverse": "on",
        "search_string": "",
    }
    return base64.b64encode(json.dumps(params).encode()).decode("ascii")


def list_request(
    page: int,
    page_size: int = 20,
    *,
    user: int = 0,
    queue: int = 1,
    statuses: Sequence[int] = OPEN_STATUSES,
) -> tuple[str, str, Headers]:
    """GET /datatables_ticket_list/<base64 query>?draw=…&start=…&length=…&order[0][column]=5
    &order[0][dir]=desc: the JSON that the staff ticket list page (/tickets/) fetches through
    DataTables, as the logged-in staff user (session cookie SESSION_KEYS[user]): page `page`
    (1-based) of `page_size` tickets of one queue (community) in the open statuses (Open, Reopened),
    newest first — Linli's S2 (a community, a status filter, newest first, 20 rows). Answer: 200.

    It paginates in the database. Read in django-helpdesk 2.6.1: views/staff.py
    datatables_ticket_list() → query.py __Query__.get_datatables_context(): the queryset of
    __run__() (filter, order_by, distinct(), select_related() of the non-null FKs, i.e. the queue)
    annotated with a last_followup subquery; queryset.count() twice (recordsTotal and
    recordsFiltered, each a COUNT(*) over the whole filtered DISTINCT set); then
    queryset.order_by("-created")[start:start + length], one LIMIT/OFFSET query, serialized by
    serializers.DatatablesTicketSerializer. Per row that serializer adds queries of its own:
    get_status → Ticket.can_be_resolved (open dependencies), get_time_spent → Ticket.time_spent (a
    SUM over the follow-ups), get_assigned_to → obj.assigned_to (a nullable FK select_related()
    does not follow): ~55 statements for a page of 20. helpdesk_ticket has no index on status or
    created, so each of the three big statements reads every ticket of the queue."""
    query = urlencode(
        {
            "draw": page,
            "start": (page - 1) * page_size,
            "length": page_size,
            "order[0][column]": 5,  # query.DATATABLES_ORDER_COLUMN_CHOICES: "5" = created
            "order[0][dir]": "desc",
            "search[value]": "",
            "search[regex]": "false",
        }
    )
    headers = (
        ("Cookie", f"sessionid={SESSION_KEYS[user % len(SESSION_KEYS)]}"),
        ("Accept", "application/json"),
        ("X-Requested-With", "XMLHttpRequest"),
    )
    return "GET", f"{LIST_PATH}{list_query(queue, statuses)}?{query}", headers


# --------------------------------------------------------------------------- virtual users


class CreateUser:
    """Virtual user n of `users`: files tickets through the REST API one after the other (201)."""

    def __init__(self, port: int, n: int, users: int) -> None:
        self.client = RawClient("127.0.0.1", port)
        self.counter = itertools.count(n, users)

    async def op(self) -> None:
        method, path, body, headers = create_request(next(self.counter))
        status, data = await self.client.request(method, path, body, headers)
        expect(status, CREATE_STATUS, data, "create")

    async def close(self) -> None:
        await self.client.close()


class ListUser:
    """Virtual user n: GETs page `page` of the open tickets of one community after the other (its
    own session), starting at community 1 + n % 50."""

    def __init__(self, port: int, n: int, page: int = 1, require_rows: bool = True) -> None:
        self.client = RawClient("127.0.0.1", port)
        order = [1 + (n + k) % COMMUNITIES for k in range(COMMUNITIES)]
        self.requests = itertools.cycle([list_request(page, user=n, queue=q) for q in order])
        self.require_rows = require_rows

    async def op(self) -> None:
        method, path, headers = next(self.requests)
        status, data = await self.client.request(method, path, None, headers)
        expect(status, LIST_STATUS, data, "list")
        if self.require_rows and data.startswith(b'{"data": []'):
            raise HttpError("empty page")

    async def close(self) -> None:
        await self.client.close()


# --------------------------------------------------------------------------- script


async def _show(port: int) -> None:
    client = RawClient("127.0.0.1", port)
    try:
        method, path, body, headers = create_request(0)
        status, data = await client.request(method, path, body, headers)
        say(f"  {method} {path} → {status}: {data[:300].decode(errors='replace')}")
        expect(status, CREATE_STATUS, data, "create")
        method, path, headers = list_request(1)
        status, data = await client.request(method, path, None, headers)
        say(f"  {method} {path} → {status}: {data[:400].decode(errors='replace')}")
        expect(status, LIST_STATUS, data, "list")
        page = json.loads(data)
        say(f"    recordsFiltered {page['recordsFiltered']}, rows {len(page['data'])}")
    finally:
        await client.close()


async def _measure(
    pg: str, db: str, levels: Sequence[int], seconds: float, smoke: bool, worker_class: str, threads: int
) -> list[Result]:
    pin_self(1)
    before = await last_ticket_id(pg, db)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="peer-helpdesk-") as tmp:
        server = await start_ready(Path(tmp), 0, pg=pg, db=db, worker_class=worker_class, threads=threads)
        try:
            how = f" ({threads} threads)" if worker_class == "gthread" else ""
            say(f"peer: gunicorn 1 × {worker_class}{how}, port {server.port}, worker pid {server.pid}")
            await _show(server.port)
            for users in levels:
                await wait_quiet(within=30)
                creators = [CreateUser(server.port, k, users) for k in range(users)]
                results.append(
                    await run_load(
                        f"peer create ×{users}", creators, duration=seconds, warmup=1.0, server_pid=server.pid
                    )
                )
                await wait_quiet(within=30)
                listers = [ListUser(server.port, k, require_rows=not smoke) for k in range(users)]
                results.append(
                    await run_load(
                        f"peer list ×{users}", listers, duration=seconds, warmup=1.0, server_pid=server.pid
                    )
                )
        finally:
            server.stop()
            deleted = await delete_created(before, pg, db)
            say(f"  deleted the {deleted:,} tickets the run created")
    rows = [
        [
            r.scenario,
            fmt(r.rate),
            fmt(r.pct(50), 2),
            fmt(r.pct(99), 2),
            r.cpu_text,
            str(r.error_count) + (f" {dict(r.errors)}" if r.errors else ""),
        ]
        for r in results
    ]
    say(table(["scenario", "req/s", "p50 ms", "p99 ms", "CPU srv/gen/db/other %", "errors"], rows))
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tickets", type=int, default=None, help="default 1,000,000 (20,000 with --smoke)")
    p.add_argument("--pg", default=PG, help="user[:password]@host:port")
    p.add_argument("--db", default=None, help=f"default {DB} ({SMOKE_DB} with --smoke)")
    p.add_argument("--force", action="store_true", help="regenerate even when already at size")
    p.add_argument("--smoke", action="store_true", help="small data set, show the requests, 4 users × 3 s")
    p.add_argument("--measure", action="store_true", help="closed-loop create and list at --users levels")
    p.add_argument("--users", type=int, nargs="+", default=None, help="default 4 64 (4 with --smoke)")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--worker-class", default=WORKER_CLASS, choices=["sync", "gthread"])
    p.add_argument("--threads", type=int, default=THREADS)
    args = p.parse_args()
    tickets = args.tickets or (20_000 if args.smoke else 1_000_000)
    db = args.db or (SMOKE_DB if args.smoke else DB)
    say(f"peer: {versions_text(ensure_venv())}")
    times = ensure_data(args.pg, db, tickets, args.force)
    phases = ", ".join(
        f"{k} {v:.1f} s" for k, v in times.items() if k not in ("tickets", "seconds", "reused")
    )
    say(f"  {data_note(times)}: {phases}")
    for status, count in asyncio.run(summary(args.pg, db)):
        say(f"  status {status}: {count:>9,}")
    if args.smoke or args.measure:
        levels = args.users or ([4] if args.smoke else [4, 64])

        async def go() -> None:
            await _measure(args.pg, db, levels, args.seconds, args.smoke, args.worker_class, args.threads)

        run_async(go)


if __name__ == "__main__":
    main()
