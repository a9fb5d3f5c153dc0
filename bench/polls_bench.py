"""Polls bench: results of a 10,000-ballot vote, computed live and read from the frozen snapshot.

    .venv/bin/python bench/polls_bench.py [--households 12000] [--ballots 10000] [--repeat 50]

Resets the PostgreSQL database `linli_bench_polls` (schema public) and builds it with the Alembic
migrations; also runs the same scenario on a fresh SQLite file (the embedded default) unless
--no-sqlite. Data: one community, `--households` flats with deterministic areas, one owners' vote
(yes/no/abstain decision question + optional free text), `--ballots` hash-chained ballots
bulk-inserted (every 20th with a text answer). Measures, in-process on one session:

- live: services.polls.results.tally — the fixed set of aggregate statements plus building the
  response model (what GET /v1/polls/{id}/results does before the poll closes);
- snapshot: the poll row read and ResultsOut validated from its frozen JSON (after close);
- verify: the whole hash chain reloaded and recomputed (GET /v1/polls/{id}/ballots/verify).

Prints a table and writes docs/benchmarks.md (section `polls`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import empty_database, fmt, machine_facts, percentile, replace_section, table

from services import migrations
from services.db import create_engine, session_factory
from services.models import Building, Community, Household, User
from services.models.polls import GENESIS_HASH, Ballot, BallotAnswer, Poll, PollOption, PollQuestion
from services.polls import chain
from services.polls.ballots import stored_chain
from services.polls.results import tally
from services.polls.schemas import ResultsOut

FLATS_PER_BUILDING = 100


def area(i: int) -> Decimal:
    return Decimal("45.00") + Decimal(i % 61) * Decimal("0.85")


async def build(url: str, args: argparse.Namespace) -> tuple[int, float]:
    """Create the community, households, poll and ballots; returns (poll id, seconds to insert ballots)."""
    engine = create_engine(url)
    maker = session_factory(engine)
    now = datetime.now(UTC)
    try:
        async with maker() as s, s.begin():
            community = Community(name="压测小区", address="压测路 1 号")
            author = User(phone="+8613900000001", name="业委会")
            s.add_all([community, author])
            await s.flush()
            assert community.id is not None and author.id is not None
            buildings = [
                Building(community_id=community.id, name=f"{b + 1}号楼")
                for b in range((args.households + FLATS_PER_BUILDING - 1) // FLATS_PER_BUILDING)
            ]
            s.add_all(buildings)
            await s.flush()
            rows = [
                {
                    "community_id": community.id,
                    "building_id": buildings[i // FLATS_PER_BUILDING].id,
                    "entrance": "",
                    "room": str(i % FLATS_PER_BUILDING + 1),
                    "area_m2": area(i),
                    "created_at": now,
                }
                for i in range(args.households)
            ]
            await s.execute(sa.insert(Household.__table__), rows)  # type: ignore[attr-defined]
            poll = Poll(
                community_id=community.id,
                author_id=author.id,
                title="压测表决",
                kind="vote",
                eligibility="owners",
                opens_at=now - timedelta(days=1),
                closes_at=now + timedelta(days=1),
                announced_at=now,
            )
            s.add(poll)
            await s.flush()
            assert poll.id is not None
            decision = PollQuestion(
                poll_id=poll.id, position=0, text="是否同意", type="single", max_choices=1
            )
            text_q = PollQuestion(poll_id=poll.id, position=1, text="意见", type="text", required=False)
            s.add_all([decision, text_q])
            await s.flush()
            options = [
                PollOption(poll_id=poll.id, question_id=decision.id or 0, position=j, text=t)
                for j, t in enumerate(["同意", "反对", "弃权"])
            ]
            s.add_all(options)
            await s.flush()
            poll.decision_question_id = decision.id
            household_ids = list(
                (
                    await s.execute(
                        sa.select(Household.id)
                        .where(Household.community_id == community.id)
                        .order_by(Household.id)  # type: ignore[arg-type]
                    )
                ).scalars()
            )[: args.ballots]
        started = time.perf_counter()
        async with maker() as s, s.begin():
            prev, ballots, answers = GENESIS_HASH, [], []
            for seq, hid in enumerate(household_ids, start=1):
                opt = options[0 if seq % 10 < 6 else 1 if seq % 10 < 8 else 2].id or 0
                mine: list[chain.Answer] = [(decision.id or 0, [opt], None)]
                if seq % 20 == 0:
                    mine.append((text_q.id or 0, [], f"第 {seq} 户的意见"))
                cast_at = now - timedelta(hours=12) + timedelta(milliseconds=seq)
                payload = chain.canonical(poll.id, seq, hid, "seed", "seed", mine, cast_at)
                h = chain.link(prev, payload)
                ballots.append(
                    {
                        "poll_id": poll.id,
                        "household_id": hid,
                        "seq": seq,
                        "prev_hash": prev,
                        "hash": h,
                        "voter_id": None,
                        "channel": "seed",
                        "cast_at": cast_at,
                    }
                )
                answers.append(mine)
                prev = h
            btable = Ballot.__table__  # type: ignore[attr-defined]
            ids = list(
                (
                    await s.execute(
                        sa.insert(btable).returning(btable.c.id, sort_by_parameter_order=True), ballots
                    )
                ).scalars()
            )
            answer_rows = [
                {"ballot_id": bid, "question_id": q, "option_id": o, "text": t}
                for bid, mine in zip(ids, answers, strict=True)
                for q, opts, t in mine
                for o in (opts or [None])
            ]
            await s.execute(sa.insert(BallotAnswer.__table__), answer_rows)  # type: ignore[attr-defined]
            await s.execute(
                sa.update(Poll.__table__)  # type: ignore[attr-defined]
                .where(Poll.id == poll.id)  # type: ignore[arg-type]
                .values(ballot_count=len(ballots), last_hash=prev)
            )
        insert_s = time.perf_counter() - started
        if url.startswith("postgresql"):
            async with engine.connect() as conn:
                await conn.execute(sa.text("COMMIT"))
                await conn.execute(sa.text("ANALYZE"))
        return poll.id, insert_s
    finally:
        await engine.dispose()


async def timed(repeat: int, op: Callable[[], Awaitable[Any]]) -> list[float]:
    await op()  # warm-up (statement caches, pool)
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        await op()
        out.append((time.perf_counter() - started) * 1000)
    return out


async def measure(url: str, poll_id: int, args: argparse.Namespace) -> dict[str, list[float]]:
    engine = create_engine(url)
    maker = session_factory(engine)
    try:
        async with maker() as s:
            poll = await s.get(Poll, poll_id)
            assert poll is not None

            async def live() -> None:
                async with maker() as fresh:
                    await tally(fresh, poll, datetime.now(UTC), final=False)

            async def verify() -> None:
                async with maker() as fresh:
                    verdict = chain.walk(await stored_chain(fresh, poll), poll.ballot_count, poll.last_hash)
                    assert verdict.ok, verdict

            live_ms = await timed(args.repeat, live)
            verify_ms = await timed(max(3, args.repeat // 10), verify)
            result = await tally(s, poll, datetime.now(UTC), final=True)
            await s.execute(
                sa.update(Poll.__table__)  # type: ignore[attr-defined]
                .where(Poll.id == poll_id)  # type: ignore[arg-type]
                .values(result=result.model_dump(mode="json"), closed_at=datetime.now(UTC))
            )
            await s.commit()

        async def snapshot() -> None:
            async with maker() as fresh:
                stored = (await fresh.execute(sa.select(Poll.result).where(Poll.id == poll_id))).scalar_one()  # type: ignore[arg-type]
                ResultsOut.model_validate(stored)

        snap_ms = await timed(args.repeat * 4, snapshot)
        return {"live": live_ms, "snapshot": snap_ms, "verify": verify_ms}
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> str:
    version = await empty_database(args.pg, args.db)
    targets = [(f"PostgreSQL {version.split()[0]}", f"postgresql+asyncpg://{args.pg}/{args.db}")]
    tmp = tempfile.TemporaryDirectory()
    if not args.no_sqlite:
        targets.append(("SQLite (embedded)", f"sqlite+aiosqlite:///{tmp.name}/polls.db"))
    rows = []
    for label, url in targets:
        await asyncio.to_thread(migrations.upgrade, url)
        poll_id, insert_s = await build(url, args)
        timings = await measure(url, poll_id, args)
        names = {
            "live": "results, live (SQL aggregate)",
            "snapshot": "results, frozen snapshot",
            "verify": "verify hash chain",
        }
        for key, name in names.items():
            ms = timings[key]
            rows.append([label, name, str(len(ms)), fmt(percentile(ms, 50), 2), fmt(percentile(ms, 99), 2)])
        rows.append(
            [label, f"bulk insert {args.ballots:,} ballots (setup)", "1", fmt(insert_s * 1000, 0), "–"]
        )
        print(f"{label}: done", flush=True)
    tmp.cleanup()
    facts = machine_facts({"PostgreSQL": version})
    text = [
        "## Polls: results of a 10,000-ballot vote",
        "",
        "`bench/polls_bench.py` (run by `make bench`). One community with "
        f"{args.households:,} households (deterministic areas), one owners' vote with a yes/no/abstain "
        f"decision question and an optional free-text question, {args.ballots:,} hash-chained ballots "
        "bulk-inserted (every 20th with a text answer). In-process on one async session (no HTTP):",
        "",
        "- live: `services.polls.results.tally` — the fixed set of aggregate statements (totals, turnout, "
        "GROUP BY option joined to household for the area, answered per question, free texts up to 1,000) "
        "and the response model; what `GET /v1/polls/{id}/results` does before the poll closes.",
        "- frozen snapshot: the poll row's stored result JSON read and validated; what the same endpoint "
        "does after the close job froze it.",
        "- verify: every ballot and answer reloaded and the sha256 chain recomputed "
        "(`GET /v1/polls/{id}/ballots/verify`).",
        "",
        *(f"- {k}: {v}" for k, v in facts.items()),
        "",
        table(["database", "operation", "runs", "p50 ms", "p99 ms"], rows),
    ]
    return "\n".join(text) + "\n"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--households", type=int, default=12_000)
    p.add_argument("--ballots", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=50, help="timed runs of the live tally")
    p.add_argument("--pg", default="postgres@127.0.0.1:5432", help="user[:password]@host:port")
    p.add_argument("--db", default="linli_bench_polls")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    args = p.parse_args(argv)
    args.ballots = min(args.ballots, args.households)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    section = asyncio.run(run(args))
    print(section)
    if not args.no_docs:
        replace_section("polls", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
