"""Shared bench machinery: HTTP clients, the closed-loop load driver, CPU accounting, servers, tables.

Every scenario script (bench/*_bench.py) builds on this module; `bench/run.py` runs them all.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime as dt
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
DOCS = ROOT / "docs" / "benchmarks.md"
PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- HTTP clients


class HttpError(Exception):
    """A response with an unexpected status (or a transport failure), counted as an error."""

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.label = label


class Client(Protocol):
    async def request(
        self, method: str, path: str, body: bytes | None = None, headers: Sequence[tuple[str, str]] = ()
    ) -> tuple[int, bytes]: ...

    async def close(self) -> None: ...


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: one connection, one request at a time.

    It exists because httpx spends ~10x more CPU per request than a fast server does, so at high
    request rates the load generator, not the server, would be measured.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._host_header = f"Host: {host}:{port}\r\n"

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def request(
        self, method: str, path: str, body: bytes | None = None, headers: Sequence[tuple[str, str]] = ()
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self._connect()
        assert self.reader is not None and self.writer is not None
        head = [f"{method} {path} HTTP/1.1\r\n", self._host_header]
        head.extend(f"{k}: {v}\r\n" for k, v in headers)
        if body is not None:
            head.append(f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n")
        head.append("\r\n")
        self.writer.write("".join(head).encode() + (body or b""))
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
            status = int(raw[9:12])
            lower = raw.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                end = lower.index(b"\r\n", at + 2)
                data = await self.reader.readexactly(int(lower[at + 17 : end]))
            elif b"transfer-encoding: chunked" in lower:
                data = await self._read_chunked()
            else:
                data = b""
            if b"\r\nconnection: close" in lower:
                await self.close()
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await self.close()
            raise HttpError(f"transport: {type(exc).__name__}") from exc
        return status, data

    async def _read_chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size + 2))
            parts[-1] = parts[-1][:-2]

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class HttpxClient:
    """httpx.AsyncClient with one keep-alive connection (one client per virtual user)."""

    def __init__(self, host: str, port: int) -> None:
        import httpx

        self.client = httpx.AsyncClient(
            base_url=f"http://{host}:{port}",
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            timeout=30.0,
        )

    async def request(
        self, method: str, path: str, body: bytes | None = None, headers: Sequence[tuple[str, str]] = ()
    ) -> tuple[int, bytes]:
        hdrs = dict(headers)
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        try:
            resp = await self.client.request(method, path, content=body, headers=hdrs)
        except Exception as exc:
            raise HttpError(f"transport: {type(exc).__name__}") from exc
        return resp.status_code, resp.content

    async def close(self) -> None:
        await self.client.aclose()


def make_client(driver: str, host: str, port: int) -> Client:
    if driver == "raw":
        return RawClient(host, port)
    if driver == "httpx":
        return HttpxClient(host, port)
    raise ValueError(f"unknown driver {driver!r}")


def expect(status: int, wanted: int, body: bytes, what: str) -> None:
    if status != wanted:
        raise HttpError(f"{what} {status}: {body[:120].decode(errors='replace')}")


# --------------------------------------------------------------------------- CPU accounting


def _proc_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _system_busy_ticks() -> int:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values[:8]) - idle


DB_PROCESSES = frozenset({"postgres", "redis-server"})


def _db_ticks() -> int:
    """CPU ticks of every PostgreSQL and Redis process (including other users' sessions)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        if comm in DB_PROCESSES:
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total


@dataclass
class CpuSample:
    at: float
    server: int
    me: float
    db: int
    busy: int

    @classmethod
    def take(cls, server_pid: int | None) -> CpuSample:
        t = os.times()
        return cls(
            time.perf_counter(),
            _proc_ticks(server_pid) if server_pid else 0,
            t.user + t.system,
            _db_ticks(),
            _system_busy_ticks(),
        )

    def since(self, start: CpuSample) -> tuple[float, float, float, float]:
        """(server, load generator, PostgreSQL + Redis, everything else) as % of one core.
        "Everything else" is foreign load (other programs on the machine) plus kernel time."""
        wall = self.at - start.at
        server = (self.server - start.server) / CLK_TCK / wall * 100
        me = (self.me - start.me) / wall * 100
        db = max(self.db - start.db, 0) / CLK_TCK / wall * 100  # exited backends drop out
        busy = (self.busy - start.busy) / CLK_TCK / wall * 100
        return server, me, db, max(busy - server - me - db, 0.0)


async def wait_quiet(max_busy: float = 30.0, within: float = 120.0, silent: bool = False) -> float:
    """Wait (up to `within` s) until the whole machine is below `max_busy` % of one core, measured
    over 0.5 s; return the last figure. Other people's test runs on a shared box skew a bench."""
    deadline = time.monotonic() + within
    warned = False
    while True:
        before, t0 = _system_busy_ticks(), time.perf_counter()
        await asyncio.sleep(0.5)
        busy = (_system_busy_ticks() - before) / CLK_TCK / (time.perf_counter() - t0) * 100
        if busy <= max_busy or time.monotonic() > deadline:
            if warned and not silent:
                print(f"    (machine at {busy:.0f}% of a core; going on)", flush=True)
            return busy
        if not warned and not silent:
            print(f"    waiting for a quiet machine ({busy:.0f}% of a core busy) …", flush=True)
            warned = True


# --------------------------------------------------------------------------- load driver

Op = Callable[[], Awaitable[None]]


class VirtualUser(Protocol):
    async def op(self) -> None: ...

    async def close(self) -> None: ...


@dataclass
class Result:
    scenario: str
    concurrency: int
    ops: int
    seconds: float
    latencies_ms: list[float]
    errors: Counter[str] = field(default_factory=Counter)
    cpu: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    driver: str = "raw"
    note: str = ""
    pg_connects: int = 0
    ref_rate: float = 0.0

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    @property
    def cpu_text(self) -> str:
        return "/".join(f"{v:.0f}" for v in self.cpu)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def merge(parts: Sequence[Result]) -> Result:
    """One row from the slices of several rounds: ops and seconds add up, latencies pool,
    CPU shares are weighted by measured seconds."""
    first = parts[0]
    seconds = sum(p.seconds for p in parts)
    errors: Counter[str] = Counter()
    for p in parts:
        errors.update(p.errors)
    cpu = tuple(sum(p.cpu[i] * p.seconds for p in parts) / seconds for i in range(4))
    return Result(
        first.scenario,
        first.concurrency,
        sum(p.ops for p in parts),
        seconds,
        [v for p in parts for v in p.latencies_ms],
        errors,
        (cpu[0], cpu[1], cpu[2], cpu[3]),
        first.driver,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no data."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def run_load(
    scenario: str,
    users: Sequence[VirtualUser],
    *,
    duration: float,
    warmup: float,
    server_pid: int | None = None,
    driver: str = "raw",
) -> Result:
    """Closed loop: every virtual user repeats its operation back-to-back. Operations that complete
    in the measurement window (after the warm-up) count, with their whole latency, even when they
    started in the warm-up: with slow operations a window of a second still sees completions."""
    start = time.perf_counter()
    t_measure = start + warmup
    t_end = t_measure + duration
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    ops = 0
    cpu_start: list[CpuSample] = []

    async def measure_cpu() -> None:
        await asyncio.sleep(max(t_measure - time.perf_counter(), 0))
        cpu_start.append(CpuSample.take(server_pid))

    async def loop(user: VirtualUser) -> None:
        nonlocal ops
        clock = time.perf_counter
        while True:
            t0 = clock()
            if t0 >= t_end:
                return
            try:
                await user.op()
            except HttpError as exc:
                errors[exc.label] += 1
                continue
            t1 = clock()
            if t_measure <= t1 <= t_end:
                ops += 1
                latencies.append((t1 - t0) * 1000)

    cpu_task = asyncio.create_task(measure_cpu())
    await asyncio.gather(*(loop(u) for u in users))
    await cpu_task
    cpu = CpuSample.take(server_pid).since(cpu_start[0]) if cpu_start else (0.0, 0.0, 0.0, 0.0)
    for u in users:
        await u.close()
    return Result(scenario, len(users), ops, duration, latencies, errors, cpu, driver)


def use_fast_loop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def pin_self(cpu: int) -> bool:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})
        return True
    return False


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    """A free local port: from LINLI_BENCH_PORTS (`low-high`) when set (a shared machine where each
    user keeps to a range), else one the OS picks."""
    span = os.environ.get("LINLI_BENCH_PORTS")
    candidates = [0]
    if span:
        low, high = (int(x) for x in span.split("-"))
        candidates = list(range(low, high + 1))
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError(f"no free port in LINLI_BENCH_PORTS={span}")


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.proc.poll() is None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


