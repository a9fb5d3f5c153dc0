"""Alarms bench: a burst of camera events (ISAPI XML / JSON / multipart with a JPEG, new and repeated)
from the device simulator against one API process on PostgreSQL.

    .venv/bin/python bench/alarms_bench.py [--rate 1000] [--duration 30] [--cameras 1000]

Resets the PostgreSQL database `--db` (schema public) and builds it with the Alembic migrations;
creates one community with `--cameras` camera channels (known secrets) and a community admin and a
committee member with an Android phone each (so routing has someone to push to). Then, one process
each (uvicorn, uvloop, pinned to CPU 0 when taskset exists; the simulator runs here):

1. the bare-endpoint reference: bench/bare_app.py's ISAPI endpoint (the same body parsing, defusedxml
   and the multipart form, no database), the same burst;
2. Linli (`bench/linli_app.py`, embedded worker: the log push channel "sends" each push).

The simulator sends open loop at `--rate` (capped at `--concurrency` requests in flight); what it
could not send on time is counted as late, and the rate it reached is printed. Afterwards the rows
are counted: every event answered 200, 0 lost (Σ alarm.count = events answered created/repeated),
0 duplicate alarms (no device × type with two rows), and for each new alarm the time from its event
to the first push delivery marked sent. Prints a table and writes docs/benchmarks.md (section
`alarms`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from common import (
    CLK_TCK,
    _proc_ticks,
    empty_database,
    fmt,
    machine_facts,
    percentile,
    replace_section,
    spawn,
    table,
    wait_ready,
)

from services import migrations
from services.alarms.simulator import SimDevice, run_simulation

JWT_SECRET = "bench-secret-bench-secret-bench-secret-0123456789"
ALARM_KEY = "bench-alarm-secret-key-0123456789abcdef"


def secret_for(i: int) -> str:
    return f"bench-camera-secret-{i:05d}"


def serial_for(i: int) -> str:
    return f"BENCH-CAM-{i:05d}"


async def build(url: str, dsn: str, cameras: int) -> int:
    """The community, its cameras and two people with a phone each; returns the community id."""
    from services.alarms.secrets import encrypt_secret
    from services.config import Settings
    from services.db import create_engine, session_factory
    from services.models import Community, Device, Membership, User

    settings = Settings(jwt_secret=JWT_SECRET, alarm_secret_key=ALARM_KEY)  # type: ignore[arg-type]
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as s, s.begin():
            community = Community(name="压测小区", address="压测路 1 号")
            s.add(community)
            await s.flush()
            assert community.id is not None
            cid = community.id
            for role, phone in (
                ("community_admin", "+8613900000001"),
                ("committee_member", "+8613900000002"),
            ):
                person = User(phone=phone, name=role)
                s.add(person)
                await s.flush()
                assert person.id is not None
                s.add(Membership(user_id=person.id, community_id=cid, role=role))
                s.add(Device(user_id=person.id, token=f"bench-fcm-token-{person.id:06d}", platform="android"))
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(dsn)
    try:
        rows = [
            (
                cid,
                "camera",
                "Hikvision",
                "DS-2CD3T47WDV3-L",
                serial_for(i),
                f"44:19:b6:{i // 65536:02x}:{i // 256 % 256:02x}:{i % 256:02x}",
                1,
                f"压测摄像机 {i}",
                "",
                "online",
                encrypt_secret(secret_for(i), settings),
                "[]",
            )
            for i in range(cameras)
        ]
        await conn.executemany(
            "INSERT INTO alarm_device (community_id, kind, vendor, model, serial, mac, channel, name, area, "
            "status, secret_encrypted, allowed_sources, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::json, now(), now())",
            rows,
        )
        await conn.execute("ANALYZE")
        return int(cid)
    finally:
        await conn.close()


async def count_rows(dsn: str, since: Any) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        alarms = await conn.fetchval("SELECT count(*) FROM alarm")
        total = await conn.fetchval("SELECT coalesce(sum(count), 0) FROM alarm")
        duplicates = await conn.fetchval(
            "SELECT count(*) FROM (SELECT device_id, type FROM alarm GROUP BY 1, 2 HAVING count(*) > 1) d"
        )
        # The first push of each new alarm: the earliest push delivery marked sent of a notification
        # that names the alarm (its data carries alarm_id), after the alarm's first event.
        lags = await conn.fetch(
            "SELECT extract(epoch FROM min(d.sent_at) - a.first_seen_at) * 1000 AS ms "
            "FROM alarm a JOIN notification n ON (n.data ->> 'alarm_id')::bigint = a.id "
            "JOIN delivery d ON d.notification_id = n.id AND d.channel = 'push' AND d.sent_at IS NOT NULL "
            "GROUP BY a.id, a.first_seen_at"
        )
        return {
            "alarms": int(alarms),
            "sum_count": int(total),
            "duplicates": int(duplicates),
            "push_ms": [float(r["ms"]) for r in lags if r["ms"] is not None],
        }
    finally:
        await conn.close()


async def burst(port: int, pid: int, devices: list[SimDevice], args: argparse.Namespace) -> dict[str, Any]:
    ticks = _proc_ticks(pid)
    started = time.perf_counter()
    report = await run_simulation(
        devices, f"http://127.0.0.1:{port}", args.rate, args.duration, concurrency=args.concurrency
    )
    wall = time.perf_counter() - started
    answered = sum(n for k, n in report.answers.items() if not k.startswith("http"))
    cpu_ms = (_proc_ticks(pid) - ticks) / CLK_TCK * 1000
    return {
        "report": report,
        "wall": wall,
        "sent": sum(report.sent.values()),
        "answered": answered,
        "rate": sum(report.sent.values()) / wall if wall else 0.0,
        "cpu_ms": cpu_ms / max(sum(report.sent.values()), 1),
    }


def port_in(args: argparse.Namespace, offset: int) -> int:
    if args.port_base:
        return int(args.port_base) + offset
    from common import free_port

    return free_port()


def server_cmd(app: str, port: int, factory: bool) -> list[str]:
    cmd = [sys.executable, "-m", "uvicorn", app, "--app-dir", str(Path(__file__).resolve().parent)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--loop", "uvloop"]
    cmd += ["--http", "httptools", "--no-access-log", "--log-level", "warning", "--timeout-keep-alive", "120"]
    return [*cmd, "--factory"] if factory else cmd


async def run(args: argparse.Namespace) -> str:
    version = await empty_database(args.pg, args.db)
    url = f"postgresql+asyncpg://{args.pg}/{args.db}"
    dsn = f"postgresql://{args.pg}/{args.db}"
    await asyncio.to_thread(migrations.upgrade, url)
    cid = await build(url, dsn, args.cameras)
    devices = [
        SimDevice(community_id=cid, serial=serial_for(i), secret=secret_for(i), kind="camera", channel=1)
        for i in range(args.cameras)
    ]
    log_dir = Path(tempfile.mkdtemp(prefix="linli-alarms-bench-"))
    results: dict[str, dict[str, Any]] = {}
    env = {
        "LINLI_ENV": "dev",
        "LINLI_DATABASE_URL": url,
        "LINLI_JWT_SECRET": JWT_SECRET,
        "LINLI_ALARM_SECRET_KEY": ALARM_KEY,
        "LINLI_EMBEDDED_WORKER": "true",
        "LINLI_VAR_DIR": str(log_dir),
        "LINLI_DB_POOL_SIZE": str(min(args.concurrency, 40)),
        "BENCH_LOG_LEVEL": "WARNING",
    }
    for name, app, factory, offset in (
        ("bare", "bare_app:app", False, 0),
        ("linli", "linli_app:create", True, 1),
    ):
        port = port_in(args, offset)
        server = spawn(f"alarms-{name}", server_cmd(app, port, factory), env=env, log_dir=log_dir, port=port)
        try:
            await wait_ready(server, "/ping" if name == "bare" else "/healthz")
            print(f"{name}: {args.rate:g} events/s for {args.duration:g} s …", flush=True)
            results[name] = await burst(port, server.pid, devices, args)
            if name == "linli":
                await asyncio.sleep(args.settle)  # the embedded worker finishes the pushes
        finally:
            server.stop()
    rows_after = await count_rows(dsn, None)
    linli = results["linli"]
    report = linli["report"]
    created = report.answers.get("created", 0)
    repeated = report.answers.get("repeated", 0)
    lost = created + repeated - rows_after["sum_count"]
    errors = sum(report.errors.values()) + sum(n for k, n in report.answers.items() if k.startswith("http"))
    push = sorted(rows_after["push_ms"])
    table_rows = []
    for name in ("bare", "linli"):
        r = results[name]
        ms = r["report"].latencies_ms
        table_rows.append(
            [
                "bare FastAPI ISAPI endpoint (reference)" if name == "bare" else "Linli ISAPI door",
                f"{r['sent']:,}",
                fmt(r["rate"], 0),
                f"{r['report'].late:,}",
                fmt(percentile(ms, 50), 1) if ms else "–",
                fmt(percentile(ms, 99), 1) if ms else "–",
                fmt(r["cpu_ms"], 2),
            ]
        )
    facts = machine_facts({"PostgreSQL": version})
    text = [
        "## Alarms: a burst of camera events",
        "",
        "`bench/alarms_bench.py` (run by `make bench-areas`). The device simulator "
        "(`services/alarms/simulator.py`, what `linli simulate-devices` sends) posts Hikvision ISAPI "
        f"events open loop at {args.rate:g}/s for {args.duration:g} s (at most {args.concurrency} in "
        f"flight) over {args.cameras:,} camera channels: XML, JSON and multipart with a JPEG, half "
        "repeats of a camera's current event (activePostCount + 1), half a new event type. One uvicorn "
        "process on PostgreSQL with the embedded worker (log push channel); the reference is a bare "
        "FastAPI endpoint that parses the same bodies (defusedxml, the multipart form) and answers.",
        "",
        *(f"- {k}: {v}" for k, v in facts.items()),
        "",
        table(
            ["server", "events", "reached /s", "late", "p50 ms", "p99 ms", "server CPU ms/event"],
            table_rows,
        ),
        "",
        f"- answers: {dict(report.answers)}; transport errors: {dict(report.errors) or 'none'}",
        f"- after: {rows_after['alarms']:,} alarm rows, Σ count {rows_after['sum_count']:,}; "
        f"lost {lost}; duplicate alarms (device × type with two rows) {rows_after['duplicates']}; "
        f"not answered 200: {errors}",
        "- event → first push handed to the channel: "
        + (
            f"p50 {fmt(percentile(push, 50), 0)} ms, p99 {fmt(percentile(push, 99), 0)} ms over "
            f"{len(push):,} new alarms"
            if push
            else "no push delivery sent (no routing rule matched, or routing is not in this build)"
        ),
    ]
    return "\n".join(text) + "\n"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=1000.0, help="events per second")
    p.add_argument("--duration", type=float, default=30.0, help="seconds")
    p.add_argument("--cameras", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=256, help="requests in flight at most")
    p.add_argument("--settle", type=float, default=10.0, help="seconds for the pushes after the burst")
    p.add_argument("--pg", default="postgres@127.0.0.1:5432", help="user[:password]@host:port")
    p.add_argument("--db", default="linli_bench_alarms")
    p.add_argument("--port-base", type=int, default=int(os.environ.get("BENCH_PORT_BASE", "0")))
    p.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    section = asyncio.run(run(args))
    print(section)
    if not args.no_docs:
        replace_section("alarms", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
