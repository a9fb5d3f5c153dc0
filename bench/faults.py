"""Fault run: push deliveries and API answers while processes and dependencies fail.

    .venv/bin/python -m bench.faults [--recipients 2000] [--allow-api-5xx] [--keep]

Starts its own PostgreSQL cluster (initdb + pg_ctl, in a temp dir, on a free port: the machine's shared
server is never touched) and its own redis-server (append-only, as deployed), migrates, and runs
`linli serve` (no embedded worker), `linli scheduler` and two `linli worker` processes against the FCM
stand-in (tests/workers/fcm_standin.py, in this process). Then, one round of notifications to every
recipient per fault (committed as the API's outbox does, kicked to Redis by the relay):

    sigkill     worker-a SIGKILLed mid-round, started again
    sigterm     worker-a SIGTERMed mid-round (graceful: drains, records, releases), started again
    redis       Redis stopped mid-round for 3 s, started again (the processes stay up)
    postgres    PostgreSQL restarted mid-round (pg_ctl restart -m fast)

Throughout, an authenticated client calls GET /v1/me and GET /v1/notifications/unread-count on the
API. Per round it prints lost (a push never accepted by the stand-in), duplicated (accepted more than
once for the same notification) and the API's answers by class. Exit status 1 when anything is lost,
when a push is duplicated in any round but sigkill (where the documented record window, under a
second of answers, may be re-sent: docs/delivery.md), or when the API answered a 5xx other than 503
(503 + Retry-After is the promised answer to a failing dependency) or dropped a request without an
answer; `--allow-api-5xx` reports those API failures without failing on them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlmodel import col

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Server, free_port, spawn, table, wait_ready
from services.bootstrap import build_resources
from services.config import Settings
from services.models import Delivery, Device, User
from services.notifications.catalog import register_templates
from services.notifications.outbox import notify
from services.security import issue_access_token
from tests.workers.fcm_standin import FcmStandIn

PG_BIN = Path(os.environ.get("LINLI_PG_BIN", "/usr/lib/postgresql/15/bin"))
PROJECT = "linli-faults"
SECRET = "faults-secret-" + "x" * 40
ROUND_TIMEOUT = 60.0
register_templates({"faults.round": (("故障演练", "第 {n} 轮"), ("Fault drill", "Round {n}"))})


# --------------------------------------------------------------------------- dependencies


@dataclass
class Postgres:
    """A PostgreSQL cluster of our own (run as the `postgres` user when we are root: initdb refuses)."""

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def init(self) -> None:
        self.root.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.root / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _ctl(self, action: str, *extra: str) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        data = str(self.root / "data")
        self._run("pg_ctl", action, "-D", data, "-w", "-l", str(self.root / "pg.log"), "-o", opts, *extra)

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("stop", "-m", "fast")


@dataclass
class OwnRedis:
    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise SystemExit("redis-server is not on PATH")
        cmd = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", str(self.root)]
        cmd += ["--appendonly", "yes", "--appendfsync", "always"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                __import__("socket").create_connection(("127.0.0.1", self.port)),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


# --------------------------------------------------------------------------- the run


@dataclass
class Answers:
    """API answers by fault round: status class -> count."""

    current: str = "setup"
    by_round: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, what: str) -> None:
        self.by_round.setdefault(self.current, Counter())[what] += 1


async def probe(base: str, token: str, answers: Answers, stop: asyncio.Event) -> None:
    """An app user reading its profile and badge while the faults happen (keep-alive connection)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as client:
        while not stop.is_set():
            for path in ("/v1/me", "/v1/notifications/unread-count"):
                try:
                    response = await client.get(path)
                    status = response.status_code
                    answers.add("503" if status == 503 else f"{status // 100}xx")
                except httpx.HTTPError as exc:
                    answers.add(f"no answer ({type(exc).__name__})")
            await asyncio.sleep(0.05)


def sent_per_message(standin: FcmStandIn, notification_ids: set[str]) -> Counter[tuple[str, str]]:
    """(token, notification id) -> 200 answers, for this round's notifications."""
    with standin._lock:
        out: Counter[tuple[str, str]] = Counter()
        for r in standin.requests:
            data = r.message.get("data") or {}
            nid = str(data.get("notification_id", ""))
            if r.status == 200 and r.token and nid in notification_ids:
                out[(r.token, nid)] += 1
        return out


