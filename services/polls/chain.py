"""The per-poll ballot hash chain: hash_n = sha256(hash_{n-1} ‖ canonical JSON of ballot n).

The canonical JSON covers (poll_id, seq, household_id, voter, channel, answers, cast_at, and for a
paper ballot recorded_by and form_sha256, the photo of the signed form) with sorted
keys, answers sorted by question id and option ids sorted, times in UTC with microseconds. The voter
is the user id, or "anonymous" on anonymous polls (who cast it is kept in ballot_voter), or the channel
("seed" for demo ballots, "paper" for a signed form) when there is no voting user. The first ballot chains from 64 zeros; the poll row keeps the head
(ballot_count, last_hash), so a changed ballot, a deleted ballot (a gap in seq or a broken link) and
a deleted newest ballot (the head no longer matches) are all detected by `walk`.

What it does not catch: someone rewriting every ballot and the poll head consistently. The audit log
keeps each named ballot's hash as a second, independent copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from services.models.polls import GENESIS_HASH

Answer = tuple[int, Sequence[int], str | None]  # (question_id, option ids, text)


def voter_marker(voter_id: int | None, anonymous: bool, channel: str) -> int | str:
    if anonymous:
        return "anonymous"
    if voter_id is None:
        return channel
    return voter_id


def canonical(
    poll_id: int,
    seq: int,
    household_id: int,
    voter: int | str,
    channel: str,
    answers: Iterable[Answer],
    cast_at: datetime,
    recorded_by: int | None = None,
    form_sha256: str | None = None,
) -> bytes:
    body: dict[str, object] = {
        "poll_id": poll_id,
        "seq": seq,
        "household_id": household_id,
        "voter": voter,
        "channel": channel,
        "answers": [
            {"question_id": q, "option_ids": sorted(opts), "text": text}
            for q, opts, text in sorted(answers, key=lambda a: a[0])
        ],
        "cast_at": cast_at.astimezone(UTC).isoformat(timespec="microseconds"),
    }
    if recorded_by is not None or form_sha256 is not None:
        # Paper ballots only (older ballots' payloads are unchanged): who typed the form in and the
        # hash of its photo, so swapping the photo or the recorder breaks the chain too.
        body["recorded_by"] = recorded_by
        body["form_sha256"] = form_sha256
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def link(prev_hash: str, payload: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + payload).hexdigest()


@dataclass(frozen=True)
class StoredBallot:
    seq: int
    prev_hash: str
    hash: str
    payload: bytes


@dataclass(frozen=True)
class Verdict:
    ok: bool
    ballots: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None


def walk(ballots: Sequence[StoredBallot], head_count: int, head_hash: str) -> Verdict:
    """Recompute the chain in seq order; report the first broken link."""
    prev = GENESIS_HASH
    for expected_seq, b in enumerate(ballots, start=1):
        if b.seq != expected_seq:
            return Verdict(False, len(ballots), prev, expected_seq, "missing_ballot")
        if b.prev_hash != prev:
            return Verdict(False, len(ballots), prev, b.seq, "broken_link")
        if link(prev, b.payload) != b.hash:
            return Verdict(False, len(ballots), prev, b.seq, "content_changed")
        prev = b.hash
    if len(ballots) != head_count or prev != head_hash:
        return Verdict(False, len(ballots), prev, len(ballots) + 1, "missing_ballot")
    return Verdict(True, len(ballots), prev)
