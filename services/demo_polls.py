"""Demo polls: a closed ordinary vote and an open major (lift) vote under Civil Code art. 278, both
checkable by hand, and an open survey.

`seed(session, community_id)` is idempotent by title. The vote
"使用专项维修资金更换1-3号楼屋面防水" (owners, anonymous: no; using the maintenance fund is an
ordinary matter, art. 278 item 5) opened 14 days and closed 7 days before the first seed, and its
result snapshot is frozen. Participation 108/144 owners and 7,272.30/9,955.80 m² (both ≥ 2/3); 同意
84/108 owners and 5,867.10/7,272.30 m² of the participants (both > 1/2): passed. Ballots by position
(services.demo: area = LAYOUT_M2[(entrance, door)] + (building − 1) × 0.75 m²):

    同意 yes      buildings 1–3 (all 72 flats) + building 4 entrance 2 (12 flats)
    反对 no       building 4 entrance 1 (12 flats)
    弃权 abstain  building 5 entrance 1 (12 flats)
    not voting    building 5 entrance 2 and building 6 (36 flats)

Hand calculation (a building has 24 flats: 1,614.30 m² + 18 m² × (building − 1)):

    turnout         108 / 144 households = 75 % (≥ 2/3 ✓), 7,272.30 of 9,955.80 m² = 73 % (≥ 2/3 ✓)
    yes households  72 + 12 = 84           > 108 / 2 = 54          ✓
    yes area        1,614.30 + 1,632.30 + 1,650.30          (buildings 1–3 = 4,896.90)
                    + 6 × (71.80 + 85.40) + 12 × 2.25       (building 4 entrance 2 = 970.20)
                    = 5,867.10 m²          > 7,272.30 / 2 = 3,636.15 m²  ✓   → 同意 passes
    no              12 households, 6 × (48.60 + 63.25) + 12 × 2.25 = 698.10 m²
    abstain         12 households, 6 × (48.60 + 63.25) + 12 × 3.00 = 707.10 m²
    (it would pass the older 双过半 of all owners too: 84 > 72, 5,867.10 > 4,977.90)

The demo has few residents, so most ballots are attributed to their household directly: channel
"seed", voter_id the household's verified owner when the demo has one (e.g. 王秀兰 for 1号楼1单元301),
otherwise NULL. They are chained and verifiable like any other ballot.

The lift vote "幸福里小区加装电梯方案表决" (rule `major`: adding a lift alters the buildings, art. 278
item 7) opened a day before the first seed with the second publicity round, closes in 13 days and
shows live results. Ballots by position (lift_choice):

    not voting    building 6 entrance 2 (12 flats, 988.20 m²)
    反对 no       floor 1 of every other entrance (22 flats, 1,494.60 m²): the ground floor gains no lift
    弃权 abstain  floor 2 of buildings 1–2 (8 flats, 541.10 m²)
    同意 yes      the other 102 flats (6,931.90 m²)

    participation  132/144 owners (≥ 2/3 ✓), 8,967.60/9,955.80 m² (≥ 2/3 ✓)
    同意           102/132 owners = 77.3 % (≥ 3/4 ✓), 6,931.90/8,967.60 m² = 77.3 % (≥ 3/4 ✓)

Had 5 more ground-and-second-floor owners said no (97/132 = 73.5 %), it would fail the 3/4 test while
still passing an ordinary majority.

The survey "小区停车需求调查" (every verified household, multiple choice + free text) is open for 30
days from the first seed, its residents were notified, and three demo residents have answered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.polls.common  # noqa: F401  (registers tables, codes and templates)
from services.models import Building, Household, Membership, MembershipStatus, Relation, Role, User, utcnow
from services.models.polls import (
    BallotChannel,
    DecisionRule,
    Eligibility,
    Poll,
    PollKind,
    PollOption,
    PollQuestion,
)
from services.phones import normalise_mobile
from services.polls.ballots import append_ballot
from services.polls.chain import Answer
from services.polls.service import announce, freeze

VOTE_TITLE = "使用专项维修资金更换1-3号楼屋面防水"
LIFT_TITLE = "幸福里小区加装电梯方案表决"
SURVEY_TITLE = "小区停车需求调查"
AUTHOR_PHONE = "+8613800000004"  # 陈秀英, 业委会主任 (services.demo.PEOPLE)
YES, NO, ABSTAIN = 0, 1, 2
# (building, entrance) -> option index of the vote; positions not listed do not vote.
VOTE_PLAN: dict[tuple[int, int], int] = {
    (1, 1): YES,
    (1, 2): YES,
    (2, 1): YES,
    (2, 2): YES,
    (3, 1): YES,
    (3, 2): YES,
    (4, 2): YES,
    (4, 1): NO,
    (5, 1): ABSTAIN,
}
EXPECTED = {
    "yes_households": 84,
    "yes_area_m2": Decimal("5867.10"),
    "no_households": 12,
    "no_area_m2": Decimal("698.10"),
    "abstain_households": 12,
    "abstain_area_m2": Decimal("707.10"),
    "total_households": 144,
    "total_area_m2": Decimal("9955.80"),
}
LIFT_EXPECTED = {
    "voted_households": 132,
    "voted_area_m2": Decimal("8967.60"),
    "yes_households": 102,
    "yes_area_m2": Decimal("6931.90"),
    "no_households": 22,
    "no_area_m2": Decimal("1494.60"),
    "abstain_households": 8,
    "abstain_area_m2": Decimal("541.10"),
}


def lift_choice(building: int, entrance: int, room: str) -> int | None:
    """The lift vote's ballot of a flat by position (None: did not vote)."""
    if (building, entrance) == (6, 2):
        return None
    floor = int(room[:-2])
    if floor == 1:
        return NO
    if floor == 2 and building <= 2:
        return ABSTAIN
    return YES


