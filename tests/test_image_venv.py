"""The production image without a Docker engine: its virtualenv built as docker/Dockerfile builds it, and
`linli migrate`, `linli serve`, `linli worker` and `linli scheduler` started with docker/compose.yaml's
environment, each answering the health check the image or compose gives it, then stopped cleanly.

What is read from the files, not restated here:
- docker/Dockerfile: the build stage's ARGs, ENV, COPY and RUN lines run as written (the same
  `python -m venv` and `pip install -c requirements.lock ".[${LINLI_EXTRAS}]"`, the same import check),
  with /opt/venv mapped to a cached directory; the runtime stage's COPY lines lay out the app directory
  (/app) and its ENV, WORKDIR, ENTRYPOINT and HEALTHCHECK are the processes' own.
- docker/compose.yaml: each service's `environment` (x-linli-env merged in) and `command`, with the
  required ${VAR:?…} filled by test values, and the worker's and scheduler's healthcheck command.

What differs, on purpose: PostgreSQL is a fresh database on the server of LINLI_TEST_DATABASE_URL and
Redis is LINLI_TEST_REDIS_URL (compose's hosts `postgres` and `redis` do not exist here); the listen
address is 127.0.0.1 and the ports are free ones (LINLI_TEST_IMAGE_PORTS); pip keeps its download
cache (PIP_NO_CACHE_DIR only keeps the image small); the Aliyun SMS settings are dummies and its
endpoint a closed local port, so nothing can be sent.

The virtualenv is kept under var/image-venv/<hash of requirements.lock, pyproject.toml, the Dockerfile
and the Python version>; the install command still runs every time (it reinstalls the linli package
from the copied sources and finds every locked dependency already there). Needs PostgreSQL and Redis:
skipped without LINLI_TEST_DATABASE_URL / LINLI_TEST_REDIS_URL, failed when LINLI_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import yaml

from tests.servers import unavailable

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
CACHE = ROOT / "var" / "image-venv"
PORTS = os.environ.get("LINLI_TEST_IMAGE_PORTS", "18400-18499")
DB_URL = os.environ.get("LINLI_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("LINLI_TEST_REDIS_URL")

# What an operator exports before `docker compose up` (see the head of compose.yaml).
COMPOSE_SHELL = {
    "POSTGRES_PASSWORD": "imagetest0123456789",
    "REDIS_PASSWORD": "imagetest9876543210",
    "LINLI_JWT_SECRET": "image-test-secret-" + "x" * 40,
    "LINLI_SMS_SIGN_NAME": "邻里测试",
    "LINLI_SMS_LOGIN_TEMPLATE": "SMS_000000000",
    "LINLI_SMS_ACCESS_KEY_ID": "test-access-key-id",
    "LINLI_SMS_ACCESS_KEY_SECRET": "test-access-key-secret",
}

pytestmark = [pytest.mark.real_clock]


# ---- docker/Dockerfile, read as far as this image uses it -------------------------------------------


@dataclass
class Stage:
    name: str
    steps: list[tuple[str, str]] = field(default_factory=list)


def instructions(text: str) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) with backslash continuations joined and comment lines dropped."""
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        yield word.upper(), rest.strip()


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for word, rest in instructions(text):
        if word == "FROM":
            parts = rest.split()
            stages.append(Stage(parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else ""))
        elif not stages and word == "ARG":
            name, _, default = rest.partition("=")
            global_args[name] = default
        elif stages:
            stages[-1].steps.append((word, rest))
    return global_args, stages


def expand(value: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), ""), value)


def env_pairs(rest: str, env: dict[str, str]) -> dict[str, str]:
    out = {}
    for token in shlex.split(rest):
        name, _, value = token.partition("=")
        out[name] = expand(value, env)
    return out


def copy_args(rest: str) -> tuple[str | None, list[str], str]:
    parts = shlex.split(rest)
    source_stage = None
    while parts and parts[0].startswith("--"):
        flag = parts.pop(0)
        if flag.startswith("--from="):
            source_stage = flag.split("=", 1)[1]
    return source_stage, parts[:-1], parts[-1]


