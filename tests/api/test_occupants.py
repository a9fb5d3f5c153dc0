"""Occupants without accounts: recorded by community staff, phones masked for anyone else (issue 21)."""

from __future__ import annotations

import httpx
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog
from services.models.occupants import Occupant
from tests import factories as f


async def add_occupant(
    client: httpx.AsyncClient, who: object, cid: int, hid: int, **body: object
) -> httpx.Response:
    payload = {"name": "王奶奶", "phone": "139 0000 1234", "relation": "owner", **body}
    return await client.post(
        f"/v1/communities/{cid}/households/{hid}/occupants",
        json=payload,
        headers=f.auth(who),  # type: ignore[arg-type]
    )


async def test_staff_record_occupants_and_residents_see_phones_masked(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    hid = w.household.id or 0
    r = await add_occupant(client, w.admin, w.cid, hid, note="独居，耳背，请大声")
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["phone"] == "+8613900001234" and not o["phone_masked"] and o["has_app"] is False
    assert o["relation"] == "owner" and o["household_id"] == hid
    row = await db.get(Occupant, o["id"])
    assert row is not None and row.phone == "+8613900001234" and row.created_by_id == w.admin.id
    audit = (await db.exec(select(AuditLog).where(AuditLog.action == "occupant.create"))).one()
    assert audit.after is not None and audit.after["phone"] == "139****1234"  # the log keeps it masked

    # The same number twice in one household: 409; a bad number: 422 with the phone library's code.
    again = await add_occupant(client, w.manager, w.cid, hid, name="王爷爷")
    assert again.status_code == 409 and again.json()["error"]["code"] == "occupant.duplicate"
    bad = await add_occupant(client, w.manager, w.cid, hid, phone="12345")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "auth.invalid_phone"
    son = await add_occupant(client, w.technician, w.cid, hid, name="王小明", phone=None, relation="family")
    assert son.status_code == 201 and son.json()["phone"] is None

    url = f"/v1/communities/{w.cid}/households/{hid}/occupants"
    staff = await client.get(url, headers=f.auth(w.technician))
    assert [x["phone"] for x in staff.json()["items"]] == ["+8613900001234", None]
    mine = await client.get(url, headers=f.auth(w.resident))  # a resident of the household
    assert mine.status_code == 200
    first = mine.json()["items"][0]
    assert first["phone"] == "139****1234" and first["phone_masked"] and first["note"] == ""

    neighbour_home = await f.household(db, w.building)
    neighbour = await f.resident(db, neighbour_home)
    assert (await client.get(url, headers=f.auth(neighbour))).status_code == 403
    assert (await add_occupant(client, w.resident, w.cid, hid, phone="13900005678")).status_code == 403

    found = await client.get(
        f"/v1/communities/{w.cid}/occupants", params={"phone": "13900001234"}, headers=f.auth(w.manager)
    )
    assert [x["id"] for x in found.json()["items"]] == [o["id"]]
    assert found.json()["items"][0]["household"].endswith(w.household.room)
    denied = await client.get(f"/v1/communities/{w.cid}/occupants", headers=f.auth(w.resident))
    assert denied.status_code == 403

    patched = await client.patch(
        f"/v1/occupants/{o['id']}", json={"phone": "+86 139 0000 4321"}, headers=f.auth(w.committee)
    )
    assert patched.status_code == 200 and patched.json()["phone"] == "+8613900004321"
    gone = await client.delete(f"/v1/occupants/{son.json()['id']}", headers=f.auth(w.admin))
    assert gone.status_code == 204
    left = await client.get(url, headers=f.auth(w.admin))
    assert [x["id"] for x in left.json()["items"]] == [o["id"]]
    deleted = await db.get(Occupant, son.json()["id"])
    assert deleted is not None and deleted.deleted_at is not None  # kept for the tickets filed for them
    assert (await client.get(f"/v1/occupants/{son.json()['id']}", headers=f.auth(w.admin))).status_code == 404


async def test_another_community_does_not_see_the_occupant(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    other = await f.ticket_world(db)
    o = (await add_occupant(client, w.admin, w.cid, w.household.id or 0)).json()
    assert (await client.get(f"/v1/occupants/{o['id']}", headers=f.auth(other.admin))).status_code == 404
    r = await add_occupant(client, other.admin, w.cid, w.household.id or 0)
    assert r.status_code == 404
    # A household of another community through one's own community id: 404 too.
    r = await add_occupant(client, other.admin, other.cid, w.household.id or 0)
    assert r.status_code == 404 and r.json()["error"]["code"] == "household.not_found"
