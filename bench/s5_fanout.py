"""S5 — a notice fanned out to a 10,000-household estate (12,000 push devices).

    .venv/bin/python bench/s5_fanout.py [--quick]

Database `linli_bench_s5` (migrated, seeded once by bulk SQL): one community, 50 buildings × 200
households, 10,000 verified residents (one per household), 12,000 push devices (every resident one,
20 % a second), and the committee member who publishes. Real processes, pinned to CPU 0: the API
(uvicorn, `linli_app:create`), `linli worker` (consumes the broker: sends) and `linli scheduler`
(periodic jobs, the sweeper, and `run_fanouts` for fan-outs left open), on Redis db 10 (flushed at
start-up). The API process expands the fan-out it commits (workers.jobs.LocalFanouts) and kicks each
chunk's deliveries, 500 ids per broker message.

Per repeat, M notices one after another (each on a quiet system): create a draft (not timed), then
POST /v1/notices/{id}/publish, timed:
- publish: the request's latency (receipts committed, plus whatever the request hands on);
- hand-off: from sending the publish request until the last of the notice's 12,000 delivery ids is in
  the broker's Redis stream (the stream entry id carries Redis's clock at XADD), i.e. every delivery row
  committed and kicked. Push sends are not counted (log channel; no FCM).
Then the worker's drain is waited for, at most DRAIN_WAIT_S (reported as deliveries sent per second
since the publish request; no target here: push throughput is another scenario's).
Row counts prove nothing is lost: 10,000 receipts (+ the author's) and 12,000 deliveries per notice.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import orjson
from redis.asyncio import Redis

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.common import PYTHON, Server, expect, percentile, start_uvicorn, wait_ready
from bench.env import JWT_SECRET, BenchEnv, auth
from bench.figures import Figure, combine

DB = "linli_bench_s5"
REDIS = "redis://127.0.0.1:6379/10"
QUEUE = "linli:deliveries"  # workers.broker.QUEUE
BUILDINGS = 50
HOUSEHOLDS = 10_000
DEVICES = 12_000  # every resident one, every fifth a second
TARGET_MS = 250.0
REPEAT_BUDGET_S = 40.0
HANDOFF_TIMEOUT_S = float(os.environ.get("S5_HANDOFF_TIMEOUT", "60"))
DRAIN_WAIT_S = 15.0  # the worker's drain is waited for this long at most before the next notice
VERBOSE = False  # one line per notice (set when run alone)


# --------------------------------------------------------------------------- data set


async def _create_db(env: BenchEnv) -> None:
    admin = await asyncpg.connect(env.dsn("postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DB):
            await admin.execute(f'CREATE DATABASE "{DB}"')
    finally:
        await admin.close()


async def _sized(conn: asyncpg.Connection) -> bool:
    try:
        residents = await conn.fetchval(
            "SELECT count(*) FROM membership WHERE role = 'resident' AND status = 'verified'"
        )
        devices = await conn.fetchval("SELECT count(*) FROM device WHERE disabled_at IS NULL")
    except asyncpg.UndefinedTableError:
        return False
    return residents == HOUSEHOLDS and devices == DEVICES


SEED = f"""
INSERT INTO community (name, address, radius_m, time_zone, created_at)
VALUES ('S5 基准小区', '基准路 5 号', 500, 'Asia/Shanghai', now());
INSERT INTO building (community_id, name, created_at)
SELECT c.id, b || '号楼', now() FROM community c, generate_series(1, {BUILDINGS}) b;
INSERT INTO household (community_id, building_id, entrance, room, area_m2, created_at)
SELECT b.community_id, b.id, '', lpad(r::text, 4, '0'), 75.00, now()
FROM building b, generate_series(1, {HOUSEHOLDS // BUILDINGS}) r ORDER BY b.id, r;
INSERT INTO user_account (phone, name, locale, created_at)
SELECT '+86139' || lpad(n::text, 8, '0'), '住户' || n, 'zh-CN', now() FROM generate_series(0, {HOUSEHOLDS}) n;
INSERT INTO membership (user_id, community_id, role, status, verified_at, created_at)
SELECT u.id, c.id, 'committee_member', 'verified', now(), now()
FROM user_account u, community c WHERE u.phone = '+8613900000000';
INSERT INTO membership (user_id, community_id, role, household_id, relation, status, verified_at, created_at)
SELECT u.id, h.community_id, 'resident', h.id, 'owner', 'verified', now(), now()
FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM user_account
      WHERE phone <> '+8613900000000') u
JOIN (SELECT id, community_id, row_number() OVER (ORDER BY id) AS k FROM household) h USING (k);
INSERT INTO device (user_id, token, platform, provider, created_at, last_seen_at)
SELECT m.user_id, 'tok-' || m.user_id || '-' || n, CASE WHEN n = 1 THEN 'android' ELSE 'ios' END,
       'fcm', now(), now()
FROM membership m, generate_series(1, 2) n
WHERE m.role = 'resident' AND (n = 1 OR m.user_id % 5 = 0);
"""  # noqa: S608 (constants only)


async def prepare(env: BenchEnv) -> None:
    """Migrate and seed `linli_bench_s5` unless it already holds the estate; clear earlier notices."""
    await _create_db(env)
    dsn = env.dsn(DB)
    conn = await asyncpg.connect(dsn)
    try:
        ready = await _sized(conn)
        if not ready:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    if not ready:
        from services import migrations

        t0 = time.perf_counter()
        await asyncio.to_thread(migrations.upgrade, f"postgresql+asyncpg://{env.pg}/{DB}")
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(SEED)
            await conn.execute("ANALYZE")
            assert await _sized(conn), "seed did not produce the estate"
        finally:
            await conn.close()
        print(f"    S5: seeded {HOUSEHOLDS:,} households in {time.perf_counter() - t0:.1f} s", flush=True)
    await _clear(dsn)


async def _clear(dsn: str) -> None:
    """Earlier runs' notices and their rows: every repeat starts from the same table sizes."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "TRUNCATE notice_receipt, notification_fanout, delivery, notification, notice CASCADE"
        )
        await conn.execute("VACUUM ANALYZE delivery, notification, notice_receipt, notification_fanout")
    finally:
        await conn.close()