_RUNNING: list[Server] = []


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        server.stop()


def start_uvicorn(
    name: str,
    app: str,
    *,
    env: dict[str, str],
    log_dir: Path,
    factory: bool = False,
    cpu: int | None = 0,
    log_level: str = "warning",
    port: int | None = None,
) -> Server:
    """One uvicorn process (uvloop + httptools, no access log), pinned to `cpu` when taskset exists;
    on a free port unless given one."""
    port = port or free_port()
    cmd = [PYTHON, "-m", "uvicorn", app, "--app-dir", str(BENCH_DIR)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", log_level]
    cmd += ["--timeout-keep-alive", "120"]
    if factory:
        cmd.append("--factory")
    return spawn(name, cmd, env=env, log_dir=log_dir, cpu=cpu, port=port)


def spawn(
    name: str, cmd: list[str], *, env: dict[str, str], log_dir: Path, cpu: int | None = 0, port: int = 0
) -> Server:
    """Start `cmd` in its own session (pinned to `cpu` when taskset exists), logging to log_dir/name.log;
    stopped at exit."""
    if cpu is not None and shutil.which("taskset") and (os.cpu_count() or 1) > cpu:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, port, proc, log_path)
    _RUNNING.append(server)
    return server


async def wait_ready(server: Server, path: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    client = RawClient("127.0.0.1", server.port)
    try:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                break
            try:
                status, _ = await client.request("GET", path)
                if status == 200:
                    return
            except (OSError, HttpError):
                pass
            await asyncio.sleep(0.2)
    finally:
        await client.close()
    tail = server.log_path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{server.name} did not become ready on {path}:\n{tail}")


# --------------------------------------------------------------------------- reporting


def fmt(value: float, digits: int = 1) -> str:
    return "–" if value != value else f"{value:,.{digits}f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table, aligned so it also reads well on a terminal."""
    rows = [list(r) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    sep = "|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def _cmd(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT).stdout.strip()
    except OSError:
        return ""


def machine_facts(extra: dict[str, str] | None = None) -> dict[str, str]:
    cpu_model = "unknown"
    with contextlib.suppress(OSError):
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu_model = row.split(":", 1)[1].strip()
                break
    dirty = " (+ uncommitted changes)" if _cmd(["git", "status", "--porcelain"]) else ""
    facts = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": (_cmd(["git", "rev-parse", "--short", "HEAD"]) or "unknown") + dirty,
        "cpus": f"{os.cpu_count()} × {cpu_model}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
    }
    facts.update(extra or {})
    return facts


def replace_section(name: str, content: str, path: Path = DOCS) -> None:
    """Replace (or append) the text between `<!-- bench:NAME start -->` and `<!-- bench:NAME end -->`."""
    start, end = f"<!-- bench:{name} start -->", f"<!-- bench:{name} end -->"
    block = f"{start}\n{content.rstrip()}\n{end}"
    text = (
        path.read_text() if path.exists() else "# Benchmarks\n\nProduced by `make bench` (`bench/run.py`).\n"
    )
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def run_async(main: Callable[[], Awaitable[Any]]) -> Any:
    use_fast_loop()
    return asyncio.run(main())  # type: ignore[arg-type]


# --------------------------------------------------------------------------- databases


async def empty_database(pg: str, db: str) -> str:
    """Create `db` if missing and empty its public schema (migrations then build it); the server's
    version for the report."""
    import asyncpg

    admin = await asyncpg.connect(f"postgresql://{pg}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
            await admin.execute(f'CREATE DATABASE "{db}"')
        version: str = await admin.fetchval("SHOW server_version")
    finally:
        await admin.close()
    conn = await asyncpg.connect(f"postgresql://{pg}/{db}")
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    return version


def bench_token(provider: str, uid: int, token_len: int = 140) -> str:
    """A device token of the provider's shape: FCM's ~150 chars, APNs' 64 hex digits, JPush's
    registration id (alphanumeric)."""
    if provider == "apns":
        return f"{uid:064x}"
    if provider == "jpush":
        return f"bench{uid:014d}"
    return f"bench-{uid:07d}-{'x' * token_len}"


async def make_recipients(
    db_url: str, n: int, token_len: int = 140, provider: str = "fcm", platform: str = "android"
) -> list[int]:
    """N users with one device each (default: Android on FCM, tokens about as long as FCM's)."""
    import sqlalchemy as sa

    from services.db import create_engine
    from services.models import Device, User, utcnow

    engine = create_engine(db_url)
    now = utcnow()
    users = User.__table__  # type: ignore[attr-defined]
    devices = Device.__table__  # type: ignore[attr-defined]
    try:
        async with engine.begin() as conn:
            ids: list[int] = []
            for start in range(0, n, 1000):
                rows = [
                    {"phone": f"+8613{i:09d}", "name": f"居民{i}", "locale": "zh-CN", "created_at": now}
                    for i in range(start, min(n, start + 1000))
                ]
                ids += (await conn.execute(sa.insert(users).returning(users.c.id), rows)).scalars().all()
            for start in range(0, n, 1000):
                rows = [
                    {
                        "user_id": uid,
                        "token": bench_token(provider, uid, token_len),
                        "platform": platform,
                        **({} if provider == "fcm" else {"provider": provider}),
                        "created_at": now,
                        "last_seen_at": now,
                    }
                    for uid in ids[start : start + 1000]
                ]
                await conn.execute(sa.insert(devices), rows)
        return ids
    finally:
        await engine.dispose()


def fcm_settings(db_url: str, redis_url: str, fcm_url: str, project: str) -> Any:
    """App settings pointing firebase-admin at a local FCM stand-in (static bench credentials)."""
    from services.config import Settings

    return Settings(
        env="dev",
        database_url=db_url,
        redis_url=redis_url,
        jwt_secret="bench-secret-" + "x" * 40,  # type: ignore[arg-type]
        embedded_worker=False,
        fcm_base_url=fcm_url,
        fcm_project_id=project,
        fcm_credentials="static:bench",
    )


def fcm_worker_env(
    db_url: str, redis_url: str, fcm_url: str, project: str, var_dir: Path, **extra: str
) -> dict[str, str]:
    """The environment of a `linli worker` sending through a local FCM stand-in (no LINLI_* inherited)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(
        LINLI_ENV="dev",
        LINLI_DATABASE_URL=db_url,
        LINLI_REDIS_URL=redis_url,
        LINLI_JWT_SECRET="bench-secret-" + "x" * 40,
        LINLI_VAR_DIR=str(var_dir),
        LINLI_EMBEDDED_WORKER="false",
        LINLI_LOG_JSON="false",
        LINLI_FCM_BASE_URL=fcm_url,
        LINLI_FCM_PROJECT_ID=project,
        LINLI_FCM_CREDENTIALS="static:bench",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def stop_processes(*procs: subprocess.Popen[bytes], within: float = 30.0) -> None:
    """SIGTERM every process first (they shut down side by side), then wait for each; kill stragglers."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(within)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
