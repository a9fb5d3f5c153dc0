"""Counting the SQL statements the app sends to the database (the no-N+1 tests).

A `before_cursor_execute` listener on the app's engine sees every statement of every connection the
engine hands out — the test's outer connection the app's sessions are bound to included — so it
counts what serving a request costs, SAVEPOINTs and all, whatever the backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Collect the text of every statement sent through `engine` inside the block."""
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", listener)


def assert_same_count(runs: dict[str, list[str]]) -> int:
    """Every run issued the same number of statements; on failure show the two runs that differ
    most, statement by statement. Returns the count."""
    counts = {name: len(statements) for name, statements in runs.items()}
    if len(set(counts.values())) > 1:
        fewest = min(runs, key=lambda name: counts[name])
        most = max(runs, key=lambda name: counts[name])
        lines = [f"statement counts differ: {counts}", f"--- {fewest}:"]
        lines += [f"  {' '.join(s.split())[:160]}" for s in runs[fewest]]
        lines += [f"--- {most}:"]
        lines += [f"  {' '.join(s.split())[:160]}" for s in runs[most]]
        raise AssertionError("\n".join(lines))
    (count,) = set(counts.values())
    assert count > 0, "no statement was counted: is the listener on the app's engine?"
    return count
