"""A project from planning to closed through the API: each phase refuses to advance without its
evidence (polls, the two-round notice, approvals and the vote, milestones, sign-offs, aftercare),
the three roles act only when appointed, a supervisor's problem becomes a ticket with a deadline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog, Ticket
from services.models.notices import Notice
from services.models.polls import Poll
from services.models.renovation import RenovationProject
from tests import factories as f
from tests.api.renovation_world import RenoWorld, item, ok, project, upload, world

pytestmark = pytest.mark.calendar


async def _close(db: AsyncSession, poll_id: int, *, passed: bool | None = None) -> None:
    values: dict[str, Any] = {"closed_at": datetime.now(UTC)}
    if passed is not None:
        values["result"] = {"decision": {"outcome": "passed" if passed else "not_approved"}}
    await db.execute(sa.update(Poll).where(col(Poll.id) == poll_id).values(**values))


async def _advance(client: httpx.AsyncClient, w: RenoWorld, pid: int, to: str) -> httpx.Response:
    return await client.post(
        f"/v1/renovation/projects/{pid}/advance", json={"to": to}, headers=f.auth(w.admin)
    )


def _missing(r: httpx.Response) -> list[str]:
    assert r.status_code == 409, r.text
    body = r.json()["error"]
    assert body["code"] == "renovation.phase_evidence_missing"
    missing: list[str] = body["details"]["missing"]
    return missing


async def _links(client: httpx.AsyncClient, w: RenoWorld, pid: int, **links: object) -> dict[str, Any]:
    r = await client.put(f"/v1/renovation/projects/{pid}/links", json=links, headers=f.auth(w.admin))
    result: dict[str, Any] = await ok(r)
    return result


async def _appoint(client: httpx.AsyncClient, w: RenoWorld, pid: int, who: int, role: str) -> None:
    r = await client.post(
        f"/v1/renovation/projects/{pid}/roles", json={"user_id": w.residents[who].id, "role": role},
        headers=f.auth(w.committee),
    )  # fmt: skip
    await ok(r, 201)


async def test_a_project_end_to_end(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await world(db)
    p = await project(client, w)
    pid = p["id"]
    base = f"/v1/renovation/projects/{pid}"
    assert p["status"] == "planning"
    assert sorted(_missing(await _advance(client, w, pid, "design"))) == ["items", "needs_survey"]
    # Skipping a phase is refused too.
    r = await _advance(client, w, pid, "publicity")
    assert r.status_code == 409 and r.json()["error"]["code"] == "renovation.phase_invalid"

    # 问需: the needs survey, linked then closed; items, one of them for building 1 only (一楼一策).
    needs = await f.create_poll(client, w.committee, w.cid, kind="survey", title="改造需求调查")
    await _links(client, w, pid, needs_poll_id=needs["id"])
    roof = await item(client, w, pid)
    rail = await item(
        client, w, pid, item_class="improvement", name="楼道扶手", quantity="86", unit="m",
        budget_fen=1_720_000, building_ids=[w.buildings[0].id],
    )  # fmt: skip
    assert rail["building_ids"] == [w.buildings[0].id]
    assert _missing(await _advance(client, w, pid, "design")) == ["needs_survey"]  # still open
    await _close(db, needs["id"])
    assert (await ok(await _advance(client, w, pid, "design")))["status"] == "design"

    # 问计: the design survey.
    design = await f.create_poll(client, w.committee, w.cid, kind="survey", title="设计方案征询")
    assert _missing(await _advance(client, w, pid, "publicity")) == ["design_survey"]
    await _links(client, w, pid, design_poll_id=design["id"])
    await _close(db, design["id"])
    await ok(await _advance(client, w, pid, "publicity"))

    # The design as a publicity notice in two rounds (the notices area's revisions).
    n1 = await f.post_notice(client, w.committee, w.cid, kind="publicity", title="改造设计方案公示")
    await _links(client, w, pid, design_notice_id=n1["id"])
    assert _missing(await _advance(client, w, pid, "approval")) == ["design_notice_round2"]
    r = await client.post(
        f"/v1/notices/{n1['id']}/revisions", json={"change_summary": "采纳居民意见，增加扶手"},
        headers=f.auth(w.committee),
    )  # fmt: skip
    n2 = await ok(r, 201)
    await _links(client, w, pid, design_notice2_id=n2["id"])
    assert _missing(await _advance(client, w, pid, "approval")) == ["design_notice_round2"]  # a draft yet
    await ok(await client.post(f"/v1/notices/{n2['id']}/publish", json={}, headers=f.auth(w.committee)))
    await ok(await _advance(client, w, pid, "approval"))

    # Approval: steps in working days (2026-09-30 Wed → 2026-10-09 Fri spans the National Day week).
    step = await ok(
        await client.post(base + "/approval-steps", json={"name": "方案审批", "submitted_on": "2026-09-30"}, headers=f.auth(w.admin)),
        201,
    )  # fmt: skip
    vote = await f.create_poll(client, w.committee, w.cid, kind="vote", title="是否同意加装电梯")
    await _links(client, w, pid, vote_required=True, vote_poll_id=vote["id"])
    assert sorted(_missing(await _advance(client, w, pid, "construction"))) == ["approval_steps", "vote"]
    tl = await ok(
        await client.put(f"{base}/approval-steps/{step['id']}", json={"approved_on": "2026-10-09"}, headers=f.auth(w.admin))
    )  # fmt: skip
    assert tl["steps"][0]["working_days"] == 2 and tl["total_working_days"] == 2
    await _close(db, vote["id"], passed=False)
    assert _missing(await _advance(client, w, pid, "construction")) == ["vote"]
    await _close(db, vote["id"], passed=True)
    await ok(await _advance(client, w, pid, "construction"))

    # Construction: milestones, a works notice to building 1, a supervisor's problem → ticket.
    ms = await ok(
        await client.post(
            base + "/milestones",
            json={"name": "扶手安装", "planned_on": "2020-01-01", "building_ids": [w.buildings[0].id]},
            headers=f.auth(w.admin),
        ),
        201,
    )
    assert ms["late"] is True and ms["days_late"] > 0
    notice = await ok(
        await client.post(f"{base}/milestones/{ms['id']}/notice", json={"text": "明日 9:00-17:00 停水"}, headers=f.auth(w.admin))
    )  # fmt: skip
    works = await db.get(Notice, notice["notice_id"])
    assert works is not None and works.audience_type == "buildings"
    assert list(works.audience_building_ids) == [w.buildings[0].id]
    await _appoint(client, w, pid, 0, "supervisor")
    await _appoint(client, w, pid, 1, "inspector")
    await _appoint(client, w, pid, 0, "collector")
    r = await client.post(
        f"/v1/renovation/projects/{pid}/roles", json={"user_id": w.residents[0].id, "role": "supervisor"},
        headers=f.auth(w.committee),
    )  # fmt: skip
    assert r.status_code == 409 and r.json()["error"]["code"] == "renovation.role_exists"
    photo = await ok(await upload(client, w.residents[0], pid, "photo"), 201)
    rec = await ok(
        await client.post(
            base + "/supervision",
            json={"item_id": roof["id"], "note": "防水层起鼓", "problem": True, "deadline_on": "2099-01-10", "photo_ids": [photo["id"]]},
            headers=f.auth(w.residents[0]),
        ),
        201,
    )  # fmt: skip
    ticket = await db.get(Ticket, rec["ticket_id"])
    assert ticket is not None and ticket.intake_channel == "inspection" and "某建设公司" in ticket.description
    assert ticket.resolution_due_at is not None and ticket.resolution_due_at.year == 2099
    r = await client.post(
        base + "/supervision", json={"item_id": roof["id"], "note": "x"}, headers=f.auth(w.residents[1])
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "renovation.not_appointed"
    # The collector logs a request; the admin turns it into a design change.
    req = await ok(
        await client.post(base + "/requests", json={"text": "希望加装扶手"}, headers=f.auth(w.residents[0])),
        201,
    )
    done = await ok(
        await client.post(f"{base}/requests/{req['id']}/decision", json={"outcome": "design_change"}, headers=f.auth(w.admin))
    )  # fmt: skip
    assert done["outcome"] == "design_change"
    # A request turned into a ticket takes a repair category (RepairCategory); anything else is 422.
    req = await ok(
        await client.post(base + "/requests", json={"text": "楼道水管滴水"}, headers=f.auth(w.residents[0])),
        201,
    )
    decide = f"{base}/requests/{req['id']}/decision"
    r = await client.post(decide, json={"outcome": "ticket", "category": "水电"}, headers=f.auth(w.admin))
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"
    done = await ok(
        await client.post(decide, json={"outcome": "ticket", "category": "plumbing"}, headers=f.auth(w.admin))
    )
    ticket = await db.get(Ticket, done["ticket_id"])
    assert ticket is not None and ticket.category == "plumbing"
    assert _missing(await _advance(client, w, pid, "acceptance")) == ["milestones"]
    await ok(
        await client.put(
            f"{base}/milestones/{ms['id']}", json={"actual_on": "2020-01-05"}, headers=f.auth(w.admin)
        )
    )
    sched = await ok(await client.get(base + "/milestones", headers=f.auth(w.residents[1])))
    assert sched[0]["late"] is True and sched[0]["days_late"] == 4
    await ok(await _advance(client, w, pid, "acceptance"))

    # Acceptance: only an appointed inspector signs off; accepted only when every item passed.
    sign = base + "/signoffs"
    r = await client.post(
        sign, json={"item_id": roof["id"], "verdict": "pass"}, headers=f.auth(w.residents[0])
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "renovation.not_appointed"
    r = await client.post(sign, json={"item_id": roof["id"], "verdict": "pass"}, headers=f.auth(w.admin))
    assert r.status_code == 403
    inspector = f.auth(w.residents[1])
    await ok(await client.post(sign, json={"item_id": roof["id"], "verdict": "pass"}, headers=inspector), 201)
    assert _missing(await _advance(client, w, pid, "aftercare")) == ["signoffs"]
    await ok(
        await client.post(sign, json={"item_id": rail["id"], "verdict": "rectify"}, headers=inspector), 201
    )
    assert _missing(await _advance(client, w, pid, "aftercare")) == ["signoffs"]
    await ok(await client.post(sign, json={"item_id": rail["id"], "verdict": "pass"}, headers=inspector), 201)
    after = await ok(await _advance(client, w, pid, "aftercare"))
    assert after["aftercare_starts_on"] is not None

    # Aftercare: the satisfaction survey (问效) and a half-yearly self-assessment, then closed.
    assert sorted(_missing(await _advance(client, w, pid, "closed"))) == [
        "satisfaction_survey",
        "self_assessment",
    ]
    sat = await f.create_poll(client, w.committee, w.cid, kind="survey", title="改造满意度调查")
    await _links(client, w, pid, satisfaction_poll_id=sat["id"])
    await _close(db, sat["id"])
    body = {"period": "2027H1", "summary": "设施运行良好", "scores": {"维护": 90}}
    await ok(await client.post(base + "/self-assessments", json=body, headers=f.auth(w.admin)), 201)
    r = await client.post(base + "/self-assessments", json=body, headers=f.auth(w.admin))
    assert r.status_code == 409 and r.json()["error"]["code"] == "renovation.period_exists"
    closed = await ok(await _advance(client, w, pid, "closed"))
    assert closed["status"] == "closed" and all(e["complete"] for e in closed["evidence"])
    # Residents read the project; the appointments and phase moves are audited.
    seen = await ok(await client.get(base, headers=f.auth(w.residents[0])))
    assert [i["signoff"] for i in seen["items"]] == ["pass", "pass"]
    actions = (await db.exec(select(AuditLog.action).where(col(AuditLog.entity_id) == str(pid)))).all()
    assert actions.count("renovation.advance") == 7
    appointed = (await db.exec(select(AuditLog.id).where(col(AuditLog.action) == "renovation.appoint"))).all()
    assert len(appointed) == 3


async def test_bad_input_writes_nothing(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await world(db)
    pid = (await project(client, w))["id"]
    base = f"/v1/renovation/projects/{pid}"
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("/items", {"item_class": "basic", "name": "x", "quantity": "-1", "unit": "m", "budget_fen": 1}, 422, "renovation.invalid_quantity"),
        ("/items", {"item_class": "basic", "name": "x", "quantity": "1", "unit": "m", "budget_fen": -1}, 422, "renovation.invalid_amount"),
        ("/items", {"item_class": "basic", "name": "x", "quantity": "1", "unit": "m", "budget_fen": 0.5}, 422, "renovation.invalid_amount"),
        ("/items", {"item_class": "basic", "name": "x", "quantity": "1", "unit": "m", "budget_fen": 1, "building_ids": [999_999]}, 422, "renovation.building_not_found"),
        ("/roles", {"user_id": w.outsider_resident.id, "role": "inspector"}, 422, "renovation.not_resident"),
    ]  # fmt: skip
    for path, body, status, code in cases:
        who = w.committee if path == "/roles" else w.admin
        r = await client.post(base + path, json=body, headers=f.auth(who))
        assert r.status_code == status and r.json()["error"]["code"] == code, (path, r.text)
    poll = await f.create_poll(client, w.committee, w.cid, kind="vote")
    r = await client.put(base + "/links", json={"needs_poll_id": poll["id"]}, headers=f.auth(w.admin))
    assert r.status_code == 422 and r.json()["error"]["code"] == "renovation.poll_mismatch"
    # A resident cannot appoint, create projects or advance; an outsider's admin sees nothing.
    r = await client.post(
        base + "/roles",
        json={"user_id": w.residents[0].id, "role": "collector"},
        headers=f.auth(w.residents[1]),
    )
    assert r.status_code == 403
    r = await client.post(base + "/advance", json={"to": "design"}, headers=f.auth(w.residents[0]))
    assert r.status_code == 403
    r = await client.post(base + "/advance", json={"to": "design"}, headers=f.auth(w.outsider_admin))
    assert r.status_code == 404
    r = await client.get(f"/v1/communities/{w.cid}/renovation/projects", headers=f.auth(w.outsider_admin))
    assert r.status_code == 404
    row = await db.get(RenovationProject, pid)
    assert row is not None and row.status == "planning" and row.needs_poll_id is None
    assert (await ok(await client.get(base, headers=f.auth(w.residents[0]))))["items"] == []


async def test_working_days_use_the_holiday_calendar_and_exceptions(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await world(db)
    pid = (await project(client, w))["id"]
    base = f"/v1/renovation/projects/{pid}/approval-steps"
    # The county's 7 → 3 working days: Mon 2026-11-02 → Thu 11-05 is 3; over a weekend Fri → Wed is 3.
    for name, start, end in (("立项", "2026-11-02", "2026-11-05"), ("施工许可", "2026-11-06", "2026-11-11")):
        await ok(await client.post(base, json={"name": name, "submitted_on": start, "approved_on": end}, headers=f.auth(w.admin)), 201)  # fmt: skip
    tl = await ok(await client.get(base, headers=f.auth(w.residents[0])))
    assert [s["working_days"] for s in tl["steps"]] == [3, 3] and tl["total_working_days"] == 7
    # A community exception (an extra day off) counts.
    r = await client.put(
        f"/v1/communities/{w.cid}/calendar-exceptions",
        json={"year": 2026, "items": [{"day": "2026-11-04", "working": False, "note": "停电"}]},
        headers=f.auth(w.admin),
    )
    assert r.status_code == 200, r.text
    tl = await ok(await client.get(base, headers=f.auth(w.residents[0])))
    assert tl["steps"][0]["working_days"] == 2
    r = await client.post(
        base,
        json={"name": "x", "submitted_on": "2026-11-05", "approved_on": "2026-11-01"},
        headers=f.auth(w.admin),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "renovation.bad_dates"
