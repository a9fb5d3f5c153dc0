"""Private redis-server and PostgreSQL instances that a test may stop and restart (never the shared ones).

Each runs from a temporary directory on a free loopback port. When the binaries are missing the test is
skipped, unless LINLI_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

REQUIRE = os.environ.get("LINLI_REQUIRE_SERVICES") == "1"
PG_BIN = Path(os.environ.get("LINLI_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"LINLI_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivateRedis:
    """A redis-server of our own, on the same port across restarts. Without `persist` it keeps nothing,
    so a restart comes back empty and `stop` kills it (a crash); with it, an append-only file as in
    docker/compose.yaml, so a restart keeps the streams, and `stop` lets it finish writing."""

    tmp: Path
    port: int = 0
    persist: bool = False
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _spawn(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            unavailable("redis-server is not on PATH (needed to stop and restart a Redis of our own)")
        assert exe is not None
        self.port = self.port or free_port()
        cmd = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--daemonize", "no"]
        cmd += [
            "--dir",
            str(self.tmp),
            "--appendonly",
            "yes" if self.persist else "no",
            "--appendfsync",
            "always",
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603

    async def start(self) -> None:
        self._spawn()
        client = Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    if await client.ping():
                        return
                except (OSError, RedisConnectionError):
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError("private redis-server did not start")
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if self.persist:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
            else:
                self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb in a temp dir, trust auth, loopback only). The directory is
    not pytest's tmp_path: as root, the cluster runs as the postgres user, who cannot enter that one."""

    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="linli-pg-")))
    port: int = 0

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> None:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            # initdb refuses to run as root; the distribution's postgres user owns the cluster.
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        # stdout goes nowhere: the server would otherwise hold our pipe open for its whole life.
        subprocess.run(cmd, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603

    def init(self) -> None:
        if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
            unavailable(f"PostgreSQL binaries not found in {PG_BIN} (set LINLI_TEST_PG_BIN)")
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                unavailable("running as root without runuser: cannot start a PostgreSQL of our own")
            shutil.chown(self.tmp, user="postgres")
        self.port = free_port()
        self._run("initdb", "-D", str(self.tmp / "data"), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.tmp / "data"), "-l", str(self.tmp / "log"), "-w", "-o", options, "start"
        )

    def stop(self, check: bool = True) -> None:
        self._run("pg_ctl", "-D", str(self.tmp / "data"), "-w", "-m", "fast", "stop", check=check)

    def remove(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


# Ports of this repository's own helpers' brokers: a fixed range so parallel runs on a shared machine
# never take a port another process expects (LINLI_TEST_MQTT_PORTS="first-last" overrides it).
MQTT_PORTS = os.environ.get("LINLI_TEST_MQTT_PORTS", "18300-18399")


def free_port_in(spec: str) -> int:
    first, last = (int(p) for p in spec.split("-"))
    for port in range(first, last + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {spec}")


@dataclass
class PrivateMosquitto:
    """A mosquitto broker of our own from a config file in `tmp`, on the same port across restarts.
    `stop` kills it (a crash: sessions and queued messages go with it, no persistence)."""

    tmp: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if exe is None:
            unavailable("mosquitto is not installed (apt-get install mosquitto)")
        assert exe is not None
        self.port = self.port or free_port_in(MQTT_PORTS)
        conf = self.tmp / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest stderr\nlog_type error\nlog_type warning\n"
        )
        self.proc = subprocess.Popen(  # noqa: S603
            [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"private mosquitto did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
