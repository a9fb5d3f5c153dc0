"""Notices that reach households without the app (issue 21): the author marks a notice "post on the
noticeboard and SMS the households without the app". At publish, every audience household with no app
receipt gets the text by SMS (one number per household, services.communities.occupants.sms_contact)
and an SMS receipt; staff or a grid worker record the households that have it on paper. The read rate
is then over households: reached by app (someone read it), by SMS, or on paper."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.communities.occupants import sms_contact
from services.models.notices import AudienceType, Notice, NoticeReceipt
from services.notices import audience
from services.notices.publishing import category_of, template_data
from services.notifications.sms_only import notify_phones

R = NoticeReceipt.__table__  # type: ignore[attr-defined]
SMS_TEXT_CHARS = 300  # an SMS of a few segments; the noticeboard has the rest


def plain_text(body_md: str, limit: int = SMS_TEXT_CHARS) -> str:
    """Markdown to one line of plain text for an SMS."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", body_md)  # images
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their words
    text = re.sub(r"[*_`>#~|]+", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def reach_households_without_app(session: AsyncSession, notice: Notice, now: datetime) -> int:
    """SMS receipts and messages for the audience households nobody there reads in the app.
    Returns the number of households texted. Runs inside publish_now's transaction, once."""
    if notice.audience_type == AudienceType.roles:
        return 0
    with_app = sa.select(R.c.household_id).where(
        R.c.notice_id == notice.id, R.c.channel == "app", R.c.household_id.is_not(None)
    )
    homes = audience.households_query(notice).subquery()
    rows = (
        await session.execute(sa.select(homes.c.id, homes.c.building_id).where(homes.c.id.not_in(with_app)))
    ).all()
    buildings = {int(h): int(b) for h, b in rows}
    contacts = await sms_contact(session, sorted(buildings))
    if not contacts:
        return 0
    values = [
        {"notice_id": notice.id, "user_id": None, "household_id": h, "building_id": buildings[h],
         "channel": "sms", "delivered_at": now}
        for h in sorted(contacts)
    ]  # fmt: skip
    for start in range(0, len(values), 500):
        await session.execute(R.insert().values(values[start : start + 500]))
    data = template_data(notice, text=plain_text(notice.body_md))
    await notify_phones(
        session,
        contacts.values(),
        category_of(notice),
        "notice.sms",
        data,
        f"notice:{notice.id}:offline",
        community_id=notice.community_id,
    )
    return len(contacts)


async def record_paper(
    session: AsyncSession, notice: Notice, household_ids: list[int], recorder_id: int, now: datetime
) -> tuple[list[int], list[int], list[int]]:
    """(recorded, already recorded, not in the audience) of the households given."""
    wanted = sorted(set(household_ids))
    homes = audience.households_query(notice).subquery()
    if notice.audience_type == AudienceType.roles:
        known_rows = await session.execute(
            sa.select(R.c.household_id, R.c.building_id).where(
                R.c.notice_id == notice.id, R.c.household_id.in_(wanted)
            )
        )
    else:
        known_rows = await session.execute(
            sa.select(homes.c.id, homes.c.building_id).where(homes.c.id.in_(wanted))
        )
    known = {int(h): int(b) for h, b in known_rows.all() if h is not None}
    outside = [h for h in wanted if h not in known]
    if outside:
        return [], [], outside
    already = {
        int(h)
        for h in (
            await session.execute(
                sa.select(R.c.household_id).where(
                    R.c.notice_id == notice.id, R.c.channel == "paper", R.c.household_id.in_(wanted)
                )
            )
        ).scalars()
    }
    fresh = [h for h in wanted if h not in already]
    if fresh:
        await session.execute(
            R.insert().values(
                [
                    {"notice_id": notice.id, "user_id": None, "household_id": h, "building_id": known[h],
                     "channel": "paper", "recorded_by_id": recorder_id, "delivered_at": now, "read_at": now}
                    for h in fresh
                ]
            )
        )  # fmt: skip
    return fresh, sorted(already), []


@dataclass(frozen=True)
class HouseholdReach:
    total: int
    reached: int
    by_app: int
    by_sms: int
    by_paper: int

    @property
    def rate(self) -> float:
        return round(self.reached / self.total, 4) if self.total else 0.0


def reached_clause(before: Any = None) -> Any:
    """A receipt that reaches its household: read in the app, an SMS sent, or paper recorded —
    (with `before`) by that instant."""
    app_read = sa.and_(R.c.channel == "app", R.c.read_at.is_not(None))
    offline = R.c.channel.in_(["sms", "paper"])
    if before is None:
        return sa.or_(app_read, offline)
    return sa.or_(
        sa.and_(app_read, R.c.read_at < before),
        sa.and_(offline, sa.func.coalesce(R.c.read_at, R.c.delivered_at) < before),
    )


async def household_reach(session: AsyncSession, notice: Notice) -> HouseholdReach:
    hh = R.c.household_id

    def distinct_where(cond: Any) -> Any:
        return sa.func.count(sa.distinct(sa.case((cond, hh))))

    row = (
        await session.execute(
            sa.select(
                distinct_where(reached_clause()),
                distinct_where(sa.and_(R.c.channel == "app", R.c.read_at.is_not(None))),
                distinct_where(R.c.channel == "sms"),
                distinct_where(R.c.channel == "paper"),
                sa.func.count(sa.distinct(hh)),
            ).where(R.c.notice_id == notice.id)
        )
    ).one()
    if notice.audience_type == AudienceType.roles:
        total = int(row[4])  # the households of the people addressed
    else:
        homes = audience.households_query(notice).subquery()
        total = int((await session.execute(sa.select(sa.func.count()).select_from(homes))).scalar_one())
    return HouseholdReach(total, int(row[0]), int(row[1]), int(row[2]), int(row[3]))