# (resident phone, household position, multiple-choice option indexes, free text)
SURVEY_ANSWERS = (
    ("+8613700000001", (1, 1, "301"), [0, 2], "晚上访客车位太少"),
    ("+8613700000007", (5, 2, "401"), [1], ""),
    ("+8613700000003", (1, 2, "502"), [0], "希望规划电动自行车充电棚"),
)


async def seed(session: AsyncSession, community_id: int) -> None:
    author = (await session.exec(select(User.id).where(User.phone == normalise_mobile(AUTHOR_PHONE)))).first()
    if author is None:
        return
    titles = set(
        (
            await session.exec(
                select(Poll.title).where(
                    Poll.community_id == community_id,
                    col(Poll.title).in_([VOTE_TITLE, SURVEY_TITLE, LIFT_TITLE]),
                )
            )
        ).all()
    )
    homes = await _homes(session, community_id)
    now = utcnow()
    if VOTE_TITLE not in titles:
        await _vote(session, community_id, author, homes, now)
    if SURVEY_TITLE not in titles:
        await _survey(session, community_id, author, homes, now)
    if LIFT_TITLE not in titles:
        await _lift(session, community_id, author, homes, now)


async def _lift(
    session: AsyncSession,
    community_id: int,
    author: int,
    homes: dict[tuple[int, int, str], tuple[int, int | None]],
    now: datetime,
) -> None:
    opens = now - timedelta(days=1)
    poll = Poll(
        community_id=community_id,
        author_id=author,
        title=LIFT_TITLE,
        description=(
            "按第二次公示的方案，1–6 号楼每个单元加装一部电梯，一楼住户不分摊建设费用。"
            "加装电梯属《民法典》第二百七十八条第一款第（七）项“改建、重建建筑物及其附属设施”，"
            "须专有面积和人数均占 2/3 以上的业主参与表决，并经参与表决专有面积 3/4 以上且参与表决人数 3/4 以上的业主同意。"
            "纸质表决票可交网格员或物业前台录入。"
        ),
        kind=PollKind.vote,
        eligibility=Eligibility.owners,
        results_visibility="live",
        decision_rule=DecisionRule.major,
        households_ratio="3/4",
        area_ratio="3/4",
        opens_at=opens,
        closes_at=now + timedelta(days=13),
    )
    ((qid, options),) = await _poll(
        session, poll, [("您是否同意加装电梯方案？", "single", True, ["同意", "反对", "弃权"], 1)]
    )
    poll.decision_question_id = qid
    session.add(poll)
    await session.flush()
    await announce(session, poll, opens)
    cast_at = opens
    for (b, e, room), (hid, owner) in sorted(homes.items()):
        choice = lift_choice(b, e, room)
        if choice is None:
            continue
        cast_at += timedelta(minutes=9)
        answers: list[Answer] = [(qid, [options[choice]], None)]
        await append_ballot(session, poll, hid, owner, BallotChannel.seed, answers, cast_at)


