"""Civil Code art. 278 votes: participation (≥ 2/3 of area and owners), then > 1/2 (ordinary) or
≥ 3/4 (major) of the participants; the named double_majority_all and the custom rule; each test with
numerator, denominator and threshold; the result told to every eligible household on close; owners
verify the ballot chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models.notifications import Notification
from services.models.polls import Poll
from services.polls import jobs
from tests import factories as f

pytestmark = pytest.mark.calendar

YES, NO, ABSTAIN = 0, 1, 2


def by_test(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {t["test"]: t for t in rows}


async def run(
    client: httpx.AsyncClient,
    db: AsyncSession,
    areas: tuple[str, ...],
    choices: dict[int, int],
    lang: str = "zh-CN",
    **poll: object,
) -> tuple[f.PollWorld, dict[str, Any], dict[str, Any]]:
    w = await f.poll_world(db, areas)
    owners = await f.owners_of(db, w, list(range(len(areas))))
    p = await f.create_poll(client, w.committee, w.cid, **poll)
    for i, option in choices.items():
        r = await f.cast(client, owners[i], p, w.households[i], f.choice(p, option=option))
        assert r.status_code == 201, r.text
    headers = {**f.auth(w.committee), "Accept-Language": lang}
    r = await client.get(f"/v1/polls/{p['id']}/results", headers=headers)
    assert r.status_code == 200, r.text
    return w, p, r.json()


async def test_ordinary_quorum_at_exactly_two_thirds_then_majority_of_participants(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # 6 flats of 50 m²; 4 take part (exactly 2/3 of owners and of area: "at least" is met).
    _, p, res = await run(client, db, ("50.00",) * 6, {0: YES, 1: YES, 2: YES, 3: NO})
    assert p["decision_rule"] == "ordinary" and (p["households_ratio"], p["area_ratio"]) == ("1/2", "1/2")
    d = res["decision"]
    assert d["rule"] == "ordinary" and "第二百七十八条" in d["rule_text"]
    q = by_test(d["participation"])
    assert q["participation_area"] | {"text": ""} == {
        "test": "participation_area",
        "numerator": "200.00",
        "denominator": "300.00",
        "threshold": "2/3",
        "comparison": "at_least",
        "passed": True,
        "text": "",
    }
    assert (q["participation_owners"]["numerator"], q["participation_owners"]["denominator"]) == ("4", "6")
    assert q["participation_owners"]["passed"] is True and d["participation_met"] is True
    assert d["approval_basis"] == "participants"
    yes = by_test(d["options"][YES]["tests"])
    assert (yes["approval_area"]["numerator"], yes["approval_area"]["denominator"]) == ("150.00", "200.00")
    assert (
        yes["approval_owners"]["threshold"] == "1/2" and yes["approval_owners"]["comparison"] == "more_than"
    )
    assert d["households_threshold"] == "2.0000" and d["area_threshold_m2"] == "100.0000"
    assert d["outcome"] == "passed" and d["passed_option_id"] == d["options"][YES]["option_id"]
    assert d["reason"].startswith("通过") and "同意" in d["reason"]
    assert res["turnout"]["area_share"] == "0.6667" and res["turnout"]["households_share"] == "0.6667"


async def test_ordinary_without_quorum_is_not_decided_and_says_why_in_english(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # 3 of 6 owners (half) take part, all agree: without 2/3 participation nothing is decided.
    _, _, res = await run(client, db, ("50.00",) * 6, {0: YES, 1: YES, 2: YES}, lang="en")
    d = res["decision"]
    assert d["participation_met"] is False and d["outcome"] == "no_quorum"
    assert d["passed_option_id"] is None and d["options"][YES]["passes"] is False
    # The approval tests alone would pass: the quorum is what fails.
    assert all(t["passed"] for t in d["options"][YES]["tests"])
    assert (
        d["reason"].startswith("Not decided")
        and "participating owners 3 of 6 (needs ≥ 2/3): not met" in d["reason"]
    )
    assert d["rule_text"].startswith("Civil Code art. 278, ordinary")


async def test_major_needs_three_quarters_of_participants(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    areas = ("50.00",) * 8  # 400 m²
    # Exactly 3/4 of the participating owners and area: "at least" passes.
    _, p, res = await run(
        client, db, areas, {i: YES for i in range(6)} | {6: NO, 7: NO}, decision_rule="major"
    )
    assert (p["households_ratio"], p["area_ratio"]) == ("3/4", "3/4")
    d = res["decision"]
    yes = by_test(d["options"][YES]["tests"])
    assert yes["approval_owners"] | {"text": ""} == {
        "test": "approval_owners",
        "numerator": "6",
        "denominator": "8",
        "threshold": "3/4",
        "comparison": "at_least",
        "passed": True,
        "text": "",
    }
    assert yes["approval_area"]["numerator"] == "300.00" and yes["approval_area"]["passed"] is True
    assert d["outcome"] == "passed" and "重大事项" in d["rule_text"]

    # 5 of 8 agree, 1 abstains: a majority (ordinary would pass) but below 3/4.
    choices = {i: YES for i in range(5)} | {5: NO, 6: NO, 7: ABSTAIN}
    _, _, res = await run(client, db, areas, choices, decision_rule="major")
    d = res["decision"]
    assert d["participation_met"] is True and d["outcome"] == "not_approved" and d["passed_option_id"] is None
    yes = by_test(d["options"][YES]["tests"])
    assert (yes["approval_owners"]["numerator"], yes["approval_owners"]["passed"]) == ("5", False)
    assert (
        d["reason"].startswith("未通过") and "「同意」同意的业主人数 5 / 8（须 ≥ 3/4）：未达到" in d["reason"]
    )
    _, _, res = await run(client, db, areas, choices)  # the same ballots, an ordinary matter
    assert res["decision"]["outcome"] == "passed"


async def test_major_area_test_can_fail_when_headcount_passes(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Three small flats agree, the big one disagrees: 3/4 of the owners but 90 of 190 m².
    _, _, res = await run(
        client,
        db,
        ("30.00", "30.00", "30.00", "100.00"),
        {0: YES, 1: YES, 2: YES, 3: NO},
        decision_rule="major",
    )
    yes = res["decision"]["options"][YES]
    assert yes["passes_households"] is True and yes["passes_area"] is False and yes["passes"] is False
    area = by_test(yes["tests"])["approval_area"]
    assert (area["numerator"], area["denominator"]) == ("90.00", "190.00")


async def test_custom_rule_is_stated_openly_and_double_majority_all_is_named(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, p, res = await run(client, db, ("50.00",) * 6, {i: YES for i in range(5)}, households_ratio="2/3")
    assert p["decision_rule"] == "custom" and p["households_ratio"] == "2/3"
    d = res["decision"]
    assert d["rule"] == "custom" and d["participation"] == [] and d["approval_basis"] == "all"
    assert "自定义规则" in d["rule_text"] and "非《民法典》第二百七十八条标准" in d["rule_text"]
    assert d["outcome"] == "passed"
    _, p, res = await run(
        client, db, ("50.00",) * 6, {0: YES, 1: YES, 2: YES}, decision_rule="double_majority_all"
    )
    d = res["decision"]
    assert d["rule"] == "double_majority_all" and "双过半" in d["rule_text"]
    # 3 of all 6 is not more than half of ALL owners, whatever the turnout.
    assert by_test(d["options"][YES]["tests"])["approval_owners"]["denominator"] == "6"
    assert d["outcome"] == "not_approved"


async def test_named_rules_refuse_custom_ratios(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    body = f.poll_body(decision_rule="major", area_ratio="2/3")
    r = await client.post(f"/v1/communities/{w.cid}/polls", json=body, headers=f.auth(w.committee))
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"
    r = await client.post(
        f"/v1/communities/{w.cid}/polls", json=f.poll_body(decision_rule="lift"), headers=f.auth(w.committee)
    )
    assert r.status_code == 422
    assert (await db.exec(select(Poll).where(Poll.community_id == w.cid))).first() is None


async def test_close_tells_every_eligible_household_the_result(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w, p, _ = await run(client, db, ("50.00",) * 3, {0: YES, 1: YES, 2: NO}, decision_rule="major")
    row = await db.get(Poll, p["id"])
    assert row is not None
    row.closes_at = datetime.now(UTC) - timedelta(seconds=1)
    db.add(row)
    await db.flush()
    assert await jobs.close_due_polls(db) == 1
    sent = (
        await db.exec(
            select(Notification)
            .where(col(Notification.dedupe_key).endswith(":closed"))
            .order_by(col(Notification.user_id))
        )
    ).all()
    owners = sorted(u.id for u in [w.owner, *await owners_now(db, w)])
    # Owners' poll: every verified owner hears it, tenants and family do not; others' community never.
    assert sorted(n.user_id for n in sent) == owners
    assert w.tenant.id not in owners and w.family.id not in owners
    n = sent[0]
    assert n.title == "表决结果：是否同意更换屋面防水"
    assert "未通过" in n.body and "参与 3/3 户" in n.body and n.data["outcome"] == "not_approved"
    assert n.data["poll_id"] == p["id"]
    # The frozen result keeps the tests; a second close run sends nothing twice.
    r = await client.get(f"/v1/polls/{p['id']}/results", headers={**f.auth(w.owner), "Accept-Language": "en"})
    assert r.json()["final"] is True and r.json()["decision"]["reason"].startswith("Not passed")
    assert await jobs.close_due_polls(db) == 0


async def owners_now(db: AsyncSession, w: f.PollWorld) -> list[Any]:
    from services.models import Membership, MembershipStatus, Relation, User

    rows = (
        await db.exec(
            select(User)
            .join(Membership, col(Membership.user_id) == User.id)
            .where(
                Membership.community_id == w.cid,
                Membership.relation == Relation.owner,
                Membership.status == MembershipStatus.verified,
                col(User.id) != w.owner.id,
            )
        )
    ).all()
    return list(rows)


async def test_cancel_and_surveys_send_no_result(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    p = await f.create_poll(client, w.committee, w.cid)
    r = await client.post(f"/v1/polls/{p['id']}/close", json={"cancel": True}, headers=f.auth(w.committee))
    assert r.status_code == 200
    assert (
        await db.exec(select(Notification).where(col(Notification.dedupe_key).endswith(":closed")))
    ).first() is None


async def test_owners_verify_the_chain(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w, p, _ = await run(client, db, ("50.00",) * 2, {0: YES})
    url = f"/v1/polls/{p['id']}/ballots/verify"
    r = await client.get(url, headers=f.auth(w.owner))
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["ballots"] == 1
    assert (await client.get(url, headers=f.auth(w.family))).status_code == 403
    assert (await client.get(url, headers=f.auth(w.outsider))).status_code == 404
    assert (await client.get(url)).status_code == 401
