"""Auth bench: GET /v1/me and a full OTP login against one uvicorn process on PostgreSQL,
with a bare FastAPI JSON endpoint measured in the same run as the framework's ceiling.

    .venv/bin/python bench/auth_bench.py [--rounds 3] [--slice 2] [--warmup 0.5] [--concurrency 1,16,64] [--quick]

Resets the database `linli_bench` (schema public) and Redis db 12, pins the server to CPU 0 and
this load generator to CPU 1, prints a table and writes it to docs/benchmarks.md (section `auth`).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import (
    Client,
    HttpError,
    Result,
    Server,
    VirtualUser,
    empty_database,
    expect,
    fmt,
    machine_facts,
    make_client,
    merge,
    pin_self,
    replace_section,
    run_load,
    start_uvicorn,
    table,
    use_fast_loop,
    wait_quiet,
    wait_ready,
)

from services import migrations
from services.phones import normalise_mobile
from services.security import issue_access_token

JWT_SECRET = "bench-secret-bench-secret-bench-secret-0123456789"
OTP_RESEND_SECONDS = 1
BARE, ME, LOGIN = "bare FastAPI GET /ping", "GET /v1/me", "OTP login (2 requests)"


# --------------------------------------------------------------------------- database


def pg_url(args: argparse.Namespace, driver: str = "postgresql+asyncpg") -> str:
    return f"{driver}://{args.pg}/{args.db}"


def me_phone(i: int) -> str:
    return f"+86139{i:08d}"


def login_phone(slot: int, k: int) -> str:
    return f"+86137{slot:03d}{k:05d}"


async def seed(args: argparse.Namespace, login_slots: int) -> list[int]:
    """A community, a building, N households with one verified resident each (for /v1/me), and
    `login_slots` x `phones_per_client` returning users for the login scenario."""
    conn = await asyncpg.connect(pg_url(args, "postgresql"))
    try:
        async with conn.transaction():
            community = await conn.fetchval(
                "INSERT INTO community (name, address, radius_m, time_zone, created_at)"
                " VALUES ('Bench 小区', '1 Bench Road', 500, 'Asia/Shanghai', now()) RETURNING id"
            )
            building = await conn.fetchval(
                "INSERT INTO building (community_id, name, created_at) VALUES ($1, '1号楼', now()) RETURNING id",
                community,
            )
            await conn.execute(
                "INSERT INTO household (community_id, building_id, entrance, room, area_m2, created_at)"
                " SELECT $1, $2, '1', lpad(g::text, 4, '0'), 88.50, now() FROM generate_series(1, $3) g",
                community,
                building,
                args.users,
            )
            await conn.execute(
                "INSERT INTO user_account (phone, name, locale, created_at)"
                " SELECT '+86139' || lpad(g::text, 8, '0'), 'Bench ' || g, 'zh-CN', now()"
                " FROM generate_series(0, $1 - 1) g",
                args.users,
            )
            await conn.execute(
                "INSERT INTO membership (user_id, community_id, role, household_id, relation, status,"
                " verified_at, created_at)"
                " SELECT u.id, $1, 'resident', h.id, 'owner', 'verified', now(), now()"
                " FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM user_account) u"
                " JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM household) h USING (rn)",
                community,
            )
            me_ids = [r["id"] for r in await conn.fetch("SELECT id FROM user_account ORDER BY id")]
            await conn.execute(
                "INSERT INTO user_account (phone, name, locale, created_at)"
                " SELECT '+86137' || lpad(s::text, 3, '0') || lpad(k::text, 5, '0'), '', 'zh-CN', now()"
                " FROM generate_series(0, $1 - 1) s, generate_series(0, $2 - 1) k",
                login_slots,
                args.phones_per_client,
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return me_ids


def reset_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


# --------------------------------------------------------------------------- virtual users


class LazyClient:
    """Opens its HTTP client on first use and again after close(), so a user can run many slices."""

    def __init__(self, driver: str, port: int) -> None:
        self.driver, self.port = driver, port
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = make_client(self.driver, "127.0.0.1", self.port)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


class BareUser(LazyClient):
    async def op(self) -> None:
        status, body = await self.client.request("GET", "/ping")
        expect(status, 200, body, "GET /ping")


class MeUser(LazyClient):
    def __init__(self, driver: str, port: int, token: str) -> None:
        super().__init__(driver, port)
        self.headers = (("Authorization", f"Bearer {token}"),)

    async def op(self) -> None:
        status, body = await self.client.request("GET", "/v1/me", headers=self.headers)
        expect(status, 200, body, "GET /v1/me")


class Outbox:
    """Tails the dev SMS provider's JSONL outbox; the server appends the line before it answers 202."""

    def __init__(self, path: Path) -> None:
        path.touch()
        self.fh = path.open("rb")
        self.buf = b""
        self.codes: dict[str, str] = {}

    def _poll(self) -> None:
        chunk = self.fh.read()
        if not chunk:
            return
        *lines, self.buf = (self.buf + chunk).split(b"\n")
        for line in lines:
            if line:
                row = orjson.loads(line)
                self.codes[row["phone"]] = row["code"]

    async def code_for(self, phone: str, within: float = 5.0) -> str:
        deadline = time.monotonic() + within
        while True:
            self._poll()
            code = self.codes.pop(phone, None)
            if code is not None:
                return code
            if time.monotonic() > deadline:
                raise HttpError("no code in the SMS outbox")
            await asyncio.sleep(0.0005)

    def close(self) -> None:
        self.fh.close()


