"""The access matrix (issue 13), generated from the app's OpenAPI so a new route is covered the day
it is added.

Community A holds at least one of every resource. For every operation with a path parameter, each
outsider — every role of a second community B, a user with no community, a pending claimant of A
and a person invited to a role in A who has not accepted — sends the request once with A's ids and
once with ids that do not exist. Both must answer the same: 404 with the same error body, so nothing
tells an outsider that A's record exists. Lists filtered by a record id in the query are checked the
same way (A's id and a missing id give the same answer).

Bodies: each write gets the smallest body its published schema accepts (required fields only; BODIES
adds what a model validator needs beyond the schema), so it passes FastAPI's validation and reaches the
service, whose access check must answer 404 before it looks at the body's meaning. A 422 fails the
test even when the missing-id request answers the same 422 (validation runs before any row is read, so
it would reveal nothing, but it would also test nothing): a new route whose validators the generator
cannot satisfy gets a BODIES entry. Methods are exactly those the OpenAPI lists (GET, POST, PUT, PATCH,
DELETE); a method a path does not have answers 405 before any lookup and is not part of the matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from api.main import create_app
from services.config import Settings
from services.models import Device, MembershipStatus, Notification, PrivacyExport, Role, User
from services.models.duty import (
    Activity,
    DutyPost,
    DutyShift,
    DutyShiftAssignee,
    DutySwapRequest,
    ServiceLog,
)
from services.models.notices import NoticeComment
from services.models.occupants import Occupant
from services.models.renovation import (
    ApprovalStep,
    FundSource,
    Milestone,
    RenovationProject,
    RenovationRequest,
)
from services.models.tickets import Inspection, InspectionItem, TicketFollowup
from tests import factories as f

# Routes that are public by design: answering them for A is the feature, not a leak.
PUBLIC = {
    ("GET", "/v1/directory/communities/{cid}/households"): "the directory a newcomer claims a home from",
    ("POST", "/v1/communities/{cid}/claims"): "anyone logged in may claim a home (capped per user)",
}
# A signed, expiring link is the capability (no bearer token): a bad signature is refused with 403
# before any lookup, for A's id and a missing id alike. The signature tests live in test_files.py.
CAPABILITY_LINKS = {("GET", "/v1/files/{attachment_id}"): 403}
MISSING = 2**40  # a valid id (ObjectId allows up to 2**53 - 1) that no row has
METHODS = ("get", "post", "put", "patch", "delete")


def _soon(hours: int) -> str:
    return (datetime.now(UTC) + timedelta(days=2, hours=hours)).replace(microsecond=0).isoformat()


# What model validators need beyond the schema's required fields (merged into the minimal body).
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/communities/{cid}/tickets"): {"category": "plumbing"},
    ("POST", "/v1/duty/posts/{post_id}/shifts"): {"starts_at": _soon(0), "ends_at": _soon(2)},
    ("POST", "/v1/communities/{cid}/polls"): f.poll_body(),
    ("POST", "/v1/renovation/projects/{rpid}/polls/{phase}"): f.poll_body(),
    ("PUT", "/v1/communities/{cid}/kpi-targets"): {"targets": {"repair_timeliness": 90}},
    ("PUT", "/v1/companies/{company_id}/kpi-targets"): {"targets": {"repair_timeliness": 90}},
    ("POST", "/v1/renovation/projects/{rpid}/self-assessments"): {"period": "2024H1"},
    ("PUT", "/v1/communities/{cid}/geometry"): {"location": {"type": "Point", "coordinates": [116.4, 39.9]}},
    ("PUT", "/v1/communities/{cid}/buildings/{bid}/geometry"): {
        "location": {"type": "Point", "coordinates": [116.4, 39.9]}
    },
}


@dataclass
class World:
    ids: dict[str, int | str] = field(default_factory=dict)
    # Same parameter name, another resource, under one path prefix.
    by_prefix: dict[tuple[str, str], int] = field(default_factory=dict)
    outsiders: dict[str, User] = field(default_factory=dict)
    query_ids: dict[str, int] = field(default_factory=dict)


# Every path parameter the matrix knows how to fill; an unknown one fails test_every_path_parameter_is_known.
KNOWN_PARAMS = {
    "cid",
    "tid",
    "nid",
    "fid",
    "iid",
    "comment_id",
    "attachment_id",
    "device_id",
    "company_id",
    "claim_id",
    "membership_id",
    "user_id",
    "post_id",
    "shift_id",
    "swap_id",
    "activity_id",
    "poll_id",
    "metric",
    "hid",
    "oid",
    "alarm_id",
    "alarm_device_id",
    "alarm_type",
    "rpid",
    "source_id",
    "milestone_id",
    "step_id",
    "request_id",
    "bid",
    "phase",
    "export_id",
    "fmt",
    "upload_id",
}
# Query parameters naming a record (`…_id`): a filter on A's id answers as a filter on a missing id.
KNOWN_QUERY_IDS = {"community_id", "building_id", "member_id", "actor_id", "subject_id"}
NOT_IDS = {
    "metric": "repair_timeliness",
    "phase": "needs",
    "fmt": "svg",
    "alarm_type": "fire",
    "upload_id": "0" * 32,  # a direct upload's random token: the tid decides whose ticket it is
}  # not ids: filled with a valid value in both requests
# (method, path) pairs are in the OpenAPI; the notifications router reuses the name `nid`.
PREFIXED = {("/v1/notifications/", "nid")}


def spec_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in spec["paths"].items()
        if "{" in path
        for method, op in ops.items()
        if method in METHODS
    ]


def path_params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)  # also inside a segment: chart.{fmt}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    settings = Settings(env="test", jwt_secret=f.SECRET)  # type: ignore[arg-type]
    return create_app(settings).openapi()


def query_id_params(op: dict[str, Any]) -> list[str]:
    return [
        p["name"]
        for p in op.get("parameters", [])
        if p["in"] == "query" and (p["name"].endswith("_id") or p["name"].endswith("_ids"))
    ]


def test_every_path_parameter_is_known(spec: dict[str, Any]) -> None:
    unknown = {
        (m, p, name)
        for m, p, _ in spec_operations(spec)
        for name in path_params(p)
        if name not in KNOWN_PARAMS
    }
    assert not unknown, f"teach the access matrix these path parameters (seed A with one): {sorted(unknown)}"
    assert len(spec_operations(spec)) > 80  # the generator really walks the app
    unknown_query = {
        (m.upper(), p, name)
        for p, ops in spec["paths"].items()
        for m, op in ops.items()
        for name in query_id_params(op)
        if name not in KNOWN_QUERY_IDS
    }
    assert not unknown_query, f"teach the access matrix these query parameters: {sorted(unknown_query)}"


# --- the smallest valid body -----------------------------------------------------------------------


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def minimal(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """The smallest instance of a JSON schema: required properties only, lower bounds, first choices."""
    schema = _resolve(spec, schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            choices = [c for c in schema[key] if _resolve(spec, c).get("type") != "null"]
            return minimal(spec, choices[0]) if choices else None
    if "allOf" in schema:
        return minimal(spec, schema["allOf"][0])
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: minimal(spec, props[name]) for name in schema.get("required", []) if name in props}
    if kind == "array":
        return [minimal(spec, schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return int(max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1))
    if kind == "number":
        return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
        if fmt == "date":
            return (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
        if fmt == "time":
            return "08:00:00"
        return "x" * max(1, schema.get("minLength", 1))
    return None


def request_kwargs(spec: dict[str, Any], method: str, path: str, op: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    query = {
        p["name"]: minimal(spec, p.get("schema", {}))
        for p in op.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    if "period" in query:
        query["period"] = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m")
    if query:
        kwargs["params"] = query
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = minimal(spec, content["application/json"]["schema"])
        kwargs["json"] = {**body, **BODIES.get((method, path), {})} if isinstance(body, dict) else body
    elif "multipart/form-data" in content:
        schema = _resolve(spec, content["multipart/form-data"]["schema"])
        data, files = {}, {}
        for name in schema.get("required", []):
            prop = _resolve(spec, schema["properties"][name])
            if prop.get("format") == "binary" or prop.get("contentMediaType"):
                files[name] = ("p.jpg", f.jpeg_bytes(), "image/jpeg")
            else:
                data[name] = str(minimal(spec, prop))
        kwargs.update(files=files or {"file": ("p.jpg", f.jpeg_bytes(), "image/jpeg")}, data=data)
    elif "text/csv" in content:
        kwargs.update(
            content="building,entrance,room,area_m2\n1号楼,1,101,60.00\n".encode(),
            headers={"Content-Type": "text/csv"},
        )
    return kwargs


# --- community A with one of everything, and the outsiders ---------------------------------------


async def _raise_alarm(client: httpx.AsyncClient, camera: dict[str, Any]) -> int:
    """An alarm in A through the ISAPI door (its token), as a camera raises it."""
    event = b"<EventNotificationAlert><eventType>fielddetection</eventType><eventState>active</eventState></EventNotificationAlert>"
    r = await client.post(
        "/v1/alarm-ingest/isapi",
        params={"device": camera["serial"], "token": camera["secret"]},
        content=event,
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 200, r.text
    return int(r.json()["alarm_id"])


async def seed(client: httpx.AsyncClient, db: AsyncSession) -> World:
    t = await f.ticket_world(db)  # A's places and people around tickets
    now = datetime.now(UTC)
    a = t.cid
    ticket = await f.file_ticket(client, t)
    photo = await f.upload_photo(client, t.resident, ticket["id"])
    assert photo.status_code == 201, photo.text
    notice = await f.post_notice(client, t.committee, a, kind="publicity", title="加装电梯方案公示")
    poll = await f.create_poll(client, t.committee, a)
    secretary = await f.community_staff(db, t.community, Role.party_secretary, "党支部书记")
    party = await f.community_staff(db, t.community, Role.party_member, "党员")
    assert secretary.id and party.id and t.resident.id and t.technician.id and t.household.id
    r = await client.post(f"/v1/communities/{a}/party", json={"name": "A党支部"}, headers=f.auth(secretary))
    assert r.status_code == 201, r.text

    comment = NoticeComment(notice_id=int(notice["id"]), user_id=t.resident.id, body="意见")  # type: ignore[call-overload]
    post = DutyPost(community_id=a, category="security_watch", description="巡逻", created_by=secretary.id)
    activity = Activity(
        community_id=a, title="义诊", place="广场", starts_at=now + timedelta(days=2),
        ends_at=now + timedelta(days=2, hours=2), capacity=10, hours=Decimal("2"), created_by=secretary.id,
    )  # fmt: skip
    inspection = Inspection(community_id=a, kind="greening", area="中心绿地", inspector_id=t.technician.id)
    followup = TicketFollowup(ticket_id=int(ticket["id"]), community_id=a)  # type: ignore[call-overload]
    notification = Notification(
        user_id=t.resident.id, community_id=a, category="ticket", title="t", body="b", dedupe_key="matrix:1"
    )
    device = Device(user_id=t.resident.id, token="matrix-token-a", platform="android")
    occupant = Occupant(
        community_id=a, household_id=t.household.id, name="王奶奶", phone="+8613900001234",
        relation="owner", created_by_id=t.admin.id or 0,
    )  # fmt: skip
    export = PrivacyExport(user_id=t.resident.id)
    db.add_all([comment, post, activity, inspection, followup, notification, device, occupant, export])
    await db.flush()
    assert post.id is not None and inspection.id is not None
    db.add(
        InspectionItem(inspection_id=inspection.id, community_id=a, kind="greening", name="草坪", passed=True)
    )
    shift = DutyShift(
        post_id=post.id, community_id=a, starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=2), created_by=secretary.id,
    )  # fmt: skip
    db.add(shift)
    await db.flush()
    assert shift.id is not None
    db.add(DutyShiftAssignee(shift_id=shift.id, user_id=party.id))
    db.add(
        ServiceLog(
            user_id=party.id, community_id=a, source="shift", source_id=shift.id, hours=Decimal("2"), at=now
        )
    )
    swap = DutySwapRequest(shift_id=shift.id, from_user_id=party.id, to_user_id=secretary.id)
    invited = await f.user(db, "受邀人")
    invitation = await f.member(
        db, invited, Role.grid_worker, community_id=a, status=MembershipStatus.invited
    )
    claimant = await f.user(db, "待审核")
    await f.member(
        db, claimant, Role.resident, community_id=a, household_id=t.household.id,
        relation="owner", status=MembershipStatus.pending,
    )  # fmt: skip
    # The claim the matrix probes is someone else's: its claimant may add proof to it, nobody outside.
    claim = await f.member(
        db, await f.user(db, "另一申请人"), Role.resident, community_id=a, household_id=t.household.id,
        relation="tenant", status=MembershipStatus.pending,
    )  # fmt: skip
    db.add(swap)
    reno = RenovationProject(community_id=a, title="改造", year=2023, created_by=t.admin.id or 0)
    db.add(reno)
    await db.flush()
    rp = reno.id or 0
    source = FundSource(project_id=rp, kind="central")
    milestone = Milestone(project_id=rp, name="进场", planned_on=now.date())
    step = ApprovalStep(project_id=rp, name="立项", submitted_on=now.date())
    request = RenovationRequest(project_id=rp, collector_id=t.resident.id, text="加装扶手")
    db.add_all([source, milestone, step, request])
    await db.flush()
    camera = await f.alarm_device(client, t.manager, a)
    alarm_id = await _raise_alarm(client, camera)

    world = World(
        ids={
            "cid": a,
            "tid": int(ticket["id"]),
            "nid": int(notice["id"]),
            "fid": followup.id or 0,
            "iid": inspection.id,
            "comment_id": comment.id or 0,
            "attachment_id": int(photo.json()["id"]),
            "device_id": device.id or 0,
            "company_id": t.company.id or 0,
            "claim_id": claim.id or 0,
            "membership_id": invitation.id or 0,
            "user_id": party.id,
            "post_id": post.id,
            "shift_id": shift.id,
            "swap_id": swap.id or 0,
            "activity_id": activity.id or 0,
            "poll_id": int(poll["id"]),
            "hid": t.household.id,
            "oid": occupant.id or 0,
            "alarm_id": alarm_id,
            "alarm_device_id": int(camera["id"]),
            "rpid": rp,
            "source_id": source.id or 0,
            "milestone_id": milestone.id or 0,
            "step_id": step.id or 0,
            "request_id": request.id or 0,
            "bid": t.building.id or 0,
            "export_id": export.id or 0,
            **NOT_IDS,
        },
        by_prefix={("/v1/notifications/", "nid"): notification.id or 0},
    )
    assert set(world.ids) == KNOWN_PARAMS
    world.query_ids = {
        "community_id": a, "building_id": t.building.id or 0, "member_id": party.id,
        "actor_id": t.manager.id or 0, "subject_id": t.resident.id,
    }  # fmt: skip
    assert set(world.query_ids) == KNOWN_QUERY_IDS

    # Community B: every role, including the property roles of the company that manages B.
    b = await f.community(db)
    b_home = await f.household(db, await f.building(db, b))
    b_company = await f.company_managing(db, b)
    world.outsiders["resident"] = await f.resident(db, b_home)
    for role in (Role.property_staff, Role.property_manager):
        world.outsiders[role] = await f.company_staff(db, b_company, role)
    for role in (
        Role.committee_member,
        Role.party_member,
        Role.party_secretary,
        Role.grid_worker,
        Role.community_admin,
    ):
        world.outsiders[role] = await f.community_staff(db, b, role)
    # A street office (read-only) over B only: A stays invisible.
    world.outsiders[Role.street_office] = await f.community_staff(db, b, Role.street_office, "街道办")
    world.outsiders["no community"] = await f.user(db, "无小区用户")
    world.outsiders["pending claimant of A"] = claimant
    # Invited to a role in A and not yet accepted: an invitation grants nothing.
    world.outsiders["invited to A"] = await f.user(db, "未接受邀请")
    await f.member(
        db,
        world.outsiders["invited to A"],
        Role.committee_member,
        community_id=a,
        status=MembershipStatus.invited,
    )
    return world


def fill(world: World, path: str, missing: bool) -> str:
    values: dict[str, int | str] = {}
    for name in path_params(path):
        prefixed = next(
            (v for (pre, n), v in world.by_prefix.items() if n == name and path.startswith(pre)), None
        )
        value = prefixed if prefixed is not None else world.ids[name]
        values[name] = value if name in NOT_IDS or not missing else MISSING
    return path.format(**values)


OUTSIDERS = [
    "resident",
    Role.property_staff,
    Role.property_manager,
    Role.committee_member,
    Role.party_member,
    Role.party_secretary,
    Role.grid_worker,
    Role.community_admin,
    Role.street_office,
    "no community",
    "pending claimant of A",
    "invited to A",
]


@pytest.mark.parametrize("outsider", [str(o) for o in OUTSIDERS])
async def test_another_communitys_resources_do_not_exist(
    client: httpx.AsyncClient, db: AsyncSession, spec: dict[str, Any], outsider: str
) -> None:
    world = await seed(client, db)
    who = world.outsiders[outsider]
    headers = f.auth(who)
    leaks = []
    for method, path, op in spec_operations(spec):
        if (method, path) in PUBLIC:
            continue
        answers = []
        for missing in (False, True):
            kwargs = request_kwargs(spec, method, path, op)
            kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
            r = await client.request(method, fill(world, path, missing), **kwargs)
            answers.append(
                (
                    r.status_code,
                    _echo_masked(r.json(), set())
                    if r.headers.get("content-type", "").startswith("application/json")
                    else r.text,
                )
            )
        (real, real_body), (gone, gone_body) = answers
        if real != CAPABILITY_LINKS.get((method, path), 404) or (real, real_body) != (gone, gone_body):
            leaks.append(f"{method} {path}: A's id → {real} {real_body!r}; missing id → {gone} {gone_body!r}")
    assert not leaks, f"{outsider}: {len(leaks)} leak(s) or untested operation(s):\n" + "\n".join(leaks)


def _echo_masked(body: Any, asked: set[int]) -> Any:
    """The body with the ids the caller asked for masked: echoing the caller's own input is no leak."""
    if isinstance(body, dict):
        # Each response has its own request id (error.request_id): no leak, and never equal.
        return {k: _echo_masked(v, asked) for k, v in body.items() if k != "request_id"}
    if isinstance(body, list):
        return [_echo_masked(v, asked) for v in body]
    return "<asked id>" if isinstance(body, int) and not isinstance(body, bool) and body in asked else body


