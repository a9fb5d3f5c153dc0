"""Paper ballots: recorded by committee or staff with a photo of the signed form, counted like app
ballots, in the same hash chain, marked as paper with who recorded it; one ballot per household
whichever the channel (409 with the other channel's code)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Role
from services.models.attachments import Attachment
from services.models.audit import AuditLog
from services.models.polls import Ballot
from tests import factories as f

pytestmark = pytest.mark.calendar


async def record(
    client: httpx.AsyncClient, who: Any, poll: dict[str, Any], household_id: int, answers: object
) -> httpx.Response:
    return await client.post(
        f"/v1/polls/{poll['id']}/paper-ballots",
        data={"household_id": str(household_id), "answers": json.dumps(answers)},
        files={"file": ("form.jpg", f.jpeg_bytes(color=(10, 200, 30)), "image/jpeg")},
        headers=f.auth(who),
    )


async def test_paper_ballot_is_counted_and_chained(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db, ("50.00", "60.00", "70.00"))
    poll = await f.create_poll(client, w.committee, w.cid)
    assert (await f.cast(client, w.owner, poll, w.households[0])).status_code == 201
    # households[2] has nobody on the app: its signed form is typed in by a grid worker.
    grid = await f.community_staff(db, w.community, Role.grid_worker, "网格员")
    r = await record(client, grid, poll, w.households[2].id or 0, [f.choice(poll, option=1)])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["channel"] == "paper" and body["recorded_by_id"] == grid.id and body["seq"] == 2
    assert body["form"]["owner_type"] == "ballot" and body["form"]["purpose"] == "paper_form"
    row = (await db.exec(select(Ballot).where(Ballot.id == body["id"]))).one()
    photo = (
        await db.exec(
            select(Attachment).where(Attachment.owner_id == row.id, Attachment.owner_type == "ballot")
        )
    ).one()
    assert (row.channel, row.voter_id, row.recorded_by_id) == ("paper", None, grid.id)
    assert row.form_sha256 == photo.sha256 == body["form_sha256"]
    audit = (await db.exec(select(AuditLog).where(AuditLog.action == "ballot.paper"))).one()
    assert (
        audit.actor_id == grid.id
        and audit.after is not None
        and audit.after["household_id"] == w.households[2].id
    )

    r = await client.get(f"/v1/polls/{poll['id']}/results", headers=f.auth(w.committee))
    res = r.json()
    assert res["turnout"]["households_voted"] == 2 and res["turnout"]["paper_ballots"] == 1
    assert res["turnout"]["area_voted_m2"] == "120.00"
    assert [o["households"] for o in res["questions"][0]["options"]] == [1, 1, 0]
    r = await client.get(f"/v1/polls/{poll['id']}/ballots/verify", headers=f.auth(w.owner))
    assert r.json() == r.json() | {"ok": True, "ballots": 2}

    # The form's hash is in the chain: swapping the photo record breaks the link.
    await db.execute(sa.update(Ballot).where(col(Ballot.id) == row.id).values(form_sha256="0" * 64))
    r = await client.get(f"/v1/polls/{poll['id']}/ballots/verify", headers=f.auth(w.committee))
    assert (
        r.json()["ok"] is False and r.json()["broken_seq"] == 2 and r.json()["problem"] == "content_changed"
    )


async def test_one_ballot_per_household_across_channels(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    owners = await f.owners_of(db, w, [0, 2])
    poll = await f.create_poll(client, w.committee, w.cid)
    assert (await f.cast(client, owners[0], poll, w.households[0])).status_code == 201
    r = await record(client, w.committee, poll, w.households[0].id or 0, [f.choice(poll)])
    assert r.status_code == 409 and r.json()["error"]["code"] == "poll.voted_in_app"
    assert r.json()["error"]["message"] == "该房屋已在线投票，不能再录入纸质选票"
    assert (
        await record(client, w.committee, poll, w.households[2].id or 0, [f.choice(poll)])
    ).status_code == 201
    r = await f.cast(client, owners[1], poll, w.households[2])
    assert r.status_code == 409 and r.json()["error"]["code"] == "poll.voted_on_paper"
    r = await record(client, w.admin, poll, w.households[2].id or 0, [f.choice(poll)])
    assert r.status_code == 409 and r.json()["error"]["code"] == "poll.already_voted"
    assert len((await db.exec(select(Ballot).where(Ballot.poll_id == poll["id"]))).all()) == 2
    assert len((await db.exec(select(Attachment).where(Attachment.owner_type == "ballot"))).all()) == 1


async def test_who_may_record_and_bad_forms(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    poll = await f.create_poll(client, w.committee, w.cid)
    hid = w.households[1].id or 0
    r = await record(client, w.owner, poll, hid, [f.choice(poll)])
    assert r.status_code == 403 and r.json()["error"]["code"] == "poll.paper_forbidden"
    assert (await record(client, w.outsider, poll, hid, [f.choice(poll)])).status_code == 404
    r = await record(client, w.committee, poll, hid, {"not": "a list"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "poll.answers_invalid"
    r = await record(client, w.committee, poll, hid, [{"question_id": 999999, "option_ids": [1]}])
    assert r.status_code == 422 and r.json()["error"]["code"] == "poll.unknown_question"
    other = await f.household(db, await f.building(db, await f.community(db)))
    r = await record(client, w.committee, poll, other.id or 0, [f.choice(poll)])
    assert r.status_code == 422 and r.json()["error"]["code"] == "poll.household_not_found"
    r = await client.post(
        f"/v1/polls/{poll['id']}/paper-ballots",
        data={"household_id": str(hid), "answers": json.dumps([f.choice(poll)])},
        files={"file": ("form.txt", b"not an image", "text/plain")},
        headers=f.auth(w.committee),
    )
    assert r.status_code in (415, 422)
    assert (await db.exec(select(Ballot).where(Ballot.poll_id == poll["id"]))).first() is None


async def test_garbage_forms_are_refused_not_crashed(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    poll = await f.create_poll(client, w.committee, w.cid)
    url = f"/v1/polls/{poll['id']}/paper-ballots"
    photo = {"file": ("form.jpg", f.jpeg_bytes(), "image/jpeg")}
    q = poll["questions"][0]["id"]
    for data in (
        {"household_id": "abc", "answers": "[]"},
        {"household_id": "0", "answers": "[]"},
        {"answers": "[]"},
        {"household_id": str(w.households[1].id)},
        {"household_id": str(w.households[1].id), "answers": "not json"},
        {
            "household_id": str(w.households[1].id),
            "answers": json.dumps([{"question_id": q, "text": "a\u0000b"}]),
        },
        {"household_id": str(w.households[1].id), "answers": json.dumps([{"question_id": "x"}] * 60)},
    ):
        r = await client.post(url, data=data, files=photo, headers=f.auth(w.committee))
        assert r.status_code == 422, (data, r.text)
        assert r.json()["error"]["code"] in ("request.invalid", "poll.answers_invalid")
    r = await client.post(
        url, data={"household_id": str(w.households[1].id), "answers": "[]"}, headers=f.auth(w.committee)
    )
    assert r.status_code == 422
    assert (await db.exec(select(Ballot).where(Ballot.poll_id == poll["id"]))).first() is None
