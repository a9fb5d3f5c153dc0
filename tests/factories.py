"""Build rows directly for test set-up; the behaviour under test always goes through HTTP."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import (
    Building,
    Community,
    Household,
    ManagementContract,
    Membership,
    MembershipStatus,
    PropertyCompany,
    Role,
    User,
)
from services.security import hash_password, issue_access_token

_seq = itertools.count(1)
SECRET = "test-secret-" + "x" * 40


def phone() -> str:
    return f"+86139{next(_seq):08d}"


async def community(db: AsyncSession, name: str | None = None) -> Community:
    row = Community(name=name or f"测试小区{next(_seq)}", address="测试路 1 号", built_year=1985)
    db.add(row)
    await db.flush()
    return row


async def building(db: AsyncSession, c: Community, name: str | None = None) -> Building:
    assert c.id is not None
    row = Building(community_id=c.id, name=name or f"{next(_seq)}号楼", floors=6)
    db.add(row)
    await db.flush()
    return row


async def household(db: AsyncSession, b: Building, room: str | None = None, area: str = "60.50") -> Household:
    assert b.id is not None
    row = Household(
        community_id=b.community_id, building_id=b.id, room=room or str(next(_seq)), area_m2=Decimal(area)
    )
    db.add(row)
    await db.flush()
    return row


async def user(db: AsyncSession, name: str = "测试用户", password: str | None = None) -> User:
    row = User(phone=phone(), name=name, password_hash=hash_password(password) if password else None)
    db.add(row)
    await db.flush()
    return row


async def member(
    db: AsyncSession,
    u: User,
    role: Role,
    *,
    community_id: int | None = None,
    company_id: int | None = None,
    household_id: int | None = None,
    relation: str | None = None,
    status: MembershipStatus = MembershipStatus.verified,
) -> Membership:
    assert u.id is not None
    row = Membership(
        user_id=u.id,
        role=role,
        community_id=community_id,
        company_id=company_id,
        household_id=household_id,
        relation=relation,
        status=status,
    )
    db.add(row)
    await db.flush()
    return row


async def resident(db: AsyncSession, h: Household, relation: str = "owner", name: str = "住户") -> User:
    u = await user(db, name)
    await member(db, u, Role.resident, community_id=h.community_id, household_id=h.id, relation=relation)
    return u


async def company_managing(db: AsyncSession, c: Community) -> PropertyCompany:
    assert c.id is not None
    co = PropertyCompany(name=f"物业公司{next(_seq)}")
    db.add(co)
    await db.flush()
    assert co.id is not None
    db.add(ManagementContract(company_id=co.id, community_id=c.id, starts_on=date(2024, 1, 1)))
    await db.flush()
    return co


def auth(u: User, minutes: int = 15) -> dict[str, str]:
    assert u.id is not None
    token, _ = issue_access_token(SECRET, "linli", u.id, minutes)
    return {"Authorization": f"Bearer {token}"}


# --- places and people (communities area) ---------------------------------------------------------


async def platform_admin(db: AsyncSession, name: str = "平台管理员") -> User:
    u = await user(db, name)
    await member(db, u, Role.platform_admin)
    return u


async def community_staff(db: AsyncSession, c: Community, role: Role, name: str = "工作人员") -> User:
    """A verified community role (community_admin, committee_member, grid_worker, ...)."""
    u = await user(db, name)
    await member(db, u, role, community_id=c.id)
    return u


async def company_staff(
    db: AsyncSession, co: PropertyCompany, role: Role = Role.property_manager, name: str = "物业经理"
) -> User:
    """A verified company role; it reaches the communities the company manages under contract."""
    u = await user(db, name)
    await member(db, u, role, company_id=co.id)
    return u


# --- tickets ---------------------------------------------------------------------------------------


class TicketWorld:
    """A community with a managing company, a verified resident and the people around tickets."""

    community: Community
    building: Building
    household: Household
    company: PropertyCompany
    resident: User
    manager: User
    technician: User
    technician2: User
    committee: User
    admin: User

    @property
    def cid(self) -> int:
        assert self.community.id is not None
        return self.community.id


async def ticket_world(db: AsyncSession) -> TicketWorld:
    w = TicketWorld()
    w.community = await community(db)
    w.building = await building(db, w.community)
    w.household = await household(db, w.building)
    w.company = await company_managing(db, w.community)
    w.resident = await resident(db, w.household, name="报修住户")
    w.manager = await company_staff(db, w.company, Role.property_manager, "物业经理")
    w.technician = await company_staff(db, w.company, Role.property_staff, "维修工甲")
    w.technician2 = await company_staff(db, w.company, Role.property_staff, "维修工乙")
    w.committee = await community_staff(db, w.community, Role.committee_member, "业委会委员")
    w.admin = await community_staff(db, w.community, Role.community_admin, "居委会")
    return w


def ticket_body(household_id: int | None, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "kind": "repair",
        "category": "plumbing",
        "title": "厨房水管漏水",
        "description": "水槽下方水管接头滴水",
        "household_id": household_id,
    }
    body.update(overrides)
    return body


def jpeg_bytes(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


import httpx  # noqa: E402  (appended section)


async def file_ticket(client: httpx.AsyncClient, w: TicketWorld, **overrides: object) -> dict[str, object]:
    """File a ticket over HTTP as the world's resident; returns the ticket JSON."""
    assert w.household.id is not None
    r = await client.post(
        f"/v1/communities/{w.cid}/tickets",
        json=ticket_body(w.household.id, **overrides),
        headers=auth(w.resident),
    )
    assert r.status_code == 201, r.text
    data: dict[str, object] = r.json()
    return data


