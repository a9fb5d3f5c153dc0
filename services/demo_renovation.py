"""Demo renovation projects of 幸福里小区 (services.renovation), built through the area's own service
functions so every rule holds (phase evidence, appointed roles, fen amounts, the hash-chained ledger):

* "2023年幸福里小区老旧小区综合改造" (2023, 第一批) went through every phase to **closed**: seven items of the
  three classes (基础类 / 完善类 / 提升类) with quantities, budgets and contractors, two of them for some
  buildings only (一楼一策); the needs survey (问需), the design survey (问计), the design in two
  publicity rounds, a Civil Code vote (passed: the same ballots by position as services.demo_polls'
  roof vote), two approval steps, the three roles (三员), a collector's request that became a design
  change, a supervisor's record, milestones all done, a sign-off on every item (the parking one first
  "rectify", then "pass"), the satisfaction survey (问效) and two half-yearly self-assessments. Its
  six fund sources were received in full and spent to the fen: committed = received = spent
  (LEDGER_TOTAL_FEN), twelve payments with vouchers, every balance zero.
* "2026年1-3号楼屋面防水及外墙渗漏整治" (2026, 第二批) is in **construction**: linked to the demo's passed
  maintenance-fund vote (services.demo_polls.VOTE_TITLE), one advance payment, the milestone
  "1号楼屋面防水完成" five days late and a supervisor's open problem, which opened a repair ticket
  for the contractor due in seven days.

`seed(session, community_id)` is idempotent by project title; it acts as the demo's community admin
(黄敏), committee chair (陈秀英) and appointed residents, and needs the demo's people and polls.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.access import load_principal
from services.config import Settings, get_settings
from services.demo_notices import _publish
from services.demo_polls import VOTE_PLAN, VOTE_TITLE, _homes, _poll
from services.duty.common import local_today, zone_of
from services.models import Building, Role, User, utcnow
from services.models.notices import Notice, NoticeKind
from services.models.polls import BallotChannel, DecisionRule, Eligibility, Poll, PollKind
from services.models.renovation import RenovationProject
from services.notifications.sms import LogSmsProvider
from services.phones import normalise_mobile
from services.polls.ballots import append_ballot
from services.polls.chain import Answer
from services.polls.service import freeze
from services.renovation import ledger, projects, roles, schedule
from services.renovation import schemas as s
from services.runtime import Ctx, Runtime

ADMIN = "+8613800000012"  # 黄敏, 居委会主任 (community admin: runs the project)
CHAIR = "+8613800000004"  # 陈秀英, 业委会主任 (appoints the three roles, approves payments)
CLOSED_TITLE = "2023年幸福里小区老旧小区综合改造"
BUILDING_TITLE = "2026年1-3号楼屋面防水及外墙渗漏整治"
# The three roles by resident phone (services.demo.PEOPLE).
CLOSED_ROLES = {"collector": "+8613700000001", "supervisor": "+8613700000004", "inspector": "+8613700000003"}
BUILDING_ROLES = {
    "collector": "+8613700000006",
    "supervisor": "+8613700000005",
    "inspector": "+8613700000008",
}
POLL_TITLES = (
    "2023年改造需求调查（问需）",
    "2023年改造设计方案征询（问计）",
    "2023年综合改造方案表决",
    "2023年改造效果满意度调查（问效）",
    "1-3号楼屋面及外墙渗漏情况调查（问需）",
    "1-3号楼屋面防水方案征询（问计）",
)
NOTICE_TITLES = (
    "2023年老旧小区综合改造设计方案公示",
    "1-3号楼屋面防水及外墙渗漏整治方案公示",
)

# (key, class, name, quantity, unit, budget fen, contractor, building numbers or () for all)
CLOSED_ITEMS: tuple[tuple[str, str, str, str, str, int, str, tuple[int, ...]], ...] = (
    ("roof", "basic", "屋面防水层翻新", "4860", "m²", 291_600_000, "上海城建房屋修缮有限公司", ()),
    ("pipes", "basic", "雨污分流及供水管道更换", "1320", "m", 158_400_000, "上海市政管网工程有限公司", ()),
    ("fire", "basic", "消防设施更新（消火栓、应急照明）", "36", "套", 43_200_000, "沪安消防工程有限公司", ()),
    ("rails", "improvement", "楼道适老扶手", "864", "m", 17_280_000, "上海城建房屋修缮有限公司", (1, 2, 3)),
    ("parking", "improvement", "新增机动车停车位", "42", "个", 63_000_000, "杨浦区市政养护有限公司", ()),
    ("ramps", "improvement", "单元门口无障碍坡道", "12", "处", 14_400_000, "杨浦区市政养护有限公司", ()),
    (
        "station",
        "upgrade",
        "社区养老服务站（睦邻点）",
        "180",
        "m²",
        90_000_000,
        "上海安居装饰工程有限公司",
        (4,),
    ),
)
# (kind, display name); committed = received = what the payments below spend.
CLOSED_SOURCES: tuple[tuple[str, str], ...] = (
    ("central", "中央补助资金"),
    ("provincial", "市级补助资金"),
    ("county", "区级补助资金"),
    ("utility", "管线单位出资（自来水公司）"),
    ("social_capital", "社会资本（停车运营企业）"),
    ("residents", "居民出资"),
    ("maintenance_fund", "专项维修资金"),
)
# (item key, source kind, amount fen, paid on, memo)
CLOSED_PAYMENTS: tuple[tuple[str, str, int, date, str], ...] = (
    ("roof", "central", 150_000_000, date(2023, 7, 20), "屋面防水 进度款"),
    ("roof", "provincial", 90_000_000, date(2023, 9, 15), "屋面防水 进度款"),
    ("roof", "maintenance_fund", 50_345_678, date(2024, 1, 18), "屋面防水 结算尾款"),
    ("pipes", "utility", 80_000_000, date(2023, 8, 10), "供水管道更换 管线单位承担部分"),
    ("pipes", "county", 77_812_050, date(2023, 12, 22), "雨污分流 结算款"),
    ("fire", "county", 43_056_300, date(2023, 11, 3), "消防设施 结算款"),
    ("rails", "residents", 8_640_000, date(2023, 10, 12), "楼道扶手 居民出资部分"),
    ("rails", "county", 8_498_600, date(2023, 12, 22), "楼道扶手 结算款"),
    ("parking", "social_capital", 63_000_000, date(2023, 11, 28), "停车位 社会资本投资"),
    ("ramps", "county", 14_280_000, date(2023, 10, 30), "无障碍坡道 结算款"),
    ("station", "central", 40_000_000, date(2023, 12, 8), "养老服务站 进度款"),
    ("station", "provincial", 49_870_000, date(2024, 1, 18), "养老服务站 结算款"),
)
LEDGER_TOTAL_FEN = sum(p[2] for p in CLOSED_PAYMENTS)  # 715,502,628 fen = ¥7,155,026.28
CLOSED_MILESTONES: tuple[tuple[str, str | None, date, date], ...] = (
    ("施工单位进场", None, date(2023, 6, 15), date(2023, 6, 15)),
    ("雨污分流及供水管道更换完成", "pipes", date(2023, 8, 31), date(2023, 9, 6)),
    ("屋面防水层翻新完成", "roof", date(2023, 10, 15), date(2023, 10, 12)),
    ("养老服务站装修完成", "station", date(2023, 11, 30), date(2023, 11, 30)),
    ("竣工验收", None, date(2023, 12, 20), date(2023, 12, 20)),
)

BUILDING_ITEMS: tuple[tuple[str, str, str, str, str, int, str, tuple[int, ...]], ...] = (
    ("roof", "basic", "1-3号楼屋面防水更换", "2410", "m²", 86_000_000, "上海城建房屋修缮有限公司", (1, 2, 3)),
    ("wall", "basic", "外墙渗漏修补", "1650", "m²", 24_750_000, "上海城建房屋修缮有限公司", (1, 2, 3)),
    ("downpipe", "improvement", "雨水管更换", "216", "m", 3_240_000, "杨浦区市政养护有限公司", (1, 2, 3)),
)
LATE_MILESTONE = "1号楼屋面防水完成"
PROBLEM_NOTE = "2号楼屋面卷材搭接宽度不足 10 cm，局部空鼓，要求返工。"


def _jpeg(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, format="JPEG")
    return buf.getvalue()


def _at(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class _People:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.runtime = Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None))
        self.ids: dict[str, int] = {}

    async def id(self, phone: str) -> int | None:
        if phone not in self.ids:
            uid = (
                await self.session.exec(select(User.id).where(User.phone == normalise_mobile(phone)))
            ).first()
            if uid is None:
                return None
            self.ids[phone] = int(uid)
        return self.ids[phone]

    async def ctx(self, phone: str) -> Ctx:
        uid = await self.id(phone)
        assert uid is not None
        return Ctx(
            session=self.session, runtime=self.runtime, principal=await load_principal(self.session, uid)
        )


async def seed(session: AsyncSession, community_id: int, settings: Settings | None = None) -> None:
    people = _People(session, settings or get_settings())
    phones = [ADMIN, CHAIR, *CLOSED_ROLES.values(), *BUILDING_ROLES.values()]
    if any([await people.id(p) is None for p in phones]):
        return  # the people seed has not run
    titles = set(
        (
            await session.exec(
                select(RenovationProject.title).where(RenovationProject.community_id == community_id)
            )
        ).all()
    )
    buildings = {
        b.name: b.id or 0
        for b in (await session.exec(select(Building).where(Building.community_id == community_id))).all()
    }
    if CLOSED_TITLE not in titles:
        await _closed(people, community_id, buildings)
    if BUILDING_TITLE not in titles:
        await _in_construction(people, community_id, buildings)


# --- polls and notices the projects link to --------------------------------------------------------


async def _survey(
    people: _People, community_id: int, title: str, opens: datetime, closes: datetime, question: str,
    options: list[str], answers: list[tuple[str, tuple[int, int, str], int]],
) -> int:  # fmt: skip
    session = people.session
    author = await people.id(CHAIR)
    assert author is not None
    poll = Poll(
        community_id=community_id, author_id=author, title=title, description=question,
        kind=PollKind.survey, eligibility=Eligibility.households, results_visibility="live",
        opens_at=opens, closes_at=closes, announced_at=opens,
    )  # fmt: skip
    ((qid, option_ids),) = await _poll(session, poll, [(question, "single", True, options, 1)])
    homes = await _homes(session, community_id)
    for i, (phone, home, pick) in enumerate(answers):
        voter = await people.id(phone)
        if home in homes:
            answer: list[Answer] = [(qid, [option_ids[pick]], None)]
            at = opens + timedelta(hours=3 + i)
            await append_ballot(session, poll, homes[home][0], voter, BallotChannel.seed, answer, at)
    await session.refresh(poll)
    await freeze(session, poll, closes, tell=False)  # history: nobody is notified
    return poll.id or 0


async def _vote_2023(people: _People, community_id: int) -> int:
    session = people.session
    author = await people.id(CHAIR)
    assert author is not None
    opens, closes = _at(date(2023, 5, 5)), _at(date(2023, 5, 19), 10)
    poll = Poll(
        community_id=community_id, author_id=author, title=POLL_TITLES[2],
        description="2023年综合改造方案（含使用专项维修资金支付屋面防水结算款），依据《民法典》第二百七十八条表决。",
        kind=PollKind.vote, eligibility=Eligibility.owners, results_visibility="after_close",
        decision_rule=DecisionRule.ordinary, opens_at=opens, closes_at=closes, announced_at=opens,
    )  # fmt: skip
    ((qid, options),) = await _poll(
        session, poll, [("您是否同意该改造方案？", "single", True, ["同意", "反对", "弃权"], 1)]
    )
    poll.decision_question_id = qid
    session.add(poll)
    await session.flush()
    cast_at = opens
    for (b, e, _room), (hid, owner) in sorted((await _homes(session, community_id)).items()):
        choice = VOTE_PLAN.get((b, e))
        if choice is None:
            continue
        cast_at += timedelta(minutes=41)
        answers: list[Answer] = [(qid, [options[choice]], None)]
        await append_ballot(session, poll, hid, owner, BallotChannel.seed, answers, cast_at)
    await session.refresh(poll)
    await freeze(session, poll, closes, tell=False)
    return poll.id or 0


async def _design_notices(
    people: _People, community_id: int, title: str, body: str, changes: str, first: datetime
) -> tuple[int, int]:
    """Two publicity rounds published at `first` and 10 days later, both expired since (out of the feed)."""
    session = people.session
    chair = await people.id(CHAIR)
    assert chair is not None
    common: dict[str, Any] = {
        "community_id": community_id, "author_id": chair, "author_role": Role.committee_member,
        "kind": NoticeKind.publicity, "title": title,
    }  # fmt: skip
    n1 = Notice(**common, body_md=body, comment_window_days=5, expires_at=first + timedelta(days=9),
                created_at=first, updated_at=first)  # fmt: skip
    await _publish(session, n1, first, notify=False)
    second = first + timedelta(days=10)
    n2 = Notice(**common, body_md=body + "\n\n第二次公示修改：" + changes, comment_window_days=7, round=2,
                previous_id=n1.id, change_summary=changes, expires_at=second + timedelta(days=9),
                created_at=second, updated_at=second)  # fmt: skip
    await _publish(session, n2, second, notify=False)
    return n1.id or 0, n2.id or 0


# --- the projects ----------------------------------------------------------------------------------


async def _items(
    admin: Ctx, pid: int, rows: tuple[tuple[str, str, str, str, str, int, str, tuple[int, ...]], ...],
    buildings: dict[str, int],
) -> dict[str, int]:  # fmt: skip
    out = {}
    for key, cls, name, qty, unit, budget, contractor, numbers in rows:
        body = s.ItemCreate(
            item_class=cls, name=name, quantity=qty, unit=unit, budget_fen=budget, contractor=contractor,  # type: ignore[arg-type]
            building_ids=[buildings[f"{n}号楼"] for n in numbers],
        )  # fmt: skip
        out[key] = (await projects.add_item(admin, pid, body)).id
    return out


async def _appoint(people: _People, pid: int, role_phones: dict[str, str]) -> None:
    chair = await people.ctx(CHAIR)
    for role, phone in role_phones.items():
        uid = await people.id(phone)
        assert uid is not None
        await roles.appoint(chair, pid, s.RoleCreate(user_id=uid, role=role))  # type: ignore[arg-type]


async def _upload(ctx: Ctx, pid: int, purpose: str, n: int) -> int:
    from services.attachments.service import DOCUMENT_TYPES, PHOTO_TYPES, store_upload

    row = await store_upload(
        ctx, community_id=(await projects.get_project(ctx, pid)).community_id, owner_type="renovation_project",
        owner_id=pid, purpose=purpose, data=_jpeg((40 + n * 13 % 200, 90, 160)),
        original_name=f"{'凭证' if purpose == 'voucher' else '照片'}{n:02d}.jpg",
        allowed=DOCUMENT_TYPES if purpose == "voucher" else PHOTO_TYPES,
    )  # fmt: skip
    return row.id


async def _advance(admin: Ctx, pid: int, to: str) -> None:
    await projects.advance(admin, pid, s.AdvanceIn(to=to))  # type: ignore[arg-type]


async def _closed(people: _People, community_id: int, buildings: dict[str, int]) -> None:
    admin = await people.ctx(ADMIN)
    project = await projects.create_project(
        admin, community_id, s.ProjectCreate(title=CLOSED_TITLE, year=2023, batch="第一批")
    )
    pid = project.id
    items = await _items(admin, pid, CLOSED_ITEMS, buildings)
    needs = await _survey(
        people, community_id, POLL_TITLES[0], _at(date(2023, 2, 10)), _at(date(2023, 2, 28), 10),
        "您家最希望改造的内容是？", ["屋面漏水", "管道老化", "加装扶手、无障碍设施", "停车难", "养老服务"],
        [(CLOSED_ROLES["collector"], (1, 1, "301"), 0), ("+8613700000003", (1, 2, "502"), 2),
         ("+8613700000004", (2, 2, "101"), 1), ("+8613700000006", (4, 1, "202"), 4)],
    )  # fmt: skip
    await projects.set_links(admin, pid, s.LinksIn(needs_poll_id=needs))
    await _appoint(people, pid, CLOSED_ROLES)
    collector = await people.ctx(CLOSED_ROLES["collector"])
    request = await roles.log_request(
        collector, pid, s.RequestCreate(text="1-3号楼老人多，希望楼道两侧都装扶手。")
    )
    await roles.decide_request(
        admin,
        pid,
        request.id,
        s.RequestDecision(outcome="design_change", note="扶手改为双侧，纳入设计方案。"),
    )
    await _advance(admin, pid, "design")
    design = await _survey(
        people, community_id, POLL_TITLES[1], _at(date(2023, 3, 15)), _at(date(2023, 3, 31), 10),
        "外立面主色调您更倾向？", ["暖白", "浅灰", "米黄"],
        [(CLOSED_ROLES["collector"], (1, 1, "301"), 0), ("+8613700000005", (3, 1, "602"), 0),
         ("+8613700000008", (6, 1, "302"), 1)],
    )  # fmt: skip
    await projects.set_links(admin, pid, s.LinksIn(design_poll_id=design))
    await _advance(admin, pid, "publicity")
    n1, n2 = await _design_notices(
        people, community_id, NOTICE_TITLES[0],
        "## 2023年综合改造设计方案\n\n屋面防水、雨污分流、消防设施、楼道扶手、停车位、无障碍坡道与养老服务站，详见附件。",
        "楼道扶手改为双侧；养老服务站设于4号楼底层。", _at(date(2023, 4, 10)),
    )  # fmt: skip
    await projects.set_links(admin, pid, s.LinksIn(design_notice_id=n1, design_notice2_id=n2))
    await _advance(admin, pid, "approval")
    vote = await _vote_2023(people, community_id)
    await projects.set_links(admin, pid, s.LinksIn(vote_required=True, vote_poll_id=vote))
    for name, submitted, approved in (
        ("区住房保障局 方案审批", date(2023, 5, 22), date(2023, 5, 25)),
        ("区发改委 立项批复", date(2023, 5, 26), date(2023, 5, 31)),
    ):
        await schedule.add_step(
            admin, pid, s.StepCreate(name=name, submitted_on=submitted, approved_on=approved)
        )
    await _advance(admin, pid, "construction")
    chair_id = await people.id(CHAIR)
    assert chair_id is not None
    sources = {}
    for kind, name in CLOSED_SOURCES:
        total = sum(a for _, k, a, _, _ in CLOSED_PAYMENTS if k == kind)
        body = s.SourceCreate(kind=kind, name=name, committed_fen=total, received_fen=total)  # type: ignore[arg-type]
        sources[kind] = (await ledger.add_source(admin, pid, body)).id
    payees = {key: contractor for key, _, _, _, _, _, contractor, _ in CLOSED_ITEMS}
    for n, (key, kind, amount, paid_on, memo) in enumerate(CLOSED_PAYMENTS, start=1):
        voucher = await _upload(admin, pid, "voucher", n)
        await ledger.record_payment(
            admin, pid, s.PaymentCreate(
                item_id=items[key], source_id=sources[kind], amount_fen=amount, payee=payees[key],
                approver_id=chair_id, voucher_id=voucher, paid_on=paid_on, memo=memo,
            ),
        )  # fmt: skip
    supervisor = await people.ctx(CLOSED_ROLES["supervisor"])
    await roles.supervise(
        supervisor, pid, s.SupervisionCreate(
            item_id=items["roof"], note="屋面防水卷材铺设平整，搭接宽度符合要求。",
            photo_ids=[await _upload(supervisor, pid, "photo", 21)],
        ),
    )  # fmt: skip
    for name, step_item, planned, actual in CLOSED_MILESTONES:
        await schedule.add_milestone(
            admin, pid, s.MilestoneCreate(
                name=name, item_id=items[step_item] if step_item else None, planned_on=planned, actual_on=actual
            ),
        )  # fmt: skip
    await _advance(admin, pid, "acceptance")
    inspector = await people.ctx(CLOSED_ROLES["inspector"])
    photo = await _upload(inspector, pid, "photo", 31)
    await roles.sign_off(
        inspector, pid, s.SignOffCreate(
            item_id=items["parking"], verdict="rectify", note="3 个车位标线不清，需重新划线。", photo_ids=[photo]
        ),
    )  # fmt: skip
    for key, *_ in CLOSED_ITEMS:
        await roles.sign_off(
            inspector,
            pid,
            s.SignOffCreate(item_id=items[key], verdict="pass", note="验收合格。", photo_ids=[photo]),
        )
    await _advance(admin, pid, "aftercare")
    satisfaction = await _survey(
        people, community_id, POLL_TITLES[3], _at(date(2024, 3, 1)), _at(date(2024, 3, 31), 10),
        "您对本次改造效果是否满意？", ["满意", "基本满意", "不满意"],
        [(CLOSED_ROLES["collector"], (1, 1, "301"), 0), ("+8613700000003", (1, 2, "502"), 0),
         ("+8613700000004", (2, 2, "101"), 1), ("+8613700000005", (3, 1, "602"), 0),
         ("+8613700000008", (6, 1, "302"), 0)],
    )  # fmt: skip
    await projects.set_links(admin, pid, s.LinksIn(satisfaction_poll_id=satisfaction))
    for period, summary, scores in (
        ("2024H1", "屋面无渗漏报修；停车位投入使用，夜间停车难明显缓解。", {"质量": 92, "满意度": 90}),
        ("2024H2", "雨季无积水；养老服务站日均服务 35 人次。", {"质量": 94, "满意度": 93}),
    ):
        await schedule.add_assessment(
            admin, pid, s.AssessmentCreate(period=period, summary=summary, scores=scores)
        )
    await _advance(admin, pid, "closed")


async def _in_construction(people: _People, community_id: int, buildings: dict[str, int]) -> None:
    session = people.session
    vote = (
        await session.exec(select(Poll.id).where(Poll.community_id == community_id, Poll.title == VOTE_TITLE))
    ).first()
    if vote is None:
        return  # services.demo_polls has not run: nothing to approve the works with
    admin = await people.ctx(ADMIN)
    today = local_today(await zone_of(session, community_id), utcnow())  # the community's calendar
    now = _at(today)
    project = await projects.create_project(
        admin, community_id, s.ProjectCreate(title=BUILDING_TITLE, year=today.year, batch="第二批")
    )
    pid = project.id
    items = await _items(admin, pid, BUILDING_ITEMS, buildings)
    needs = await _survey(
        people, community_id, POLL_TITLES[4], now - timedelta(days=80), now - timedelta(days=66),
        "您家顶层或外墙是否有渗漏？", ["屋面渗漏", "外墙渗漏", "都没有"],
        [("+8613700000001", (1, 1, "301"), 1), ("+8613700000003", (1, 2, "502"), 0),
         ("+8613700000004", (2, 2, "101"), 2), ("+8613700000005", (3, 1, "602"), 0)],
    )  # fmt: skip
    await projects.set_links(admin, pid, s.LinksIn(needs_poll_id=needs))
    await _appoint(people, pid, BUILDING_ROLES)
    await _advance(admin, pid, "design")
    design = await _survey(
        people, community_id, POLL_TITLES[5], now - timedelta(days=62), now - timedelta(days=50),
        "屋面防水做法您更倾向？", ["SBS 改性沥青卷材", "聚氨酯涂膜"],
        [("+8613700000001", (1, 1, "301"), 0), ("+8613700000005", (3, 1, "602"), 0)],
    )  # fmt: skip
    await projects.set_links(admin, pid, s.LinksIn(design_poll_id=design))
    await _advance(admin, pid, "publicity")
    n1, n2 = await _design_notices(
        people, community_id, NOTICE_TITLES[1],
        "## 1-3号楼屋面防水及外墙渗漏整治方案\n\n屋面防水层整体更换，外墙渗漏点修补，雨水管更换；费用由专项维修资金列支。",
        "屋面做法采用 SBS 改性沥青卷材；施工期间顶层住户可申请临时安置。", now - timedelta(days=45),
    )  # fmt: skip
    await projects.set_links(admin, pid, s.LinksIn(design_notice_id=n1, design_notice2_id=n2))
    await _advance(admin, pid, "approval")
    await projects.set_links(admin, pid, s.LinksIn(vote_required=True, vote_poll_id=int(vote)))
    await schedule.add_step(
        admin, pid, s.StepCreate(
            name="区房管局 维修资金使用审核", submitted_on=today - timedelta(days=6),
            approved_on=today - timedelta(days=3),
        ),
    )  # fmt: skip
    await _advance(admin, pid, "construction")
    fund = await ledger.add_source(
        admin,
        pid,
        s.SourceCreate(
            kind="maintenance_fund", name="专项维修资金", committed_fen=86_000_000, received_fen=30_000_000
        ),  # type: ignore[arg-type]
    )
    await ledger.add_source(
        admin,
        pid,
        s.SourceCreate(kind="county", name="区级补助资金", committed_fen=27_990_000, received_fen=0),  # type: ignore[arg-type]
    )
    chair_id = await people.id(CHAIR)
    assert chair_id is not None
    await ledger.record_payment(
        admin, pid, s.PaymentCreate(
            item_id=items["roof"], source_id=fund.id, amount_fen=25_800_000, payee=BUILDING_ITEMS[0][6],
            approver_id=chair_id, voucher_id=await _upload(admin, pid, "voucher", 41),
            paid_on=today - timedelta(days=2), memo="屋面防水 预付款（30%）",
        ),
    )  # fmt: skip
    b1, b2, b3 = (buildings[f"{n}号楼"] for n in (1, 2, 3))
    for name, key, planned, actual, where in (
        (
            "施工单位进场、搭设脚手架",
            None,
            today - timedelta(days=20),
            today - timedelta(days=20),
            [b1, b2, b3],
        ),
        (LATE_MILESTONE, "roof", today - timedelta(days=5), None, [b1]),
        ("2-3号楼屋面防水完成", "roof", today + timedelta(days=20), None, [b2, b3]),
        ("外墙渗漏修补及雨水管更换完成", "wall", today + timedelta(days=35), None, [b1, b2, b3]),
        ("竣工验收", None, today + timedelta(days=45), None, []),
    ):
        await schedule.add_milestone(
            admin, pid, s.MilestoneCreate(
                name=name, item_id=items[key] if key else None, planned_on=planned, actual_on=actual,
                building_ids=where,
            ),
        )  # fmt: skip
    supervisor = await people.ctx(BUILDING_ROLES["supervisor"])
    await roles.supervise(
        supervisor, pid, s.SupervisionCreate(
            item_id=items["roof"], note=PROBLEM_NOTE, problem=True, deadline_on=today + timedelta(days=7),
            photo_ids=[await _upload(supervisor, pid, "photo", 51)],
        ),
    )  # fmt: skip