def copy_into(sources: list[str], dest: Path) -> None:
    for src in sources:
        path = ROOT / src
        if path.is_dir():
            shutil.copytree(
                path,
                dest if len(sources) == 1 and not dest.exists() else dest / path.name,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        else:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / path.name)


def image_python(global_args: dict[str, str]) -> str:
    """The interpreter of the image's tag (python:3.11-slim → python3.11) when this machine has it."""
    tag = global_args.get("PYTHON_IMAGE", "")
    match = re.search(r":(\d+\.\d+)", tag)
    if match:
        exe = shutil.which(f"python{match.group(1)}")
        if exe and subprocess.run([exe, "-c", "pass"], capture_output=True).returncode == 0:  # noqa: S603
            return exe
    return sys.executable


@dataclass
class Image:
    venv: Path
    app: Path
    env: dict[str, str]  # the runtime stage's ENV, mapped onto this machine
    workdir: Path
    entrypoint: list[str]
    healthcheck: list[str]


def build_image(tmp: Path) -> Image:
    text = DOCKERFILE.read_text()
    global_args, stages = parse_dockerfile(text)
    build, runtime = stages[0], stages[-1]
    python = image_python(global_args)
    version = subprocess.run(  # noqa: S603
        [python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    ).stdout
    key = hashlib.sha256()
    for part in (ROOT / "requirements.lock", ROOT / "pyproject.toml", DOCKERFILE):
        key.update(part.read_bytes())
    key.update(version.encode())
    venv = CACHE / key.hexdigest()[:16]
    if CACHE.exists():
        for old in CACHE.iterdir():
            if old != venv:
                shutil.rmtree(old, ignore_errors=True)
    cached = (venv / ".built").exists()
    if not cached:
        shutil.rmtree(venv, ignore_errors=True)

    # A `python` that is the image's interpreter until the virtualenv is first on PATH.
    shim = tmp / "shim"
    shim.mkdir()
    (shim / "python").symlink_to(python)
    env: dict[str, str] = {"PATH": f"{shim}:{os.environ['PATH']}", "HOME": str(tmp)}
    # The Dockerfile's build arguments with their defaults (PIP_INDEX_URL empty: pip's own index).
    workdir = tmp
    for word, rest in build.steps:
        rest = rest.replace("/opt/venv", str(venv))
        if word == "ARG":
            name, _, default = rest.partition("=")
            env[name] = default
        elif word == "ENV":
            env.update(env_pairs(rest, env))
            env.pop("PIP_NO_CACHE_DIR", None)
        elif word == "WORKDIR":
            workdir = tmp / "src"
            workdir.mkdir()
        elif word == "COPY":
            _, sources, dest = copy_args(rest)
            copy_into(sources, workdir / dest)
        elif word == "RUN":
            if cached and " -m venv " in f" {rest} ":
                continue
            done = subprocess.run(  # noqa: S603
                ["/bin/sh", "-c", rest], cwd=workdir, env=env, capture_output=True, text=True, timeout=600
            )
            assert done.returncode == 0, f"RUN {rest}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    (venv / ".built").touch()

    app = tmp / "app"
    runtime_env = {"PATH": os.environ["PATH"], "HOME": str(tmp)}
    entrypoint: list[str] = []
    healthcheck: list[str] = []

    def local(value: str) -> str:
        return value.replace("/opt/venv", str(venv)).replace("/app", str(app))

    for word, rest in runtime.steps:
        if word == "WORKDIR":
            app.mkdir(parents=True, exist_ok=True)
        elif word == "COPY":
            source_stage, sources, dest = copy_args(rest)
            if source_stage is None:
                copy_into(sources, app / dest)
        elif word == "ENV":
            runtime_env.update(env_pairs(local(rest), runtime_env))
        elif word == "ENTRYPOINT":
            entrypoint = yaml.safe_load(rest)
        elif word == "HEALTHCHECK":
            healthcheck = yaml.safe_load(rest.split(" CMD ", 1)[1])
    # RUN mkdir -p /app/var && chown linli:linli /app/var (the user is the image's, not ours).
    (app / "var").mkdir(parents=True, exist_ok=True)
    assert entrypoint and healthcheck
    return Image(venv, app, runtime_env, app, entrypoint, healthcheck)


# ---- docker/compose.yaml -----------------------------------------------------------------------------

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value: Any, shell: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error} and $$."""

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3) or ""
        current = shell.get(name)
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if op and op.endswith("?") and unset:
            raise AssertionError(f"compose needs {name}: {arg}")
        if op and op.endswith("-") and unset:
            return arg
        return current or ""

    return _VAR.sub(one, str(value))


def compose_service(name: str) -> tuple[dict[str, str], list[str], list[str] | None]:
    """A service's environment (interpolated), command, and healthcheck test."""
    service = yaml.safe_load(COMPOSE.read_text())["services"][name]
    env = {k: interpolate(v, COMPOSE_SHELL) for k, v in service["environment"].items()}
    check = service.get("healthcheck") or {}
    test = None if check.get("disable") else check.get("test")
    return env, list(service["command"]), test