async def act(
    client: httpx.AsyncClient, who: User, ticket: dict[str, object], action: str, **body: object
) -> httpx.Response:
    """POST a transition with the ticket's current version; returns the httpx response."""
    payload = {"action": action, "version": ticket["version"], **body}
    return await client.post(f"/v1/tickets/{ticket['id']}/transitions", json=payload, headers=auth(who))


async def upload_photo(
    client: httpx.AsyncClient,
    who: User,
    ticket_id: object,
    purpose: str = "before",
    data: bytes | None = None,
    name: str = "p.jpg",
) -> httpx.Response:
    return await client.post(
        f"/v1/tickets/{ticket_id}/attachments",
        files={"file": (name, data if data is not None else jpeg_bytes(), "image/jpeg")},
        data={"purpose": purpose},
        headers=auth(who),
    )


# --- notices ---------------------------------------------------------------------------------------


class NoticeWorld:
    """A community with two buildings (two households each, one resident per household), a managing
    company with its manager, a committee member, a community admin and a pending claimant."""

    community: Community
    buildings: list[Building]
    households: list[Household]
    residents: list[User]
    company: PropertyCompany
    manager: User
    committee: User
    admin: User
    pending: User

    @property
    def cid(self) -> int:
        assert self.community.id is not None
        return self.community.id


async def notice_world(db: AsyncSession) -> NoticeWorld:
    w = NoticeWorld()
    w.community = await community(db)
    w.buildings = [await building(db, w.community, "1号楼"), await building(db, w.community, "2号楼")]
    w.households = [await household(db, b, room=f"{i + 1}01") for b in w.buildings for i in range(2)]
    w.residents = [await resident(db, h, name=f"住户{i + 1}") for i, h in enumerate(w.households)]
    w.company = await company_managing(db, w.community)
    w.manager = await company_staff(db, w.company, Role.property_manager, "物业经理")
    w.committee = await community_staff(db, w.community, Role.committee_member, "业委会委员")
    w.admin = await community_staff(db, w.community, Role.community_admin, "居委会")
    w.pending = await user(db, "待认证")
    await member(
        db,
        w.pending,
        Role.resident,
        community_id=w.cid,
        household_id=w.households[0].id,
        relation="tenant",
        status=MembershipStatus.pending,
    )
    return w


def notice_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {"kind": "announcement", "title": "停水通知", "body_md": "**明天**停水"}
    body.update(overrides)
    return body


async def post_notice(
    client: httpx.AsyncClient, who: User, cid: int, *, publish: bool = True, **overrides: object
) -> dict[str, object]:
    """Create (and by default publish) a notice over HTTP; returns the notice JSON."""
    r = await client.post(f"/v1/communities/{cid}/notices", json=notice_body(**overrides), headers=auth(who))
    assert r.status_code == 201, r.text
    data: dict[str, object] = r.json()
    if publish:
        r = await client.post(f"/v1/notices/{data['id']}/publish", headers=auth(who))
        assert r.status_code == 200, r.text
        data = r.json()
    return data


# --- polls -----------------------------------------------------------------------------------------


class PollWorld:
    """A community with households of given areas: an owner (+ family member) in the first, a tenant
    in the second, a committee member, a community admin and a resident of another community."""

    community: Community
    building: Building
    households: list[Household]
    owner: User
    family: User
    tenant: User
    committee: User
    admin: User
    outsider: User

    @property
    def cid(self) -> int:
        assert self.community.id is not None
        return self.community.id


