"""S6: one `linli worker` process draining pushes against a fast FCM stand-in answering after 50 ms.

    .venv/bin/python bench/push_bench.py [--n 20000] [--fcm-h2c] [--skip-429] [--profile py-spy|cprofile]
                                         [--provider fcm|apns|jpush ...]

`--provider` (repeatable; default fcm) runs the same drains with every recipient's device on that
provider: `apns` = ApnsChannel (httpx, HTTP/2 prior knowledge to the stand-in's `/3/device/{token}`),
`jpush` = JPushChannel (the jpush SDK, HTTP/1.1, to the stand-in's `/v3/push`). `make bench-push`
runs all three, one after the other, and prints them in one table.

Target (S6): ≥ 2,000 messages/s per worker process; 0 lost; Retry-After honoured in 429 mode
without a retry storm.

Set-up: PostgreSQL database `linli_bench_push` (dropped, migrated), Redis db 8 (flushed), N users with
one Android device each. The stand-in (bench/fcm_standin_fast.py, uvloop; HTTP/1.1 via uvicorn +
httptools, or HTTP/2 prior knowledge: always for APNs, for FCM with --fcm-h2c, which makes the FCM
channel fall back to firebase-admin's own httpx HTTP/2 client; by default FCM goes through the
channel's aiohttp HTTP/1.1 client, as deployed; `--h2c` is accepted and does nothing) runs pinned to CPU 0; ONE `linli worker` pinned to
CPU 1; one `linli scheduler` (its sweeper re-kicks retries) unpinned, as deployed.

(a) the stand-in's ceiling: closed-loop HTTP/1.1 clients (bench.common.RawClient) at 50 ms;
(b) drain: notify() to N recipients (the real path: inbox rows + delivery rows, one transaction), then
    the ids kicked to Redis Streams in batches of 500 (as the relay does); the clock runs from the first
    kick to the last delivery row `sent`. 0 lost = every row `sent` with a distinct provider message id,
    and the stand-in answered 200 exactly once per token;
(c) 429: the stand-in answers 429 QUOTA_EXCEEDED with `Retry-After: 2` for the first 3 s after the
    first send, then 200. Checked: no token is sent again sooner than 2 s after its 429
    (`early retries`), the request rate during the window stays bounded (no storm), everything is still
    delivered exactly once, and how long that took.

`run()` returns the figures as a flat dict for a harness; as a script it prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    CLK_TCK,
    PYTHON,
    ROOT,
    RawClient,
    _db_ticks,
    _proc_ticks,
    _system_busy_ticks,
    empty_database,
    fcm_settings,
    fcm_worker_env,
    fmt,
    free_port,
    make_recipients,
    stop_processes,
    table,
    wait_quiet,
)

# On a shared machine each user of it can take its own database, Redis db and stand-in port.
DB_NAME = os.environ.get("BENCH_PUSH_DB", "linli_bench_push")
PG = "postgres@127.0.0.1:5432"
DB_URL = f"postgresql+asyncpg://{PG}/{DB_NAME}"
REDIS_URL = os.environ.get("BENCH_PUSH_REDIS", "redis://127.0.0.1:6379/8")
# The worker's LINLI_PUSH_LANE_BATCHES ("" = its default, as deployed); --lane-batches sets it.
LANE_BATCHES = ""
PROJECT = "linli-bench"
SEND_PATH = f"/v1/projects/{PROJECT}/messages:send"
KICK_BATCH = 500  # services.notifications.relay.KICK_BATCH
TARGET_RATE = 2000.0
STANDIN_CPU = 0
WORKER_CPU = 1

Figures = dict[str, float | int | bool]


# --------------------------------------------------------------------------- processes


def _taskset(cpu: int | None, cmd: list[str]) -> list[str]:
    if cpu is not None and shutil.which("taskset") and (os.cpu_count() or 1) > cpu:
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


class StandIn:
    def __init__(self, log_dir: Path, *, h2c: bool, delay_ms: float, cpu: int | None = STANDIN_CPU) -> None:
        self.port = int(os.environ.get("BENCH_PUSH_PORT") or free_port())
        self.h2c = h2c
        cmd = [PYTHON, str(ROOT / "bench" / "fcm_standin_fast.py"), "--port", str(self.port)]
        cmd += ["--delay-ms", str(delay_ms)] + (["--h2c"] if h2c else [])
        with (log_dir / "standin.log").open("wb") as log:
            self.proc = subprocess.Popen(
                _taskset(cpu, cmd), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        # What the worker is given: `h2c://` makes FcmChannel speak HTTP/2 with prior knowledge.
        self.base_url = f"{'h2c' if h2c else 'http'}://127.0.0.1:{self.port}"
        self.http_url = f"http://127.0.0.1:{self.port}"

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Control and counters. Over HTTP/1.1 with the bench's raw client, or httpx for h2c."""
        data = json.dumps(body).encode() if body is not None else None
        if self.h2c:
            import httpx

            async with httpx.AsyncClient(http1=False, http2=True, base_url=self.http_url) as client:
                resp = await client.request(method, path, content=data)
                return resp.json()
        client = RawClient("127.0.0.1", self.port)
        try:
            _, raw = await client.request(method, path, data)
            return json.loads(raw)
        finally:
            await client.close()

    async def ready(self, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError, ValueError, Exception):
                await self.call("GET", "/_health")
                return
            await asyncio.sleep(0.2)
        raise RuntimeError("the FCM stand-in did not start")

    def stop(self) -> None:
        stop_processes(self.proc)