class LoginUser(LazyClient):
    """POST /v1/auth/otp, read the code from the outbox, POST /v1/auth/login. Each virtual user owns
    a block of phones (a returning user each) and cycles through it, so no per-phone limit fires."""

    def __init__(self, driver: str, port: int, outbox: Outbox, slot: int, phones: int) -> None:
        super().__init__(driver, port)
        self.outbox = outbox
        self.phones = [login_phone(slot, k) for k in range(phones)]
        self.i = 0
        self.last_sent: dict[str, float] = {}
        self.waits = 0

    async def op(self) -> None:
        phone = self.phones[self.i % len(self.phones)]
        self.i += 1
        last = self.last_sent.get(phone)
        if last is not None and time.monotonic() - last < OTP_RESEND_SECONDS + 0.05:
            self.waits += 1  # the phone block is too small for this rate; the row says so
            await asyncio.sleep(OTP_RESEND_SECONDS + 0.05 - (time.monotonic() - last))
        self.last_sent[phone] = time.monotonic()
        status, body = await self.client.request("POST", "/v1/auth/otp", orjson.dumps({"phone": phone}))
        expect(status, 202, body, "POST /v1/auth/otp")
        code = await self.outbox.code_for(phone)
        payload = orjson.dumps({"phone": phone, "code": code})
        status, body = await self.client.request("POST", "/v1/auth/login", payload)
        expect(status, 200, body, "POST /v1/auth/login")


# --------------------------------------------------------------------------- runs