async def poll_world(
    db: AsyncSession, areas: tuple[str, ...] = ("60.00", "40.00", "50.00", "50.00")
) -> PollWorld:
    w = PollWorld()
    w.community = await community(db)
    w.building = await building(db, w.community)
    w.households = [await household(db, w.building, area=a) for a in areas]
    w.owner = await resident(db, w.households[0], "owner", "业主甲")
    w.family = await resident(db, w.households[0], "family", "家属甲")
    w.tenant = await resident(db, w.households[1], "tenant", "租户乙")
    w.committee = await community_staff(db, w.community, Role.committee_member, "业委会委员")
    w.admin = await community_staff(db, w.community, Role.community_admin, "居委会")
    other = await community(db)
    w.outsider = await resident(db, await household(db, await building(db, other)), "owner", "外小区业主")
    return w


async def owners_of(db: AsyncSession, w: PollWorld, indexes: range | list[int]) -> list[User]:
    """Give households[i] an owner each (households[0] keeps w.owner) and return them in order."""
    out = []
    for i in indexes:
        out.append(w.owner if i == 0 else await resident(db, w.households[i], "owner", f"业主{i}"))
    return out


def poll_body(**overrides: object) -> dict[str, object]:
    from datetime import UTC, datetime, timedelta

    body: dict[str, object] = {
        "title": "是否同意更换屋面防水",
        "kind": "vote",
        "questions": [{"text": "您是否同意？", "type": "single", "options": ["同意", "反对", "弃权"]}],
        "closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
    }
    body.update(overrides)
    return body


async def create_poll(
    client: httpx.AsyncClient, who: User, cid: int, **overrides: object
) -> dict[str, object]:
    r = await client.post(f"/v1/communities/{cid}/polls", json=poll_body(**overrides), headers=auth(who))
    assert r.status_code == 201, r.text
    data: dict[str, object] = r.json()
    return data


def choice(poll: dict[str, object], question: int = 0, option: int = 0) -> dict[str, object]:
    """An answer picking option `option` of question `question` of a poll JSON."""
    q = poll["questions"][question]  # type: ignore[index]
    return {"question_id": q["id"], "option_ids": [q["options"][option]["id"]]}


async def cast(
    client: httpx.AsyncClient, who: User, poll: dict[str, object], household: Household, *answers: object
) -> httpx.Response:
    body = {"household_id": household.id, "answers": list(answers) or [choice(poll)]}
    return await client.post(f"/v1/polls/{poll['id']}/ballots", json=body, headers=auth(who))


# --- red property: duty posts, shifts, activities (appended) ------------------------------------

from datetime import datetime, timedelta  # noqa: E402  (appended section)
from typing import Any  # noqa: E402


class DutyWorld:
    """A community at a known location with two buildings, a resident in each, the party secretary,
    two party members, a grid worker and a stranger from another community."""

    community: Community
    other: Community
    b1: Building
    b2: Building
    h1: Household
    h2: Household
    resident1: User
    resident2: User
    secretary: User
    member1: User
    member2: User
    grid: User
    stranger: User

    @property
    def cid(self) -> int:
        assert self.community.id is not None
        return self.community.id


DUTY_LAT, DUTY_LNG = 31.27853, 121.53021


async def duty_world(db: AsyncSession) -> DutyWorld:
    from services.models.people import Role as R

    w = DutyWorld()
    w.community = await community(db)
    w.community.latitude, w.community.longitude, w.community.radius_m = DUTY_LAT, DUTY_LNG, 300
    db.add(w.community)
    w.other = await community(db)
    w.b1 = await building(db, w.community, "1号楼")
    w.b2 = await building(db, w.community, "2号楼")
    w.h1 = await household(db, w.b1)
    w.h2 = await household(db, w.b2)
    w.resident1 = await resident(db, w.h1, name="一号楼住户")
    w.resident2 = await resident(db, w.h2, name="二号楼住户")
    w.secretary = await community_staff(db, w.community, R.party_secretary, "党支部书记")
    w.member1 = await community_staff(db, w.community, R.party_member, "党员甲")
    w.member2 = await community_staff(db, w.community, R.party_member, "党员乙")
    w.grid = await community_staff(db, w.community, R.grid_worker, "网格员")
    h_other = await household(db, await building(db, w.other))
    w.stranger = await resident(db, h_other, name="外小区住户")
    await db.flush()
    return w


async def duty_post(
    db: AsyncSession, w: DutyWorld, category: str = "security_watch", building_ids: list[int] | None = None
) -> Any:
    from services.models.duty import DutyPost

    assert w.secretary.id is not None
    row = DutyPost(
        community_id=w.cid,
        category=category,
        description="夜间巡逻",
        building_ids=building_ids or [],
        headcount=2,
        created_by=w.secretary.id,
    )
    db.add(row)
    await db.flush()
    return row


