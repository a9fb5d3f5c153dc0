"""A complaint about a staff member is read by the property manager and the committee (and the
resident who filed it), never by the technicians: they get 404, as for a ticket outside their reach."""

from __future__ import annotations

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models.tickets import Ticket
from tests import factories as f


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def _complaint(w: f.TicketWorld, **overrides: object) -> dict[str, object]:
    return f.ticket_body(
        w.household.id,
        kind="complaint",
        category="property_service",
        complaint_target="property_service",
        title="维修工态度恶劣",
        **overrides,
    )


async def test_only_the_manager_and_the_committee_read_a_complaint_about_staff(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    url = f"/v1/communities/{w.cid}/tickets"
    r = await client.post(url, json=_complaint(w, about_staff_id=w.technician.id), headers=f.auth(w.resident))
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["about_staff_id"] == w.technician.id
    row = await db.get(Ticket, t["id"])
    assert row is not None and row.about_staff_id == w.technician.id
    plain = (await client.post(url, json=_complaint(w), headers=f.auth(w.resident))).json()

    for who in (w.manager, w.committee, w.resident):
        r = await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(who))
        assert r.status_code == 200 and r.json()["about_staff_id"] == w.technician.id, who.name
    # Technicians (the one named and the others) and the community admin: it does not exist.
    for who in (w.technician, w.technician2, w.admin):
        r = await client.get(f"/v1/tickets/{t['id']}", headers=f.auth(who))
        assert r.status_code == 404 and _code(r) == "ticket.not_found", who.name
        r = await client.get(f"/v1/tickets/{t['id']}/events", headers=f.auth(who))
        assert r.status_code == 404
    r = await client.get("/v1/tickets", params={"queue": "grab"}, headers=f.auth(w.technician2))
    assert [i["id"] for i in r.json()["items"]] == [plain["id"]]
    r = await client.get("/v1/tickets/counts", params={"queue": "grab"}, headers=f.auth(w.technician2))
    assert r.json()["counts"]["submitted"] == 1
    # Grabbing it answers as for a missing ticket, not "taken".
    r = await f.act(client, w.technician2, t, "grab")
    assert r.status_code == 404 and _code(r) == "ticket.not_found"
    # The manager keeps it: it cannot be handed to a technician, only to a manager.
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician2.id)
    assert r.status_code == 422 and _code(r) == "ticket.assignee_invalid"
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.manager.id)
    assert r.status_code == 200, r.text
    listed = (await client.get("/v1/tickets", headers=f.auth(w.manager))).json()["items"]
    assert {i["id"] for i in listed} == {t["id"], plain["id"]}


async def test_about_staff_must_name_staff_of_a_complaint(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    url = f"/v1/communities/{w.cid}/tickets"
    r = await client.post(url, json=_complaint(w, about_staff_id=w.committee.id), headers=f.auth(w.resident))
    assert r.status_code == 422 and _code(r) == "ticket.about_staff_invalid"
    repair = f.ticket_body(w.household.id, about_staff_id=w.technician.id)
    r = await client.post(url, json=repair, headers=f.auth(w.resident))
    assert r.status_code == 422 and _code(r) == "request.invalid"


async def test_a_community_filtered_list_keeps_the_same_reach(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """`?community_id=` is answered with the plain predicate for those who read the community whole
    (manager, committee: issue 17's plan); everyone else keeps scope(): the same tickets either way."""
    w = await f.ticket_world(db)
    url = f"/v1/communities/{w.cid}/tickets"
    about = (
        await client.post(url, json=_complaint(w, about_staff_id=w.technician.id), headers=f.auth(w.resident))
    ).json()
    plain = (await client.post(url, json=_complaint(w), headers=f.auth(w.resident))).json()
    both = {about["id"], plain["id"]}
    expected = [(w.manager, both), (w.committee, both), (w.resident, both), (w.admin, {plain["id"]})]
    for who, ids in [*expected, (w.technician, set())]:  # the grab queue is ?queue=grab
        for params in ({}, {"community_id": w.cid}, {"community_id": w.cid, "status": "submitted"}):
            r = await client.get("/v1/tickets", params=params, headers=f.auth(who))
            assert r.status_code == 200 and {i["id"] for i in r.json()["items"]} == ids, (who.name, params)
    r = await client.get("/v1/tickets", params={"community_id": w.cid + 1000}, headers=f.auth(w.manager))
    assert r.status_code == 200 and r.json()["items"] == []
