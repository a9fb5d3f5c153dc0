"""The roster (亮身份): residents find who holds each duty post for their building, and how to reach them."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import MembershipStatus, Role
from services.models.duty import DutyAssignment
from tests import factories as f
from tests.conftest import App

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def test_resident_finds_security_watch_for_their_building(app: App, db: AsyncSession) -> None:
    client = app.client
    w = await f.duty_world(db)
    watch1 = await f.duty_post(db, w, "security_watch", [w.b1.id or 0])
    watch2 = await f.duty_post(db, w, "security_watch", [w.b2.id or 0])
    everywhere = await f.duty_post(db, w, "emergency_rescue")
    await f.duty_assign(db, watch1, w.member1, "lead")
    await f.duty_assign(db, watch2, w.member2, "lead")
    await f.duty_assign(db, everywhere, w.member2)
    # An assignment that ended yesterday is not on today's roster.
    db.add(
        DutyAssignment(
            post_id=watch1.id,
            user_id=w.secretary.id or 0,
            starts_on=date.today() - timedelta(days=30),
            ends_on=date.today() - timedelta(days=2),
        )
    )
    await db.flush()
    # member1 shares the phone; member2 hides it (in-app message only).
    assert (
        await client.patch("/v1/duty/me/contact", json={"share_phone": True}, headers=f.auth(w.member1))
    ).status_code == 200
    assert (
        await client.patch("/v1/duty/me/contact", json={"share_phone": False}, headers=f.auth(w.member2))
    ).status_code == 200

    r = await client.get(f"/v1/communities/{w.cid}/duty/roster", headers=f.auth(w.resident1))
    assert r.status_code == 200, r.text
    roster = r.json()
    assert [b["building_id"] for b in roster["buildings"]] == [w.b1.id]
    posts = roster["buildings"][0]["posts"]
    assert [p["post_id"] for p in posts] == [watch1.id, everywhere.id]
    watch = posts[0]
    assert watch["category"] == "security_watch"
    [holder] = watch["holders"]
    assert holder["user_id"] == w.member1.id and holder["name"] == "党员甲" and holder["role"] == "lead"
    assert holder["phone_masked"] == w.member1.phone[3:6] + "****" + w.member1.phone[-4:]
    assert w.member1.phone not in r.text and w.member1.phone[3:] not in r.text
    assert holder["call_relay"]["type"] == "relay"
    assert holder["call_relay"]["number"] == app.settings.duty_call_relay_number
    assert holder["call_relay"]["extension"]
    assert holder["message"] == {"type": "in_app", "user_id": w.member1.id}
    [hidden] = posts[1]["holders"]
    assert hidden["user_id"] == w.member2.id
    assert hidden["phone_masked"] is None and hidden["call_relay"] is None
    assert hidden["message"] == {"type": "in_app", "user_id": w.member2.id}

    # The other building's resident sees their own security-watch member.
    r = await client.get(f"/v1/communities/{w.cid}/duty/roster", headers=f.auth(w.resident2))
    b2 = r.json()["buildings"]
    assert [b["building_id"] for b in b2] == [w.b2.id]
    assert b2[0]["posts"][0]["holders"][0]["user_id"] == w.member2.id


async def test_roster_scope_and_errors(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w, "publicity")
    await f.duty_assign(db, post, w.member1)
    url = f"/v1/communities/{w.cid}/duty/roster"

    # Staff see every building and may narrow to one.
    r = await client.get(url, headers=f.auth(w.grid))
    assert [b["building_id"] for b in r.json()["buildings"]] == [w.b1.id, w.b2.id]
    r = await client.get(url, params={"building_id": w.b2.id}, headers=f.auth(w.secretary))
    assert [b["building_id"] for b in r.json()["buildings"]] == [w.b2.id]
    assert (await client.get(url, params={"building_id": 999999}, headers=f.auth(w.grid))).status_code == 404

    # A resident may not look at another building.
    r = await client.get(url, params={"building_id": w.b2.id}, headers=f.auth(w.resident1))
    assert r.status_code == 403
    r = await client.get(url, params={"building_id": w.b1.id}, headers=f.auth(w.resident1))
    assert r.status_code == 200 and len(r.json()["buildings"]) == 1

    # Another community's roster does not exist for you; nor for a pending claimant or anonymous caller.
    assert (await client.get(url, headers=f.auth(w.stranger))).status_code == 404
    r = await client.get(f"/v1/communities/{w.other.id}/duty/roster", headers=f.auth(w.resident1))
    assert r.status_code == 404 and code(r) == "community.not_found"
    pending = await f.user(db, "待审核")
    await f.member(
        db, pending, Role.resident, community_id=w.cid, household_id=w.h1.id, status=MembershipStatus.pending
    )
    assert (await client.get(url, headers=f.auth(pending))).status_code == 404
    assert (await client.get(url)).status_code == 401
    assert (await client.get("/v1/communities/0/duty/roster", headers=f.auth(w.grid))).status_code == 422


async def test_demo_seed_staffs_the_posts_and_a_resident_finds_the_watch(
    app: App, db: AsyncSession, sessionmaker: object
) -> None:
    from sqlmodel import func, select

    from services import demo, demo_duty
    from services.models import Community, User
    from services.models.duty import DutyCheckin, DutyPost, DutyShift, ServiceLog

    await demo.seed(app.settings, sessionmaker)  # type: ignore[arg-type]
    cid = (await db.exec(select(Community.id).where(Community.name == demo.COMMUNITY["name"]))).one()
    assert cid is not None

    async def counts() -> tuple[int, ...]:
        tables = (DutyPost, DutyShift, DutyCheckin, ServiceLog)
        return tuple([(await db.exec(select(func.count()).select_from(t))).one() for t in tables])

    await demo_duty.seed(db, cid)
    first = await counts()
    await demo_duty.seed(db, cid)
    assert await counts() == first  # idempotent
    posts = (await db.exec(select(DutyPost.category).where(DutyPost.community_id == cid))).all()
    assert set(posts) == {
        "security_watch",
        "publicity",
        "sanitation_supervision",
        "dispute_mediation",
        "emergency_rescue",
    }
    statuses = (await db.exec(select(DutyShift.status).where(DutyShift.community_id == cid))).all()
    assert statuses.count("missed") == 1 and "done" in statuses and "scheduled" in statuses
    assert first[3] > 0

    # 王秀兰 lives in 1号楼: her security watch is 孙志刚, reachable through the call relay.
    resident = (await db.exec(select(User).where(User.phone == "+8613700000001"))).one()
    r = await app.client.get(f"/v1/communities/{cid}/duty/roster", headers=f.auth(resident))
    assert r.status_code == 200, r.text
    [building] = r.json()["buildings"]
    assert building["building_name"] == "1号楼"
    watch = next(p for p in building["posts"] if p["category"] == "security_watch")
    lead = watch["holders"][0]
    assert lead["name"] == "孙志刚" and lead["role"] == "lead" and lead["call_relay"]["type"] == "relay"
    hidden = next(h for h in watch["holders"] if h["name"] == "郑海涛")
    assert hidden["call_relay"] is None and hidden["message"]["type"] == "in_app"
    sun = (await db.exec(select(User).where(User.phone == "+8613800000008"))).one()
    ledger = await app.client.get("/v1/duty/service-log", headers=f.auth(sun))
    assert ledger.status_code == 200 and ledger.json()["items"]
