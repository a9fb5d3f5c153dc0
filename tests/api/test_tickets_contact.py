"""Where to go and whom to call: only the assigned technician sees the reporter's address, name and
masked phone and may call through the relay; the resident sees the technician's name; nobody else
gets more."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.callrelay import Binding, CallRelayError, HttpCallRelay
from services.models import CallBinding
from services.phones import mask
from tests import factories as f
from tests.conftest import App


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def _assigned(app: App, w: f.TicketWorld) -> dict[str, object]:
    t = await f.file_ticket(app.client, w)
    r = await f.act(app.client, w.manager, t, "assign", assignee_id=w.technician.id)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_each_role_sees_what_it_needs_and_no_more(app: App, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    w.household.entrance = "2单元"
    db.add(w.household)
    await db.flush()
    client = app.client
    queued = await f.file_ticket(client, w)
    # In the grab queue every technician reads the ticket, but not who filed it or where.
    r = await client.get(f"/v1/tickets/{queued['id']}", headers=f.auth(w.technician2))
    assert r.status_code == 200 and r.json()["contact"] is None
    t = await _assigned(app, w)
    masked = mask(w.resident.phone)
    assert masked.count("*") == 4 and masked[:3] == w.resident.phone[3:6]

    r = await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(w.technician))
    assert r.status_code == 200, r.text
    assert r.json()["contact"] == {
        "building_name": w.building.name,
        "entrance": "2单元",
        "room": w.household.room,
        "resident_name": "报修住户",
        "phone_masked": masked,
        "can_call": True,
    }
    assert w.resident.phone not in r.text and w.resident.phone[3:] not in r.text
    assert r.json()["assignee_name"] == "维修工甲"

    # The resident sees the technician's name, and is not shown their own contact card.
    r = await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(w.resident))
    assert r.json()["assignee_name"] == "维修工甲" and r.json()["contact"] is None
    # Manager and committee read the ticket, not the reporter's name, address or phone.
    for who in (w.manager, w.committee, w.admin):
        r = await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(who))
        assert r.status_code == 200 and r.json()["contact"] is None
        assert "报修住户" not in r.text and masked not in r.text
        assert r.json()["assignee_name"] == "维修工甲"
    # Another technician, and a neighbour, do not see the assigned ticket at all.
    neighbour = await f.resident(db, await f.household(db, w.building), name="邻居")
    for who in (w.technician2, neighbour):
        r = await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(who))
        assert r.status_code == 404 and _code(r) == "ticket.not_found"
    # Lists carry no contact for anyone.
    r = await client.get("/v1/tickets", params={"queue": "assigned"}, headers=f.auth(w.technician))
    assert [i["id"] for i in r.json()["items"]] == [t["id"]] and "报修住户" not in r.text


async def test_the_assigned_technician_calls_through_the_relay(app: App, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    client = app.client
    t = await _assigned(app, w)
    url = f"/v1/tickets/{t['id']}/call"
    assert (await client.post(url)).status_code == 401
    for who, status in ((w.manager, 403), (w.resident, 403), (w.committee, 403), (w.technician2, 404)):
        r = await client.post(url, headers=f.auth(who))
        assert r.status_code == status, (who.name, r.text)
    r = await client.post(url, headers=f.auth(w.technician))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["ticket_id"] == t["id"] and out["relay_number"] == app.settings.call_relay_number
    expires = datetime.fromisoformat(out["expires_at"])
    ttl = timedelta(seconds=app.settings.call_relay_ttl_seconds)
    assert abs(expires - (datetime.now(UTC) + ttl)) < timedelta(seconds=30)
    assert w.resident.phone not in r.text
    # Asking again within the binding's life hands out the same binding; nothing new is bound.
    again = await client.post(url, headers=f.auth(w.technician))
    assert again.json() == out
    rows = (await db.exec(select(CallBinding).where(CallBinding.ticket_id == t["id"]))).all()
    assert [(b.caller_id, b.callee_id, b.provider, b.relay_number) for b in rows] == [
        (w.technician.id, w.resident.id, "log", app.settings.call_relay_number)
    ]
    # Once resolved there is nobody to call about it.
    r = await f.act(client, w.technician, t, "start")
    assert (await f.upload_photo(client, w.technician, t["id"], "after")).status_code == 201
    r = await f.act(client, w.technician, r.json(), "resolve", note="好了")
    assert r.status_code == 200 and r.json()["contact"]["can_call"] is False
    r = await client.post(url, headers=f.auth(w.technician))
    assert r.status_code == 422 and _code(r) == "ticket.call_not_allowed"


class _DownRelay:
    name = "down"

    async def bind(self, caller: str, callee: str, ttl: timedelta) -> Binding:
        raise CallRelayError("down")


async def test_relay_down_is_503_and_binds_nothing(app: App, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await _assigned(app, w)
    app.runtime.calls = _DownRelay()
    r = await app.client.post(f"/v1/tickets/{t['id']}/call", headers=f.auth(w.technician))
    assert r.status_code == 503 and _code(r) == "ticket.call_relay_unavailable", r.text
    assert int(r.headers["Retry-After"]) > 0
    rows = (await db.exec(select(CallBinding).where(CallBinding.ticket_id == t["id"]))).all()
    assert rows == []


# --- the HTTP provider against a stand-in transport ------------------------------------------------


def _relay(handler: object) -> HttpCallRelay:
    return HttpCallRelay("http://relay.test/bind", "tok", transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def test_http_relay_sends_the_pair_and_reads_the_number() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"number": "+8617100001111", "binding_id": "b-1", "expires_in": 120})

    binding = await _relay(handler).bind("+8613800000001", "+8613900000002", timedelta(minutes=5))
    assert binding.number == "+8617100001111" and binding.ref == "b-1"
    assert abs(binding.expires_at - (datetime.now(UTC) + timedelta(seconds=120))) < timedelta(seconds=5)
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert json.loads(seen[0].content) == {
        "caller": "+8613800000001",
        "callee": "+8613900000002",
        "ttl_seconds": 300,
    }


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, text="boom"),
        httpx.Response(200, text="not json"),
        httpx.Response(200, json={"binding_id": "b"}),
        httpx.Response(200, json={"number": 12}),
        httpx.Response(200, json={"number": "+8617100001111", "expires_in": 10_000}),
    ],
)
async def test_http_relay_errors_are_relay_errors(answer: httpx.Response) -> None:
    with pytest.raises(CallRelayError):
        await _relay(lambda request: answer).bind("a", "b", timedelta(minutes=5))


async def test_http_relay_unreachable_is_a_relay_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(CallRelayError):
        await _relay(handler).bind("a", "b", timedelta(minutes=5))