def spawn(cmd: list[str], env: dict[str, str], log: Path, cpu: int | None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(_taskset(cpu, cmd), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _read(log: Path) -> str:
    return log.read_text(errors="replace")


async def wait_logged(log: Path, proc: subprocess.Popen[bytes], text: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while text not in _read(log):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{log.name}: no {text!r}:\n{_read(log)[-2000:]}")
        await asyncio.sleep(0.1)


def start_py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """Sample the worker (200 Hz, speedscope JSON) from the stand-in's CPU, so it costs the worker nothing."""
    cmd = [str(Path(PYTHON).parent / "py-spy"), "record", "-p", str(pid), "-r", "200"]
    cmd += ["-f", "speedscope", "-o", str(out), "--nonblocking"]
    return subprocess.Popen(_taskset(STANDIN_CPU, cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --------------------------------------------------------------------------- (a) stand-in ceiling


async def standin_ceiling(standin: StandIn, conns: int, seconds: float) -> Figures:
    """Closed loop: `conns` keep-alive HTTP/1.1 connections, each sending FCM v1 bodies back to back."""
    await standin.call("POST", "/_control", {"reset": True})
    clients = [RawClient("127.0.0.1", standin.port) for _ in range(conns)]
    done = errors = 0
    t_end = time.perf_counter() + seconds

    async def loop(i: int, client: RawClient) -> None:
        nonlocal done, errors
        k = 0
        while time.perf_counter() < t_end:
            body = json.dumps({"message": {"token": f"ceiling-{i}-{k}", "notification": {"title": "t"}}})
            k += 1
            status, _ = await client.request("POST", SEND_PATH, body.encode())
            done += status == 200
            errors += status != 200

    ticks0, t0 = _proc_ticks(standin.proc.pid), time.perf_counter()
    await asyncio.gather(*(loop(i, c) for i, c in enumerate(clients)))
    wall = time.perf_counter() - t0
    cpu = (_proc_ticks(standin.proc.pid) - ticks0) / CLK_TCK / wall * 100
    for c in clients:
        await c.close()
    return {
        "rate": done / wall,
        "errors": errors,
        "standin_cpu": cpu,
        "cpu_us_per_req": cpu * 1e4 / (done / wall),
    }


# --------------------------------------------------------------------------- database


async def write_deliveries(resources: Any, users: list[int], key: str) -> tuple[list[int], float]:
    """The real notify() path, one transaction: returns the new delivery ids and the seconds it took."""
    import sqlalchemy as sa

    from services.db import take_after_commit
    from services.models import Delivery, Notification
    from services.notifications.catalog import register_templates
    from services.notifications.outbox import DELIVERIES, notify

    register_templates({"bench.push": (("停水通知", "明天 {n} 点停水"), ("Water", "Off at {n}"))})
    async with resources.engine.begin() as conn:
        await conn.execute(sa.delete(Delivery.__table__))  # type: ignore[attr-defined]
        await conn.execute(sa.delete(Notification.__table__))  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    async with resources.sessionmaker() as session:
        await notify(session, users, "notice", "bench.push", {"n": 9}, key)
        await session.commit()
        ids = take_after_commit(session).get(DELIVERIES, [])
    return ids, time.perf_counter() - t0


async def delivery_state(resources: Any) -> dict[str, int]:
    import sqlalchemy as sa

    from services.models import Delivery

    d = Delivery.__table__  # type: ignore[attr-defined]
    async with resources.engine.connect() as conn:
        rows = (await conn.execute(sa.select(d.c.status, sa.func.count()).group_by(d.c.status))).all()
        ids = (
            await conn.execute(
                sa.select(sa.func.count(sa.distinct(d.c.provider_message_id)), sa.func.max(d.c.attempts))
            )
        ).one()
    state = {str(getattr(s, "value", s)): int(c) for s, c in rows}
    state["distinct_message_ids"] = int(ids[0])
    state["max_attempts"] = int(ids[1] or 0)
    return state


# --------------------------------------------------------------------------- (b)/(c) drain


class Cpu:
    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.t0 = time.perf_counter()
        self.ticks = {name: _proc_ticks(pid) for name, pid in pids.items()}
        self.db, self.busy = _db_ticks(), _system_busy_ticks()

    def split(self) -> dict[str, float]:
        """% of one core per process over the interval, plus PostgreSQL + Redis and the whole machine."""
        wall = time.perf_counter() - self.t0
        out = {
            f"cpu_{name}": (_proc_ticks(pid) - self.ticks[name]) / CLK_TCK / wall * 100
            for name, pid in self.pids.items()
        }
        out["cpu_db"] = max(_db_ticks() - self.db, 0) / CLK_TCK / wall * 100
        out["cpu_machine"] = (_system_busy_ticks() - self.busy) / CLK_TCK / wall * 100
        return out


def provider_env(provider: str, standin: StandIn, tmp: Path) -> dict[str, str]:
    """What a worker needs to send `provider`'s pushes to the stand-in (FCM is always configured)."""
    if provider == "apns":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key_file = tmp / "AuthKey_BENCHKEY01.p8"
        if not key_file.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            key_file.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        return {
            "LINLI_APNS_KEY_ID": "BENCHKEY01",
            "LINLI_APNS_TEAM_ID": "BENCHTEAM1",
            "LINLI_APNS_KEY_FILE": str(key_file),
            "LINLI_APNS_TOPIC": "cn.linli.bench",
            "LINLI_APNS_BASE_URL": standin.base_url,
        }
    if provider == "jpush":
        return {
            "LINLI_JPUSH_APP_KEY": "benchappkey0000000000000",
            "LINLI_JPUSH_MASTER_SECRET": "benchmastersecret0000000",
            "LINLI_JPUSH_BASE_URL": standin.http_url,
        }
    return {}


async def drain(
    *,
    standin: StandIn,
    users: list[int],
    tmp: Path,
    label: str,
    provider: str = "fcm",
    quota_seconds: float = 0.0,
    retry_after: int = 2,
    cap: float = 300.0,
    profile: str | None = None,
) -> Figures:
    import sqlalchemy as sa  # noqa: F401  (imported for the resources below)
    from redis.asyncio import Redis

    from services.bootstrap import build_resources
    from workers.broker import kick, make_broker

    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    settings = fcm_settings(DB_URL, REDIS_URL, standin.base_url, PROJECT)
    resources = build_resources(settings)
    broker = make_broker(settings)
    extra = provider_env(provider, standin, tmp)
    if LANE_BATCHES:
        extra["LINLI_PUSH_LANE_BATCHES"] = LANE_BATCHES
    env = fcm_worker_env(DB_URL, REDIS_URL, standin.base_url, PROJECT, tmp, **extra)
    procs: list[subprocess.Popen[bytes]] = []
    prof_out = tmp / f"worker-{label}.prof"
    try:
        worker_cmd = [PYTHON, "-m", "api.cli", "worker"]
        if profile == "cprofile":
            worker_cmd = [PYTHON, "-m", "cProfile", "-o", str(prof_out), "-m", "api.cli", "worker"]
        wlog = tmp / f"worker-{label}.log"
        worker = spawn(worker_cmd, env, wlog, WORKER_CPU)
        procs.append(worker)
        slog = tmp / f"scheduler-{label}.log"
        scheduler = spawn([PYTHON, "-m", "api.cli", "scheduler"], env, slog, None)
        procs.append(scheduler)
        await wait_logged(wlog, worker, "worker started")
        await wait_logged(slog, scheduler, "scheduler started")
        await broker.startup()
        await wait_quiet(max_busy=60, within=30)
        # Written only now, right before the clock starts: rows written before `wait_quiet` were
        # kicked by the scheduler's sweeper (10 s relay grace) on a busy machine and drained before
        # the clock ran (measured: "14,484 msg/s" in 0.2 s).
        ids, write_s = await write_deliveries(resources, users, f"bench:push:{label}")
        n = len(ids)
        await standin.call(
            "POST",
            "/_control",
            {"reset": True, "quota_seconds": quota_seconds, "retry_after": retry_after, "delay_ms": 50},
        )
        spy: subprocess.Popen[bytes] | None = None
        if profile == "py-spy":
            spy = start_py_spy(worker.pid, tmp / f"worker-{label}.speedscope.json")
        cpu = Cpu({"worker": worker.pid, "standin": standin.proc.pid})
        t0 = time.perf_counter()
        for start in range(0, n, KICK_BATCH):
            await kick(broker, ids[start : start + KICK_BATCH])
        t_kicked = time.perf_counter()
        state: dict[str, int] = {}
        sent = 0
        t_half = t_90 = None
        deadline = time.monotonic() + cap
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            state = await delivery_state(resources)
            sent = state.get("sent", 0)
            now = time.perf_counter()
            if t_half is None and sent >= n / 2:
                t_half = now
            if t_90 is None and sent >= 0.9 * n:
                t_90 = now
            if sent + state.get("dead", 0) + state.get("skipped", 0) >= n:
                break
        t_done = time.perf_counter()
        split = cpu.split()
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(30)
        await asyncio.sleep(0.5)  # late duplicates, if any, reach the stand-in
        stats = await standin.call("GET", "/_stats")
        state = await delivery_state(resources)
    finally:
        stop_processes(*procs)
        with contextlib.suppress(Exception):
            await broker.shutdown()
        await resources.close()
    wall = t_done - t0
    per_second = {int(k): v for k, v in stats["per_second"].items()}
    rates = sorted(v[1] for k, v in per_second.items() if 0 < k < max(per_second))  # full seconds, 200s
    figures: Figures = {
        "n": n,
        "write_s": write_s,
        "kick_s": t_kicked - t0,
        "drain_s": wall,
        "rate": state.get("sent", 0) / wall,
        "rate_50_90": (0.4 * n / (t_90 - t_half)) if t_half and t_90 and t_90 > t_half else float("nan"),
        "peak_second": max(rates) if rates else 0,
        "sent": state.get("sent", 0),
        "not_sent": n - state.get("sent", 0),
        "distinct_message_ids": state["distinct_message_ids"],
        "max_attempts": state["max_attempts"],
        "standin_requests": stats["requests"],
        "standin_ok": stats["ok"],
        "standin_distinct": stats["distinct_ok"],
        "duplicates": stats["duplicates"],
        "quota_429": stats["quota"],
        "early_retries": stats["early_retries"],
        "min_retry_gap": stats["min_retry_gap"] if stats["min_retry_gap"] is not None else float("nan"),
        "max_in_flight": stats["max_in_flight"],
        **split,
    }
    # The machine is shared: what a worker achieves with a core to itself is what its CPU per message
    # allows (the stand-in answers in 50 ms with up to LANES × IN_FLIGHT in flight, far above this).
    worker_cpu_s = float(figures["cpu_worker"]) / 100 * wall
    figures["worker_us_per_msg"] = worker_cpu_s * 1e6 / n if n else float("nan")
    figures["rate_at_one_core"] = n / worker_cpu_s if worker_cpu_s else float("nan")
    figures["lost"] = n - min(int(figures["standin_distinct"]), int(figures["sent"]))
    figures["exactly_once"] = (
        figures["sent"] == n
        and figures["standin_ok"] == n
        and figures["standin_distinct"] == n
        and figures["distinct_message_ids"] == n
    )
    if quota_seconds:
        q_from, q_until = stats["quota_started"] or 0.0, stats["quota_until"] or 0.0
        window = [v for k, v in per_second.items() if int(q_from) <= k <= int(q_until)]
        after = [v for k, v in per_second.items() if k > int(q_until)]
        figures["window_requests"] = sum(v[0] for v in window)
        figures["window_peak_per_s"] = max((v[0] for v in window), default=0)
        figures["after_peak_per_s"] = max((v[0] for v in after), default=0)
        figures["retry_requests"] = stats["requests"] - n  # requests beyond one per message
        figures["honoured"] = figures["early_retries"] == 0
    (tmp / f"standin-{label}.json").write_text(json.dumps(stats, indent=1))
    return figures


# --------------------------------------------------------------------------- entry points


async def run(
    n: int = 20_000,
    *,
    provider: str = "fcm",
    h2c: bool = False,
    with_429: bool = True,
    ceiling: bool = True,
    profile: str | None = None,
    log_dir: Path | None = None,
) -> dict[str, float | int | bool]:
    """Everything S6 needs, as one flat dict (prefixes: ceiling_, drain_, quota_). `provider`: every
    recipient's one device is on it (APNs always over HTTP/2, JPush's SDK always over HTTP/1.1)."""
    from services import migrations

    if provider in ("apns", "jpush"):
        h2c, ceiling = provider == "apns", False
    platform = "ios" if provider == "apns" else "android"

    tmp = log_dir or Path(tempfile.mkdtemp(prefix="push-bench-"))
    await empty_database(PG, DB_NAME)
    await asyncio.to_thread(migrations.upgrade, DB_URL)
    users = await make_recipients(DB_URL, n, provider=provider, platform=platform)
    standin = StandIn(tmp, h2c=h2c, delay_ms=50)
    out: dict[str, float | int | bool] = {"h2c": h2c}
    try:
        await standin.ready()
        if ceiling and not h2c:
            await wait_quiet(max_busy=60, within=30)
            for conns in (200, 400):
                for k, v in (await standin_ceiling(standin, conns, 5.0)).items():
                    out[f"ceiling{conns}_{k}"] = v
        for k, v in (
            await drain(
                standin=standin,
                users=users,
                tmp=tmp,
                label=f"{provider}-drain",
                provider=provider,
                profile=profile,
            )
        ).items():
            out[f"drain_{k}"] = v
        if with_429:
            quota = await drain(
                standin=standin,
                users=users,
                tmp=tmp,
                label=f"{provider}-quota",
                provider=provider,
                quota_seconds=3.0,
            )
            for k, v in quota.items():
                out[f"quota_{k}"] = v
    finally:
        standin.stop()
    out["meets_target"] = bool(
        float(out["drain_rate"]) >= TARGET_RATE
        and out["drain_exactly_once"]
        and (not with_429 or (out["quota_exactly_once"] and out["quota_honoured"]))
    )
    return out


def report(r: dict[str, float | int | bool], provider: str = "fcm") -> str:
    return table(["scenario", "msgs/s", "s", "CPU % of a core", "checks"], report_rows(r, provider))


def report_rows(r: dict[str, float | int | bool], provider: str = "fcm") -> list[list[str]]:
    rows: list[list[str]] = []
    for conns in (200, 400):
        if f"ceiling{conns}_rate" in r:
            rows.append(
                [
                    f"(a) stand-in ceiling, {conns} conns × 50 ms",
                    fmt(float(r[f"ceiling{conns}_rate"]), 0),
                    "–",
                    f"stand-in {fmt(float(r[f'ceiling{conns}_standin_cpu']), 0)}% "
                    f"({fmt(float(r[f'ceiling{conns}_cpu_us_per_req']), 0)} µs/req)",
                    f"{r[f'ceiling{conns}_errors']} errors",
                ]
            )
    for prefix, name in (("drain", "(b) drain"), ("quota", "(c) 429 for 3 s, Retry-After 2")):
        if f"{prefix}_rate" not in r:
            continue

        def g(k: str, prefix: str = prefix) -> float | int | bool:
            return r[f"{prefix}_{k}"]

        checks = f"lost {g('lost')}, dupes {g('duplicates')}, exactly once {g('exactly_once')}" + (
            f"; 429s {g('quota_429')}, early retries {g('early_retries')} (min gap "
            f"{fmt(float(g('min_retry_gap')), 2)} s), window {g('window_requests')} req "
            f"(peak {g('window_peak_per_s')}/s), after {g('after_peak_per_s')}/s peak"
            if prefix == "quota"
            else ""
        )
        rows.append(
            [
                f"{provider.upper()} {name}: {int(g('n')):,} msgs, 1 worker"
                + (" (h2c)" if r.get("h2c") else ""),
                f"{fmt(float(g('rate')), 0)} (50–90%: {fmt(float(g('rate_50_90')), 0)}, peak s "
                f"{g('peak_second')})",
                fmt(float(g("drain_s")), 1),
                f"worker {fmt(float(g('cpu_worker')), 0)} ({fmt(float(g('worker_us_per_msg')), 0)} µs/msg → "
                f"{fmt(float(g('rate_at_one_core')), 0)}/s at a full core) / stand-in {fmt(float(g('cpu_standin')), 0)} / "
                f"PG+Redis {fmt(float(g('cpu_db')), 0)} / machine {fmt(float(g('cpu_machine')), 0)}",
                checks,
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument(
        "--h2c",
        action="store_true",
        help="kept for `make bench-push`; FCM goes over HTTP/1.1 (aiohttp, as deployed) unless --fcm-h2c",
    )
    parser.add_argument(
        "--fcm-h2c",
        action="store_true",
        help="FCM over HTTP/2 prior knowledge: the SDK's own httpx client (the pre-aiohttp send path)",
    )
    parser.add_argument("--skip-429", action="store_true")
    parser.add_argument("--skip-ceiling", action="store_true")
    parser.add_argument("--profile", choices=["py-spy", "cprofile"], default=None)
    parser.add_argument(
        "--provider", action="append", choices=["fcm", "apns", "jpush"], help="repeatable; default fcm"
    )
    parser.add_argument(
        "--lane-batches",
        default="",
        help="LINLI_PUSH_LANE_BATCHES for the worker (default: its own, as deployed)",
    )
    args = parser.parse_args()
    global LANE_BATCHES
    LANE_BATCHES = args.lane_batches
    tmp = Path(tempfile.mkdtemp(prefix="push-bench-"))
    print(f"logs in {tmp}", flush=True)
    rows: list[list[str]] = []
    verdicts: list[str] = []
    for provider in args.provider or ["fcm"]:
        result = asyncio.run(
            run(
                args.n,
                provider=provider,
                h2c=args.fcm_h2c,
                with_429=not args.skip_429,
                ceiling=not args.skip_ceiling,
                profile=args.profile,
                log_dir=tmp,
            )
        )
        (tmp / f"result-{provider}.json").write_text(json.dumps(result, indent=1))
        rows += report_rows(result, provider)
        verdicts.append(f"{provider.upper()} {'met' if result['meets_target'] else 'NOT met'}")
    print(table(["scenario", "msgs/s", "s", "CPU % of a core", "checks"], rows))
    print(f"S6 target (≥ {TARGET_RATE:,.0f} msgs/s, 0 lost, Retry-After honoured): " + ", ".join(verdicts))


if __name__ == "__main__":
    main()
