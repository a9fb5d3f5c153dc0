"""Notification pipeline: outbox → Redis Streams → `linli worker` → firebase-admin → the FCM stand-in.

    .venv/bin/python bench/notify_bench.py [--n 10000] [--workers 1 2] [--profile]

PostgreSQL database `linli_bench_notify` (dropped and migrated) and Redis db 8 (flushed). The FCM
stand-in (tests/workers/fcm_standin.py, HTTP/1.1, a thread per connection) runs in its own process.

(a) the stand-in's ceiling: POSTs of the same FCM v1 body with httpx (one client, its default
    100-connection pool, the SDK's setting) at the concurrency a worker uses (one batch: 500), and
    at 100 (no queueing in the pool);
(b)/(c) one notify() to N recipients with one device each, committed in one transaction (the relay
    kicks the ids to Redis after the commit), drained by 1 and then 2 `linli worker` processes:
    commit time, relay time, and the time from the first kick to every delivery row `sent`.
--profile runs the single worker under cProfile and prints its top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    ROOT,
    empty_database,
    fcm_settings,
    fcm_worker_env,
    fmt,
    machine_facts,
    make_recipients,
    replace_section,
    stop_processes,
    table,
    wait_quiet,
)

DB_NAME = "linli_bench_notify"
PG = "postgres@127.0.0.1:5432"
DB_URL = f"postgresql+asyncpg://{PG}/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/8"
PROJECT = "linli-bench"
BODY = {
    "message": {
        "token": "bench-token",
        "notification": {"title": "Notice", "body": "Water off 9-12 tomorrow"},
        "data": {"notification_id": "1", "category": "notice", "template": "bench", "badge": "1"},
        "android": {"priority": "normal", "notification": {"tag": "bench:1"}},
        "apns": {
            "headers": {"apns-priority": "5", "apns-push-type": "alert"},
            "payload": {"aps": {"badge": 1}},
        },
    }
}


ANALYSIS = """\
What limits it (read with the profile): the worker, not PostgreSQL, Redis or the commit. notify() writes
10,000 notifications + deliveries in a few seconds and the relay's kicks cost milliseconds. A worker runs
up to 4 tasks at once (`run_receiver_task(max_async_tasks=4)`), each a batch of 500 ids (the relay's
kick size), and `FcmChannel.send` hands each batch to `send_each_async`, which starts all 500 requests at
once: up to 2,000 requests wait in one httpx pool of 100 connections. httpcore re-scans every queued
request against every connection on each state change (`_assign_requests_to_connections`), so the cost
per request grows with the queue: the stand-in alone answers httpx ~5× slower with 500 in flight than
with 100, and a worker spends ~90% of its CPU in that scan. The event loop then starves, Redis reads
time out (`Timeout reading from …` → the taskiq receiver restarts, seen in the worker logs), a claim whose
batch outlives its 60 s lease can be claimed and sent again, and outcomes are recorded only when a whole 500-push batch is
back — so with two workers (4,000 queued requests on two cores) nothing was recorded within the cap.
Real FCM is HTTP/2 (one connection, ~100 streams), which shrinks the scan but not the queue.
What would fix it (not done here; workers/channels/fcm.py and workers/runner.py): cap in-flight FCM
requests per process at the pool size (one semaphore shared by all tasks, `send_each_async` in chunks of
≤ 100), and record outcomes per chunk; or run one task per worker (`max_async_tasks=1`). The stand-in
(stdlib thread-per-connection server) is itself only a few hundred requests/s on this box, so it, not
FCM, is the ceiling these figures can reach.
"""


# --------------------------------------------------------------------------- the stand-in process


def standin_main() -> None:
    from tests.workers.fcm_standin import FcmStandIn

    server = FcmStandIn(project=PROJECT).start()
    print(server.base_url, flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.stop()


def start_standin(log_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        [PYTHON, __file__, "--standin"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=(log_dir / "standin.log").open("wb"),
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().decode().strip()
    if not url.startswith("http"):
        raise RuntimeError("the stand-in did not start")
    return proc, url


# --------------------------------------------------------------------------- (a) the ceiling


async def ceiling(url: str, concurrency: int, total: int) -> tuple[float, int]:
    import httpx

    path = f"/v1/projects/{PROJECT}/messages:send"
    body = json.dumps(BODY).encode()
    errors = 0
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:  # default pool: 100 connections
        await client.post(path, content=body, headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        sem = asyncio.Semaphore(concurrency)

        async def one() -> None:
            nonlocal errors
            async with sem:
                resp = await client.post(path, content=body, headers={"Content-Type": "application/json"})
                errors += resp.status_code != 200

        await asyncio.gather(*(one() for _ in range(total)))
        return total / (time.perf_counter() - started), errors


# --------------------------------------------------------------------------- (b)/(c) end to end


def _read(log: Path) -> str:
    return log.read_text(errors="replace")


def spawn_worker(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


async def wait_started(log: Path, proc: subprocess.Popen[bytes], within: float = 60) -> None:
    deadline = time.monotonic() + within
    while "worker started" not in _read(log):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start:\n{_read(log)[-2000:]}")
        await asyncio.sleep(0.1)


async def end_to_end(
    url: str, users: list[int], workers: int, tmp: Path, profile: Path | None, cap: float
) -> dict[str, float]:
    import sqlalchemy as sa
    from redis.asyncio import Redis

    from services.bootstrap import build_resources
    from services.models import Delivery, Notification
    from services.notifications.catalog import register_templates
    from services.notifications.outbox import notify
    from workers.embedded import background

    register_templates({"bench.notice": (("停水通知", "明天 {n} 点停水"), ("Water", "Off at {n}"))})
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    resources = build_resources(fcm_settings(DB_URL, REDIS_URL, url, PROJECT))  # type: ignore[arg-type]
    async with resources.engine.begin() as conn:
        await conn.execute(sa.delete(Delivery.__table__))  # type: ignore[attr-defined]
        await conn.execute(sa.delete(Notification.__table__))  # type: ignore[attr-defined]

    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(workers):
            log = tmp / f"worker-{workers}-{i}.log"
            cmd = [PYTHON, "-m", "api.cli", "worker"]
            if profile is not None:
                cmd = [PYTHON, "-m", "cProfile", "-o", str(profile), "-m", "api.cli", "worker"]
            proc = spawn_worker(
                cmd,
                fcm_worker_env(DB_URL, REDIS_URL, url, PROJECT, tmp, LINLI_FCM_TIMEOUT_SECONDS="120"),
                log,
            )
            procs.append(proc)
            await wait_started(log, proc)
        # As deployed: one scheduler beside the workers (its sweeper re-kicks expired claims).
        log = tmp / f"scheduler-{workers}.log"
        procs.append(
            spawn_worker(
                [PYTHON, "-m", "api.cli", "scheduler"],
                fcm_worker_env(DB_URL, REDIS_URL, url, PROJECT, tmp, LINLI_FCM_TIMEOUT_SECONDS="120"),
                log,
            )
        )
        await wait_quiet(max_busy=60, within=30)

        async with background(resources, embedded=False):  # the API side: relay to Redis after commit
            t0 = time.perf_counter()
            async with resources.sessionmaker() as session:
                await notify(session, users, "notice", "bench.notice", {"n": 9}, "bench:notice:1")
                await session.commit()
                t_commit = time.perf_counter()
                from services.notifications import relay

                await relay.after_commit(session, resources.runtime)
            t_relay = time.perf_counter()

        n = len(users)
        sent = 0
        table_ = Delivery.__table__  # type: ignore[attr-defined]
        count_sent = sa.select(sa.func.count()).select_from(table_).where(table_.c.status == "sent")
        deadline = time.monotonic() + cap
        async with resources.engine.connect() as conn:
            while sent < n and time.monotonic() < deadline:
                await asyncio.sleep(0.25)
                sent = int((await conn.execute(count_sent)).scalar_one())
                await conn.commit()
        t_done = time.perf_counter()
        return {
            "commit": t_commit - t0,
            "relay": t_relay - t_commit,
            "drain": t_done - t_commit,
            "sent": sent,
            "rate": sent / (t_done - t_commit),
        }
    finally:
        stop_processes(*procs)
        await resources.close()


async def profile_channel(url: str, n: int, out: Path) -> float:
    """One worker batch (n pushes through FcmChannel.send, as drain_once does) under cProfile. A
    profiled worker process under the full load never finishes a batch, so the batch is profiled here."""
    import cProfile

    from workers.channels.fcm import FcmChannel
    from workers.channels.push import Push

    channel = FcmChannel(fcm_settings(DB_URL, REDIS_URL, url, PROJECT))  # type: ignore[arg-type]
    pushes = [Push(delivery_id=i, token=f"profile-{i:05d}", title="t", body="b") for i in range(n)]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    await channel.send(pushes)
    profiler.disable()
    elapsed = time.perf_counter() - started
    await channel.aclose()
    profiler.dump_stats(str(out))
    return elapsed


def top_functions(profile: Path, count: int = 8) -> list[tuple[str, str, str, str]]:
    stats = pstats.Stats(str(profile))
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (filename, line, func), (_, ncalls, tottime, _cum, _) in sorted(
        stats.stats.items(),  # type: ignore[attr-defined]
        key=lambda item: item[1][2],
        reverse=True,
    )[:count]:
        short = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        rows.append(
            (f"`{short}:{line} {func}`", f"{ncalls:,}", f"{tottime:.1f}", f"{100 * tottime / total:.0f}%")
        )
    return rows


# --------------------------------------------------------------------------- main


async def main(args: argparse.Namespace) -> None:
    from services import migrations

    tmp = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    print(f"logs in {tmp}", flush=True)
    await empty_database(PG, DB_NAME)
    await asyncio.to_thread(migrations.upgrade, DB_URL)
    users = await make_recipients(DB_URL, args.n, token_len=120)
    standin, url = start_standin(tmp)
    rows: list[list[str]] = []
    profile_rows: list[tuple[str, str, str, str]] = []
    profile_seconds = 0.0
    load = os.getloadavg()
    try:
        for conc in (100, 500):
            await wait_quiet(max_busy=60, within=30)
            rate, errors = await ceiling(url, conc, args.ceiling_requests)
            rows.append(
                [
                    f"(a) stand-in ceiling, httpx, {conc} in flight",
                    "–",
                    "–",
                    "–",
                    "–",
                    fmt(rate, 0),
                    str(errors),
                ]
            )
            print(rows[-1], flush=True)
        for workers in args.workers:
            r = await end_to_end(url, users, workers, tmp, None, args.cap)
            done = r["sent"] >= args.n
            rows.append(
                [
                    f"(b/c) notify({args.n:,}) → {workers} worker process{'es' if workers > 1 else ''}",
                    fmt(r["commit"], 2),
                    fmt(r["relay"], 2),
                    fmt(r["drain"], 1) if done else f"> {args.cap:.0f} ({int(r['sent']):,} sent)",
                    fmt(r["rate"], 1),
                    "–",
                    "0",
                ]
            )
            print(rows[-1], flush=True)
        if args.profile:
            profile = tmp / "channel.prof"
            profile_seconds = await profile_channel(url, 500, profile)
            profile_rows = top_functions(profile)
    finally:
        stop_processes(standin)
    load_after = os.getloadavg()
    headers = ["scenario", "commit s", "relay s", "drain s", "deliveries/s", "stand-in req/s", "errors"]
    result = table(headers, rows)
    print(result)
    facts = machine_facts(
        {
            "load average (1 min) before / after": f"{load[0]:.1f} / {load_after[0]:.1f}",
            "recipients": f"{args.n:,} users, one Android device each",
        }
    )
    text = [
        "## Notifications: outbox → Redis Streams → worker → FCM stand-in",
        "",
        "`bench/notify_bench.py`. PostgreSQL (`linli_bench_notify`) + Redis (db 8); the FCM stand-in",
        "(tests/workers/fcm_standin.py: stdlib `ThreadingHTTPServer`, HTTP/1.1, a thread per connection)",
        "in a process of its own. (a) httpx (default 100-connection pool, as in firebase-admin) firing the",
        "same FCM v1 body straight at the stand-in. (b/c) one `notify()` to every recipient in one",
        "transaction (`commit s`: inserts of notifications + deliveries, in chunks of 500, and the commit);",
        "the relay then kicks the ids to Redis Streams in 20 messages of 500 (`relay s`); `drain s` runs",
        "from the commit to the last row `sent` with 1, then 2 `linli worker` processes (INFO logs, as",
        "deployed); deliveries/s = N / drain.",
        "",
        *(f"- {k}: {v}" for k, v in facts.items()),
        "",
        result,
    ]
    if profile_rows:
        text += [
            "",
            f"Where a worker spends its CPU: one batch of 500 pushes through `FcmChannel.send` under cProfile"
            f" ({profile_seconds:.1f} s with the profiler on), top functions by own time:",
            "",
            table(["function", "calls", "own s", "share"], profile_rows),
        ]
    text += ["", ANALYSIS.strip()]
    text += ["", args.note.strip()] if args.note else []
    replace_section("notify", "\n".join(text))


if __name__ == "__main__":
    if "--standin" in sys.argv:
        standin_main()
        sys.exit(0)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ceiling-requests", type=int, default=3000)
    parser.add_argument("--profile", action="store_true", help="profile one 500-push batch of the channel")
    parser.add_argument("--cap", type=float, default=180, help="give up draining after this many seconds")
    parser.add_argument("--note", default="", help="a paragraph appended to the section")
    asyncio.run(main(parser.parse_args()))