def with_netloc(compose_url: str, test_url: str) -> str:
    """compose's URL (scheme = driver) pointed at the server and database of the test URL."""
    ours, theirs = urlsplit(compose_url), urlsplit(test_url)
    assert ours.scheme == theirs.scheme, f"compose uses {ours.scheme}, the tests {theirs.scheme}"
    return urlunsplit((ours.scheme, theirs.netloc, theirs.path, theirs.query, ""))


# ---- the services -------------------------------------------------------------------------------------


def fresh_database(url: str) -> str:
    """A new, empty database beside the test database (the test database itself is the other tests')."""
    import asyncpg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_image"
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))

    async def create() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))


def drop_database(url: str) -> None:
    import asyncpg

    parts = urlsplit(url)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))

    async def drop() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def flush_redis(url: str) -> None:
    from redis import Redis

    client = Redis.from_url(url, socket_timeout=3)
    try:
        client.flushdb()
    finally:
        client.close()


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def free_ports(n: int) -> list[int]:
    """n distinct free ports of PORTS (held open together while they are picked)."""
    first, last = (int(p) for p in PORTS.split("-"))
    held: list[socket.socket] = []
    try:
        for port in range(first, last + 1):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            held.append(s)
            if len(held) == n:
                return [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()
    raise AssertionError(f"fewer than {n} free ports in {PORTS}")


def start(image: Image, service: str, env: dict[str, str], command: list[str], tmp: Path) -> Proc:
    full = {**image.env, **env}
    log = tmp / f"{service}.log"
    exe = [str(image.venv / "bin" / image.entrypoint[0]), *image.entrypoint[1:]]
    with log.open("wb") as out:
        popen = subprocess.Popen(  # noqa: S603
            [*exe, *command], cwd=image.workdir, env=full, stdout=out, stderr=subprocess.STDOUT
        )
    return Proc(service, popen, log, full)


def healthy(proc: Proc, check: list[str], timeout: float = 60.0) -> None:
    """Run the image's / compose's healthcheck command (CMD form) until it passes, as Docker would."""
    argv = check[1:] if check[0] == "CMD" else check  # compose's test: ["CMD", ...]; HEALTHCHECK CMD [...]
    exe = shutil.which(argv[0], path=proc.env["PATH"])
    assert exe, argv
    cmd = [exe, *argv[1:]]
    deadline = time.monotonic() + timeout
    while True:
        assert proc.popen.poll() is None, f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}"
        done = subprocess.run(cmd, env=proc.env, capture_output=True, timeout=10)  # noqa: S603
        if done.returncode == 0:
            return
        assert time.monotonic() < deadline, f"{proc.name} never healthy:\n{done.stderr!r}\n{proc.tail()}"
        time.sleep(0.5)


