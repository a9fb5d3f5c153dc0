"""Where a server's CPU goes: py-spy samples of its process, summed by library and by our functions.

Used by floor_bench.py --profile (and readable on its own: `python bench/profiles.py FILE.raw`). The
samples are py-spy's raw collapsed stacks ("frame;frame;… count", frames as "name (path:line)", paths
relative to their sys.path entry), so the first path component names the library: sqlalchemy,
fastapi, asyncpg, services, api, asyncio …
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

OURS = ("api", "services", "workers")
RATE = 200  # Hz, as the profiles quoted in docs/benchmarks.md


def py_spy() -> str | None:
    """py-spy beside this interpreter (the dev extra installs it), else on PATH."""
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def start(pid: int, out: Path, cpu: int | None = None) -> subprocess.Popen[bytes]:
    """Sample `pid` without pausing it (--nonblocking) until stop(); on `cpu` when given, so the
    sampler does not share the measured server's core."""
    exe = py_spy()
    if exe is None:
        raise RuntimeError("py-spy is not installed (make install puts it in .venv)")
    cmd = [exe, "record", "-p", str(pid), "-r", str(RATE), "-f", "raw", "-o", str(out), "--nonblocking"]
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu), *cmd]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """py-spy writes its file on SIGINT."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _frame(frame: str) -> tuple[str, str]:
    """'load_principal (services/access.py:97)' → ('load_principal', 'services/access.py')."""
    name, _, where = frame.rpartition(" (")
    return name, where.rstrip(")").rpartition(":")[0]


def library(path: str) -> str:
    head = path.split("/", 1)[0]
    return head.removesuffix(".py") if "/" not in path else head


@dataclass
class Profile:
    samples: int = 0
    by_library: Counter[str] = field(default_factory=Counter)  # self time (the leaf frame's library)
    ours: Counter[str] = field(default_factory=Counter)  # inclusive, per function of api/services/workers

    def share(self, n: int) -> float:
        return 100.0 * n / self.samples if self.samples else 0.0


def read(path: Path) -> Profile:
    p = Profile()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";")]
        p.samples += n
        p.by_library[library(frames[-1][1])] += n
        seen = {f"{name} ({where})" for name, where in frames if library(where) in OURS}
        for key in seen:
            p.ours[key] += n
    return p


def summary(p: Profile, top: int = 10) -> list[str]:
    libs = ", ".join(f"{lib} {p.share(n):.0f} %" for lib, n in p.by_library.most_common(8))
    lines = [f"{p.samples:,} samples; self time by library: {libs}"]
    lines += [f"  {p.share(n):5.1f} % incl. {key}" for key, n in p.ours.most_common(top)]
    return lines


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(arg)
        print("\n".join(summary(read(Path(arg)), top=20)))
