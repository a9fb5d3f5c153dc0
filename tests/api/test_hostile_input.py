"""Hostile input answers 4xx, never a 500, and is never stored: NUL bytes in text (PostgreSQL cannot
store them, SQLite would), instants whose UTC conversion overflows, ids past a bigint, a token whose
subject is not an id. And what goes out matches the published schema."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jsonschema
import jwt
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import User
from tests import factories as f
from tests.conftest import App

NUL = "停\x00水"


@dataclass
class World:
    t: f.TicketWorld
    admin: User  # platform admin
    ticket: dict[str, Any]


@pytest.fixture
async def world(client: httpx.AsyncClient, db: AsyncSession) -> World:
    t = await f.ticket_world(db)
    return World(t=t, admin=await f.platform_admin(db), ticket=await f.file_ticket(client, t))


# (method, path, body, who) for a request that succeeds unless `value` is refused.
Case = Callable[[World, str], tuple[str, str, dict[str, Any], User]]


def _ticket(field: str) -> Case:
    return lambda w, v: (
        "POST",
        f"/v1/communities/{w.t.cid}/tickets",
        f.ticket_body(w.t.household.id, **{field: v}),
        w.t.resident,
    )


def _transition(field: str) -> Case:
    return lambda w, v: (
        "POST",
        f"/v1/tickets/{w.ticket['id']}/transitions",
        {"action": "cancel", "version": w.ticket["version"], field: v},
        w.t.resident,
    )


def _inspection(field: str, *, item: bool = False) -> Case:
    def case(w: World, v: str) -> tuple[str, str, dict[str, Any], User]:
        entry: dict[str, Any] = {"name": "草坪", "passed": True}
        body: dict[str, Any] = {"kind": "greening", "area": "A区", "items": [entry]}
        (entry if item else body)[field] = v
        return "POST", f"/v1/communities/{w.t.cid}/inspections", body, w.t.manager

    return case


def _poll(**fields: Any) -> Case:
    def case(w: World, v: str) -> tuple[str, str, dict[str, Any], User]:
        question = {"text": "您是否同意？", "type": "single", "options": ["同意", "反对"]}
        body = f.poll_body(questions=[question])
        for name, where in fields.items():
            if where == "question":
                question[name] = v
            elif where == "option":
                question["options"] = ["同意", v]
            else:
                body[name] = v
        return "POST", f"/v1/communities/{w.t.cid}/polls", body, w.t.committee

    return case


def _days_ahead(days: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)


def _activity(w: World, v: str) -> tuple[str, str, dict[str, Any], User]:
    body = {
        "title": "义诊",
        "description": v,
        "place": "活动室",
        "starts_at": _days_ahead(10).isoformat(),
        "ends_at": (_days_ahead(10) + timedelta(hours=2)).isoformat(),
        "capacity": 10,
    }
    return "POST", f"/v1/communities/{w.t.cid}/activities", body, w.t.admin


# Every operation and field that a NUL byte got through (500 on PostgreSQL, stored on SQLite).
NUL_BODY_CASES: dict[str, tuple[Case, list[str]]] = {
    "me.name": (lambda w, v: ("PATCH", "/v1/me", {"name": v}, w.t.resident), ["body", "name"]),
    "ticket.title": (_ticket("title"), ["body", "title"]),
    "ticket.description": (_ticket("description"), ["body", "description"]),
    "transition.reason": (_transition("reason"), ["body", "reason"]),
    "transition.note": (_transition("note"), ["body", "note"]),
    "inspection.area": (_inspection("area"), ["body", "area"]),
    "inspection.note": (_inspection("note"), ["body", "note"]),
    "inspection.item.name": (_inspection("name", item=True), ["body", "items", "0", "name"]),
    "inspection.item.note": (_inspection("note", item=True), ["body", "items", "0", "note"]),
    "calendar.note": (
        lambda w, v: (
            "PUT",
            f"/v1/communities/{w.t.cid}/calendar-exceptions",
            {"items": [{"day": _days_ahead(10).date().isoformat(), "working": False, "note": v}]},
            w.t.admin,
        ),
        ["body", "items", "0", "note"],
    ),
    "duty_post.description": (
        lambda w, v: (
            "POST",
            f"/v1/communities/{w.t.cid}/duty/posts",
            {"category": "publicity", "description": v},
            w.t.admin,
        ),
        ["body", "description"],
    ),
    "activity.description": (_activity, ["body", "description"]),
    "poll.title": (_poll(title="body"), ["body", "title"]),
    "poll.description": (_poll(description="body"), ["body", "description"]),
    "poll.question": (_poll(text="question"), ["body", "questions", "0", "text"]),
    "poll.option": (_poll(options="option"), ["body", "questions", "0", "options", "1"]),
    "device.app_version": (
        lambda w, v: (
            "POST",
            "/v1/devices",
            {"token": "fcm-token-" + "x" * 30, "platform": "android", "app_version": v},
            w.t.resident,
        ),
        ["body", "app_version"],
    ),
}


def _fields(r: httpx.Response) -> list[list[str]]:
    assert r.status_code == 422, r.text
    body = r.json()["error"]
    assert body["code"] == "request.invalid"
    return [field["loc"] for field in body["details"]["fields"]]


@pytest.mark.parametrize("name", sorted(NUL_BODY_CASES))
async def test_nul_in_a_body_field_is_422(client: httpx.AsyncClient, world: World, name: str) -> None:
    case, loc = NUL_BODY_CASES[name]
    method, url, body, who = case(world, "好")
    # The same request without the NUL byte is accepted: the 422 below is about that byte alone.
    ok = await client.request(method, url, json=body, headers=f.auth(who))
    assert ok.status_code < 300, ok.text
    if name.startswith("transition."):
        world.ticket = await f.file_ticket(client, world.t)
    method, url, body, who = case(world, NUL)
    r = await client.request(method, url, json=body, headers=f.auth(who))
    assert _fields(r) == [loc]


@pytest.mark.parametrize(
    ("path", "param", "fine"),
    [
        ("/v1/tickets", "q", "水"),
        ("/v1/tickets", "category", "plumbing"),  # a TicketCategory
        ("/v1/directory/communities", "q", "水"),
    ],
)
async def test_nul_in_a_query_parameter_is_422(
    client: httpx.AsyncClient, world: World, path: str, param: str, fine: str
) -> None:
    ok = await client.get(path, params={param: fine}, headers=f.auth(world.t.manager))
    assert ok.status_code == 200, ok.text
    r = await client.get(path, params={param: NUL}, headers=f.auth(world.t.manager))
    assert _fields(r) == [["query", param]]


@pytest.mark.parametrize(
    ("param", "value"),
    [("created_from", "0001-01-01T00:00:00+01:00"), ("created_to", "9999-12-31T20:00:00-12:00")],
)
async def test_an_instant_that_overflows_utc_in_a_query_is_422(
    client: httpx.AsyncClient, world: World, param: str, value: str
) -> None:
    r = await client.get("/v1/tickets", params={param: value}, headers=f.auth(world.t.manager))
    assert _fields(r) == [["query", param]]


def _appointment(w: World, at: str) -> tuple[str, str, dict[str, Any], User]:
    body = f.ticket_body(w.t.household.id, appointment_start=at, appointment_end=at.replace("20:00", "21:00"))
    return "POST", f"/v1/communities/{w.t.cid}/tickets", body, w.t.resident


def _notice_expiry(w: World, at: str) -> tuple[str, str, dict[str, Any], User]:
    return "POST", f"/v1/communities/{w.t.cid}/notices", f.notice_body(expires_at=at), w.t.committee


@pytest.mark.parametrize(
    ("case", "at", "loc"),
    [
        (_appointment, "9999-12-31T20:00:00-12:00", ["body", "appointment_start"]),
        (_appointment, "0001-01-01T00:00:00+01:00", ["body", "appointment_start"]),
        (_notice_expiry, "9999-12-31T20:00:00-12:00", ["body", "expires_at"]),
    ],
)
async def test_an_instant_that_overflows_utc_in_a_body_is_422(
    client: httpx.AsyncClient, world: World, case: Case, at: str, loc: list[str]
) -> None:
    method, url, body, who = case(world, at)
    r = await client.request(method, url, json=body, headers=f.auth(who))
    assert loc in _fields(r)


async def test_a_token_whose_subject_is_past_a_bigint_is_401(app: App, world: World) -> None:
    now = int(time.time())
    claims = {
        "sub": str(2**70),
        "typ": "access",
        "iss": app.settings.jwt_issuer,
        "iat": now,
        "exp": now + 600,
    }
    token = jwt.encode(claims, app.settings.jwt_key(), algorithm="HS256")
    r = await app.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "auth.invalid_token"


async def test_a_delivery_id_past_a_bigint_is_422(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post("/v1/admin/deliveries/redrive", json={"ids": [2**63]}, headers=f.auth(world.admin))
    assert _fields(r) == [["body", "ids", "0"]]


async def test_an_inspection_in_a_community_that_does_not_exist_is_404(
    client: httpx.AsyncClient, world: World
) -> None:
    body = {"kind": "greening", "area": "A区", "items": [{"name": "草坪", "passed": True}]}
    r = await client.post("/v1/communities/999999/inspections", json=body, headers=f.auth(world.admin))
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "community.not_found"


# --- what goes out matches the published schema ------------------------------------------------------


def _response_validator(app: App, method: str, path: str, status: int) -> jsonschema.Draft202012Validator:
    spec = app.client._transport.app.openapi()  # type: ignore[attr-defined]
    registry: Registry[Any] = Registry().with_resource(
        "urn:spec", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    schema = spec["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    schema = {**schema, "$ref": "urn:spec" + schema["$ref"]} if "$ref" in schema else schema
    schema = _rebase(schema)
    return jsonschema.Draft202012Validator(
        schema, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _rebase(node: Any) -> Any:
    """Point the spec's local `#/components/...` references at the registered spec."""
    if isinstance(node, dict):
        return {
            k: ("urn:spec" + v if k == "$ref" and v.startswith("#") else _rebase(v)) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


async def test_times_of_day_conform_to_the_published_schema(app: App, world: World) -> None:
    """Quiet hours and business hours are wall-clock times in a named zone: no offset, and the
    schema must not promise RFC 3339 `format: time` (which requires one)."""
    client, who = app.client, world.t.resident
    body = {
        "preferences": [],
        "quiet_hours": {"starts": "22:00", "ends": "07:00", "time_zone": "Asia/Shanghai"},
    }
    r = await client.put("/v1/me/notification-preferences", json=body, headers=f.auth(who))
    assert r.status_code == 200, r.text
    r = await client.get("/v1/me/notification-preferences", headers=f.auth(who))
    assert r.json()["quiet_hours"]["starts"] == "22:00:00"
    _response_validator(app, "get", "/v1/me/notification-preferences", 200).validate(r.json())

    r = await client.get(f"/v1/communities/{world.t.cid}/sla-policies", headers=f.auth(world.t.admin))
    assert r.status_code == 200, r.text
    _response_validator(app, "get", "/v1/communities/{cid}/sla-policies", 200).validate(r.json())


async def test_a_time_of_day_with_an_offset_is_422(client: httpx.AsyncClient, world: World) -> None:
    body = {"preferences": [], "quiet_hours": {"starts": "22:00+08:00", "ends": "07:00"}}
    r = await client.put("/v1/me/notification-preferences", json=body, headers=f.auth(world.t.resident))
    assert _fields(r) == [["body", "quiet_hours", "starts"]]


# Strings that are parsed into numbers (a NUL fails the parse with a 422), never kept as text.
PARSED_NOT_KEPT = {"body.households_ratio", "body.area_ratio"}


def _free_strings(spec: dict[str, Any], node: Any, where: str, seen: frozenset[str] = frozenset()) -> Any:
    """(where, schema) of every string an operation takes whose value is kept or searched as text."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _free_strings(spec, spec["components"]["schemas"][name], where, seen | {name})
        return
    alternatives = node.get("anyOf", []) + node.get("oneOf", []) + node.get("allOf", [])
    if any(alt.get("type") == "number" for alt in alternatives):
        return  # a decimal given as a string is parsed, never kept as text
    for alt in alternatives:
        yield from _free_strings(spec, alt, where, seen)
    if node.get("type") == "string" and not ({"enum", "const", "format", "contentMediaType"} & node.keys()):
        yield where, node
    if isinstance(node.get("additionalProperties"), dict):
        # A map's keys are text too (kept or looked up): they need the shared type as much as values.
        yield f"{where}{{key}}", node.get("propertyNames", {"type": "string"})
        yield from _free_strings(spec, node["additionalProperties"], f"{where}{{value}}", seen)
    for name, sub in node.get("properties", {}).items():
        yield from _free_strings(spec, sub, f"{where}.{name}", seen)
    if "items" in node:
        yield from _free_strings(spec, node["items"], f"{where}[]", seen)


async def test_every_free_text_input_is_published_and_checked_as_nul_free(app: App) -> None:
    """Generated from the OpenAPI, so a field added tomorrow without the shared type fails here."""
    spec = app.client._transport.app.openapi()  # type: ignore[attr-defined]
    unchecked = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            inputs = [(f"{p['in']}:{p['name']}", p["schema"]) for p in op.get("parameters", [])]
            content = op.get("requestBody", {}).get("content", {})
            # text/csv is checked line by line by the importer (household.import_invalid).
            inputs += [("body", c["schema"]) for kind, c in content.items() if kind != "text/csv"]
            for where, schema in inputs:
                if where.startswith("header:"):
                    continue  # HTTP itself cannot carry a NUL in a header
                for field, node in _free_strings(spec, schema, where):
                    pattern = node.get("pattern")
                    nul_passes = pattern is None or re.search(pattern, "a\x00b")
                    if nul_passes and field not in PARSED_NOT_KEPT:
                        unchecked.append(f"{method.upper()} {path} {field}")
    assert unchecked == [], "\n".join(unchecked)


@pytest.mark.parametrize(
    ("path", "params", "error"),
    [
        ("kpis", {"from": "0001-01-01", "to": "0001-01-31", "granularity": "day"}, ["query", "from"]),
        ("kpis", {"from": "9999-12-01", "to": "9999-12-31", "granularity": "year"}, ["query", "from"]),
        ("kpis.csv", {"from": "0001-01-01", "to": "0001-12-31"}, ["query", "from"]),
        ("duty/shifts", {"from": "9999-12-01", "to": "9999-12-31"}, ["query", "from"]),
        ("kpis/repair_timeliness/tickets", {"period": "0001-01"}, "kpi.invalid_period"),
        ("kpis/repair_timeliness/tickets", {"period": "9999-W52"}, "kpi.invalid_period"),
        ("kpis/repair_timeliness/tickets", {"period": "9999-12-31"}, "kpi.invalid_period"),
    ],
)
async def test_a_local_day_whose_midnight_overflows_utc_is_422(
    client: httpx.AsyncClient, world: World, path: str, params: dict[str, str], error: str | list[str]
) -> None:
    r = await client.get(f"/v1/communities/{world.t.cid}/{path}", params=params, headers=f.auth(world.admin))
    if isinstance(error, list):
        assert error in _fields(r)
    else:
        assert r.status_code == 422 and r.json()["error"]["code"] == error, r.text