@dataclass
class Spec:
    """One row kind of a group: its name, its server and how to make its c virtual users."""

    scenario: str
    server: Server
    users: Callable[[int], list[VirtualUser]]
    driver: str = "raw"
    show: bool = True


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path, me_ids: list[int]) -> None:
        self.args = args
        self.tmp = tmp
        self.tokens = [issue_access_token(JWT_SECRET, "linli", uid, 24 * 60)[0] for uid in me_ids]
        self.next_slot = 0
        self.results: list[Result] = []
        self.servers: list[Server] = []
        self.outboxes: dict[str, Outbox] = {}

    def linli_env(self, name: str, *, redis: bool = True, **extra: str) -> dict[str, str]:
        return {
            "LINLI_ENV": "dev",
            "LINLI_DATABASE_URL": pg_url(self.args),
            "LINLI_REDIS_URL": self.args.redis if redis else "",
            "LINLI_JWT_SECRET": JWT_SECRET,
            "LINLI_EMBEDDED_WORKER": "false",
            "LINLI_OTP_IP_HOURLY_LIMIT": "100000000",
            "LINLI_OTP_PHONE_HOURLY_LIMIT": "1000",
            "LINLI_OTP_RESEND_SECONDS": str(OTP_RESEND_SECONDS),
            "LINLI_SMS_OUTBOX_PATH": str(self.tmp / f"sms-{name}.jsonl"),
            "LINLI_VAR_DIR": str(self.tmp / "var"),
            **extra,
        }

    async def start_linli(self, name: str, *, redis: bool = True, **extra: str) -> Server:
        server = start_uvicorn(
            name,
            "linli_app:create",
            factory=True,
            env=self.linli_env(name, redis=redis, **extra),
            log_dir=self.tmp,
        )
        self.servers.append(server)
        await wait_ready(server, "/readyz")
        await self.sanity_check_me(server)
        return server

    async def sanity_check_me(self, server: Server) -> None:
        client = make_client("raw", "127.0.0.1", server.port)
        try:
            headers = (("Authorization", f"Bearer {self.tokens[0]}"),)
            status, body = await client.request("GET", "/v1/me", headers=headers)
        finally:
            await client.close()
        me = orjson.loads(body) if status == 200 else {}
        if not me.get("verified") or len(me.get("households", [])) != 1:
            raise RuntimeError(f"/v1/me sanity check failed: {status} {body[:300]!r}")

    def stop(self, server: Server) -> None:
        server.stop()
        self.servers.remove(server)
        outbox = self.outboxes.pop(server.name, None)
        if outbox is not None:
            outbox.close()

    async def pg_sessions(self) -> int:
        conn = await asyncpg.connect(f"postgresql://{self.args.pg}/postgres")
        try:
            value = await conn.fetchval(
                "SELECT sessions FROM pg_stat_database WHERE datname = $1", self.args.db
            )
        finally:
            await conn.close()
        return int(value or 0)

    # -- virtual-user factories

    def bare_users(self, server: Server, driver: str = "raw") -> Callable[[int], list[VirtualUser]]:
        return lambda c: [BareUser(driver, server.port) for _ in range(c)]

    def me_users(self, server: Server) -> Callable[[int], list[VirtualUser]]:
        d = self.args.driver
        return lambda c: [MeUser(d, server.port, self.tokens[i % len(self.tokens)]) for i in range(c)]

    def login_users(self, server: Server) -> Callable[[int], list[VirtualUser]]:
        def make(c: int) -> list[VirtualUser]:
            if server.name not in self.outboxes:
                self.outboxes[server.name] = Outbox(self.tmp / f"sms-{server.name}.jsonl")
            users: list[VirtualUser] = []
            for _ in range(c):
                slot, self.next_slot = self.next_slot, self.next_slot + 1
                users.append(
                    LoginUser(
                        self.args.driver,
                        server.port,
                        self.outboxes[server.name],
                        slot,
                        self.args.phones_per_client,
                    )
                )
            return users

        return make

    # -- measuring

    async def group(self, title: str, specs: Sequence[Spec]) -> None:
        """Per concurrency level, `rounds` rounds; each round runs one slice of every spec in turn,
        so a burst of foreign load hits every row of the group alike and the ratios hold."""
        a = self.args
        print(title, flush=True)
        for c in a.levels:
            users = [spec.users(c) for spec in specs]
            parts: list[list[Result]] = [[] for _ in specs]
            connects = [0 for _ in specs]
            for _ in range(a.rounds):
                await wait_quiet(a.quiet_below, a.quiet_wait, silent=True)
                for i, spec in enumerate(specs):
                    sessions = await self.pg_sessions()
                    parts[i].append(
                        await run_load(
                            spec.scenario,
                            users[i],
                            duration=a.slice,
                            warmup=a.warmup,
                            server_pid=spec.server.pid,
                            driver=spec.driver,
                        )
                    )
                    connects[i] += await self.pg_sessions() - sessions
            ref = merge(parts[0])
            for i, spec in enumerate(specs):
                result = merge(parts[i])
                result.pg_connects = connects[i]
                result.ref_rate = ref.rate
                waits = sum(getattr(u, "waits", 0) for u in users[i])
                if waits:
                    result.note = f"{waits} waits for the per-phone resend window: raise --phones-per-client"
                if spec.show:
                    self.results.append(result)
                    self.print_row(result)

    def print_row(self, r: Result) -> None:
        errs = f"  ERRORS {dict(r.errors)}" if r.errors else ""
        note = f"  ! {r.note}" if r.note else ""
        print(
            f"  {r.scenario:<52} c={r.concurrency:<3} {r.rate:>8,.0f} ops/s  p50 {r.pct(50):7.2f} ms"
            f"  p99 {r.pct(99):7.2f} ms  x{r.rate / r.ref_rate if r.ref_rate else 0:.3f}"
            f"  pg+{r.pg_connects:<4} cpu srv/load/db/else {r.cpu_text}%{errs}{note}",
            flush=True,
        )


