"""Demo notices for 幸福里小区: the lift and façade renovation plan in two publicity rounds (comments,
objections and the committee's answers; round 1 closed with its outcome, round 2 open for comment),
and a water-outage announcement from the property company that asks for acknowledgement.

`seed(session, community_id)` is idempotent: a notice is found by (community, title, round) and only
created when missing; people are found by their demo phone numbers (services.demo.PEOPLE).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Role, User, utcnow
from services.models.notices import Notice, NoticeComment, NoticeKind, NoticeReceipt, NoticeStatus
from services.notices import audience
from services.notices.jobs import record_outcome
from services.notices.publishing import publish_now

CHAIR = "+8613800000004"  # 陈秀英, committee chair
MANAGER = "+8613800000001"  # 王建国, property manager


def _resident(n: int) -> str:
    return f"+86137000000{n:02d}"


ROUND1_TITLE = "幸福里小区加装电梯及外立面改造方案（第一次公示）"
ROUND2_TITLE = "幸福里小区加装电梯及外立面改造方案（第二次公示）"
PLAN_BODY = """## 加装电梯及外立面改造方案

经业主大会授权，业委会会同设计单位拟定本方案，现予公示，公示期内欢迎提出意见或异议。

1. **加装电梯**：1–6 号楼每个单元加装一部 8 人电梯，平层入户；
2. **外立面改造**：外墙保温层翻新、涂料更新（主色暖白），更换雨水管；
3. **费用**：电梯建设费用按楼层系数分摊，外立面费用由专项维修资金列支；
4. **工期**：2027 年 3 月至 10 月，分楼栋施工。

方案全文及效果图见附件或物业服务中心。"""
ROUND2_CHANGES = (
    "1. 一楼住户不分摊电梯建设费用；2. 电梯井道改为贴墙玻璃幕墙，减少对低层采光的影响；"
    "3. 明确施工期临时停车安排（东侧空地）及竣工后 30 日内恢复绿地。"
)
WATER_TITLE = "关于 12 月 3 日二次供水水箱清洗停水的通知"
WATER_BODY = """因二次供水水箱年度清洗消毒，**12 月 3 日 9:00–16:00** 全小区停水，请提前储水。

