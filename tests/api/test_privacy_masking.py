"""Issue 20 item 4: phone numbers are masked by default. Every response schema in the OpenAPI is walked;
a phone-like field (its name says phone, mobile or tel) must be masked by construction
(services.phones.MaskedPhone, `x-linli-phone: masked`) or sit on ALLOW with the reason it may carry
the full number — and each allowed field's audience is checked over HTTP below."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.main import create_app
from services.config import Settings
from services.models import AuditLog, Role
from services.phones import MaskedPhone, mask
from tests import factories as f
from tests.conftest import App

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

PHONE_LIKE = re.compile(r"(^|_)(phone|mobile|tel|telephone)(_|$)", re.IGNORECASE)

# (schema, field) -> why it may carry a full number. A new entry needs a reason and an HTTP check below.
ALLOW: dict[tuple[str, str], str] = {
    ("MeOut", "phone"): "the person themselves (GET /v1/me)",
    ("UserOut", "phone"): "the person themselves, in their own login response",
    ("OtpSent", "phone"): "the number the caller just typed, normalised (answered the same with or "
    "without an account, so it tells nothing)",
    ("MemberOut", "phone"): "only ever answered to the manager of that list (community_admin for a "
    "community, property_manager for a company: access.MANAGE_*) who invites by that number",
    ("ClaimOut", "user_phone"): "the claimant themselves and the claim's approvers (committee, "
    "community admin: access.APPROVE_CLAIMS), who call to verify a home; residents never list claims",
    ("OccupantOut", "phone"): "an occupant without the app is reached by staff calling (issue 21): in "
    "full to the community's staff, masked for residents (phone_masked says which)",
    ("CompanyOut", "phone"): "a property company's switchboard, not a person's number",
}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield str(node["$ref"]).rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _response_schemas(spec: dict[str, Any]) -> set[str]:
    """Every component schema reachable from any operation's responses."""
    components = spec["components"]["schemas"]
    todo = [
        name
        for ops in spec["paths"].values()
        for op in ops.values()
        for response in op.get("responses", {}).values()
        for name in _refs(response)
    ]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += list(_refs(components[name]))
    return seen


def _strings(prop: dict[str, Any]) -> list[dict[str, Any]]:
    """The string branches of a property (plain, or inside anyOf / oneOf / arrays)."""
    if prop.get("type") == "string":
        return [prop]
    if prop.get("type") == "array":
        return _strings(prop.get("items", {}))
    return [b for key in ("anyOf", "oneOf", "allOf") for p in prop.get(key, []) for b in _strings(p)]


def _phone_fields(spec: dict[str, Any]) -> dict[tuple[str, str], bool]:
    """(schema, field) -> masked by construction, for every phone-like string field of a response."""
    components = spec["components"]["schemas"]
    out: dict[tuple[str, str], bool] = {}
    for name in sorted(_response_schemas(spec)):
        for field, prop in components[name].get("properties", {}).items():
            branches = _strings(prop)
            if PHONE_LIKE.search(field) and branches:
                out[(name, field)] = all(b.get("x-linli-phone") == "masked" for b in branches)
    return out


def test_every_phone_field_in_a_response_is_masked_or_allowed_with_a_reason() -> None:
    spec = create_app(Settings(env="test")).openapi()
    fields = _phone_fields(spec)
    assert ("RosterHolder", "phone_masked") in fields  # the walk does reach nested schemas
    leaks = sorted(k for k, masked in fields.items() if not masked and k not in ALLOW)
    assert leaks == [], f"unmasked phone fields: {leaks}; use services.phones.MaskedPhone or add to ALLOW"
    stale = sorted(k for k in ALLOW if fields.get(k, True))
    assert stale == [], f"ALLOW entries that are gone or masked now: {stale}"
    assert all(len(reason) > 20 for reason in ALLOW.values())


def test_masked_by_construction() -> None:
    class Out(BaseModel):
        phone: MaskedPhone
        maybe: MaskedPhone | None = None

    assert Out(phone="+8613800000001").phone == "138****0001"
    assert Out(phone="138****0001").phone == "138****0001"  # already masked: kept
    assert Out(phone="13800000001", maybe=None).model_dump() == {"phone": "138****0001", "maybe": None}
    assert mask("+8613800000001") == "138****0001"


async def test_allowed_full_numbers_reach_only_their_audience(app: App, db: AsyncSession) -> None:
    client = app.client
    w = await f.ticket_world(db)
    masked = mask(w.resident.phone)

    # Oneself: in full.
    me = await client.get("/v1/me", headers=f.auth(w.resident))
    assert me.status_code == 200 and me.json()["phone"] == w.resident.phone

    # Members: the community admin invites by phone and sees it; nobody else lists them.
    r = await client.post(
        f"/v1/communities/{w.cid}/members",
        json={"phone": "13900009999", "name": "网格员甲", "role": Role.grid_worker.value},
        headers=f.auth(w.admin),
    )
    assert r.status_code == 201, r.text
    assert r.json()["phone"] == "+8613900009999"
    for who in (w.resident, w.committee, w.technician):
        r = await client.get(f"/v1/communities/{w.cid}/members", headers=f.auth(who))
        assert r.status_code == 403, who.name
        assert "13900009999" not in r.text
    # The audit log keeps the invitation with the number masked.
    row = (await db.exec(select(AuditLog).where(AuditLog.action == "membership.create"))).one()
    assert row.after is not None and row.after["phone"] == "139****9999"

    # Claims: approvers only; a resident who is not an approver cannot list them.
    r = await client.get(f"/v1/communities/{w.cid}/claims", headers=f.auth(w.resident))
    assert r.status_code == 403 and w.resident.phone not in r.text

    # A ticket's contact: only the assigned technician, masked, and a call through the relay.
    t = await f.file_ticket(client, w)
    t = (await f.act(client, w.manager, t, "accept")).json()
    t = (await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)).json()
    seen = await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(w.technician))
    assert seen.json()["contact"]["phone_masked"] == masked
    for who in (w.manager, w.technician2, w.committee, w.resident):
        r = await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(who))
        assert w.resident.phone not in r.text and w.resident.phone[3:] not in r.text, who.name


async def test_no_full_number_of_someone_else_in_the_roster_or_party_lists(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.duty_world(db)
    post = await f.duty_post(db, w, "security_watch", [w.b1.id or 0])
    await f.duty_assign(db, post, w.member1, "lead")
    await client.put("/v1/me/privacy", json={"share_phone_on_roster": True}, headers=f.auth(w.member1))
    r = await client.get(f"/v1/communities/{w.cid}/duty/roster", headers=f.auth(w.resident1))
    assert r.status_code == 200
    assert mask(w.member1.phone) in r.text and w.member1.phone[3:] not in r.text