def login_runs(args: argparse.Namespace) -> int:
    return 1 if args.quick else 3


async def run(args: argparse.Namespace, tmp: Path, me_ids: list[int]) -> Bench:
    bench = Bench(args, tmp, me_ids)
    try:
        bare = start_uvicorn("bare", "bare_app:app", env={}, log_dir=tmp)
        bench.servers.append(bare)
        await wait_ready(bare, "/ping")
        linli = await bench.start_linli("linli")
        if pin_self(1):
            print("server pinned to CPU 0, load generator to CPU 1 (PostgreSQL and Redis float)")
        print(
            f"driver: {args.driver}; per row {args.rounds} rounds x ({args.warmup:g} s warm-up +"
            f" {args.slice:g} s measured), interleaved with the bare endpoint"
        )
        bare_spec = Spec(BARE, bare, bench.bare_users(bare))
        hidden_bare = Spec(BARE, bare, bench.bare_users(bare), show=False)
        await bench.group(
            "main:",
            [bare_spec, Spec(ME, linli, bench.me_users(linli)), Spec(LOGIN, linli, bench.login_users(linli))],
        )
        bench.stop(linli)
        if args.quick:
            return bench
        await bench.group(
            "client check: the bare endpoint driven by httpx",
            [hidden_bare, Spec(f"{BARE} [httpx client]", bare, bench.bare_users(bare, "httpx"), "httpx")],
        )
        print("variants (one app setting changed, server restarted):")
        server = await bench.start_linli("linli-info-logs", BENCH_LOG_LEVEL="INFO")
        await bench.group(
            "  INFO logging",
            [hidden_bare, Spec(f"{ME} [INFO logs, as `linli serve`]", server, bench.me_users(server))],
        )
        bench.stop(server)
        pool = str(max(args.levels) + 6)
        server = await bench.start_linli("linli-pool", BENCH_POOL_SIZE=pool)
        label = f" [pool_size={pool}, max_overflow=0]"
        await bench.group(
            "  pool",
            [
                hidden_bare,
                Spec(ME + label, server, bench.me_users(server)),
                Spec(LOGIN + label, server, bench.login_users(server)),
            ],
        )
        bench.stop(server)
        server = await bench.start_linli("linli-preping", BENCH_POOL_PRE_PING="1")
        await bench.group(
            "  pre-ping", [hidden_bare, Spec(f"{ME} [pool_pre_ping on]", server, bench.me_users(server))]
        )
        bench.stop(server)
        server = await bench.start_linli("linli-no-redis", redis=False)
        await bench.group(
            "  no Redis",
            [hidden_bare, Spec(f"{LOGIN} [no Redis: DbLoginStore]", server, bench.login_users(server))],
        )
        bench.stop(server)
    finally:
        for server in list(bench.servers):
            bench.stop(server)
    return bench


# --------------------------------------------------------------------------- report


