"""The decision-rule revision: existing polls get the rule they effectively used (strictly more than
their ratios of all households and area: `double_majority_all` at 1/2 and 1/2, else `custom`), and the
revision downgrades cleanly. Run on a scratch SQLite file (PostgreSQL runs the same revision when the
test database is built)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from services import migrations

BEFORE = "0a11a2ea5001"
POLL = (
    "INSERT INTO poll (id, community_id, author_id, title, description, kind, anonymous, eligibility, "
    "results_visibility, households_ratio, area_ratio, opens_at, closes_at, ballot_count, last_hash, "
    "created_at) VALUES (?, 1, 1, '旧表决', '', 'vote', 0, 'owners', 'after_close', ?, ?, "
    "'2026-01-01 00:00:00', '2026-01-08 00:00:00', 0, ?, '2026-01-01 00:00:00')"
)


def _row(db: sqlite3.Connection, table: str, row_id: int) -> None:
    """A row with every NOT NULL column filled by a placeholder of its type (for the foreign keys)."""
    cols, values = ["id"], [row_id]
    for _, name, kind, notnull, default, pk in db.execute(f"PRAGMA table_info({table})"):
        if pk or not notnull or default is not None:
            continue
        kind = kind.upper()
        value: object = 0 if "INT" in kind or "BOOL" in kind or "NUMERIC" in kind else f"{table}-{name}"
        if "DATETIME" in kind or name.endswith("_at"):
            value = "2026-01-01 00:00:00"
        cols.append(name)
        values.append(value)
    marks = ", ".join("?" for _ in values)
    db.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", values)  # noqa: S608  (names from PRAGMA)


async def test_existing_polls_keep_the_rule_they_used(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await asyncio.to_thread(migrations.upgrade, url, BEFORE)
    with sqlite3.connect(tmp_path / "m.db") as db:
        _row(db, "community", 1)
        _row(db, "user_account", 1)
        for pid, hr, ar in ((1, "1/2", "1/2"), (2, "2/3", "1/2"), (3, "1/2", "3/5")):
            db.execute(POLL, (pid, hr, ar, "0" * 64))
    await asyncio.to_thread(migrations.upgrade, url)
    with sqlite3.connect(tmp_path / "m.db") as db:
        rules = db.execute("SELECT id, decision_rule FROM poll ORDER BY id").fetchall()
        ballot_columns = {r[1] for r in db.execute("PRAGMA table_info(ballot)")}
    assert rules == [(1, "double_majority_all"), (2, "custom"), (3, "custom")]
    assert {"recorded_by_id", "form_sha256"} <= ballot_columns
    await asyncio.to_thread(migrations.downgrade, url, BEFORE)
    with sqlite3.connect(tmp_path / "m.db") as db:
        poll_columns = {r[1] for r in db.execute("PRAGMA table_info(poll)")}
        ballot_columns = {r[1] for r in db.execute("PRAGMA table_info(ballot)")}
        assert db.execute("SELECT count(*) FROM poll").fetchone() == (3,)
    assert "decision_rule" not in poll_columns and "form_sha256" not in ballot_columns
