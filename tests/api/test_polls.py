"""Polls: creation (who may, what is valid), lists, detail, the open notice, closing and the jobs."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog, Notification
from services.models.polls import Poll, PollOption, PollQuestion
from services.polls import jobs
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def test_committee_creates_vote_and_owners_are_told(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.poll_world(db)
    body = f.poll_body(
        description="使用专项维修资金",
        households_ratio="2/3",
        area_ratio=0.6667,
        questions=[
            {"text": "是否同意？", "type": "single", "options": ["同意", "反对", "弃权"]},
            {"text": "意见", "type": "text", "required": False},
        ],
    )
    r = await client.post(
        f"/v1/communities/{w.cid}/polls",
        json=body,
        headers={**f.auth(w.committee), "Idempotency-Key": "poll-create-1"},
    )
    assert r.status_code == 201, r.text
    poll = r.json()
    assert poll["status"] == "open" and poll["kind"] == "vote" and poll["eligibility"] == "owners"
    assert poll["households_ratio"] == "2/3" and poll["area_ratio"] == "6667/10000"
    assert poll["results_visibility"] == "after_close" and poll["anonymous"] is False
    assert [q["type"] for q in poll["questions"]] == ["single", "text"]
    assert [o["text"] for o in poll["questions"][0]["options"]] == ["同意", "反对", "弃权"]
    assert poll["decision_question_id"] == poll["questions"][0]["id"]
    row = await db.get(Poll, poll["id"])
    assert row is not None and row.author_id == w.committee.id and row.announced_at is not None
    assert row.ballot_count == 0 and row.last_hash == "0" * 64
    options = (await db.exec(select(PollOption).where(PollOption.poll_id == poll["id"]))).all()
    assert len(options) == 3
    # A retry with the same key replays the first response, no second poll.
    again = await client.post(
        f"/v1/communities/{w.cid}/polls",
        json=body,
        headers={**f.auth(w.committee), "Idempotency-Key": "poll-create-1"},
    )
    assert again.status_code == 201 and again.json()["id"] == poll["id"]
    assert len((await db.exec(select(Poll).where(Poll.community_id == w.cid))).all()) == 1
    # Owners are notified, tenants and family members are not (owners' vote).
    told = (await db.exec(select(Notification.user_id).where(Notification.category == "poll"))).all()
    assert set(told) == {w.owner.id}
    inbox = (await client.get("/v1/notifications", headers=f.auth(w.owner))).json()["items"]
    assert inbox[0]["title"] == "新表决：是否同意更换屋面防水"
    audit = (await db.exec(select(AuditLog).where(AuditLog.action == "poll.create"))).one()
    assert audit.actor_id == w.committee.id and audit.entity_id == str(poll["id"])


async def test_survey_defaults_and_everyone_is_told(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    poll = await f.create_poll(
        client,
        w.admin,
        w.cid,
        kind="survey",
        title="停车需求",
        questions=[{"text": "需要", "type": "multiple", "options": ["a", "b", "c"], "max_choices": 2}],
    )
    assert poll["eligibility"] == "households" and poll["decision_question_id"] is None
    told = set((await db.exec(select(Notification.user_id).where(Notification.category == "poll"))).all())
    assert told == {w.owner.id, w.family.id, w.tenant.id}


async def test_who_may_create(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    url = f"/v1/communities/{w.cid}/polls"
    r = await client.post(url, json=f.poll_body())
    assert r.status_code == 401 and code(r) == "auth.required"
    r = await client.post(url, json=f.poll_body(), headers=f.auth(w.owner))
    assert r.status_code == 403 and code(r) == "access.forbidden"
    r = await client.post(url, json=f.poll_body(), headers=f.auth(w.outsider))
    assert r.status_code == 404
    assert (await db.exec(select(Poll).where(Poll.community_id == w.cid))).all() == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"questions": []},
        {"questions": [{"text": "x", "type": "single", "options": ["only"]}]},
        {"questions": [{"text": "x", "type": "single", "options": ["a", "a"]}]},
        {"questions": [{"text": "x", "type": "text", "options": ["a", "b"]}]},
        {"questions": [{"text": "x", "type": "multiple", "options": ["a", "b"], "max_choices": 3}]},
        {"questions": [{"text": "x", "type": "single", "options": ["a", "b"], "max_choices": 2}]},
        {"questions": [{"text": "x", "type": "text"}]},  # a vote's decision question must be single
        {"decision_question": 3},
        {"households_ratio": 0.4},
        {"area_ratio": "1/1"},
        {"area_ratio": "abc"},
        {"kind": "referendum"},
        {"closes_at": "2030-01-01T00:00:00"},
        {"results_visibility": "never"},
    ],
)
async def test_invalid_polls_are_422(
    client: httpx.AsyncClient, db: AsyncSession, overrides: dict[str, object]
) -> None:
    w = await f.poll_world(db)
    r = await client.post(
        f"/v1/communities/{w.cid}/polls", json=f.poll_body(**overrides), headers=f.auth(w.committee)
    )
    assert r.status_code == 422, r.text
    assert code(r) == "request.invalid"


async def test_times_must_make_sense(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    url = f"/v1/communities/{w.cid}/polls"
    for body in (
        f.poll_body(closes_at=later(minutes=-1)),
        f.poll_body(opens_at=later(days=3), closes_at=later(days=2)),
    ):
        r = await client.post(url, json=body, headers=f.auth(w.committee))
        assert r.status_code == 422 and code(r) == "poll.invalid_times"


async def test_notice_id_is_kept_or_checked(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    body = f.poll_body(notice_id=987654321)
    r = await client.post(f"/v1/communities/{w.cid}/polls", json=body, headers=f.auth(w.committee))
    if importlib.util.find_spec("services.models.notices") is None:
        assert r.status_code == 201 and r.json()["notice_id"] == 987654321
    else:
        assert r.status_code == 422 and code(r) == "poll.notice_not_found"


async def test_list_detail_and_scheduled_poll(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    first = await f.create_poll(client, w.committee, w.cid, title="一")
    later_poll = await f.create_poll(
        client, w.committee, w.cid, title="二", opens_at=later(days=1), closes_at=later(days=5)
    )
    assert later_poll["status"] == "scheduled"
    row = await db.get(Poll, later_poll["id"])
    assert row is not None and row.announced_at is None
    r = await client.get(f"/v1/communities/{w.cid}/polls", params={"limit": 1}, headers=f.auth(w.tenant))
    assert r.status_code == 200
    page = r.json()
    assert [p["title"] for p in page["items"]] == ["二"] and page["next_cursor"]
    r = await client.get(
        f"/v1/communities/{w.cid}/polls", params={"cursor": page["next_cursor"]}, headers=f.auth(w.tenant)
    )
    assert [p["title"] for p in r.json()["items"]] == ["一"]
    r = await client.get(f"/v1/communities/{w.cid}/polls", params={"status": "open"}, headers=f.auth(w.owner))
    assert [p["id"] for p in r.json()["items"]] == [first["id"]]
    r = await client.get(f"/v1/polls/{first['id']}", headers=f.auth(w.owner))
    assert r.status_code == 200 and r.json()["voted_household_ids"] == []
    assert (await f.cast(client, w.owner, first, w.households[0])).status_code == 201
    r = await client.get(f"/v1/polls/{first['id']}", headers=f.auth(w.family))
    assert r.json()["voted_household_ids"] == [w.households[0].id] and r.json()["ballot_count"] == 1
    # Another community's poll does not exist for you; strangers must log in.
    r = await client.get(f"/v1/polls/{first['id']}", headers=f.auth(w.outsider))
    assert r.status_code == 404 and code(r) == "poll.not_found"
    r = await client.get(f"/v1/communities/{w.cid}/polls", headers=f.auth(w.outsider))
    assert r.status_code == 404
    assert (await client.get(f"/v1/polls/{first['id']}")).status_code == 401
    # The announce job tells residents once the scheduled poll opens (and only once).
    row.opens_at = datetime.now(UTC) - timedelta(seconds=1)
    db.add(row)
    await db.flush()
    assert await jobs.announce_open_polls(db) == 1
    assert await jobs.announce_open_polls(db) == 0
    await db.refresh(row)
    assert row.announced_at is not None


async def test_close_cancel_and_the_close_job(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    poll = await f.create_poll(client, w.committee, w.cid)
    url = f"/v1/polls/{poll['id']}/close"
    r = await client.post(url, headers=f.auth(w.owner))
    assert r.status_code == 403
    r = await client.post(url, headers=f.auth(w.committee))
    assert r.status_code == 422 and code(r) == "poll.not_due"
    r = await client.post(url, json={"cancel": True}, headers=f.auth(w.admin))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await client.post(url, json={"cancel": True}, headers=f.auth(w.admin))
    assert r.status_code == 409 and code(r) == "poll.already_closed"
    r = await f.cast(client, w.owner, poll, w.households[0])
    assert r.status_code == 422 and code(r) == "poll.not_open"

    due = await f.create_poll(client, w.committee, w.cid, title="到期")
    await f.cast(client, w.owner, due, w.households[0])
    row = await db.get(Poll, due["id"])
    assert row is not None
    row.closes_at = datetime.now(UTC) - timedelta(seconds=1)
    db.add(row)
    await db.flush()
    assert await jobs.close_due_polls(db) == 1
    assert await jobs.close_due_polls(db) == 0
    await db.refresh(row)
    assert row.closed_at is not None and row.result is not None and row.result["final"] is True
    assert row.result["turnout"]["households_voted"] == 1
    q = (await db.exec(select(PollQuestion).where(col(PollQuestion.poll_id) == due["id"]))).one()
    assert row.result["decision"]["question_id"] == q.id