def stop(proc: Proc, grace: float) -> int:
    if proc.popen.poll() is None:
        proc.popen.send_signal(signal.SIGTERM)  # what `docker compose stop` sends
        try:
            proc.popen.wait(grace)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.popen.wait(10)
            return -9
    return proc.popen.returncode


def test_image_venv_runs_the_compose_stack(tmp_path: Path) -> None:
    if not (DB_URL and REDIS_URL):
        unavailable(
            "the image test needs LINLI_TEST_DATABASE_URL and LINLI_TEST_REDIS_URL (PostgreSQL + Redis)"
        )
    assert DB_URL and REDIS_URL
    image = build_image(tmp_path)
    database = fresh_database(DB_URL)
    flush_redis(REDIS_URL)
    procs: list[Proc] = []
    try:

        def service_env(name: str) -> tuple[dict[str, str], list[str], list[str] | None]:
            env, command, check = compose_service(name)
            assert env["LINLI_ENV"] == "production"
            env["LINLI_DATABASE_URL"] = with_netloc(env["LINLI_DATABASE_URL"], database)
            env["LINLI_REDIS_URL"] = with_netloc(env["LINLI_REDIS_URL"], REDIS_URL)
            env["LINLI_SMS_ENDPOINT"] = "127.0.0.1:9"  # the dummy keys never reach Aliyun
            return env, command, check

        # The one-shot migration compose runs before everything else.
        env, command, _ = service_env("migrate")
        migrate = start(image, "migrate", env, command, tmp_path)
        assert migrate.popen.wait(180) == 0, migrate.tail()

        api_env, api_cmd, _ = service_env("api")
        api_port, *metrics_ports = free_ports(3)
        api_env.update(LINLI_HOST="127.0.0.1", LINLI_PORT=str(api_port))
        procs.append(api := start(image, "api", api_env, api_cmd, tmp_path))
        checks = {"api": image.healthcheck}
        for name, port in zip(("worker", "scheduler"), metrics_ports, strict=True):
            env, command, check = service_env(name)
            assert check is not None and env["LINLI_METRICS_PORT"] in " ".join(check)
            checks[name] = [part.replace(env["LINLI_METRICS_PORT"], str(port)) for part in check]
            env["LINLI_METRICS_PORT"] = str(port)
            procs.append(start(image, name, env, command, tmp_path))

        for proc in procs:
            healthy(proc, checks[proc.name])
        r = httpx.get(f"http://127.0.0.1:{api_port}/healthz", timeout=5)
        assert r.status_code == 200, r.text
        r = httpx.get(f"http://127.0.0.1:{api_port}/readyz", timeout=5)
        assert r.status_code == 200, r.text
        for proc in procs[1:]:
            port = proc.env["LINLI_METRICS_PORT"]
            r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            assert r.status_code == 200 and "# HELP" in r.text, proc.tail()

        # Stopped as compose stops them: SIGTERM, then the grace period (30 s for the worker).
        codes = {proc.name: stop(proc, 30) for proc in procs}
        logs = "\n".join(p.tail() for p in procs)
        # uvicorn finishes its shutdown, then re-raises the signal it caught (exit by SIGTERM, 143 in
        # Docker's terms); the worker and scheduler return 0.
        assert codes in (
            {"api": 0, "worker": 0, "scheduler": 0},
            {"api": -signal.SIGTERM, "worker": 0, "scheduler": 0},
        ), logs
        assert "Application shutdown complete" in api.log.read_text(), api.tail()
        assert "worker stopped" in procs[1].log.read_text(), procs[1].tail()
        assert "scheduler stopped" in procs[2].log.read_text(), procs[2].tail()
        for proc in procs:
            text = proc.log.read_text(errors="replace")
            assert "Traceback" not in text and '"level":"error"' not in text, proc.tail()
    finally:
        for proc in procs:
            stop(proc, 5)
        drop_database(database)
        flush_redis(REDIS_URL)
