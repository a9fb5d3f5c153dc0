"""Run every bench scenario script (bench/*_bench.py), one process each; `make bench` calls this.

    .venv/bin/python bench/run.py [--only auth] [-- extra args passed to every script]

Each script resets its own database, starts its own servers, prints its table and writes its
section of docs/benchmarks.md. Exit status: non-zero when any script failed or counted errors.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def scripts(only: list[str] | None) -> list[Path]:
    found = sorted(BENCH_DIR.glob("*_bench.py"))
    if only:
        found = [p for p in found if p.stem.removesuffix("_bench") in only]
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1 :]
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", action="append", help="scenario name (file stem without _bench)")
    args = parser.parse_args(argv)
    failed = []
    for script in scripts(args.only):
        print(f"=== {script.name}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script), *extra])
        print(f"=== {script.name}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
