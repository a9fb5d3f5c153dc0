"""Results: counts per option, turnout, the double-majority (双过半) test, visibility, the frozen
snapshot and free-text answers (the statement count of results: test_no_n_plus_one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo, demo_polls, demo_renovation
from services.config import Settings
from services.models import Community, User
from services.models.polls import Ballot, BallotAnswer, Poll
from services.polls import jobs
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

YES, NO, ABSTAIN = 0, 1, 2


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def vote(
    client: httpx.AsyncClient,
    db: AsyncSession,
    areas: tuple[str, ...],
    choices: dict[int, int],
    **poll: object,
) -> tuple[f.PollWorld, dict[str, Any], dict[str, Any]]:
    """Households with `areas`, an owner each; households[i] picks option choices[i]; live results."""
    w = await f.poll_world(db, areas)
    owners = await f.owners_of(db, w, list(range(len(areas))))
    p = await f.create_poll(client, w.committee, w.cid, **poll)
    for i, option in choices.items():
        r = await f.cast(client, owners[i], p, w.households[i], f.choice(p, option=option))
        assert r.status_code == 201, r.text
    r = await client.get(f"/v1/polls/{p['id']}/results", headers=f.auth(w.committee))
    assert r.status_code == 200, r.text
    return w, p, r.json()


def option(result: dict[str, Any], index: int) -> dict[str, Any]:
    return dict(result["decision"]["options"][index])


async def test_double_majority_counts_every_household(client: httpx.AsyncClient, db: AsyncSession) -> None:
    areas = ("60.25", "40.50", "50.00", "49.25", "70.00")  # 270.00 m²
    _, _, res = await vote(
        client, db, areas, {0: YES, 2: YES, 4: YES, 1: NO}, decision_rule="double_majority_all"
    )
    assert res["final"] is False and res["status"] == "open"
    assert res["turnout"] == {
        "households_voted": 4,
        "households_total": 5,
        "households_share": "0.8000",
        "area_voted_m2": "220.75",
        "area_total_m2": "270.00",
        "area_share": "0.8176",
        "paper_ballots": 0,
    }
    d = res["decision"]
    assert d["households_total"] == 5 and d["area_total_m2"] == "270.00"
    assert d["households_threshold"] == "2.5000" and d["area_threshold_m2"] == "135.0000"
    yes = option(res, YES)
    assert (yes["households"], yes["area_m2"]) == (3, "180.25")
    assert yes["passes_households"] and yes["passes_area"] and yes["passes"]
    assert d["passed_option_id"] == yes["option_id"]
    no = option(res, NO)
    assert (no["households"], no["area_m2"], no["passes"]) == (1, "40.50", False)
    assert (option(res, ABSTAIN)["households"], option(res, ABSTAIN)["area_m2"]) == (0, "0.00")
    q = res["questions"][0]
    assert q["answered"] == 4
    assert [(o["households"], o["area_m2"]) for o in q["options"]] == [
        (3, "180.25"),
        (1, "40.50"),
        (0, "0.00"),
    ]


async def test_exactly_half_of_households_fails(client: httpx.AsyncClient, db: AsyncSession) -> None:
    # 2 of 4 households is not more than half, although their 110 of 200 m² is.
    _, _, res = await vote(
        client,
        db,
        ("60.00", "40.00", "50.00", "50.00"),
        {0: YES, 2: YES},
        decision_rule="double_majority_all",
    )
    yes = option(res, YES)
    assert (yes["households"], yes["area_m2"]) == (2, "110.00")
    assert yes["passes_area"] is True and yes["passes_households"] is False and yes["passes"] is False
    assert res["decision"]["passed_option_id"] is None


async def test_exactly_half_of_area_fails(client: httpx.AsyncClient, db: AsyncSession) -> None:
    # 3 of 4 households, but exactly 100.00 of 200.00 m².
    _, _, res = await vote(
        client,
        db,
        ("40.00", "30.00", "30.00", "100.00"),
        {0: YES, 1: YES, 2: YES},
        decision_rule="double_majority_all",
    )
    yes = option(res, YES)
    assert (yes["households"], yes["area_m2"]) == (3, "100.00")
    assert yes["passes_households"] is True and yes["passes_area"] is False and yes["passes"] is False


async def test_two_thirds_thresholds(client: httpx.AsyncClient, db: AsyncSession) -> None:
    areas = ("50.00",) * 6
    # 4 of 6 households and 200 of 300 m² is exactly two thirds: not more, so it fails.
    _, _, res = await vote(
        client, db, areas, {i: YES for i in range(4)}, households_ratio="2/3", area_ratio="2/3"
    )
    assert res["decision"]["households_threshold"] == "4.0000"
    assert res["decision"]["area_threshold_m2"] == "200.0000"
    assert option(res, YES)["passes_households"] is False and option(res, YES)["passes_area"] is False
    # The same ballots pass a simple double majority.
    _, _, res = await vote(client, db, areas, {i: YES for i in range(4)}, decision_rule="double_majority_all")
    assert option(res, YES)["passes"] is True
    # 5 of 6 passes two thirds.
    _, _, res = await vote(
        client, db, areas, {i: YES for i in range(5)}, households_ratio="2/3", area_ratio="2/3"
    )
    assert option(res, YES)["passes"] is True


async def test_results_hidden_until_close_then_frozen(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    p = await f.create_poll(client, w.committee, w.cid)
    assert (await f.cast(client, w.owner, p, w.households[0])).status_code == 201
    url = f"/v1/polls/{p['id']}/results"
    r = await client.get(url, headers=f.auth(w.owner))
    assert r.status_code == 403 and code(r) == "poll.results_hidden"
    for who in (w.committee, w.admin):
        assert (await client.get(url, headers=f.auth(who))).status_code == 200
    assert (await client.get(url, headers=f.auth(w.outsider))).status_code == 404
    assert (await client.get(url)).status_code == 401
    live = await f.create_poll(client, w.committee, w.cid, results_visibility="live")
    r = await client.get(f"/v1/polls/{live['id']}/results", headers=f.auth(w.tenant))
    assert r.status_code == 200 and r.json()["turnout"]["households_voted"] == 0

    row = await db.get(Poll, p["id"])
    assert row is not None
    row.closes_at = datetime.now(UTC) - timedelta(seconds=1)
    db.add(row)
    await db.flush()
    r = await client.get(url, headers=f.auth(w.owner))  # closed, not yet frozen: computed live
    assert r.status_code == 200 and r.json()["final"] is False and r.json()["status"] == "closed"
    assert await jobs.close_due_polls(db) == 1
    r = await client.get(url, headers=f.auth(w.owner))
    assert r.status_code == 200 and r.json()["final"] is True
    assert option(r.json(), YES)["households"] == 1
    await db.refresh(row)
    assert row.result == r.json()


async def test_free_text_named_and_anonymous(client: httpx.AsyncClient, db: AsyncSession) -> None:
    """Named polls: neighbours see '1号楼 住户' unless the voter signs; the committee (and the poll's
    author) and the voter see the name. Anonymous polls: nobody, whatever was asked."""
    w = await f.poll_world(db)
    w.building.name = "1号楼"
    db.add(w.building)
    await db.flush()
    label = {"zh-CN": "1号楼 住户", "en": "Building 1 resident"}
    questions = [{"text": "建议", "type": "text", "required": False}, {"text": "其他", "type": "text"}]
    for anonymous in (False, True):
        p = await f.create_poll(
            client,
            w.committee,
            w.cid,
            kind="survey",
            anonymous=anonymous,
            results_visibility="live",
            questions=questions,
        )
        q1, q2 = (q["id"] for q in p["questions"])  # type: ignore[attr-defined]
        r = await f.cast(
            client,
            w.tenant,
            p,
            w.households[1],
            {"question_id": q1, "text": "增加充电桩"},
            {"question_id": q2, "text": "楼道灯坏了", "signed": True},
        )
        assert r.status_code == 201, r.text
        rows = (
            await db.exec(
                select(BallotAnswer.question_id, BallotAnswer.signed)
                .join(Ballot, col(Ballot.id) == BallotAnswer.ballot_id)
                .where(Ballot.poll_id == p["id"])
            )
        ).all()
        assert sorted(rows) == [(q1, False), (q2, not anonymous)]

        async def texts(who: User, locale: str = "zh-CN", p: dict[str, Any] = p) -> list[dict[str, Any]]:
            headers = {**f.auth(who), "Accept-Language": locale}
            res = (await client.get(f"/v1/polls/{p['id']}/results", headers=headers)).json()
            assert res["decision"] is None and res["questions"][0]["answered"] == 1
            return [t for q in res["questions"] for t in q["texts"]]

        def seen(items: list[dict[str, Any]]) -> list[tuple[object, ...]]:
            return [(t["text"], t["voter_id"], t["voter_name"], t["voter_label"]) for t in items]

        if not anonymous:
            named = p
        if anonymous:
            for who in (w.owner, w.committee, w.tenant):
                assert seen(await texts(who)) == [
                    ("增加充电桩", None, None, None),
                    ("楼道灯坏了", None, None, None),
                ]
            continue
        # A neighbour: the unsigned answer by its building only, the signed one by name.
        assert seen(await texts(w.owner)) == [
            ("增加充电桩", None, None, label["zh-CN"]),
            ("楼道灯坏了", w.tenant.id, "租户乙", label["zh-CN"]),
        ]
        assert seen(await texts(w.owner, "en"))[0] == ("增加充电桩", None, None, label["en"])
        for who in (w.committee, w.tenant):  # the committee (the poll's author) and the voter
            assert [t["voter_name"] for t in await texts(who)] == ["租户乙", "租户乙"], who.name
    # Frozen on close, the snapshot keeps the names; reading it masks them the same way.
    assert await jobs.close_due_polls(db, datetime.now(UTC) + timedelta(days=400)) == 2
    assert (await db.get(Poll, named["id"])) is not None
    frozen = (await client.get(f"/v1/polls/{named['id']}/results", headers=f.auth(w.owner))).json()
    assert frozen["final"] is True
    assert [(t["voter_name"], t["voter_label"]) for q in frozen["questions"] for t in q["texts"]] == [
        (None, label["zh-CN"]),
        ("租户乙", label["zh-CN"]),
    ]
    committee = (await client.get(f"/v1/polls/{named['id']}/results", headers=f.auth(w.committee))).json()
    assert [t["voter_name"] for q in committee["questions"] for t in q["texts"]] == ["租户乙", "租户乙"]


async def test_demo_vote_matches_the_hand_calculation(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, sessionmaker: Any
) -> None:
    await demo.seed(settings, sessionmaker=sessionmaker)
    cid = (await db.exec(select(Community.id).where(Community.name == demo.COMMUNITY["name"]))).one()
    assert cid is not None
    for _ in range(2):  # idempotent: the second run adds nothing
        await demo_polls.seed(db, cid)
        await db.flush()
    polls = (await db.exec(select(Poll).where(Poll.community_id == cid))).all()
    assert sorted(p.title for p in polls) == sorted(
        [demo_polls.SURVEY_TITLE, demo_polls.VOTE_TITLE, demo_polls.LIFT_TITLE, *demo_renovation.POLL_TITLES]
    )
    vote_id = next(p.id for p in polls if p.title == demo_polls.VOTE_TITLE)
    owner = (await db.exec(select(User).where(User.phone == "+8613700000001"))).one()
    r = await client.get(f"/v1/polls/{vote_id}/results", headers=f.auth(owner))
    assert r.status_code == 200, r.text
    res = r.json()
    e = demo_polls.EXPECTED
    assert res["final"] is True and res["status"] == "closed"
    d = res["decision"]
    assert (d["households_total"], Decimal(d["area_total_m2"])) == (e["total_households"], e["total_area_m2"])
    got = [(o["households"], Decimal(o["area_m2"])) for o in d["options"]]
    assert got == [
        (e["yes_households"], e["yes_area_m2"]),
        (e["no_households"], e["no_area_m2"]),
        (e["abstain_households"], e["abstain_area_m2"]),
    ]
    assert d["passed_option_id"] == d["options"][0]["option_id"]
    assert d["rule"] == "ordinary" and d["participation_met"] is True and d["outcome"] == "passed"
    assert res["turnout"]["households_voted"] == 108 and res["turnout"]["area_voted_m2"] == "7272.30"
    # 王秀兰 owns 1号楼1单元301: her household's seeded ballot names her.
    (ballot,) = (
        await db.exec(select(Ballot).where(Ballot.poll_id == vote_id, Ballot.voter_id == owner.id))
    ).all()
    assert ballot.channel == "seed"
    chair = (await db.exec(select(User).where(User.phone == "+8613800000004"))).one()
    r = await client.get(f"/v1/polls/{vote_id}/ballots/verify", headers=f.auth(chair))
    assert r.json()["ok"] is True and r.json()["ballots"] == 108
    survey_id = next(p.id for p in polls if p.title == demo_polls.SURVEY_TITLE)
    r = await client.get(f"/v1/polls/{survey_id}/results", headers=f.auth(owner))
    assert r.status_code == 200 and r.json()["turnout"]["households_voted"] == 3


async def test_demo_lift_vote_is_a_major_matter(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, sessionmaker: Any
) -> None:
    await demo.seed(settings, sessionmaker=sessionmaker)
    lift = (await db.exec(select(Poll).where(Poll.title == demo_polls.LIFT_TITLE))).one()
    assert lift.decision_rule == "major" and lift.closed_at is None
    owner = (await db.exec(select(User).where(User.phone == "+8613700000001"))).one()
    r = await client.get(f"/v1/polls/{lift.id}/results", headers=f.auth(owner))  # live results
    assert r.status_code == 200, r.text
    res, e = r.json(), demo_polls.LIFT_EXPECTED
    assert res["turnout"]["households_voted"] == e["voted_households"]
    assert Decimal(res["turnout"]["area_voted_m2"]) == e["voted_area_m2"]
    d = res["decision"]
    assert d["rule"] == "major" and d["participation_met"] is True
    assert [(t["numerator"], t["denominator"], t["threshold"]) for t in d["participation"]] == [
        ("8967.60", "9955.80", "2/3"),
        ("132", "144", "2/3"),
    ]
    got = [(o["households"], Decimal(o["area_m2"])) for o in d["options"]]
    assert got == [
        (e["yes_households"], e["yes_area_m2"]),
        (e["no_households"], e["no_area_m2"]),
        (e["abstain_households"], e["abstain_area_m2"]),
    ]
    yes = {t["test"]: t for t in d["options"][0]["tests"]}
    assert (yes["approval_owners"]["numerator"], yes["approval_owners"]["threshold"]) == ("102", "3/4")
    assert yes["approval_area"]["comparison"] == "at_least" and yes["approval_area"]["passed"] is True
    assert d["outcome"] == "passed" and res["final"] is False