async def duty_assign(db: AsyncSession, post: Any, u: User, role: str = "member", days_back: int = 30) -> Any:
    from services.models.duty import DutyAssignment

    assert u.id is not None
    row = DutyAssignment(
        post_id=post.id, user_id=u.id, role=role, starts_on=date.today() - timedelta(days=days_back)
    )
    db.add(row)
    await db.flush()
    return row


async def duty_shift(
    db: AsyncSession, post: Any, users: list[User], starts_at: datetime, hours: float = 2
) -> Any:
    """A shift with its assignees, written directly (for check-in and job tests)."""
    from services.models.duty import DutyShift, DutyShiftAssignee

    row = DutyShift(
        post_id=post.id,
        community_id=post.community_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        created_by=post.created_by,
    )
    db.add(row)
    await db.flush()
    for u in users:
        assert u.id is not None
        db.add(DutyShiftAssignee(shift_id=row.id or 0, user_id=u.id))
    await db.flush()
    return row


# --- KPIs: random ticket histories driven through the real transition engine ----------------------

import datetime as _dt  # noqa: E402  (appended section)
import random  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402


class KpiHistory:
    """A TicketWorld plus the moments its random history used (for the test's own recomputation)."""

    def __init__(self, w: TicketWorld, ctx: object, tz: ZoneInfo) -> None:
        self.w, self.ctx, self.tz = w, ctx, tz
        self.ticket_ids: list[int] = []


async def kpi_ctx(db: AsyncSession, u: User) -> object:
    from services.access import load_principal
    from services.config import Settings
    from services.notifications.sms import LogSmsProvider
    from services.runtime import Ctx, Runtime

    settings = Settings(env="test", jwt_secret=SECRET)  # type: ignore[arg-type]
    assert u.id is not None
    return Ctx(session=db, runtime=Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None)),
               principal=await load_principal(db, u.id))  # fmt: skip


def boundary_instant(rng: random.Random, tz: ZoneInfo, first: _dt.datetime, days: int) -> _dt.datetime:
    """A random instant; often exactly at, or a second/minute around, a local midnight or month end."""
    local = first.astimezone(tz) + _dt.timedelta(days=rng.randrange(days))
    roll = rng.random()
    if roll < 0.45:
        day = local.date()
        if rng.random() < 0.5:  # a month end
            day = (day.replace(day=28) + _dt.timedelta(days=4)).replace(day=1)
        midnight = _dt.datetime(day.year, day.month, day.day, tzinfo=tz)
        return (midnight + _dt.timedelta(seconds=rng.choice([-60, -1, 0, 0, 1, 60]))).astimezone(_dt.UTC)
    return (local + _dt.timedelta(seconds=rng.randrange(86400))).astimezone(_dt.UTC)


async def _after_photo(db: AsyncSession, w: TicketWorld, ticket_id: int) -> None:
    from services.models import Attachment

    db.add(Attachment(community_id=w.cid, owner_type="ticket", owner_id=ticket_id, purpose="after",
                      content_type="image/jpeg", size_bytes=1, sha256="0" * 64, storage_key=f"k/{ticket_id}",
                      uploaded_by=w.technician.id or 0))  # fmt: skip
    await db.flush()


STEPS = [_dt.timedelta(minutes=m) for m in (1, 40, 300, 1440, 4320)]
REFUSED: list[tuple[str, str]] = []  # (action, error code) the engine refused, for debugging


