"""BENCH REFERENCE, NOT PRODUCT CODE: the "lean same-work app" of issue 17's request floor.

A throwaway FastAPI app that does, per endpoint, the same database and CPU work Linli does for the
same request, written the shortest way: SQLAlchemy Core on asyncpg, one `engine.begin()` transaction
per request, no dependency-injected unit of work, no middleware, no response models (orjson bytes
out). It exists so bench/floor_bench.py can say how much of Linli's CPU per request is its layers
(Ctx, sessions, ORM objects, pydantic response models, middleware) and how much is the work itself.
Nothing imports it but the bench; it answers only the happy path (errors are bare 401/403/404).

It shares Linli's table definitions (services.models …__table__), the label catalogue and the KPI
metric catalogue (static data), and the token library and secret (PyJWT HS256, LINLI_JWT_SECRET).

Every authenticated endpoint: verify the bearer JWT (signature, exp, iat, sub, iss, typ) and load the
caller as Linli's load_principal does (user ⟕ verified/pending memberships in one statement, with
the communities a company role's company manages today folded in).

- POST /v1/communities/{cid}/tickets — validates the body with Linli's TicketCreate; checks the caller
  is a verified resident of that household; looks the Idempotency-Key up (user, key) and replays a
  stored answer; reads the household; reads the community's zone ⟕ matching SLA overrides (24x7
  defaults: due times are created_at + minutes, computed simply — no business-hours calendar walk);
  inserts the ticket, its `create` event, one inbox row per property manager (managers found as Linli
  does: direct or through an active contract), reads opt-outs and quiet hours of those managers,
  inserts one push delivery per enabled device (INSERT … SELECT), stores the idempotency record,
  commits, then XADDs the delivery ids to a Redis stream. Skips: occupant / on-behalf / public-area
  filing, the occupant SMS, the special (quiet-hours) delivery path, allowed_actions / contact in the
  answer, the request-id / security-header middleware and the access log.
- GET /v1/tickets — the same keyset page (id DESC, `id < cursor`), the same scope predicate as
  services.tickets.queries.scope (resident households, manager/committee/admin communities,
  technicians' own + grab queue), status / community_id filters, overdue flag and the five labels per
  row. Skips: the other filters (kind, q, building, created range, queue, valid).
- GET /v1/me — user + memberships (the principal), the verified households joined with building and
  community names, roles per community.
- GET /v1/communities/{cid}/kpis — reader check, the community row, the snapshot rows of the range
  (one statement, as compute.stored), the roll-up state, the community's targets; builds every
  metric's series from the static catalogue. Skips: the live fill of unrolled periods, the partial
  current period, the few-cases label, the company dashboard cache.
- GET /v1/notices — the feed statement (published, unexpired, audience, the caller's receipt left
  joined for unread / acked), pinned first; after the answer, in a transaction of its own, the
  UPDATE marking the page's undelivered receipts (as Linli's deferred write, only when there are).
- GET /v1/notifications and /v1/notifications/unread-count — the inbox page (id DESC keyset) and the
  badge count (capped at 999, as Linli).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import jwt
import orjson
import redis.asyncio as aioredis
import sqlalchemy as sa
from fastapi import BackgroundTasks, FastAPI, HTTPException, Query, Request, Response
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from services.kpis.metrics import METRICS
from services.kpis.service import definition_of
from services.labels import label, zh
from services.models import (
    Building,
    Community,
    Delivery,
    Device,
    Household,
    IdempotencyRecord,
    ManagementContract,
    Membership,
    Notification,
    NotificationPreference,
    QuietHours,
    User,
)
from services.models.kpis import KpiRollupState, KpiSnapshot, KpiTarget
from services.models.notices import Notice, NoticeReceipt
from services.models.sla import SlaPolicy
from services.models.tickets import Ticket, TicketEvent
from services.tickets.schemas import TicketCreate
from services.tickets.sla import DEFAULT_TARGETS

SECRET = os.environ["LINLI_JWT_SECRET"]
DB_URL = os.environ["LINLI_DATABASE_URL"]
REDIS_URL = os.environ.get("LINLI_REDIS_URL", "redis://127.0.0.1:6379/0")
STREAM = "lean:deliveries"

engine = create_async_engine(DB_URL, pool_size=10, max_overflow=20)
redis = aioredis.from_url(REDIS_URL)
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

T, E, U, M, MC = (x.__table__ for x in (Ticket, TicketEvent, User, Membership, ManagementContract))  # type: ignore[attr-defined]
H, B, C, N, D = (x.__table__ for x in (Household, Building, Community, Notification, Delivery))  # type: ignore[attr-defined]
DEV, PREF, QH, IR = (x.__table__ for x in (Device, NotificationPreference, QuietHours, IdempotencyRecord))  # type: ignore[attr-defined]
KS, KR, KT, NO, NR = (x.__table__ for x in (KpiSnapshot, KpiRollupState, KpiTarget, Notice, NoticeReceipt))  # type: ignore[attr-defined]
SP = SlaPolicy.__table__  # type: ignore[attr-defined]
IDS = ARRAY(sa.BigInteger())

READ_ALL = {"property_manager", "committee_member", "community_admin"}
READ_STAFF = {"property_manager", "committee_member"}
KPI_READERS = {
    "community_admin",
    "committee_member",
    "party_secretary",
    "grid_worker",
    "property_manager",
    "resident",
}
RUNNING = ("submitted", "accepted", "assigned", "in_progress")
LIST_LABELS = {
    "status": "ticket.status",
    "kind": "ticket.kind",
    "category": "ticket.category",
    "priority": "ticket.priority",
    "intake_channel": "ticket.intake_channel",
}
LIST_COLS = [
    T.c[n]
    for n in (
        "id",
        "community_id",
        "building_id",
        "household_id",
        "kind",
        "category",
        "priority",
        "status",
        "title",
        "reporter_id",
        "occupant_id",
        "place",
        "assignee_id",
        "intake_channel",
        "response_due_at",
        "resolution_due_at",
        "version",
        "created_at",
    )
]
TICKET_DEFAULTS = {c.name: c.default.arg for c in T.c if c.default is not None and c.default.is_scalar}


def now() -> datetime:
    return datetime.now(UTC)


def js(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def cursor_of(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).rstrip(b"=").decode()


def id_after(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        last = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["id"]
    except Exception as exc:
        raise HTTPException(422, "bad cursor") from exc
    return int(last)


# --------------------------------------------------------------------------- the caller

# The communities a company membership's company manages today, folded in as "1,7,12".
MANAGED = (
    sa.select(sa.func.string_agg(sa.cast(MC.c.community_id, sa.Text), sa.literal_column("','")))
    .where(
        MC.c.company_id == M.c.company_id,
        MC.c.starts_on <= sa.bindparam("today"),
        sa.or_(MC.c.ends_on.is_(None), MC.c.ends_on >= sa.bindparam("today")),
    )
    .correlate(M)
    .scalar_subquery()
)
PRINCIPAL = (
    sa.select(
        U.c.id,
        U.c.phone,
        U.c.name,
        U.c.locale,
        U.c.disabled_at,
        M.c.role,
        M.c.status,
        M.c.community_id,
        M.c.company_id,
        M.c.household_id,
        M.c.relation,
        sa.case((M.c.company_id.is_not(None), MANAGED)).label("managed"),
    )
    .outerjoin(
        M,
        sa.and_(M.c.user_id == U.c.id, sa.or_(M.c.status == "verified", M.c.status == "pending")),
    )
    .where(U.c.id == sa.bindparam("uid"))
)


class Caller:
    __slots__ = ("admin", "homes", "id", "roles", "user")

    def __init__(self, uid: int, user: Any) -> None:
        self.id, self.user, self.admin = uid, user, False
        self.roles: dict[int, set[str]] = defaultdict(set)
        self.homes: dict[int, dict[int, str]] = defaultdict(dict)


async def caller(conn: AsyncConnection, request: Request) -> Caller:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        claims = jwt.decode(
            token,
            SECRET,
            algorithms=["HS256"],
            issuer="linli",
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        assert scheme.lower() == "bearer" and claims.get("typ") == "access"
        uid = int(claims["sub"])
    except Exception as exc:
        raise HTTPException(401, "auth.invalid_token") from exc
    rows = (await conn.execute(PRINCIPAL, {"uid": uid, "today": date.today()})).all()
    if not rows or rows[0].disabled_at is not None:
        raise HTTPException(401, "auth.invalid_token")
    me = Caller(uid, rows[0])
    for r in rows:
        if r.role is None or r.status != "verified":
            continue
        if r.role == "platform_admin":
            me.admin = True
        elif r.company_id is not None:
            for community_id in r.managed.split(",") if r.managed else ():
                me.roles[int(community_id)].add(r.role)
        elif r.community_id is not None:
            me.roles[r.community_id].add(r.role)
            if r.role == "resident" and r.household_id is not None:
                me.homes[r.community_id][r.household_id] = r.relation or ""
    return me


def need(me: Caller, cid: int, roles: set[str] | None = None) -> None:
    if me.admin:
        return
    if cid not in me.roles:
        raise HTTPException(404, "community.not_found")
    if roles and not roles & me.roles[cid]:
        raise HTTPException(403, "access.forbidden")


def scope(me: Caller) -> Any:
    """services.tickets.queries.scope, restated."""
    if me.admin:
        return sa.true()
    ors: list[Any] = [T.c.reporter_id == me.id]
    homes = sorted({h for per in me.homes.values() for h in per})
    if homes:
        ors.append(sa.and_(T.c.household_id.in_(homes), T.c.kind != "complaint"))
    full = sorted(c for c, r in me.roles.items() if r & READ_STAFF)
    if full:
        ors.append(T.c.community_id.in_(full))
    others = sorted(c for c, r in me.roles.items() if r & READ_ALL and c not in full)
    if others:
        ors.append(sa.and_(T.c.community_id.in_(others), T.c.about_staff_id.is_(None)))
    staff = sorted(c for c, r in me.roles.items() if "property_staff" in r)
    if staff:
        queue = sa.and_(
            T.c.assignee_id.is_(None),
            T.c.status.in_(("submitted", "accepted")),
            sa.or_(T.c.kind != "complaint", T.c.complaint_target != "neighbour"),
        )
        mine = sa.or_(T.c.assignee_id == me.id, T.c.created_by_id == me.id, queue)
        ors.append(sa.and_(T.c.community_id.in_(staff), T.c.about_staff_id.is_(None), mine))
    member = T.c.community_id.in_(sorted(me.roles)) if me.roles else sa.false()
    return sa.and_(member, sa.or_(*ors))


def overdue(
    status: str, response_due: datetime | None, resolution_due: datetime | None, at: datetime
) -> bool:
    if status == "submitted" and response_due is not None and response_due < at:
        return True
    return status in RUNNING and resolution_due is not None and resolution_due < at


# --------------------------------------------------------------------------- tickets

POLICY = (
    sa.select(C.c.time_zone, SP.c.category, SP.c.response_minutes, SP.c.resolution_minutes)
    .select_from(
        C.outerjoin(
            SP,
            sa.and_(
                SP.c.community_id == C.c.id,
                SP.c.kind == sa.bindparam("kind"),
                SP.c.priority == sa.bindparam("priority"),
                SP.c.category.in_([sa.bindparam("category"), ""]),
            ),
        )
    )
    .where(C.c.id == sa.bindparam("cid"))
)
MANAGERS = (
    sa.select(M.c.user_id)
    .where(
        M.c.status == "verified",
        M.c.role == "property_manager",
        sa.or_(
            M.c.community_id == sa.bindparam("cid"),
            M.c.company_id.in_(
                sa.select(MC.c.company_id).where(
                    MC.c.community_id == sa.bindparam("cid"),
                    MC.c.starts_on <= sa.bindparam("today"),
                    sa.or_(MC.c.ends_on.is_(None), MC.c.ends_on >= sa.bindparam("today")),
                )
            ),
        ),
    )
    .distinct()
)
SPECIAL = sa.union(
    sa.select(PREF.c.user_id).where(
        PREF.c.user_id == sa.any_(sa.bindparam("ids", type_=IDS)),
        PREF.c.category == "ticket",
        PREF.c.channel == "push",
        PREF.c.enabled.is_(False),
    ),
    sa.select(QH.c.user_id).where(QH.c.user_id == sa.any_(sa.bindparam("ids", type_=IDS))),
)
DELIVERIES = (
    insert(D)
    .from_select(
        [
            "notification_id",
            "user_id",
            "channel",
            "device_id",
            "provider",
            "status",
            "attempts",
            "next_attempt_at",
            "dedupe_key",
            "created_at",
        ],
        sa.select(
            N.c.id,
            N.c.user_id,
            sa.literal("push"),
            DEV.c.id,
            DEV.c.provider,
            sa.literal("pending"),
            sa.literal(0),
            sa.bindparam("at", type_=sa.DateTime(timezone=True)),
            sa.func.substr(
                sa.bindparam("key")
                + ":u"
                + sa.cast(N.c.user_id, sa.String)
                + ":d"
                + sa.cast(DEV.c.id, sa.String),
                1,
                250,
            ),
            sa.bindparam("at", type_=sa.DateTime(timezone=True)),
        )
        .select_from(N.join(DEV, sa.and_(DEV.c.user_id == N.c.user_id, DEV.c.disabled_at.is_(None))))
        .where(N.c.id == sa.any_(sa.bindparam("nids", type_=IDS))),
    )
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(D.c.id)
)


@app.post("/v1/communities/{cid}/tickets", status_code=201)
async def create_ticket(cid: int, body: TicketCreate, request: Request) -> Response:
    raw = await request.body()
    key = request.headers.get("idempotency-key")
    digest = hashlib.sha256()
    for part in (b"POST", request.url.path.encode(), raw):
        digest.update(len(part).to_bytes(8, "big") + part)
    fingerprint = digest.hexdigest()
    at = now()
    async with engine.begin() as conn:
        me = await caller(conn, request)
        need(me, cid)
        if body.household_id not in me.homes.get(cid, {}):
            raise HTTPException(403, "access.unverified")
        if key:
            stored = (
                await conn.execute(
                    sa.select(IR.c.status_code, IR.c.response_body, IR.c.request_hash).where(
                        IR.c.user_id == me.id, IR.c.key == key
                    )
                )
            ).first()
            if stored is not None:
                return Response(stored.response_body, stored.status_code, media_type="application/json")
        home = (
            await conn.execute(
                sa.select(H.c.id, H.c.community_id, H.c.building_id).where(H.c.id == body.household_id)
            )
        ).first()
        if home is None or home.community_id != cid:
            raise HTTPException(404, "household.not_found")
        found = (
            await conn.execute(
                POLICY, {"cid": cid, "kind": body.kind, "priority": body.priority, "category": body.category}
            )
        ).all()
        row = next((r for r in found if r[1] == body.category), None) or next(
            (r for r in found if r[1] == ""), None
        )
        response_m, resolution_m = (
            (row[2], row[3]) if row is not None and row[2] is not None else DEFAULT_TARGETS[body.priority]
        )
        values = {
            **TICKET_DEFAULTS,
            "community_id": cid,
            "household_id": home.id,
            "building_id": home.building_id,
            "kind": body.kind,
            "category": body.category,
            "priority": body.priority,
            "title": body.title,
            "description": body.description,
            "intake_channel": "app",
            "reporter_id": me.id,
            "created_by_id": me.id,
            "created_at": at,
            "updated_at": at,
            "response_minutes": float(response_m),
            "resolution_minutes": float(resolution_m),
            "response_due_at": at + timedelta(minutes=response_m),
            "response_warn_at": at + timedelta(minutes=response_m * 0.8),
            "resolution_due_at": at + timedelta(minutes=resolution_m),
            "resolution_warn_at": at + timedelta(minutes=resolution_m * 0.8),
            "escalate_at": at + timedelta(minutes=resolution_m * 1.5),
        }
        tid = (await conn.execute(sa.insert(T).values(values).returning(T.c.id))).scalar_one()
        event = {"intake_channel": "app", "on_behalf": False, "policy_id": None}
        eid = (
            await conn.execute(
                sa.insert(E)
                .values(
                    ticket_id=tid,
                    community_id=cid,
                    actor_id=me.id,
                    action="create",
                    to_status="submitted",
                    data=event,
                    created_at=at,
                )
                .returning(E.c.id)
            )
        ).scalar_one()
        today = date.today()
        managers = [
            u for u in (await conn.execute(MANAGERS, {"cid": cid, "today": today})).scalars() if u != me.id
        ]
        delivery_ids: list[int] = []
        if managers:
            dedupe = f"ticket:{tid}:event:{eid}"
            locales = (
                await conn.execute(
                    sa.select(U.c.id, U.c.locale).where(U.c.id == sa.any_(sa.bindparam("ids", type_=IDS))),
                    {"ids": managers},
                )
            ).all()
            kind_zh = zh("ticket.kind", body.kind)
            data = {
                "id": tid,
                "ticket_id": tid,
                "title": body.title,
                "kind": body.kind,
                "status": "submitted",
                "template": "ticket.created",
            }
            rows = [
                {
                    "user_id": uid,
                    "community_id": cid,
                    "category": "ticket",
                    "critical": False,
                    "title": f"新工单 #{tid}" if loc != "en" else f"New ticket #{tid}",
                    "body": f"{body.title}（{kind_zh}）待受理"
                    if loc != "en"
                    else f"{body.title} ({body.kind}) is waiting",
                    "data": data,
                    "dedupe_key": dedupe,
                    "created_at": at,
                }
                for uid, loc in locales
            ]
            stmt = insert(N).values(rows).on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
            made = (await conn.execute(stmt.returning(N.c.id, N.c.user_id))).all()
            special = set((await conn.execute(SPECIAL, {"ids": [u for _, u in made]})).scalars())
            plain = [n for n, u in made if u not in special]
            if plain:
                delivery_ids = list(
                    (await conn.execute(DELIVERIES, {"nids": plain, "at": at, "key": dedupe})).scalars()
                )
        out = {
            **values,
            "id": tid,
            "overdue": False,
            "attachments": [],
            "allowed_actions": ["cancel"],
            **{f"{f}_label": label(g, values[f], "zh-CN") for f, g in LIST_LABELS.items()},
        }
        answer = orjson.dumps(out)
        if key:
            await conn.execute(
                sa.insert(IR).values(
                    user_id=me.id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=201,
                    response_body=answer.decode(),
                    created_at=at,
                )
            )
    if delivery_ids:
        await redis.xadd(STREAM, {"ids": orjson.dumps(delivery_ids)}, maxlen=100_000, approximate=True)
    return Response(answer, 201, media_type="application/json")


@app.get("/v1/tickets")
async def list_tickets(
    request: Request,
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = None,
    status: list[str] | None = Query(None),
    community_id: int | None = None,
) -> Response:
    at = now()
    async with engine.begin() as conn:
        me = await caller(conn, request)
        stmt = sa.select(*LIST_COLS).where(scope(me))
        if status:
            stmt = stmt.where(T.c.status.in_(status))
        if community_id is not None:
            stmt = stmt.where(T.c.community_id == community_id)
        after = id_after(cursor)
        if after is not None:
            stmt = stmt.where(T.c.id < after)
        rows = (await conn.execute(stmt.order_by(T.c.id.desc()).limit(limit))).mappings().all()
    items = []
    for r in rows:
        item = dict(r)
        item["overdue"] = overdue(r["status"], r["response_due_at"], r["resolution_due_at"], at)
        for f, g in LIST_LABELS.items():
            item[f"{f}_label"] = label(g, item[f], "zh-CN")
        items.append(item)
    nxt = cursor_of({"id": rows[-1]["id"]}) if len(rows) == limit else None
    return js({"items": items, "next_cursor": nxt})


# --------------------------------------------------------------------------- me, KPIs, notices, inbox


@app.get("/v1/me")
async def get_me(request: Request) -> Response:
    async with engine.begin() as conn:
        me = await caller(conn, request)
        relations = {h: rel for homes in me.homes.values() for h, rel in homes.items()}
        homes = []
        if relations:
            stmt = (
                sa.select(
                    H.c.id,
                    H.c.community_id,
                    H.c.building_id,
                    H.c.entrance,
                    H.c.room,
                    H.c.area_m2,
                    B.c.name.label("b"),
                    C.c.name.label("c"),
                )
                .join(B, B.c.id == H.c.building_id)
                .join(C, C.c.id == H.c.community_id)
                .where(H.c.id.in_(sorted(relations)))
                .order_by(H.c.id)
            )
            homes = [
                {
                    "id": r.id,
                    "community_id": r.community_id,
                    "community_name": r.c,
                    "building_id": r.building_id,
                    "building_name": r.b,
                    "entrance": r.entrance,
                    "room": r.room,
                    "area_m2": float(r.area_m2) if r.area_m2 is not None else None,
                    "relation": relations[r.id],
                }
                for r in (await conn.execute(stmt)).all()
            ]
    u = me.user
    return js(
        {
            "id": me.id,
            "phone": u.phone,
            "name": u.name,
            "locale": u.locale,
            "is_platform_admin": me.admin,
            "verified": bool(homes),
            "households": homes,
            "roles": {str(c): sorted(r) for c, r in me.roles.items()},
        }
    )


_DEFINITIONS: dict[tuple[str, str], Any] = {}


def definition(metric: str, source: str) -> Any:
    if (metric, source) not in _DEFINITIONS:
        _DEFINITIONS[(metric, source)] = definition_of(metric, source, "zh-CN").model_dump()
    return _DEFINITIONS[(metric, source)]


@app.get("/v1/communities/{cid}/kpis")
async def community_kpis(
    cid: int,
    request: Request,
    first: date = Query(alias="from"),
    to: date = Query(),
    granularity: str = "month",
) -> Response:
    async with engine.begin() as conn:
        me = await caller(conn, request)
        need(me, cid, KPI_READERS)
        c = (
            await conn.execute(sa.select(C.c.id, C.c.time_zone, C.c.deleted_at).where(C.c.id == cid))
        ).first()
        if c is None or c.deleted_at is not None:
            raise HTTPException(404, "community.not_found")
        snaps = (
            await conn.execute(
                sa.select(
                    KS.c.metric, KS.c.period_start, KS.c.numerator, KS.c.denominator, KS.c.computed_at
                ).where(
                    KS.c.scope == "community",
                    KS.c.scope_id == cid,
                    KS.c.metric.in_(list(METRICS)),
                    KS.c.granularity == granularity,
                    KS.c.period_start >= first,
                    KS.c.period_start <= to,
                )
            )
        ).all()
        await conn.execute(sa.select(KR).where(KR.c.community_id == cid))
        own = {
            r.metric: r
            for r in (
                await conn.execute(sa.select(KT).where(KT.c.scope == "community", KT.c.scope_id == cid))
            ).all()
        }
    cells = {(m, s): (n, d, at) for m, s, n, d, at in snaps}
    series = []
    for key, m in METRICS.items():
        target = float(own[key].target) if key in own else float(m.default_target)
        source = "community" if key in own else "default"
        periods = []
        start = first.replace(day=1)
        while start <= to:
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            num, den, at = cells.get((key, start), (0, 0, None))
            value = round(100 * num / den, 2) if den else None
            met = None if value is None else (value >= target if m.better == "higher" else value <= target)
            periods.append(
                {
                    "period": start.strftime("%Y-%m"),
                    "starts_on": start,
                    "ends_on": end,
                    "numerator": num,
                    "denominator": den,
                    "value": value,
                    "met": met,
                    "source": "snapshot",
                    "computed_at": at,
                    "partial": False,
                    "as_of": None,
                    "few_cases": 0 < den < 5,
                    "label": start.strftime("%Y-%m"),
                }
            )
            start = end + timedelta(days=1)
        series.append(
            {
                "metric": key,
                "title": m.title_zh,
                "target": target,
                "target_source": source,
                "definition": definition(key, source),
                "min_cases": 5,
                "available": m.source is not None,
                "unit": m.unit,
                "better": m.better,
                "periods": periods,
            }
        )
    return js(
        {
            "scope": "community",
            "scope_id": cid,
            "granularity": granularity,
            "from": first,
            "to": to,
            "time_zones": {str(cid): c.time_zone},
            "community_ids": [cid],
            "metrics": series,
        }
    )


NOTICE_COLS = [
    NO.c[n]
    for n in (
        "id",
        "community_id",
        "kind",
        "title",
        "author_role",
        "status",
        "pinned",
        "requires_ack",
        "round",
        "published_at",
        "expires_at",
        "comment_closes_at",
    )
]
NOTICE_LABELS = {"kind": "notice.kind", "status": "notice.status", "author_role": "notice.author"}


async def mark_delivered(uid: int, ids: list[int], at: datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(NR)
            .where(NR.c.user_id == uid, NR.c.notice_id.in_(ids), NR.c.delivered_at.is_(None))
            .values(delivered_at=at)
        )


@app.get("/v1/notices")
async def notices(
    request: Request, background: BackgroundTasks, limit: int = Query(20, ge=1, le=100)
) -> Response:
    at = now()
    async with engine.begin() as conn:
        me = await caller(conn, request)
        staff_of = sorted(
            c for c, r in me.roles.items() if r & {"community_admin", "committee_member", "property_manager"}
        )
        visible = sa.or_(
            NO.c.audience_type == "community",
            NR.c.id.is_not(None),
            NO.c.community_id.in_(staff_of) if staff_of else sa.false(),
        )
        stmt = (
            sa.select(
                *NOTICE_COLS, NR.c.read_at, NR.c.acked_at, NR.c.id.label("receipt_id"), NR.c.delivered_at
            )
            .select_from(NO.outerjoin(NR, sa.and_(NR.c.notice_id == NO.c.id, NR.c.user_id == me.id)))
            .where(
                NO.c.community_id.in_(sorted(me.roles)) if me.roles else sa.false(),
                NO.c.status == "published",
                sa.or_(NO.c.expires_at.is_(None), NO.c.expires_at > at),
                visible,
            )
            .order_by(NO.c.pinned.desc(), NO.c.published_at.desc(), NO.c.id.desc())
            .limit(limit)
        )
        rows = (await conn.execute(stmt)).mappings().all()
    items = []
    for r in rows:
        item = {k: r[k] for k in r if k not in ("read_at", "acked_at", "receipt_id", "delivered_at")}
        item["unread"], item["acked"] = r["read_at"] is None, r["acked_at"] is not None
        for f, g in NOTICE_LABELS.items():
            item[f"{f}_label"] = label(g, item[f], "zh-CN")
        items.append(item)
    undelivered = [r["id"] for r in rows if r["receipt_id"] is not None and r["delivered_at"] is None]
    if undelivered:
        background.add_task(mark_delivered, me.id, undelivered, at)
    nxt = None
    if len(items) == limit:
        last = items[-1]
        nxt = cursor_of({"p": last["pinned"], "t": last["published_at"].isoformat(), "id": last["id"]})
    return js({"items": items, "next_cursor": nxt})


INBOX_COLS = [
    N.c[n]
    for n in ("id", "category", "critical", "title", "body", "data", "community_id", "created_at", "read_at")
]


@app.get("/v1/notifications")
async def inbox(
    request: Request, limit: int = Query(20, ge=1, le=100), cursor: str | None = None
) -> Response:
    async with engine.begin() as conn:
        me = await caller(conn, request)
        stmt = sa.select(*INBOX_COLS).where(N.c.user_id == me.id)
        after = id_after(cursor)
        if after is not None:
            stmt = stmt.where(N.c.id < after)
        rows = (await conn.execute(stmt.order_by(N.c.id.desc()).limit(limit))).mappings().all()
    items = [{**r, "category_label": label("notification.category", r["category"], "zh-CN")} for r in rows]
    nxt = cursor_of({"id": rows[-1]["id"]}) if len(rows) == limit else None
    return js({"items": items, "next_cursor": nxt})


@app.get("/v1/notifications/unread-count")
async def unread(request: Request) -> Response:
    async with engine.begin() as conn:
        me = await caller(conn, request)
        inner = sa.select(N.c.id).where(N.c.user_id == me.id, N.c.read_at.is_(None)).limit(999).subquery()
        count = (await conn.execute(sa.select(sa.func.count()).select_from(inner))).scalar_one()
    return js({"unread": count, "capped": count >= 999})


@app.get("/healthz")
async def healthz() -> Response:
    return js({"status": "ok"})