@pytest.mark.parametrize("outsider", [str(o) for o in OUTSIDERS])
async def test_filtering_on_another_communitys_ids_answers_as_for_missing_ids(
    client: httpx.AsyncClient, db: AsyncSession, spec: dict[str, Any], outsider: str
) -> None:
    """The lists filtered by a record id in the query (`?community_id=`, `?building_id=`, …): A's id
    and a missing id give the same answer (an empty page, or the same 404), never A's rows."""
    world = await seed(client, db)
    headers = f.auth(world.outsiders[outsider])
    leaks, checked = [], 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            names = query_id_params(op)
            if not names or method not in METHODS or (method.upper(), path) in PUBLIC:
                continue
            answers = []
            for missing in (False, True):
                params = {n: MISSING if missing else world.query_ids[n] for n in names}
                url = fill(world, path, missing=False) if "{" in path else path
                r = await client.request(method.upper(), url, params=params, headers=headers)
                answers.append((r.status_code, _echo_masked(r.json(), set(params.values()))))
            checked += 1
            if answers[0] != answers[1] or answers[0][0] >= 500:
                leaks.append(
                    f"{method.upper()} {path} {names}: A's ids → {answers[0]}; missing → {answers[1]}"
                )
    assert checked >= 5
    assert not leaks, f"{outsider}:\n" + "\n".join(leaks)