def report(bench: Bench, facts: dict[str, str]) -> str:
    rows = []
    for r in bench.results:
        http = r.rate * (2 if r.scenario.startswith(LOGIN) else 1)
        ratio = r.rate / r.ref_rate if r.ref_rate else float("nan")
        rows.append(
            [
                r.scenario,
                str(r.concurrency),
                fmt(r.rate, 0),
                fmt(http, 0),
                fmt(r.pct(50), 2),
                fmt(r.pct(99), 2),
                str(r.error_count),
                "–" if r.scenario == BARE else f"{ratio:.3f}",
                "–" if r.scenario == BARE else fmt(r.ref_rate, 0),
                r.cpu_text,
                "–" if r.scenario.startswith(BARE) else str(r.pg_connects),
            ]
        )
    headers = [
        "scenario",
        "clients",
        "ops/s",
        "HTTP req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "× bare",
        "bare req/s",
        "CPU % srv/load/db/else",
        "PG connects",
    ]
    a = bench.args
    lines = [
        "## Auth: `GET /v1/me` and a full OTP login",
        "",
        "`bench/auth_bench.py` (run by `make bench`). One uvicorn process (uvloop, httptools, no access log)",
        "serves the app on PostgreSQL with Redis (`LINLI_EMBEDDED_WORKER=false`, dev SMS outbox, OTP limits",
        "raised so nothing throttles); a bare FastAPI app with one JSON `GET` runs beside it as the framework's",
        "ceiling. Closed loop: each client repeats its operation back to back over one keep-alive HTTP/1.1",
        f"connection. A row is {a.rounds} rounds of ({a.warmup:g} s warm-up + {a.slice:g} s measured); each round runs",
        "one slice of every row of its group in turn with the bare endpoint, so foreign load on this shared",
        "machine hits the rows and their bare reference alike (`bare req/s` is that reference, `× bare` the",
        "ratio to it). Server on CPU 0, load",
        "generator on CPU 1 (`taskset`); PostgreSQL and Redis are not pinned and share both cores.",
        "",
        f"- `GET /v1/me`: {a.users} verified residents (community, building, household), bearer tokens minted",
        "  with `issue_access_token`, clients spread over the users.",
        "- OTP login: `POST /v1/auth/otp`, the code read from the SMS outbox JSONL, `POST /v1/auth/login` → 200",
        f"  with tokens; one op = both requests. Each client cycles through {a.phones_per_client} returning users'",
        "  phones of its own.",
        "- `× bare`: ops/s over the bare endpoint's req/s at the same concurrency (for login, one op is two",
        "  requests). CPU, in % of one core over the measured window: server process / load generator /",
        "  PostgreSQL + Redis / everything else (other programs, kernel); before each row the bench waits",
        f"  (up to {a.quiet_wait:g} s) for the machine to fall below {a.quiet_below:g}% of a core. PG connects: new PostgreSQL sessions opened on",
        "  `linli_bench` during the row (warm-up included; `pg_stat_database.sessions`).",
        "",
        *(f"- {k}: {v}" for k, v in facts.items()),
        "",
        table(headers, rows),
    ]
    notes = [f"- {r.scenario} c={r.concurrency}: {r.note}" for r in bench.results if r.note]
    errors = [f"- {r.scenario} c={r.concurrency}: {dict(r.errors)}" for r in bench.results if r.errors]
    if notes or errors:
        lines += ["", *notes, *errors]
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds per row")
    p.add_argument("--slice", type=float, default=2.0, help="measured seconds per row and round")
    p.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds per row and round")
    p.add_argument("--concurrency", default="1,16,64", help="comma-separated client counts")
    p.add_argument("--users", type=int, default=200, help="residents for /v1/me")
    p.add_argument("--phones-per-client", type=int, default=1000)
    p.add_argument(
        "--driver", choices=["raw", "httpx"], default="raw", help="HTTP client of the load generator"
    )
    p.add_argument("--pg", default="postgres@127.0.0.1:5432", help="user[:password]@host:port")
    p.add_argument("--db", default="linli_bench")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/12", help="a Redis db the bench may flush")
    p.add_argument("--quick", action="store_true", help="main table only: no httpx check, no variants")
    p.add_argument("--quiet-below", type=float, default=30.0, help="%% of a core: wait for this before a row")
    p.add_argument(
        "--quiet-wait", type=float, default=10.0, help="max seconds to wait for a quiet machine per round"
    )
    p.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    args = p.parse_args(argv)
    args.levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Stop the servers on Ctrl-C and on SIGTERM too (a background shell may have SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for phone in (me_phone(0), login_phone(0, 0), login_phone(999, 99999)):
        assert normalise_mobile(phone) == phone, phone
    slots = sum(args.levels) * login_runs(args)
    with tempfile.TemporaryDirectory(prefix="linli-bench-") as tmp_name:
        tmp = Path(tmp_name)
        print(f"resetting database {args.db} and {args.redis}; seeding …", flush=True)
        pg_version = asyncio.run(empty_database(args.pg, args.db))
        migrations.upgrade(pg_url(args))
        me_ids = asyncio.run(seed(args, slots))
        reset_redis(args.redis)
        use_fast_loop()
        bench = asyncio.run(run(args, tmp, me_ids))
    facts = machine_facts({"PostgreSQL": pg_version, "load driver": f"{args.driver} (bench/common.py)"})
    text = report(bench, facts)
    print()
    print(text)
    if not args.no_docs:
        replace_section("auth", text)
        print("written to docs/benchmarks.md (section auth)")
    failed = [r for r in bench.results if r.errors]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