async def random_history(
    db: AsyncSession, h: KpiHistory, rng: random.Random, tickets: int, first: _dt.datetime, days: int
) -> None:
    """File `tickets` tickets and walk each through random transitions at controlled moments:
    accept/assign/start, pauses and resumes, resolve, close, reopen, cancel, reject, ratings,
    complaint classification; many moments sit on local midnights and month ends."""
    from services.errors import DomainError
    from services.models.tickets import Ticket, TicketRating
    from services.tickets.events import write_event
    from services.tickets.schemas import TransitionIn
    from services.tickets.service import open_ticket
    from services.tickets.transitions import Call, apply

    w = h.w
    for _ in range(tickets):
        at = boundary_instant(rng, h.tz, first, days)
        kind = "complaint" if rng.random() < 0.3 else "repair"
        t = await open_ticket(h.ctx, community_id=w.cid, kind=kind, category="plumbing",  # type: ignore[arg-type]
                              priority=rng.choice(["urgent", "high", "normal", "low"]), title="t", description="",
                              reporter_id=w.resident.id or 0, intake_channel="app", household=w.household, now=at)  # fmt: skip
        assert t.id is not None
        h.ticket_ids.append(t.id)
        await _after_photo(db, w, t.id)
        for _step in range(rng.randrange(0, 14)):
            if rng.random() < 0.25:  # jump to just before/after a local midnight
                local = (at + _dt.timedelta(days=rng.randrange(0, 3))).astimezone(h.tz)
                nxt = _dt.datetime(local.year, local.month, local.day, tzinfo=h.tz) + _dt.timedelta(days=1)
                at = max(at, (nxt + _dt.timedelta(seconds=rng.choice([-1, 0, 1]))).astimezone(_dt.UTC))
            else:
                at = at + rng.choice(STEPS) * rng.random()
            options = {
                "submitted": ["accept", "assign", "cancel", "reject"],
                "accepted": ["assign", "cancel", "reject"],
                "assigned": ["start", "pause", "cancel"],
                "in_progress": ["pause", "resolve", "resolve"],
                "paused": ["resume"],
                "resolved": ["close", "reopen", "rate"],
                "closed": ["reopen", "rate"],
            }.get(t.status, [])
            if kind == "complaint" and t.status != "cancelled":
                options.append("classify")
            if not options:
                break
            action = rng.choice(options)
            if action == "rate":
                if t.rating_overall is None:
                    overall = rng.choice([1, 2, 3, 4, 5, 5])
                    db.add(TicketRating(ticket_id=t.id, community_id=w.cid, user_id=w.resident.id or 0,
                                        overall=overall, speed=overall, attitude=overall, created_at=at, updated_at=at))  # fmt: skip
                    t.rating_overall = overall
                    db.add(t)
                    await write_event(db, t, "rate", actor_id=w.resident.id, from_status=t.status,
                                      to_status=t.status, data={"overall": overall}, at=at)  # fmt: skip
                continue
            body = TransitionIn(action=action, version=t.version, reason="因为", note="说明",  # type: ignore[arg-type]
                                reason_code={"pause": "waiting_for_parts", "reject": "invalid"}.get(action),
                                assignee_id=w.technician.id, valid=rng.random() < 0.7)  # fmt: skip
            try:
                await apply(Call(db, h.ctx, t, body, at, w.manager.id), action)  # type: ignore[arg-type]
            except DomainError as exc:
                REFUSED.append((action, exc.code))
                continue  # e.g. a reopen outside its window: the engine refused, as in real life
        fresh = await db.get(Ticket, t.id)
        assert fresh is not None


async def random_greening(
    db: AsyncSession, h: KpiHistory, rng: random.Random, count: int, first: _dt.datetime, days: int
) -> None:
    from services.models.tickets import Inspection, InspectionItem

    w = h.w
    for _ in range(count):
        at = boundary_instant(rng, h.tz, first, days)
        ins = Inspection(community_id=w.cid, kind="greening", area="中心绿地", inspector_id=w.technician.id or 0,
                         inspected_at=at, created_at=at)  # fmt: skip
        db.add(ins)
        await db.flush()
        for k in range(rng.randrange(1, 4)):
            db.add(InspectionItem(inspection_id=ins.id or 0, community_id=w.cid, kind="greening", name=f"项{k}",
                                  passed=rng.random() < 0.85, created_at=at))  # fmt: skip
    await db.flush()


def error_body(r: Any) -> dict[str, Any]:
    """The error body without its request id (every response has its own): for "the same answer as a
    missing id" comparisons."""
    body: dict[str, Any] = r.json()
    return {"error": {k: v for k, v in body["error"].items() if k != "request_id"}}


# --- alarms (issue 15) -------------------------------------------------------------------------------

import hashlib  # noqa: E402  (appended section)
import hmac  # noqa: E402
import secrets  # noqa: E402


async def alarm_device(client: Any, who: User, community_id: int, **overrides: object) -> dict[str, Any]:
    """Register a device through the API; the answer carries its one-time `secret`."""
    body: dict[str, object] = {
        "kind": "camera",
        "serial": f"DS-{secrets.token_hex(5).upper()}",
        "name": "东门摄像机",
    }
    body.update(overrides)
    r = await client.post(f"/v1/communities/{community_id}/alarm-devices", json=body, headers=auth(who))
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def webhook_headers(serial: str, secret: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    """The three headers of a signed webhook, signed at the (frozen) clock's now unless `ts` is given."""
    stamp = str(ts if ts is not None else int(_dt.datetime.now(_dt.UTC).timestamp()))
    sig = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "X-Linli-Device": serial,
        "X-Linli-Timestamp": stamp,
        "X-Linli-Signature": sig,
        "Content-Type": "application/json",
    }
