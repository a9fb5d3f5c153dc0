"""Each phase's evidence launched from the project: the survey or vote is created in the polls area and
the design publicity (both rounds) in the notices area, linked to the project in the same transaction;
the project page then shows it. Wrong people and closed projects are refused with nothing written."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog
from services.models.notices import Notice
from services.models.polls import Poll
from services.models.renovation import RenovationProject
from tests import factories as f
from tests.api.renovation_world import ok, project, world

pytestmark = pytest.mark.calendar


async def test_surveys_vote_and_design_rounds_are_launched_and_linked(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    pid = (await project(client, w))["id"]
    base = f"/v1/renovation/projects/{pid}"

    # 问需 by the committee: the body's kind is overridden by the phase (a survey).
    r = await client.post(
        base + "/polls/needs",
        json=f.poll_body(kind="vote", title="改造需求调查"),
        headers=f.auth(w.committee),
    )
    needs = await ok(r, 201)
    assert needs["kind"] == "survey" and needs["title"] == "改造需求调查"
    row = await db.get(Poll, needs["id"])
    assert row is not None and row.community_id == w.cid and row.kind == "survey"

    vote = await ok(
        await client.post(base + "/polls/vote", json=f.poll_body(kind="survey"), headers=f.auth(w.admin)), 201
    )
    assert vote["kind"] == "vote"

    n1 = await ok(
        await client.post(
            base + "/design-notice",
            json=f.notice_body(kind="announcement", title="改造设计方案公示"),
            headers=f.auth(w.committee),
        ),
        201,
    )
    assert n1["kind"] == "publicity"
    await ok(await client.post(f"/v1/notices/{n1['id']}/publish", headers=f.auth(w.committee)))
    n2 = await ok(
        await client.post(
            base + "/design-notice/revisions",
            json={"change_summary": "采纳居民意见，增加扶手"},
            headers=f.auth(w.committee),
        ),
        201,
    )
    second = await db.get(Notice, n2["id"])
    assert second is not None and second.previous_id == n1["id"] and second.round == 2

    p = await db.get(RenovationProject, pid)
    assert p is not None
    await db.refresh(p)
    assert (p.needs_poll_id, p.vote_poll_id, p.vote_required) == (needs["id"], vote["id"], True)
    assert (p.design_notice_id, p.design_notice2_id) == (n1["id"], n2["id"])
    page = await ok(await client.get(base, headers=f.auth(w.residents[0])))
    assert page["needs_poll_id"] == needs["id"] and page["design_notice2_id"] == n2["id"]
    audited = (
        await db.exec(
            select(func.count()).where(AuditLog.action == "renovation.links", AuditLog.entity_id == str(pid))  # type: ignore[call-overload]
        )
    ).one()
    assert audited == 4


async def test_launching_is_refused_to_the_wrong_people_and_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    pid = (await project(client, w))["id"]
    base = f"/v1/renovation/projects/{pid}"
    polls_before = (await db.exec(select(func.count()).select_from(Poll))).one()  # type: ignore[call-overload]

    r = await client.post(base + "/polls/needs", json=f.poll_body())
    assert r.status_code == 401
    r = await client.post(base + "/polls/needs", json=f.poll_body(), headers=f.auth(w.residents[0]))
    assert r.status_code == 403 and r.json()["error"]["code"] == "access.forbidden"
    r = await client.post(base + "/polls/needs", json=f.poll_body(), headers=f.auth(w.outsider_admin))
    assert r.status_code == 404 and r.json()["error"]["code"] == "renovation.project_not_found"
    r = await client.post(base + "/polls/elections", json=f.poll_body(), headers=f.auth(w.admin))
    assert r.status_code == 422
    r = await client.post(base + "/polls/needs", json=f.poll_body(questions=[]), headers=f.auth(w.admin))
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"
    # The second round needs a first one.
    r = await client.post(
        base + "/design-notice/revisions", json={"change_summary": "x"}, headers=f.auth(w.admin)
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "renovation.design_notice_missing"

    assert (await db.exec(select(func.count()).select_from(Poll))).one() == polls_before  # type: ignore[call-overload]
    p = await db.get(RenovationProject, pid)
    assert p is not None
    await db.refresh(p)
    assert p.needs_poll_id is None and p.design_notice_id is None
    notices = (await db.exec(select(func.count()).where(col(Notice.community_id) == w.cid))).one()  # type: ignore[call-overload]
    assert notices == 0


@pytest.mark.at("2026-10-15T07:30:00+08:00")  # 14 Oct in UTC, 15 Oct in Beijing
async def test_lateness_and_deadlines_use_the_communitys_date(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    pid = (await project(client, w))["id"]
    r = await client.post(
        f"/v1/renovation/projects/{pid}/milestones",
        json={"name": "外墙保温", "planned_on": "2026-10-14"},
        headers=f.auth(w.admin),
    )
    milestone = await ok(r, 201)
    assert milestone["late"] is True and milestone["days_late"] == 1  # UTC's date would say 0
    [listed] = await ok(
        await client.get(f"/v1/renovation/projects/{pid}/milestones", headers=f.auth(w.admin))
    )
    assert listed["late"] is True