async def _ids(dsn: str) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT user_id, community_id FROM membership WHERE role = 'committee_member' LIMIT 1"
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row[0]), int(row[1])


# --------------------------------------------------------------------------- processes


def start_process(name: str, args: list[str], env: dict[str, str], log_dir: Path, cpu: int = 0) -> Server:
    """A `linli …` process, pinned to `cpu`; stopped by bench.common's atexit like the uvicorns."""
    return common.spawn(name, [PYTHON, "-m", "api.cli", *args], env=env, log_dir=log_dir, cpu=cpu)


def _app_env(env: BenchEnv) -> dict[str, str]:
    return {
        "LINLI_DATABASE_URL": f"postgresql+asyncpg://{env.pg}/{DB}",
        "LINLI_REDIS_URL": REDIS,
        "LINLI_EMBEDDED_WORKER": "false",
        "LINLI_JWT_SECRET": JWT_SECRET,
    }


async def ensure_servers(env: BenchEnv) -> None:
    alive = [n for n in ("s5_api", "s5_worker", "s5_scheduler") if n in env.servers]
    if len(alive) == 3 and all(env.servers[n].proc.poll() is None for n in alive):
        return
    for name in alive:
        env.servers.pop(name).stop()
    env.log_dir.mkdir(parents=True, exist_ok=True)
    await prepare(env)
    redis = Redis.from_url(REDIS)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()
    app_env = _app_env(env)
    api = start_uvicorn("s5_api", "linli_app:create", env=app_env, log_dir=env.log_dir, factory=True)
    env.servers["s5_api"] = api
    env.servers["s5_worker"] = start_process("s5_worker", ["worker"], app_env, env.log_dir)
    env.servers["s5_scheduler"] = start_process("s5_scheduler", ["scheduler"], app_env, env.log_dir)
    await wait_ready(api, "/healthz")
    await asyncio.sleep(1.0)  # the worker's consumer group and the scheduler's first pass
    for name in ("s5_worker", "s5_scheduler"):
        server = env.servers[name]
        if server.proc.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{server.log_path.read_text(errors='replace')[-3000:]}")