class Run:
    def __init__(self, tmp: Path, recipients: int) -> None:
        self.tmp = tmp
        self.n = recipients
        self.pg = Postgres(tmp / "pg")
        self.redis = OwnRedis(tmp)
        self.standin = FcmStandIn(project=PROJECT)
        self.processes: dict[str, Server] = {}
        self.answers = Answers()
        self.rows: list[list[str]] = []
        self.failed: list[str] = []

    def env(self) -> dict[str, str]:
        return {
            "LINLI_ENV": "test",
            "LINLI_DATABASE_URL": self.pg.url,
            "LINLI_REDIS_URL": self.redis.url,
            "LINLI_JWT_SECRET": SECRET,
            "LINLI_VAR_DIR": str(self.tmp / "var"),
            "LINLI_EMBEDDED_WORKER": "false",
            "LINLI_LOG_JSON": "false",
            "LINLI_FCM_BASE_URL": self.standin.base_url,
            "LINLI_FCM_PROJECT_ID": PROJECT,
            "LINLI_FCM_CREDENTIALS": "static:faults",
            "LINLI_FCM_TIMEOUT_SECONDS": "30",
            "LINLI_DELIVERY_SWEEP_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
        }

    def start(self, name: str, *args: str, log_name: str | None = None) -> Server:
        cmd = [sys.executable, "-m", "api.cli", *args]
        server = spawn(log_name or name, cmd, env=self.env(), log_dir=self.tmp, cpu=None)
        self.processes[name] = server
        return server

    async def wait_log(self, server: Server, text: str, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while text not in await asyncio.to_thread(server.log_path.read_text, errors="replace"):
            if server.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{server.name} never logged {text!r}")
            await asyncio.sleep(0.1)

    async def start_worker(self, name: str, log_name: str | None = None) -> None:
        await self.wait_log(self.start(name, "worker", log_name=log_name), "worker started")

    def start_dependencies(self) -> None:
        self.standin.start()
        self.pg.init()
        self.pg.start()
        self.redis.start()
        subprocess.run(
            [sys.executable, "-m", "api.cli", "migrate"],
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, **self.env()},
            stdout=subprocess.DEVNULL,
        )

    async def setup(self) -> tuple[Settings, list[int], str]:
        await asyncio.to_thread(self.start_dependencies)
        settings = Settings(
            **{k[len("LINLI_") :].lower(): v for k, v in self.env().items() if k.startswith("LINLI_")}
        )
        resources = build_resources(settings)
        try:
            async with resources.sessionmaker() as session, session.begin():
                users = [User(phone=f"+8617{i:09d}", name=f"r{i}", locale="en") for i in range(self.n)]
                session.add_all(users)
                await session.flush()
                ids = [u.id or 0 for u in users]
                tokens = [f"faults-{uid:06d}-{'x' * 24}" for uid in ids]
                devices = [
                    Device(user_id=u, token=t, platform="android") for u, t in zip(ids, tokens, strict=True)
                ]
                session.add_all(devices)
        finally:
            await resources.close()
        # FCM answering in 0.2–0.6 s keeps a round going for seconds, so each fault lands mid-round.
        for k, token in enumerate(tokens):
            self.standin.behave(token, "ok", delay_ms=200 + (k * 37) % 400)
        api = self.start("api", "serve", "--port", str(port := free_port()))
        api.port = port
        await wait_ready(api, "/healthz")
        await self.wait_log(self.start("scheduler", "scheduler"), "scheduler started")
        for name in ("worker-a", "worker-b"):
            await self.start_worker(name)
        return settings, ids, f"http://127.0.0.1:{port}"

    async def round(self, settings: Settings, users: list[int], name: str, number: int) -> None:
        self.answers.current = name
        resources = build_resources(settings)  # the relay kicks the committed deliveries to Redis
        from workers.broker import kick, make_broker

        broker = make_broker(settings)
        await broker.startup()
        resources.runtime.relay = lambda ids: kick(broker, ids)
        try:
            key = f"faults:{name}:{random.randrange(10**9)}"
            async with resources.unit() as session:
                await notify(session, users, "ticket", "faults.round", {"n": number}, key)
            async with resources.sessionmaker() as session:
                rows = await session.exec(
                    sa.select(col(Delivery.id), col(Delivery.notification_id)).where(
                        col(Delivery.dedupe_key).startswith(key)
                    )
                )
                pairs = rows.all()
            ids = [int(i) for i, _ in pairs]
            notification_ids = {str(n) for _, n in pairs}
        finally:
            await broker.shutdown()
            await resources.close()

        await self.until(
            lambda: sum(sent_per_message(self.standin, notification_ids).values()) >= self.n // 5, 60
        )
        await self.fault(name)
        started = time.monotonic()
        done = await self.until_sent(settings, ids)
        counts = sent_per_message(self.standin, notification_ids)
        lost = self.n - len(counts)
        duplicated = sum(1 for c in counts.values() if c > 1)
        answers = self.answers.by_round.get(name, Counter())
        bad = sum(v for k, v in answers.items() if k.startswith("5") and k != "503")
        self.rows.append(
            [
                name,
                str(self.n),
                str(lost),
                str(duplicated),
                f"{time.monotonic() - started:.1f}" if done else "timeout",
                str(answers.get("2xx", 0)),
                str(answers.get("503", 0)),
                str(bad),
                ", ".join(
                    f"{k}: {v}"
                    for k, v in sorted(answers.items())
                    if k not in ("2xx", "503") and not k.startswith("5")
                )
                or "-",
            ]
        )
        if lost:
            self.failed.append(f"{name}: {lost} lost")
        if duplicated and name != "sigkill":
            self.failed.append(f"{name}: {duplicated} duplicated")
        if bad:
            self.failed.append(f"{name}: API answered {bad} 5xx (not 503)")
        dropped = sum(v for k, v in answers.items() if k.startswith("no answer"))
        if dropped:  # a connection closed under a request: the next request on it failed
            self.failed.append(f"{name}: API answered {dropped} requests with no answer")

    async def fault(self, name: str) -> None:
        if name in ("sigkill", "sigterm"):
            worker = self.processes["worker-a"]
            os.killpg(worker.proc.pid, signal.SIGKILL if name == "sigkill" else signal.SIGTERM)
            await asyncio.to_thread(worker.proc.wait, 30)
            self.processes[f"worker-a-{name}"] = (
                worker  # its log stays: worker-a.log, then worker-a-<round>.log
            )
            await self.start_worker("worker-a", log_name=f"worker-a-after-{name}")
        elif name == "redis":
            await asyncio.to_thread(self.redis.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(self.redis.start)
        elif name == "postgres":
            await asyncio.to_thread(self.pg.restart)

    async def until(self, check: object, within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if check():  # type: ignore[operator]
                return True
            await asyncio.sleep(0.1)
        return False

    async def until_sent(self, settings: Settings, ids: list[int]) -> bool:
        deadline = time.monotonic() + ROUND_TIMEOUT
        resources = build_resources(settings)
        try:
            while time.monotonic() < deadline:
                with contextlib.suppress(Exception):  # PostgreSQL may still be coming back
                    async with resources.sessionmaker() as session:
                        left = await session.scalar(
                            sa.select(sa.func.count())
                            .select_from(Delivery)
                            .where(col(Delivery.id).in_(ids), col(Delivery.status) != "sent")
                        )
                    if left == 0:
                        return True
                await asyncio.sleep(0.5)
            return False
        finally:
            await resources.close()

    def stop(self) -> None:
        for server in self.processes.values():
            server.stop()
        self.redis.stop()
        self.pg.stop()
        self.standin.stop()


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--allow-api-5xx", action="store_true", help="report API 5xx, do not fail on them")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    args = parser.parse_args()
    if not (PG_BIN / "initdb").exists():
        raise SystemExit(f"no PostgreSQL binaries in {PG_BIN} (set LINLI_PG_BIN)")
    tmp = Path(tempfile.mkdtemp(prefix="linli-faults-"))
    os.chmod(tmp, 0o755)  # noqa: S103 (the postgres user must reach its data dir inside)
    run = Run(tmp, args.recipients)
    started = time.monotonic()
    try:
        settings, users, base = await run.setup()
        stop = asyncio.Event()
        prober = asyncio.create_task(
            probe(base, issue_access_token(SECRET, settings.jwt_issuer, users[0], 120)[0], run.answers, stop)
        )
        try:
            for number, name in enumerate(("sigkill", "sigterm", "redis", "postgres"), start=1):
                await run.round(settings, users, name, number)
        finally:
            stop.set()
            await prober
    finally:
        run.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    headers = [
        "fault",
        "pushes",
        "lost",
        "duplicated",
        "s to all sent",
        "API 2xx",
        "API 503",
        "API other 5xx",
        "API other",
    ]
    print(table(headers, run.rows))
    print(
        f"\n{time.monotonic() - started:.0f} s; logs in {tmp}"
        if args.keep
        else f"\n{time.monotonic() - started:.0f} s"
    )
    failures = [f for f in run.failed if args.allow_api_5xx is False or "API answered" not in f]
    for failure in run.failed:
        print(("FAIL " if failure in failures else "note ") + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
