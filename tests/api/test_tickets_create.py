"""Filing tickets: residents, staff on a resident's behalf, validation, idempotency, scoping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models.tickets import Ticket
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def test_resident_files_and_manager_hears(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    start = datetime.now(UTC) + timedelta(days=1)
    t = await f.file_ticket(
        client,
        w,
        appointment_start=start.isoformat(),
        appointment_end=(start + timedelta(hours=2)).isoformat(),
    )
    assert t["reporter_id"] == w.resident.id == t["created_by_id"]
    assert t["household_id"] == w.household.id and t["building_id"] == w.building.id
    assert t["priority"] == "normal" and t["version"] == 1
    assert t["allowed_actions"] == ["cancel", "urge"]


async def test_double_submit_with_idempotency_key_makes_one_ticket(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    headers = {**f.auth(w.resident), "Idempotency-Key": "ticket-abc-1"}
    body = f.ticket_body(w.household.id)
    first = await client.post(f"/v1/communities/{w.cid}/tickets", json=body, headers=headers)
    second = await client.post(f"/v1/communities/{w.cid}/tickets", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["id"] == second.json()["id"]
    count = (await db.exec(select(func.count()).where(col(Ticket.community_id) == w.cid))).one()
    assert count == 1


async def test_household_of_someone_else_is_403_and_other_community_404(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    neighbour = await f.household(db, w.building)
    r = await client.post(
        f"/v1/communities/{w.cid}/tickets", json=f.ticket_body(neighbour.id), headers=f.auth(w.resident)
    )
    assert r.status_code == 403 and _code(r) == "access.unverified"
    elsewhere = await f.household(db, await f.building(db, await f.community(db)))
    r = await client.post(
        f"/v1/communities/{w.cid}/tickets", json=f.ticket_body(elsewhere.id), headers=f.auth(w.resident)
    )
    assert r.status_code == 404 and _code(r) == "household.not_found"
    # A community the caller does not belong to does not exist for them.
    r = await client.post(
        f"/v1/communities/{elsewhere.community_id}/tickets",
        json=f.ticket_body(elsewhere.id),
        headers=f.auth(w.resident),
    )
    assert r.status_code == 404 and _code(r) == "community.not_found"


async def test_strangers_get_401(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    r = await client.post(f"/v1/communities/{w.cid}/tickets", json=f.ticket_body(w.household.id))
    assert r.status_code == 401
    t = await f.file_ticket(client, w)
    for path in ("", "/events"):
        assert (await client.get(f"/v1/tickets/{t['id']}{path}")).status_code == 401
    assert (await client.get("/v1/tickets")).status_code == 401


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"kind": "complaint", "category": "neighbour"}, "request.invalid"),  # no complaint_target
        ({"category": "neighbour"}, "request.invalid"),  # not a repair category
        ({"category": "水电"}, "request.invalid"),  # outside TicketCategory
        ({"title": "长" * 101}, "request.invalid"),
        ({"description": "x" * 2001}, "request.invalid"),
        ({"priority": "asap"}, "request.invalid"),
        ({"intake_channel": "phone"}, "ticket.intake_channel_invalid"),
        ({"household_id": None}, "ticket.household_not_found"),
        (
            {
                "appointment_start": "2020-01-01T09:00:00+08:00",
                "appointment_end": "2020-01-01T11:00:00+08:00",
            },
            "ticket.appointment_invalid",
        ),
    ],
)
async def test_bad_input_is_422(
    client: httpx.AsyncClient, db: AsyncSession, overrides: dict[str, object], code: str
) -> None:
    w = await f.ticket_world(db)
    body = {**f.ticket_body(w.household.id), **overrides}
    r = await client.post(f"/v1/communities/{w.cid}/tickets", json=body, headers=f.auth(w.resident))
    assert r.status_code == 422, r.text
    assert _code(r) == code


async def test_complaint_names_its_target(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(
        client, w, kind="complaint", category="neighbour", complaint_target="neighbour", title="楼上噪音"
    )
    assert t["kind"] == "complaint" and t["complaint_target"] == "neighbour"


async def test_staff_file_on_behalf_of_a_resident(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    url = f"/v1/communities/{w.cid}/tickets"
    body = f.ticket_body(w.household.id, on_behalf_of_user_id=w.resident.id, intake_channel="phone")
    r = await client.post(url, json=body, headers=f.auth(w.technician))
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["reporter_id"] == w.resident.id and t["created_by_id"] == w.technician.id
    assert t["intake_channel"] == "phone"
    # The resident sees it as their own.
    r = await client.get("/v1/tickets", headers=f.auth(w.resident))
    assert [i["id"] for i in r.json()["items"]] == [t["id"]]

    bad = dict(body, intake_channel="app")
    r = await client.post(url, json=bad, headers=f.auth(w.technician))
    assert r.status_code == 422 and _code(r) == "ticket.intake_channel_invalid"
    r = await client.post(url, json=dict(body, on_behalf_of_user_id=w.admin.id), headers=f.auth(w.technician))
    assert r.status_code == 422 and _code(r) == "ticket.on_behalf_invalid"
    # Residents and the committee cannot file for others.
    for who in (w.resident, w.committee):
        r = await client.post(url, json=body, headers=f.auth(who))
        assert r.status_code == 403


async def test_another_communitys_ticket_is_404_everywhere(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    other = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    tid = t["id"]
    for who in (other.resident, other.manager, other.technician):
        h = f.auth(who)
        assert (await client.get(f"/v1/tickets/{tid}", headers=h)).status_code == 404
        assert (await client.get(f"/v1/tickets/{tid}/events", headers=h)).status_code == 404
        r = await f.act(client, who, t, "accept")
        assert r.status_code == 404 and _code(r) == "ticket.not_found"
        assert (await f.upload_photo(client, who, tid)).status_code == 404
        r = await client.post(
            f"/v1/tickets/{tid}/rating", json={"overall": 1, "speed": 1, "attitude": 1}, headers=h
        )
        assert r.status_code == 404
        assert (await client.get("/v1/tickets", headers=h)).json()["items"] == []