# --------------------------------------------------------------------------- one notice


class StreamWatch:
    """Reads the broker's stream and remembers, per delivery id, when it was first added (Redis ms)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.first_ms: dict[int, int] = {}
        self.last_id = b"0-0"

    async def start(self) -> None:
        last = await self.redis.xrevrange(QUEUE, count=1)
        self.last_id = last[0][0] if last else b"0-0"

    async def poll(self, block_ms: int = 20) -> None:
        got = await self.redis.xread({QUEUE: self.last_id}, count=1000, block=block_ms)
        for _, entries in got or []:
            for entry_id, fields in entries:
                self.last_id = entry_id
                ms = int(entry_id.split(b"-")[0])
                message = orjson.loads(fields[b"data"])
                if message.get("task_name") != "linli.deliver":
                    continue
                for did in message["args"][0]:
                    self.first_ms.setdefault(int(did), ms)


async def publish_one(port: int, dsn: str, redis: Redis, cid: int, author: int, n: int) -> dict[str, float]:
    client = common.make_client("raw", "127.0.0.1", port)
    try:
        return await _publish_one(client, dsn, redis, cid, author, n)
    finally:
        await client.close()


async def _publish_one(
    client: common.Client, dsn: str, redis: Redis, cid: int, author: int, n: int
) -> dict[str, float]:
    headers = auth(author)
    body = orjson.dumps(
        {"kind": "announcement", "title": f"S5 基准公告 {n}", "body_md": "明天上午 9 点至 11 点停水。"}
    )
    status, data = await client.request("POST", f"/v1/communities/{cid}/notices", body, headers)
    expect(status, 201, data, "create notice")
    nid = int(orjson.loads(data)["id"])
    conn = await asyncpg.connect(dsn)
    try:
        base = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM delivery"))
        done_before = int(
            await conn.fetchval("SELECT count(*) FROM delivery WHERE status NOT IN ('pending', 'sending')")
        )
        watch = StreamWatch(redis)
        await watch.start()
        t_wall = time.time()
        t0 = time.perf_counter()
        status, data = await client.request("POST", f"/v1/notices/{nid}/publish", b"{}", headers)
        publish_ms = (time.perf_counter() - t0) * 1000
        expect(status, 200, data, "publish")
        deadline = time.monotonic() + HANDOFF_TIMEOUT_S
        while sum(1 for d in watch.first_ms if d > base) < DEVICES and time.monotonic() < deadline:
            await watch.poll()
        key = f"notice:{nid}:published"
        receipts = int(await conn.fetchval("SELECT count(*) FROM notice_receipt WHERE notice_id = $1", nid))
        inbox = int(await conn.fetchval("SELECT count(*) FROM notification WHERE dedupe_key = $1", key))
        ids = [
            int(r[0])
            for r in await conn.fetch("SELECT id FROM delivery WHERE dedupe_key LIKE $1", f"{key}:%")
        ]
        kicked = [watch.first_ms[i] for i in ids if i in watch.first_ms]
        handoff_ms = (max(kicked) - t_wall * 1000) if len(kicked) == len(ids) == DEVICES else float("nan")
        # The worker's drain (log channel), so the next notice starts on a quiet system if it is quick.
        done_sql = "SELECT count(*) FROM delivery WHERE status NOT IN ('pending', 'sending')"
        t_drain = time.perf_counter()
        while time.perf_counter() - t_drain < DRAIN_WAIT_S:
            if not await conn.fetchval(
                "SELECT count(*) FROM delivery WHERE status IN ('pending', 'sending')"
            ):
                break
            await asyncio.sleep(0.2)
        drain_rate = (int(await conn.fetchval(done_sql)) - done_before) / (time.perf_counter() - t0)
    finally:
        await conn.close()
    return {
        "notice": nid,
        "publish_ms": publish_ms,
        "handoff_ms": handoff_ms,
        "drain_per_s": drain_rate,
        "receipts": receipts,
        "inbox": inbox,
        "deliveries": len(ids),
        "kicked": len(kicked),
    }


# --------------------------------------------------------------------------- the scenario


async def run(env: BenchEnv, repeat: int) -> list[Figure]:
    await ensure_servers(env)
    dsn = env.dsn(DB)
    if repeat:
        await _clear(dsn)
    author, cid = await _ids(dsn)
    want = 3 if env.quick else 10
    rounds: list[dict[str, float]] = []
    port = env.port("s5_api")
    redis = Redis.from_url(REDIS)
    started = time.monotonic()
    try:
        # One unmeasured notice warms the API's and the worker's connections and statement caches.
        await publish_one(port, dsn, redis, cid, author, -1)
        for n in range(want):
            if n >= 3 and time.monotonic() - started > REPEAT_BUDGET_S:
                break
            await common.wait_quiet(40.0, within=20, silent=True)
            rounds.append(await publish_one(port, dsn, redis, cid, author, n))
            if VERBOSE:
                print("    " + ", ".join(f"{k} {v:,.1f}" for k, v in rounds[-1].items()), flush=True)
    finally:
        await redis.aclose()
    pub = [r["publish_ms"] for r in rounds]
    hand = [r["handoff_ms"] for r in rounds]
    lost = sum(
        abs(r["receipts"] - (HOUSEHOLDS + 1))
        + abs(r["inbox"] - HOUSEHOLDS)
        + abs(r["deliveries"] - DEVICES)
        + abs(r["kicked"] - DEVICES)
        for r in rounds
    )
    note = f"{len(rounds)} notices"
    return [
        Figure("S5", "publish p50 ms", percentile(pub, 50), "ms", note=note),
        Figure("S5", "publish p95 ms", percentile(pub, 95), "ms", note=note),
        Figure("S5", "hand-off p50 ms", percentile(hand, 50), "ms", note=note),
        Figure("S5", "hand-off p95 ms", percentile(hand, 95), "ms", op="<=", limit=TARGET_MS, note=note),
        Figure(
            "S5",
            "worker sent deliveries/s",
            statistics.median(r["drain_per_s"] for r in rounds),
            "/s",
            note=f"log channel; any notice's, from publish until drained or {DRAIN_WAIT_S:g} s more",
        ),
        Figure(
            "S5",
            "rows missing or extra",
            float(lost),
            "",
            op="<=",
            limit=0,
            note="per notice: 10,001 receipts, 10,000 inbox rows, 12,000 deliveries kicked",
        ),
    ]


def main() -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="3 notices per repeat instead of 10")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--log-dir", type=Path, default=Path(tempfile.gettempdir()) / "linli-bench-s5")
    args = p.parse_args()
    env = BenchEnv(log_dir=args.log_dir, quick=args.quick)
    common.pin_self(1)
    global VERBOSE
    VERBOSE = True

    async def go() -> list[list[Figure]]:
        runs = []
        for r in range(args.repeats):
            figs = await run(env, r)
            print(f"  repeat {r + 1}: " + ", ".join(f"{f.metric} {f.value:,.1f}" for f in figs), flush=True)
            runs.append(figs)
        return runs

    try:
        runs = common.run_async(go)
    finally:
        for name in ("s5_api", "s5_worker", "s5_scheduler"):
            if name in env.servers:
                env.servers.pop(name).stop()
    rows = [
        [f.metric, common.fmt(f.value), f.target, "" if f.met is None else ("yes" if f.met else "NO"), f.note]
        for f in combine(runs)
    ]
    print(common.table(["S5 metric (median of repeats)", "value", "target", "met", "note"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
