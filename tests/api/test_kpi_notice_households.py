"""notice_read_rate is over households and attributes a notice to the period its 7-day read window
ends in (issue 21): one published on 31 March at 21:00 counts in April, with the week it had."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models.notices import Notice, NoticeReceipt
from services.models.occupants import Occupant
from tests import factories as f

pytestmark = pytest.mark.at("2026-06-16T10:00:00+08:00")

BJ = ZoneInfo("Asia/Shanghai")
RANGE = {"from": "2026-03-01", "to": "2026-04-30", "granularity": "month"}


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ).astimezone(UTC)  # type: ignore[misc]


async def _notice(db: AsyncSession, w: f.NoticeWorld, published: datetime, title: str) -> Notice:
    n = Notice(
        community_id=w.cid, author_id=w.committee.id or 0, author_role="committee_member", kind="announcement",
        title=title, body_md="正文", status="published", published_at=published, publish_at=published,
    )  # fmt: skip
    db.add(n)
    await db.flush()
    for res, home in zip(w.residents, w.households, strict=True):
        db.add(
            NoticeReceipt(
                notice_id=n.id or 0, user_id=res.id, household_id=home.id, building_id=home.building_id
            )
        )
    await db.flush()
    return n


async def _read(db: AsyncSession, n: Notice, user_id: int | None, at: datetime) -> None:
    from sqlmodel import select

    row = (
        await db.exec(
            select(NoticeReceipt).where(NoticeReceipt.notice_id == n.id, NoticeReceipt.user_id == user_id)
        )
    ).one()
    row.read_at = row.delivered_at = at
    db.add(row)
    await db.flush()


async def test_notice_read_rate_counts_households_in_the_period_its_window_ends(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.notice_world(db)
    offline_home = await f.household(db, w.buildings[1], room="301")  # nobody there has the app
    db.add(Occupant(community_id=w.cid, household_id=offline_home.id or 0, name="老人", phone="+8613900003001",
                    relation="owner", created_by_id=w.admin.id or 0))  # fmt: skip
    early = await _notice(db, w, bj(2026, 3, 10, 9), "三月停水")
    await _read(db, early, w.residents[0].id, bj(2026, 3, 11, 8))
    late = await _notice(db, w, bj(2026, 3, 31, 21), "月底停电")  # the last evening of March
    await _read(db, late, w.residents[0].id, bj(2026, 4, 1, 8))
    await _read(db, late, w.residents[1].id, bj(2026, 4, 2, 8))
    await _read(db, late, w.residents[2].id, bj(2026, 4, 20, 8))  # after its week: not counted
    db.add(NoticeReceipt(notice_id=late.id or 0, user_id=None, household_id=offline_home.id,
                         building_id=offline_home.building_id, channel="sms", delivered_at=bj(2026, 3, 31, 21)))  # fmt: skip
    await db.flush()

    r = await client.get(f"/v1/communities/{w.cid}/kpis", params=RANGE, headers=f.auth(w.admin))
    assert r.status_code == 200, r.text
    series = next(s for s in r.json()["metrics"] if s["metric"] == "notice_read_rate")
    march, april = series["periods"]
    # March: only the early notice, over the 5 households (4 with the app, 1 without).
    assert (march["period"], march["numerator"], march["denominator"]) == ("2026-03", 1, 5)
    # April: the late notice — two households read it in the app within the week, one got the SMS.
    assert (april["period"], april["numerator"], april["denominator"]) == ("2026-04", 3, 5)

    drill = await client.get(
        f"/v1/communities/{w.cid}/kpis/notice_read_rate/tickets",
        params={"period": "2026-04", "part": "denominator"},
        headers=f.auth(w.admin),
    )
    assert drill.status_code == 200, drill.text
    assert [row["id"] for row in drill.json()["items"]] == [late.id]