如有特殊困难（独居老人、行动不便等），请联系物业服务中心 021-65150123，我们将上门送水。
请阅读后点击 **确认已读**。"""

# (resident number, body, is objection, answer) — round 1; times are days after publication.
ROUND1_COMMENTS: tuple[tuple[int, str, bool, str | None], ...] = (
    (1, "支持加装电梯，家里老人上下楼太难了，希望尽快实施。", False, None),
    (3, "希望施工期间注意噪音，避开中午 12 点到 14 点的午休时间。", False, None),
    (5, "外立面颜色建议与周边小区协调，不要太深。", False, None),
    (
        4,
        "我家在一楼，加装电梯后遮挡采光且我家无使用需求，反对按现方案分摊电梯费用。",
        True,
        "已委托设计单位复核日照：井道改为贴墙玻璃幕墙；一楼住户不分摊电梯建设费用。详见第二次公示。",
    ),
    (
        8,
        "外墙施工会占用楼下绿地和停车位，方案没有说明如何恢复。",
        True,
        "施工期间临时停车安排在东侧空地，竣工后 30 日内恢复绿地，已写入第二次公示。",
    ),
)


async def _user_id(session: AsyncSession, phone: str) -> int | None:
    uid = (await session.exec(select(User.id).where(User.phone == phone))).first()
    return int(uid) if uid is not None else None


async def _find(session: AsyncSession, community_id: int, title: str, round_: int) -> Notice | None:
    row: Notice | None = (
        await session.exec(
            select(Notice).where(
                Notice.community_id == community_id, Notice.title == title, Notice.round == round_
            )
        )
    ).first()
    return row


async def _publish(session: AsyncSession, notice: Notice, at: datetime, *, notify: bool) -> None:
    session.add(notice)
    await session.flush()
    if notify:
        await publish_now(session, notice, at)
        return
    # A notice published weeks ago: its receipts, without notifying anyone today.
    notice.status = NoticeStatus.published
    notice.published_at = notice.publish_at = at
    if notice.kind == NoticeKind.publicity:
        notice.comment_closes_at = at + timedelta(days=notice.comment_window_days or 5)
    session.add(notice)
    await session.flush()
    await audience.write_receipts(session, notice, date.today())


async def _mark(
    session: AsyncSession, notice_id: int, user_ids: list[int], at: datetime, *, ack: bool = False
) -> None:
    values = {"delivered_at": at, "read_at": at, **({"acked_at": at} if ack else {})}
    r = NoticeReceipt.__table__  # type: ignore[attr-defined]
    await session.execute(
        sa.update(r).where(r.c.notice_id == notice_id, r.c.user_id.in_(user_ids)).values(**values)
    )


async def seed(session: AsyncSession, community_id: int) -> None:
    chair = await _user_id(session, CHAIR)
    manager = await _user_id(session, MANAGER)
    residents = {n: await _user_id(session, _resident(n)) for n in range(1, 9)}
    if chair is None or manager is None or None in residents.values():
        return  # the people seed has not run: nothing to hang notices on
    people = {n: uid for n, uid in residents.items() if uid is not None}
    now = utcnow()
    round1 = await _find(session, community_id, ROUND1_TITLE, 1)
    if round1 is None:
        start = now - timedelta(days=20)
        round1 = Notice(
            community_id=community_id, author_id=chair, author_role=Role.committee_member,
            kind=NoticeKind.publicity, title=ROUND1_TITLE, body_md=PLAN_BODY, comment_window_days=5,
            created_at=start, updated_at=start,
        )  # fmt: skip
        await _publish(session, round1, start, notify=False)
        assert round1.id is not None
        for day, (n, body, objection, answer) in enumerate(ROUND1_COMMENTS, start=1):
            at = start + timedelta(days=min(day, 4), hours=day)
            session.add(
                NoticeComment(
                    notice_id=round1.id, user_id=people[n], body=body, is_objection=objection,
                    answer_body=answer, answered_by=chair if answer else None,
                    answered_at=at + timedelta(hours=20) if answer else None, created_at=at,
                )
            )  # fmt: skip
        await session.flush()
        await _mark(session, round1.id, [people[n] for n in (1, 2, 3, 4, 5, 8)], start + timedelta(hours=3))
        assert round1.comment_closes_at is not None
        await record_outcome(session, round1, round1.comment_closes_at)
        await session.flush()
    if await _find(session, community_id, ROUND2_TITLE, 2) is None:
        start = now - timedelta(days=2)
        round2 = Notice(
            community_id=community_id, author_id=chair, author_role=Role.committee_member,
            kind=NoticeKind.publicity, title=ROUND2_TITLE, body_md=PLAN_BODY.replace(
                "电梯建设费用按楼层系数分摊", "电梯建设费用按楼层系数分摊（一楼住户不分摊）"
            ), comment_window_days=7, round=2, previous_id=round1.id, change_summary=ROUND2_CHANGES,
            pinned=True, created_at=start, updated_at=start,
        )  # fmt: skip
        await _publish(session, round2, start, notify=True)
        assert round2.id is not None
        session.add(
            NoticeComment(
                notice_id=round2.id, user_id=people[4], body="一楼不分摊、井道改玻璃幕墙，我同意第二次方案。",
                created_at=start + timedelta(hours=6),
            )
        )  # fmt: skip
        await _mark(session, round2.id, [people[n] for n in (1, 4, 6)], start + timedelta(hours=5))
    if await _find(session, community_id, WATER_TITLE, 1) is None:
        start = now - timedelta(days=1)
        water = Notice(
            community_id=community_id, author_id=manager, author_role=Role.property_manager,
            kind=NoticeKind.announcement, title=WATER_TITLE, body_md=WATER_BODY, requires_ack=True,
            expires_at=now + timedelta(days=14), created_at=start, updated_at=start,
        )  # fmt: skip
        await _publish(session, water, start, notify=True)
        assert water.id is not None
        await _mark(session, water.id, [people[n] for n in (1, 2, 3, 5)], start + timedelta(hours=2))
        await _mark(session, water.id, [people[n] for n in (1, 3)], start + timedelta(hours=4), ack=True)
    await session.flush()
