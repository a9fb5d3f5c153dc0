"""Publicity (公示): the comment window, objections and answers, the outcome, and round 2."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Notification, utcnow
from services.models.notices import Notice, NoticeComment
from services.notices import jobs
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def _close_window(db: AsyncSession, notice_id: object) -> None:
    row = await db.get(Notice, notice_id, populate_existing=True)
    assert row is not None
    row.comment_closes_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    await db.flush()


async def test_window_comments_objections_answers_outcome(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.notice_world(db)
    n = await f.post_notice(client, w.committee, w.cid, kind="publicity", title="加装电梯方案公示")
    assert n["comment_window_days"] == 5 and n["window_open"] is True
    closes = n["comment_closes_at"]
    assert closes is not None
    url = f"/v1/notices/{n['id']}/comments"
    r = await client.post(url, json={"body": "支持加装"}, headers=f.auth(w.residents[0]))
    assert r.status_code == 201, r.text
    assert r.json()["is_objection"] is False and r.json()["household_label"] == "1号楼101"
    r = await client.post(
        url,
        json={"body": "一楼采光受影响", "is_objection": True},
        headers={**f.auth(w.residents[1]), "Idempotency-Key": "o1"},
    )
    assert r.status_code == 201
    objection = r.json()
    r2 = await client.post(
        url,
        json={"body": "一楼采光受影响", "is_objection": True},
        headers={**f.auth(w.residents[1]), "Idempotency-Key": "o1"},
    )
    assert r2.json()["id"] == objection["id"]
    r = await client.post(
        url, json={"body": "噪音问题", "is_objection": True}, headers=f.auth(w.residents[2])
    )
    second = r.json()

    # A pending claimant sees nothing of the notice (issue 13); a comment is not an objection to answer.
    r = await client.post(url, json={"body": "x", "is_objection": True}, headers=f.auth(w.pending))
    assert r.status_code == 404 and code(r) == "notice.not_found"
    first_comment = (await client.get(url, headers=f.auth(w.residents[3]))).json()["items"][0]
    r = await client.post(
        f"{url}/{first_comment['id']}/answer", json={"body": "谢谢"}, headers=f.auth(w.committee)
    )
    assert r.status_code == 422 and code(r) == "notice.not_objection"
    # Only the author side answers.
    r = await client.post(
        f"{url}/{objection['id']}/answer", json={"body": "x"}, headers=f.auth(w.residents[0])
    )
    assert r.status_code == 403
    r = await client.post(
        f"{url}/{objection['id']}/answer", json={"body": "将在一楼加装补光设施"}, headers=f.auth(w.committee)
    )
    assert r.status_code == 200 and r.json()["answer_body"] == "将在一楼加装补光设施"
    assert r.json()["answered_by"] == w.committee.id
    told = (await db.exec(select(Notification).where(Notification.user_id == w.residents[1].id))).all()
    assert "notice.objection_answered" in {x.data.get("template") for x in told}
    objections = (await client.get(url, params={"objections": True}, headers=f.auth(w.residents[0]))).json()[
        "items"
    ]
    assert [o["id"] for o in objections] == [objection["id"], second["id"]]

    # The window closes: comments refused, outcome recorded once by the job.
    await _close_window(db, n["id"])
    r = await client.post(url, json={"body": "晚了"}, headers=f.auth(w.residents[3]))
    assert r.status_code == 422 and code(r) == "notice.window_closed"
    assert await jobs.close_publicity_windows(db) == 1
    assert await jobs.close_publicity_windows(db) == 0
    detail = (await client.get(f"/v1/notices/{n['id']}", headers=f.auth(w.residents[0]))).json()
    assert detail["outcome"] == "objections_pending" and detail["window_open"] is False
    assert detail["outcome_detail"] == {
        "comments": 3,
        "objections": 2,
        "objections_answered": 1,
        "objections_pending": 1,
    }
    rows = (await db.exec(select(NoticeComment).where(NoticeComment.notice_id == n["id"]))).all()
    assert len(rows) == 3


async def test_outsiders_and_non_publicity(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.notice_world(db)
    b1 = w.buildings[0].id
    n = await f.post_notice(
        client, w.committee, w.cid, kind="publicity", audience_type="buildings", audience_building_ids=[b1],
        comment_window_days=7,
    )  # fmt: skip
    url = f"/v1/notices/{n['id']}/comments"
    # A resident of building 2 is outside the audience: the notice does not exist for them.
    r = await client.post(url, json={"body": "反对", "is_objection": True}, headers=f.auth(w.residents[2]))
    assert r.status_code == 404 and code(r) == "notice.not_found"
    other = await f.notice_world(db)
    r = await client.post(
        url, json={"body": "反对", "is_objection": True}, headers=f.auth(other.residents[0])
    )
    assert r.status_code == 404
    r = await client.post(url, json={"body": "同意", "is_objection": False}, headers=f.auth(w.residents[0]))
    assert r.status_code == 201
    ann = await f.post_notice(client, w.committee, w.cid)
    r = await client.post(
        f"/v1/notices/{ann['id']}/comments", json={"body": "x"}, headers=f.auth(w.residents[0])
    )
    assert r.status_code == 422 and code(r) == "notice.comments_not_allowed"
    assert (
        await db.exec(select(NoticeComment).where(NoticeComment.notice_id == n["id"]))
    ).all().__len__() == 1


async def test_round_two_and_history(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.notice_world(db)
    r1 = await f.post_notice(
        client, w.committee, w.cid, kind="publicity", title="外立面改造方案（第一次公示）"
    )
    await client.post(
        f"/v1/notices/{r1['id']}/comments",
        json={"body": "颜色太深", "is_objection": True},
        headers=f.auth(w.residents[0]),
    )
    # A draft cannot be revised; a published one can, once.
    draft = await f.post_notice(client, w.committee, w.cid, publish=False, kind="publicity")
    r = await client.post(
        f"/v1/notices/{draft['id']}/revisions", json={"change_summary": "x"}, headers=f.auth(w.committee)
    )
    assert r.status_code == 409 and code(r) == "notice.invalid_transition"
    r = await client.post(
        f"/v1/notices/{r1['id']}/revisions",
        json={"change_summary": "外墙颜色改为浅灰色", "title": "外立面改造方案（第二次公示）"},
        headers=f.auth(w.committee),
    )
    assert r.status_code == 201, r.text
    r2 = r.json()
    assert r2["round"] == 2 and r2["previous_id"] == r1["id"] and r2["status"] == "draft"
    assert r2["body_md"] == r1["body_md"] and r2["comment_window_days"] == 5
    r = await client.post(
        f"/v1/notices/{r1['id']}/revisions", json={"change_summary": "y"}, headers=f.auth(w.committee)
    )
    assert r.status_code == 409 and code(r) == "notice.revision_exists"
    # Residents see round 1 only until round 2 is published.
    hist = (await client.get(f"/v1/notices/{r1['id']}/history", headers=f.auth(w.residents[0]))).json()
    assert [h["round"] for h in hist] == [1]
    await client.post(f"/v1/notices/{r2['id']}/publish", headers=f.auth(w.committee))
    hist = (await client.get(f"/v1/notices/{r2['id']}/history", headers=f.auth(w.residents[0]))).json()
    assert [(h["round"], h["change_summary"], h["objections"]) for h in hist] == [
        (1, None, 1),
        (2, "外墙颜色改为浅灰色", 0),
    ]
    detail = (await client.get(f"/v1/notices/{r1['id']}", headers=f.auth(w.residents[0]))).json()
    assert detail["next_id"] == r2["id"]


async def test_demo_renovation_publicity(
    client: httpx.AsyncClient, db: AsyncSession, settings: Any, sessionmaker: Any
) -> None:
    from sqlmodel import func

    from services import demo, demo_notices
    from services.models import Community, User

    await demo.seed(settings, sessionmaker=sessionmaker)
    cid = (await db.exec(select(Community.id).where(Community.name == demo.COMMUNITY["name"]))).one()
    assert cid is not None
    await demo_notices.seed(db, cid)
    counts = [(await db.exec(select(func.count()).select_from(t))).one() for t in (Notice, NoticeComment)]
    await demo_notices.seed(db, cid)
    assert [
        (await db.exec(select(func.count()).select_from(t))).one() for t in (Notice, NoticeComment)
    ] == counts
    resident = (await db.exec(select(User).where(User.phone == "+8613700000001"))).one()
    feed = (await client.get("/v1/notices", headers=f.auth(resident))).json()["items"]
    titles = [i["title"] for i in feed]
    assert titles[0] == demo_notices.ROUND2_TITLE  # pinned
    assert set(titles) == {demo_notices.ROUND1_TITLE, demo_notices.ROUND2_TITLE, demo_notices.WATER_TITLE}
    round2 = next(i for i in feed if i["title"] == demo_notices.ROUND2_TITLE)
    hist = (await client.get(f"/v1/notices/{round2['id']}/history", headers=f.auth(resident))).json()
    assert [(h["round"], h["comments"], h["objections"], h["objections_answered"]) for h in hist] == [
        (1, 5, 2, 2),
        (2, 1, 0, 0),
    ]
    assert hist[0]["outcome"] == "objections_answered" and hist[1]["change_summary"]
    r = await client.post(
        f"/v1/notices/{round2['id']}/comments", json={"body": "同意"}, headers=f.auth(resident)
    )
    assert r.status_code == 201
    r = await client.post(
        f"/v1/notices/{hist[0]['id']}/comments", json={"body": "晚了"}, headers=f.auth(resident)
    )
    assert r.status_code == 422 and code(r) == "notice.window_closed"
    water = next(i for i in feed if i["title"] == demo_notices.WATER_TITLE)
    assert water["requires_ack"] and water["acked"] is True


async def test_unsigned_comments_show_neighbours_only_the_building(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Neighbours see '1号楼 住户' unless the author signs; the author and the committee see the name."""
    w = await f.notice_world(db)
    n = await f.post_notice(client, w.committee, w.cid, kind="publicity", title="加装电梯方案公示")
    url = f"/v1/notices/{n['id']}/comments"
    author, neighbour = w.residents[0], w.residents[3]
    r = await client.post(url, json={"body": "一楼采光受影响", "is_objection": True}, headers=f.auth(author))
    assert r.status_code == 201, r.text
    mine = r.json()
    assert (mine["user_name"], mine["user_id"], mine["name_masked"]) == ("住户1", author.id, False)
    r = await client.post(url, json={"body": "支持", "signed": True}, headers=f.auth(w.residents[1]))
    assert r.status_code == 201 and r.json()["signed"] is True
    rows = (await db.exec(select(NoticeComment).where(NoticeComment.notice_id == n["id"]))).all()
    assert sorted((row.user_id, row.signed) for row in rows) == sorted(
        [(author.id, False), (w.residents[1].id, True)]
    )

    def view(body: dict[str, Any]) -> list[tuple[object, ...]]:
        return [(c["user_name"], c["user_id"], c["household_label"], c["name_masked"]) for c in body["items"]]

    r = await client.get(url, headers=f.auth(neighbour))
    assert view(r.json()) == [
        ("1号楼 住户", None, None, True),
        ("住户2", w.residents[1].id, "1号楼201", False),
    ]
    assert "住户1" not in r.text and "1号楼101" not in r.text
    r = await client.get(url, headers={**f.auth(neighbour), "Accept-Language": "en"})
    assert view(r.json())[0] == ("Building 1 resident", None, None, True)
    # The property manager (who may have published the notice) is a neighbour here too.
    assert view((await client.get(url, headers=f.auth(w.manager))).json())[0][0] == "1号楼 住户"
    for who in (author, w.committee):
        r = await client.get(url, headers=f.auth(who))
        assert view(r.json())[0] == ("住户1", author.id, "1号楼101", False), who.name
