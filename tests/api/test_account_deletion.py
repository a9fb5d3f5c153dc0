"""Account deletion (DELETE /v1/me): re-authentication, the 15-day cooling-off that a login cancels, the
erase job (workers/tasks/accounts.py) that removes what identifies a demo resident while KPIs, the closed
vote's result and its chain and the duty ledger stay as they were, resuming after a crash, and staff
refused while they hold open assignments."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo, demo_polls
from services.attachments.storage import LocalStorage, new_key
from services.bootstrap import Resources
from services.models import (
    Attachment,
    AuditLog,
    Community,
    Device,
    Membership,
    RefreshToken,
    Ticket,
    User,
    utcnow,
)
from services.models.audit import PrivacyExport
from services.models.duty import ServiceLog
from services.models.polls import Ballot, Poll
from services.security import hash_password
from services.users import deletion
from tests import factories as f
from tests.conftest import App
from workers.tasks import accounts

pytestmark = pytest.mark.calendar
PASSWORD = "tech-pass-2026"
PHONE, NAME = "+8613700000001", "王秀兰"  # a demo owner: a ballot in the closed vote, a device, a household


def _delete(client: httpx.AsyncClient, who: User | None, **body: object) -> Any:
    headers = f.auth(who) if who is not None else {}
    return client.request("DELETE", "/v1/me", json=body, headers=headers)


async def _code(app: App, phone: str) -> str:
    r = await app.client.post("/v1/auth/otp", json={"phone": phone})
    assert r.status_code == 202, r.text
    code = app.sms.last_code(phone)
    assert code is not None
    return code


async def _demo(db: AsyncSession, app: App, sessionmaker: Any) -> int:
    await demo.seed(app.settings, sessionmaker=sessionmaker)
    cid = (await db.exec(select(Community.id).where(Community.name == demo.COMMUNITY["name"]))).one()
    assert cid is not None
    return cid


async def _user(db: AsyncSession, phone: str) -> User:
    return (
        await db.exec(select(User).where(User.phone == phone).execution_options(populate_existing=True))
    ).one()


def _without_times(value: Any) -> Any:
    """A response without the moments it was computed at."""
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k not in ("computed_at", "as_of")}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


async def _everything_mentioning(db: AsyncSession, needles: list[str]) -> list[str]:
    """Every (table.column) whose text holds one of the needles: a scan of the whole database."""
    found = []
    tables = await db.run_sync(lambda s: sa.inspect(s.connection()).get_table_names())
    for table in tables:
        cols = await db.run_sync(lambda s, t=table: sa.inspect(s.connection()).get_columns(t))
        for c in cols:
            if not isinstance(c["type"], sa.String | sa.Text | sa.JSON):
                continue
            column = sa.column(c["name"])
            text = sa.cast(column, sa.Text) if isinstance(c["type"], sa.JSON) else column
            for raw in needles:
                # JSON is stored ASCII-escaped ("\\u738b…"): look for that form there.
                needle = json.dumps(raw)[1:-1] if isinstance(c["type"], sa.JSON) else raw
                stmt = (
                    sa.select(sa.func.count())
                    .select_from(sa.table(table))
                    .where(text.contains(needle, autoescape=True))
                )
                if (await db.execute(stmt)).scalar_one():
                    found.append(f"{table}.{c['name']}: {raw}")
    return found


async def test_reauthentication_is_required(app: App, db: AsyncSession) -> None:
    c = await f.community(db)
    h = await f.household(db, await f.building(db, c))
    u = await f.resident(db, h, name="甲")
    r = await _delete(app.client, None, code="123456")
    assert r.status_code == 401
    r = await _delete(app.client, u)
    assert r.status_code == 403 and r.json()["error"]["code"] == "account.reauth_required"
    r = await _delete(app.client, u, code="123456", password="x")
    assert r.status_code == 403 and r.json()["error"]["code"] == "account.reauth_required"
    r = await _delete(app.client, u, code="12ab56")
    assert r.status_code == 422
    r = await _delete(app.client, u, code="123456")  # no code was sent
    assert r.status_code == 422 and r.json()["error"]["code"] == "auth.otp_expired"
    await db.refresh(u)
    assert u.deletion_due_at is None


async def test_login_in_the_cooling_off_cancels(
    app: App, db: AsyncSession, frozen_clock: time_machine.Coordinates
) -> None:
    c = await f.community(db)
    h = await f.household(db, await f.building(db, c))
    u = await f.resident(db, h, name="乙")
    r = await _delete(app.client, u, code=await _code(app, u.phone))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["cooling_off_days"] == 15 and "冷静期" in body["message"]
    await db.refresh(u)
    assert u.deletion_due_at is not None and u.deletion_due_at - utcnow() > timedelta(days=14, hours=23)
    # Logged out everywhere: refresh tokens revoked.
    assert all(
        t.revoked_at for t in (await db.exec(select(RefreshToken).where(RefreshToken.user_id == u.id))).all()
    )
    r = await _delete(app.client, u, code="123456")
    assert r.status_code == 409 and r.json()["error"]["code"] == "account.deletion_pending"

    frozen_clock.shift(timedelta(days=14))
    r = await app.client.post("/v1/auth/login", json={"phone": u.phone, "code": await _code(app, u.phone)},
                              headers={"Accept-Language": "en"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert "cancelled" in r.json()["account_notice"]
    await db.refresh(u)
    assert u.deletion_due_at is None and u.deletion_requested_at is None
    # A later login says nothing; the job finds nobody to erase.
    frozen_clock.shift(timedelta(days=2))
    r = await app.client.post("/v1/auth/login", json={"phone": u.phone, "code": await _code(app, u.phone)})
    assert r.json()["account_notice"] is None
    assert await deletion.due_user_ids(db, utcnow(), 10) == []


async def test_a_login_before_the_job_ran_still_cancels(
    app: App, db: AsyncSession, engine: Any, sessionmaker: Any, frozen_clock: time_machine.Coordinates
) -> None:
    c = await f.community(db)
    u = await f.resident(db, await f.household(db, await f.building(db, c)), name="丙")
    assert (await _delete(app.client, u, code=await _code(app, u.phone))).status_code == 202
    frozen_clock.shift(timedelta(days=16))  # due, but the scheduler has not come round yet
    r = await app.client.post("/v1/auth/login", json={"phone": u.phone, "code": await _code(app, u.phone)})
    assert r.status_code == 200 and r.json()["account_notice"]
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    assert await accounts.erase_deleted_accounts(resources) == 0
    await db.refresh(u)
    assert u.name == "丙" and u.erased_at is None


async def test_staff_with_open_assignments_are_refused(
    app: App, db: AsyncSession, engine: Any, sessionmaker: Any, frozen_clock: time_machine.Coordinates
) -> None:
    w = await f.ticket_world(db)
    tech = w.technician
    tech.password_hash = hash_password(PASSWORD)
    db.add(tech)
    t = Ticket(community_id=w.community.id, kind="repair", category="plumbing", priority="normal",
               title="漏水", description="厨房漏水", status="assigned", assignee_id=tech.id,
               created_by_id=tech.id, household_id=w.household.id)  # fmt: skip
    db.add(t)
    await db.flush()
    r = await _delete(app.client, tech, password="wrong-password")
    assert r.status_code == 403 and r.json()["error"]["code"] == "account.reauth_failed"
    r = await _delete(app.client, tech, password=PASSWORD)
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "account.open_assignments" and err["details"] == {"tickets": 1, "shifts": 0}
    t.status = "closed"
    db.add(t)
    await db.flush()
    r = await _delete(app.client, tech, password=PASSWORD)
    assert r.status_code == 202, r.text
    # An invitation's audit snapshot holds the phone and name; the erasure scrubs them, keeps the row.
    db.add(AuditLog(action="membership.create", entity="membership", entity_id="1",
                    after={"phone": tech.phone, "name": tech.name, "role": "property_staff"}))  # fmt: skip
    await db.flush()
    # A data export they made: the archive holds their phone and name, so it goes too.
    storage = LocalStorage(app.settings.files_dir)
    archive = new_key(0, "zip")
    await storage.put(archive, b"PK archive " + tech.phone.encode(), "application/zip")
    db.add(PrivacyExport(user_id=tech.id or 0, status="ready", storage_key=archive))
    await db.flush()
    phone, name = tech.phone, tech.name
    assert f"audit_log.after: {name}" in await _everything_mentioning(db, [name])  # the scan reads JSON too
    frozen_clock.shift(timedelta(days=15, hours=1))
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    assert await accounts.erase_deleted_accounts(resources) == 1
    assert await _everything_mentioning(db, [phone, name]) == []
    assert (await db.exec(select(PrivacyExport).where(PrivacyExport.user_id == tech.id))).all() == []
    assert not (app.settings.files_dir / archive).exists()
    snapshot = (await db.exec(select(AuditLog).where(AuditLog.action == "membership.create"))).all()
    assert {"name": deletion.PLACEHOLDER_NAME, "phone": f"deleted-{tech.id}", "role": "property_staff"} in [
        a.after for a in snapshot
    ]


async def test_a_demo_resident_is_erased_and_what_others_rely_on_stays(
    app: App, db: AsyncSession, engine: Any, sessionmaker: Any, frozen_clock: time_machine.Coordinates
) -> None:
    cid = await _demo(db, app, sessionmaker)
    admin = await _user(db, "+8613800000012")
    chair = await _user(db, "+8613800000004")
    u = await _user(db, PHONE)
    uid = u.id
    vote = (await db.exec(select(Poll).where(Poll.title == demo_polls.VOTE_TITLE))).one()
    assert (await db.exec(select(Ballot).where(Ballot.poll_id == vote.id, Ballot.voter_id == uid))).first()
    # A photo of her home on her own ticket, and one she added to a neighbour's ticket (evidence).
    own = Ticket(community_id=cid, kind="repair", category="plumbing", priority="normal", title="卫生间漏水",
                 description="卫生间天花板漏水", status="closed", reporter_id=uid, created_by_id=uid)  # fmt: skip
    other = Ticket(community_id=cid, kind="repair", category="plumbing", priority="normal", title="楼上漏水",
                   description="楼上漏到我家", status="closed", reporter_id=admin.id, created_by_id=admin.id)  # fmt: skip
    db.add_all([own, other])
    await db.flush()
    ctx = await f.kpi_ctx(db, u)
    from services.attachments.service import store_upload

    home = await store_upload(ctx, community_id=cid, owner_type="ticket", owner_id=own.id or 0, purpose="before",  # type: ignore[arg-type]
                              data=f.jpeg_bytes(), original_name="我家卫生间.jpg")  # fmt: skip
    evidence = await store_upload(ctx, community_id=cid, owner_type="ticket", owner_id=other.id or 0,  # type: ignore[arg-type]
                                  purpose="before", data=f.jpeg_bytes(), original_name="证据.jpg")  # fmt: skip
    db.add(
        ServiceLog(user_id=uid or 0, community_id=cid, source="activity", source_id=1, hours=2, at=utcnow())
    )
    await db.flush()
    hours_before = sorted(
        float(h) for h in (await db.exec(select(ServiceLog.hours).where(ServiceLog.user_id == uid))).all()
    )

    last_month = utcnow().date().replace(day=1) - timedelta(days=1)
    month_end = last_month.replace(day=1) - timedelta(days=1)  # a month over for a month or more
    kpi_url = f"/v1/communities/{cid}/kpis?live=true&from={month_end - timedelta(days=200)}&to={month_end}"
    before = {
        "kpis": (await app.client.get(kpi_url, headers=f.auth(admin))).json(),
        "result": (await app.client.get(f"/v1/polls/{vote.id}/results", headers=f.auth(chair))).json(),
        "chain": (await app.client.get(f"/v1/polls/{vote.id}/ballots/verify", headers=f.auth(chair))).json(),
    }
    assert before["chain"]["ok"] is True
    assert f"user_account.phone: {PHONE}" in await _everything_mentioning(db, [PHONE])  # the scan sees her
    r = await _delete(app.client, u, code=await _code(app, PHONE))
    assert r.status_code == 202, r.text
    resources = Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    assert await accounts.erase_deleted_accounts(resources) == 0  # still cooling off
    frozen_clock.shift(timedelta(days=15, minutes=1))

    # A crash midway leaves her exactly as she was; the next run erases her from the start.
    real = deletion.PLACEHOLDER_NAME

    class Crash(RuntimeError):
        pass

    async def crash(*_: object) -> bool:
        raise Crash

    orig = deletion.is_erased
    deletion.is_erased = crash  # type: ignore[assignment]
    try:
        with pytest.raises(Crash):
            await accounts.erase_deleted_accounts(resources)
    finally:
        deletion.is_erased = orig  # type: ignore[assignment]
    u = await _user(db, PHONE)
    assert u.name == NAME and u.erased_at is None
    assert (await db.exec(select(Device).where(Device.user_id == uid))).first() is not None
    assert await accounts.erase_deleted_accounts(resources) == 1
    assert await accounts.erase_deleted_accounts(resources) == 0  # nothing left to do

    gone = (await db.exec(select(User).where(User.id == uid).execution_options(populate_existing=True))).one()
    assert (gone.name, gone.phone, gone.password_hash) == (real, f"deleted-{uid}", None)
    assert gone.erased_at is not None and gone.disabled_at is not None
    assert (await db.exec(select(Device).where(Device.user_id == uid))).first() is None
    assert (await db.exec(select(RefreshToken).where(RefreshToken.user_id == uid))).first() is None
    memberships = (await db.exec(select(Membership.status).where(Membership.user_id == uid))).all()
    assert memberships and set(memberships) == {"revoked"}
    photos = {a.id: a for a in (await db.exec(select(Attachment).where(col(Attachment.id).in_([home.id, evidence.id]))
                                               .execution_options(populate_existing=True))).all()}  # fmt: skip
    assert photos[home.id].deleted_at is not None
    assert photos[evidence.id].deleted_at is None  # someone else's ticket keeps its evidence
    # The erasure removes every size of the home photo (services/users/deletion.py: file_keys()).
    assert len(photos[home.id].file_keys()) == 3
    # Nothing identifying remains anywhere in the database.
    assert await _everything_mentioning(db, [PHONE, NAME, PHONE.removeprefix("+86")]) == []

    # What others rely on is unchanged: KPIs, the closed vote's result and its chain, service hours.
    after = {
        "kpis": (await app.client.get(kpi_url, headers=f.auth(admin))).json(),
        "result": (await app.client.get(f"/v1/polls/{vote.id}/results", headers=f.auth(chair))).json(),
        "chain": (await app.client.get(f"/v1/polls/{vote.id}/ballots/verify", headers=f.auth(chair))).json(),
    }
    assert _without_times(after) == _without_times(before)
    hours = (await db.exec(select(ServiceLog.hours).where(ServiceLog.user_id == uid))).all()
    assert sorted(float(h) for h in hours) == hours_before and 2.0 in hours_before
    # The old token no longer works, and the phone can sign up afresh as a new person.
    r = await app.client.get("/v1/me", headers=f.auth(gone))
    assert r.status_code == 401
    r = await app.client.post("/v1/auth/login", json={"phone": PHONE, "code": await _code(app, PHONE)})
    assert r.status_code == 200 and r.json()["user"]["id"] != uid