async def _homes(
    session: AsyncSession, community_id: int
) -> dict[tuple[int, int, str], tuple[int, int | None]]:
    """(building, entrance, room) -> (household id, the lowest verified owner's user id or None)."""
    owners: dict[int, int] = {}
    for household_id, user_id in (
        await session.exec(
            select(Membership.household_id, Membership.user_id)
            .where(
                Membership.community_id == community_id,
                Membership.role == Role.resident,
                Membership.status == MembershipStatus.verified,
                Membership.relation == Relation.owner,
            )
            .order_by(col(Membership.user_id))
        )
    ).all():
        if household_id is not None:
            owners.setdefault(household_id, user_id)
    out: dict[tuple[int, int, str], tuple[int, int | None]] = {}
    for hid, building, entrance, room in (
        await session.exec(
            select(Household.id, Building.name, Household.entrance, Household.room)
            .join(Building, col(Building.id) == Household.building_id)
            .where(Household.community_id == community_id)
        )
    ).all():
        try:
            key = (int(building.removesuffix("号楼")), int(entrance.removesuffix("单元")), room)
        except ValueError:
            continue
        out[key] = (hid or 0, owners.get(hid or 0))
    return out


async def _poll(
    session: AsyncSession, poll: Poll, questions: list[tuple[str, str, bool, list[str], int | None]]
) -> list[tuple[int, list[int]]]:
    session.add(poll)
    await session.flush()
    assert poll.id is not None
    out = []
    for i, (text, qtype, required, options, max_choices) in enumerate(questions):
        q = PollQuestion(
            poll_id=poll.id, position=i, text=text, type=qtype, required=required, max_choices=max_choices
        )
        session.add(q)
        await session.flush()
        rows = [
            PollOption(poll_id=poll.id, question_id=q.id or 0, position=j, text=t)
            for j, t in enumerate(options)
        ]
        session.add_all(rows)
        await session.flush()
        out.append((q.id or 0, [o.id or 0 for o in rows]))
    return out


async def _vote(
    session: AsyncSession,
    community_id: int,
    author: int,
    homes: dict[tuple[int, int, str], tuple[int, int | None]],
    now: datetime,
) -> None:
    opens = now - timedelta(days=14)
    poll = Poll(
        community_id=community_id,
        author_id=author,
        title=VOTE_TITLE,
        description=(
            "1-3号楼屋面防水层老化渗漏，拟使用专项维修资金约 86 万元整体更换。"
            "依据《民法典》第二百七十八条，须经专有部分面积占比三分之二以上且人数占比三分之二以上的业主参与表决，"
            "并经参与表决者双过半同意；本表决按全体业主双过半计算。"
        ),
        kind=PollKind.vote,
        eligibility=Eligibility.owners,
        results_visibility="after_close",
        decision_rule=DecisionRule.ordinary,
        opens_at=opens,
        closes_at=now - timedelta(days=7),
        announced_at=opens,
    )
    ((qid, options),) = await _poll(
        session, poll, [("您是否同意该方案？", "single", True, ["同意", "反对", "弃权"], 1)]
    )
    poll.decision_question_id = qid
    session.add(poll)
    await session.flush()
    cast_at = opens
    for (b, e, _room), (hid, owner) in sorted(homes.items()):
        choice = VOTE_PLAN.get((b, e))
        if choice is None:
            continue
        cast_at += timedelta(minutes=37)
        answers: list[Answer] = [(qid, [options[choice]], None)]
        await append_ballot(session, poll, hid, owner, BallotChannel.seed, answers, cast_at)
    await session.refresh(poll)
    await freeze(session, poll, poll.closes_at, tell=False)  # history: nobody is notified


async def _survey(
    session: AsyncSession,
    community_id: int,
    author: int,
    homes: dict[tuple[int, int, str], tuple[int, int | None]],
    now: datetime,
) -> None:
    poll = Poll(
        community_id=community_id,
        author_id=author,
        title=SURVEY_TITLE,
        description="为规划改造后的停车位和充电设施，请每户填写一份（可多选）。",
        kind=PollKind.survey,
        eligibility=Eligibility.households,
        results_visibility="live",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
    )
    questions = await _poll(
        session,
        poll,
        [
            (
                "您家希望增加哪些停车设施？（最多选两项）",
                "multiple",
                True,
                ["访客临时车位", "电动自行车充电棚", "错峰共享车位", "立体车库"],
                2,
            ),
            ("其他建议", "text", False, [], None),
        ],
    )
    (choice_q, options), (text_q, _) = questions
    await announce(session, poll, now)
    for phone, home, picks, text in SURVEY_ANSWERS:
        voter = (await session.exec(select(User.id).where(User.phone == normalise_mobile(phone)))).first()
        if voter is None or home not in homes:
            continue
        answers: list[Answer] = [(choice_q, sorted(options[i] for i in picks), None)]
        if text:
            answers.append((text_q, [], text))
        await append_ballot(session, poll, homes[home][0], voter, BallotChannel.seed, answers, now)
