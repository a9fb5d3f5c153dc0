"""Ballots: who may cast, one per household, answer validation, the hash chain and tampering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog, Membership, MembershipStatus, Role
from services.models.polls import Ballot, BallotAnswer, BallotVoter, Poll
from services.polls import chain
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def ballots_of(db: AsyncSession, poll_id: object) -> list[Ballot]:
    rows = await db.exec(select(Ballot).where(Ballot.poll_id == poll_id).order_by(col(Ballot.seq)))
    return list(rows.all())


async def test_owner_casts_once_and_the_ballot_is_chained(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.poll_world(db)
    owner2 = (await f.owners_of(db, w, [2]))[0]
    poll = await f.create_poll(
        client,
        w.committee,
        w.cid,
        questions=[
            {"text": "是否同意？", "type": "single", "options": ["同意", "反对"]},
            {"text": "意见", "type": "text", "required": False},
        ],
    )
    text_q = poll["questions"][1]["id"]  # type: ignore[index]
    r = await f.cast(
        client, w.owner, poll, w.households[0], f.choice(poll), {"question_id": text_q, "text": " 尽快施工 "}
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["seq"] == 1 and first["prev_hash"] == "0" * 64 and len(first["hash"]) == 64
    # The co-owner of the same household: already voted.
    coowner = await f.resident(db, w.households[0], "owner", "共有人")
    r = await f.cast(client, coowner, poll, w.households[0], f.choice(poll, option=1))
    assert r.status_code == 409 and code(r) == "poll.already_voted"
    r = await f.cast(client, owner2, poll, w.households[2], f.choice(poll, option=1))
    assert r.status_code == 201
    second = r.json()
    assert second["seq"] == 2 and second["prev_hash"] == first["hash"]

    rows = await ballots_of(db, poll["id"])
    assert [(b.household_id, b.voter_id, b.channel) for b in rows] == [
        (w.households[0].id, w.owner.id, "app"),
        (w.households[2].id, owner2.id, "app"),
    ]
    answers = (await db.exec(select(BallotAnswer).where(BallotAnswer.ballot_id == rows[0].id))).all()
    assert sorted((a.option_id is not None, a.text) for a in answers) == [(False, "尽快施工"), (True, None)]
    # The stored hash is sha256(prev ‖ canonical JSON) of exactly what was cast.
    payload = chain.canonical(
        poll["id"],  # type: ignore[arg-type]
        1,
        w.households[0].id or 0,
        w.owner.id or 0,
        "app",
        [(f.choice(poll)["question_id"], f.choice(poll)["option_ids"], None), (text_q, [], "尽快施工")],  # type: ignore[list-item]
        rows[0].cast_at,
    )
    assert rows[0].hash == chain.link("0" * 64, payload)
    p = await db.get(Poll, poll["id"])
    assert p is not None
    await db.refresh(p)
    assert p.ballot_count == 2 and p.last_hash == second["hash"]
    audit = (await db.exec(select(AuditLog).where(AuditLog.action == "ballot.cast"))).all()
    assert [(a.actor_id, a.after and a.after["hash"]) for a in audit] == [
        (w.owner.id, first["hash"]),
        (owner2.id, second["hash"]),
    ]
    r = await client.get(f"/v1/polls/{poll['id']}/ballots/verify", headers=f.auth(w.committee))
    assert r.status_code == 200 and r.json() == {
        "ok": True,
        "ballots": 2,
        "head_hash": second["hash"],
        "broken_seq": None,
        "problem": None,
    }


async def test_who_may_cast(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    poll = await f.create_poll(client, w.committee, w.cid)
    url = f"/v1/polls/{poll['id']}/ballots"
    r = await f.cast(client, w.tenant, poll, w.households[1])
    assert r.status_code == 403 and code(r) == "poll.not_owner"
    r = await f.cast(client, w.family, poll, w.households[0])
    assert r.status_code == 403 and code(r) == "poll.not_owner"
    # An owner casting for a household that is not theirs.
    r = await f.cast(client, w.owner, poll, w.households[1])
    assert r.status_code == 403 and code(r) == "access.unverified"
    pending = await f.user(db)
    await f.member(
        db,
        pending,
        Role.resident,
        community_id=w.cid,
        household_id=w.households[3].id,
        relation="owner",
        status=MembershipStatus.pending,
    )
    r = await f.cast(client, pending, poll, w.households[3])
    assert r.status_code == 404 and code(r) == "poll.not_found"  # a claim opens nothing (issue 13)
    r = await f.cast(client, w.committee, poll, w.households[3])
    assert r.status_code == 403 and code(r) == "access.unverified"
    r = await f.cast(client, w.outsider, poll, w.households[0])
    assert r.status_code == 404 and code(r) == "poll.not_found"
    r = await client.post(url, json={"household_id": w.households[0].id, "answers": [f.choice(poll)]})
    assert r.status_code == 401
    assert await ballots_of(db, poll["id"]) == []
    # On a survey open to all households, the tenant answers for theirs.
    survey = await f.create_poll(client, w.committee, w.cid, kind="survey")
    r = await f.cast(client, w.tenant, survey, w.households[1])
    assert r.status_code == 201
    r = await f.cast(client, w.family, survey, w.households[0])
    assert r.status_code == 201
    r = await f.cast(client, w.owner, survey, w.households[0])
    assert r.status_code == 409 and code(r) == "poll.already_voted"


async def test_only_while_open(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    poll = await f.create_poll(
        client,
        w.committee,
        w.cid,
        opens_at=soon,
        closes_at=(datetime.now(UTC) + timedelta(days=1)).isoformat(),
    )
    r = await f.cast(client, w.owner, poll, w.households[0])
    assert r.status_code == 422 and code(r) == "poll.not_open"
    assert r.json()["error"]["details"] == {"status": "scheduled"}
    row = await db.get(Poll, poll["id"])
    assert row is not None
    row.opens_at = datetime.now(UTC) - timedelta(days=2)
    row.closes_at = datetime.now(UTC) - timedelta(seconds=1)
    db.add(row)
    await db.flush()
    r = await f.cast(client, w.owner, poll, w.households[0])
    assert r.status_code == 422 and code(r) == "poll.not_open"
    assert r.json()["error"]["details"] == {"status": "closed"}
    assert await ballots_of(db, poll["id"]) == []


async def test_answers_are_validated(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    poll = await f.create_poll(
        client,
        w.committee,
        w.cid,
        kind="survey",
        questions=[
            {"text": "单选", "type": "single", "options": ["a", "b"]},
            {"text": "多选", "type": "multiple", "options": ["x", "y", "z"], "max_choices": 2},
            {"text": "文字", "type": "text", "required": False},
        ],
    )
    other = await f.create_poll(client, w.committee, w.cid, kind="survey")
    qs = poll["questions"]  # type: ignore[index]
    single, multi, text = qs[0], qs[1], qs[2]
    ok_multi = {"question_id": multi["id"], "option_ids": [multi["options"][0]["id"]]}

    def ans(q: dict[str, object], *idx: int) -> dict[str, object]:
        return {"question_id": q["id"], "option_ids": [q["options"][i]["id"] for i in idx]}  # type: ignore[index]

    cases = [
        (
            [
                ans(single, 0),
                ans(multi, 0),
                {"question_id": multi["id"], "option_ids": [other["questions"][0]["options"][0]["id"]]},
            ],
            "poll.duplicate_answer",
        ),  # type: ignore[index]
        (
            [
                {"question_id": single["id"], "option_ids": [other["questions"][0]["options"][0]["id"]]},
                ok_multi,
            ],
            "poll.unknown_option",
        ),  # type: ignore[index]
        (
            [ans(single, 0), ok_multi, {"question_id": other["questions"][0]["id"], "option_ids": []}],
            "poll.unknown_question",
        ),  # type: ignore[index]
        ([ans(single, 0, 1), ok_multi], "poll.too_many_choices"),
        ([ans(single, 0), ans(multi, 0, 1, 2)], "poll.too_many_choices"),
        (
            [ans(single, 0), {"question_id": multi["id"], "option_ids": [multi["options"][0]["id"]] * 2}],
            "poll.duplicate_answer",
        ),
        ([ans(multi, 0)], "poll.answer_required"),
        ([ans(single, 0), {"question_id": multi["id"], "option_ids": []}], "poll.answer_required"),
        (
            [
                ans(single, 0),
                ok_multi,
                {"question_id": text["id"], "option_ids": [single["options"][0]["id"]]},
            ],
            "poll.answer_invalid",
        ),
        ([{"question_id": single["id"], "text": "a"}, ok_multi], "poll.answer_invalid"),
    ]
    for answers, want in cases:
        r = await f.cast(client, w.owner, poll, w.households[0], *answers)
        assert r.status_code == 422, (want, r.text)
        assert code(r) == want, (want, r.text)
    r = await client.post(
        f"/v1/polls/{poll['id']}/ballots",
        json={"household_id": w.households[0].id, "answers": [{"question_id": "x"}]},
        headers=f.auth(w.owner),
    )
    assert r.status_code == 422 and code(r) == "request.invalid"
    assert await ballots_of(db, poll["id"]) == []
    r = await f.cast(client, w.owner, poll, w.households[0], ans(single, 1), ans(multi, 0, 2))
    assert r.status_code == 201, r.text


async def test_anonymous_ballot_keeps_the_voter_apart(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    poll = await f.create_poll(client, w.committee, w.cid, anonymous=True)
    r = await f.cast(client, w.owner, poll, w.households[0])
    assert r.status_code == 201
    (ballot,) = await ballots_of(db, poll["id"])
    assert ballot.voter_id is None
    voter = (await db.exec(select(BallotVoter).where(BallotVoter.poll_id == poll["id"]))).one()
    assert (voter.household_id, voter.voter_id) == (w.households[0].id, w.owner.id)
    audit = (await db.exec(select(AuditLog).where(AuditLog.action == "ballot.cast"))).one()
    assert audit.entity == "poll" and audit.after is None
    r = await client.get(f"/v1/polls/{poll['id']}/ballots/verify", headers=f.auth(w.committee))
    assert r.json()["ok"] is True


async def test_tampering_is_detected(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    owners = await f.owners_of(db, w, [0, 2, 3])
    poll = await f.create_poll(client, w.committee, w.cid)
    for who, h in zip(owners, [w.households[0], w.households[2], w.households[3]], strict=True):
        assert (await f.cast(client, who, poll, h)).status_code == 201
    url = f"/v1/polls/{poll['id']}/ballots/verify"
    r = await client.get(url, headers=f.auth(w.tenant))  # a tenant is not the owner whose vote it is
    assert r.status_code == 403 and r.json()["error"]["code"] == "poll.verify_forbidden"
    assert (await client.get(url, headers=f.auth(w.admin))).json()["ok"] is True
    assert (await client.get(url, headers=f.auth(w.owner))).json()["ok"] is True  # owners verify too
    rows = await ballots_of(db, poll["id"])
    no = poll["questions"][0]["options"][1]["id"]  # type: ignore[index]
    answer = sa.update(BallotAnswer).where(col(BallotAnswer.ballot_id) == rows[1].id)

    # A changed answer: "同意" became "反对" in ballot 2.
    await db.execute(answer.values(option_id=no))
    r = await client.get(url, headers=f.auth(w.committee))
    assert (
        r.json()["ok"] is False and r.json()["broken_seq"] == 2 and r.json()["problem"] == "content_changed"
    )
    await db.execute(answer.values(option_id=f.choice(poll)["option_ids"][0]))  # type: ignore[index]
    assert (await client.get(url, headers=f.auth(w.committee))).json()["ok"] is True

    # A deleted ballot in the middle of the chain.
    await db.execute(sa.delete(BallotAnswer).where(col(BallotAnswer.ballot_id) == rows[1].id))
    await db.execute(sa.delete(Ballot).where(col(Ballot.id) == rows[1].id))
    r = await client.get(url, headers=f.auth(w.committee))
    assert r.json()["ok"] is False and r.json()["broken_seq"] == 2 and r.json()["problem"] == "missing_ballot"


async def test_deleting_the_newest_ballot_is_detected(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    owners = await f.owners_of(db, w, [0, 2])
    poll = await f.create_poll(client, w.committee, w.cid)
    for who, h in zip(owners, [w.households[0], w.households[2]], strict=True):
        assert (await f.cast(client, who, poll, h)).status_code == 201
    rows = await ballots_of(db, poll["id"])
    await db.execute(sa.delete(BallotAnswer).where(col(BallotAnswer.ballot_id) == rows[1].id))
    await db.execute(sa.delete(Ballot).where(col(Ballot.id) == rows[1].id))
    r = await client.get(f"/v1/polls/{poll['id']}/ballots/verify", headers=f.auth(w.committee))
    assert r.json()["ok"] is False and r.json()["broken_seq"] == 2 and r.json()["ballots"] == 1
    # A re-cast after the deletion would still chain from the recorded head, not from the gap.
    assert (await db.exec(select(Membership).where(Membership.user_id == owners[1].id))).one()
