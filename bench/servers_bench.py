"""Which ASGI server serves Linli best here: uvicorn (uvloop + httptools, as deployed) or granian.

    .venv/bin/pip install granian && .venv/bin/python bench/servers_bench.py [--rounds 2] [--seconds 3]

Issue 17, lever 5 asked to measure it. Both serve bench/linli_app.py on the floor's data set
(floor_bench.py builds it), one process each pinned to CPU 0 (granian: one worker, single-threaded
runtime, uvloop; its CPU is the worker's), the load on CPU 1, and the floor's GET rows (the create is
left out: it adds rows). Prints CPU ms per request, p50 / p99 and req/s per row and server,
interleaved. granian is not a dependency: this file is how the choice was checked, not product code.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import floor_bench as fb
from bench.common import (
    BENCH_DIR,
    PYTHON,
    ROOT,
    Server,
    pin_self,
    run_load,
    spawn,
    start_uvicorn,
    wait_quiet,
    wait_ready,
)
from bench.env import PG, REDIS_URL
from bench.s2_list import manager


def worker_of(pid: int) -> int:
    """granian forks its worker: that process does the work (and is pinned like its parent)."""
    kids: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        kids += [int(x) for x in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return kids[0] if kids else pid


def start_granian(env: dict[str, str], log_dir: Path, port: int) -> Server:
    cmd = [PYTHON, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", "1", "--runtime-mode", "st", "--runtime-threads", "1"]
    cmd += ["--loop", "uvloop", "--no-ws", "--log-level", "warning", "--no-access-log", "linli_app:create"]
    return spawn(
        "granian", cmd, env={**env, "PYTHONPATH": f"{BENCH_DIR}:{ROOT}"}, log_dir=log_dir, cpu=0, port=port
    )


async def main(args: argparse.Namespace) -> int:
    pin_self(1)
    log_dir = Path(tempfile.mkdtemp(prefix="linli-servers-"))
    dsn = f"postgresql://{PG}/{args.db}"
    env = fb.app_env(f"postgresql+asyncpg://{PG}/{args.db}", REDIS_URL)
    uv = start_uvicorn("uvicorn", "linli_app:create", env=env, log_dir=log_dir, factory=True, port=args.port)
    await wait_ready(uv, "/healthz", within=120)
    gr = start_granian(env, log_dir, args.port + 1)
    await wait_ready(gr, "/healthz", within=120)
    pids = {"uvicorn": uv.pid, "granian": worker_of(gr.pid)}
    await fb.seed(dsn, await manager(dsn))
    plan = await fb.make_plan(dsn, uv.port, 500)
    try:
        for i in range(args.rounds):
            for row in (r for r in fb.ROWS if r.key != "create"):
                for name, server in (("uvicorn", uv), ("granian", gr)):
                    await wait_quiet(60.0, 3.0, silent=True)
                    r = await run_load(
                        f"{row.key} {name}",
                        plan.users(row.key, server.port),
                        duration=args.seconds,
                        warmup=1.0,
                        server_pid=pids[name],
                    )
                    print(
                        f"{i + 1} {row.title:<36} {name:<8} {fb.cpu_ms(r):6.3f} ms CPU/req  p50 {r.pct(50):6.2f}"
                        f"  p99 {r.pct(99):6.2f} ms  {r.rate:6.0f} req/s  errors {r.error_count}",
                        flush=True,
                    )
    finally:
        uv.stop()
        gr.stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--db", default="linli_bench_tickets")
    parser.add_argument("--port", type=int, default=19300)
    sys.exit(asyncio.run(main(parser.parse_args())))
