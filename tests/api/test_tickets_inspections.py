"""Inspections (巡查): items stored as rows; a failed item opens a ticket automatically."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models.tickets import InspectionItem
from tests import factories as f

pytestmark = pytest.mark.calendar  # dates, deadlines or time of day: .ci/run repeats it at each instant

BODY = {
    "kind": "greening",
    "area": "中心花园",
    "items": [
        {"name": "草坪修剪", "passed": True},
        {"name": "枯死灌木", "passed": False, "note": "东侧三株冬青枯死"},
        {"name": "浇水", "passed": True},
    ],
}


async def test_failed_item_opens_a_ticket(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    url = f"/v1/communities/{w.cid}/inspections"
    r = await client.post(url, json=BODY, headers=f.auth(w.technician))
    assert r.status_code == 201, r.text
    ins = r.json()
    assert (ins["passed_items"], ins["failed_items"]) == (2, 1)
    failed = next(i for i in ins["items"] if not i["passed"])
    assert failed["ticket_id"] is not None
    t = (await client.get(f"/v1/tickets/{failed['ticket_id']}", headers=f.auth(w.manager))).json()
    assert (t["intake_channel"], t["kind"], t["category"]) == ("inspection", "repair", "greening")
    assert t["reporter_id"] == w.technician.id and t["description"] == "东侧三株冬青枯死"
    # The pass-rate KPI counts rows.
    passed = (
        await db.exec(
            select(func.count()).where(InspectionItem.community_id == w.cid, InspectionItem.passed == True)  # noqa: E712
        )
    ).one()
    assert passed == 2

    # Committee members inspect too; sanitation failures get the sanitation category.
    body = {"kind": "sanitation", "area": "3号楼楼道", "items": [{"name": "垃圾清运", "passed": False}]}
    r = await client.post(url, json=body, headers=f.auth(w.committee))
    assert r.status_code == 201
    tid = r.json()["items"][0]["ticket_id"]
    t = (await client.get(f"/v1/tickets/{tid}", headers=f.auth(w.manager))).json()
    assert t["category"] == "sanitation"

    r = await client.get(url, headers=f.auth(w.admin))
    assert r.status_code == 200
    assert [i["kind"] for i in r.json()["items"]] == ["sanitation", "greening"]
    r = await client.get(f"{url}?kind=greening&limit=1", headers=f.auth(w.manager))
    assert len(r.json()["items"]) == 1 and len(r.json()["items"][0]["items"]) == 3


async def test_inspection_access(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    url = f"/v1/communities/{w.cid}/inspections"
    assert (await client.post(url, json=BODY)).status_code == 401
    assert (await client.post(url, json=BODY, headers=f.auth(w.resident))).status_code == 403
    assert (await client.get(url, headers=f.auth(w.resident))).status_code == 403
    other = await f.ticket_world(db)
    assert (await client.post(url, json=BODY, headers=f.auth(other.technician))).status_code == 404
    r = await client.post(url, json={**BODY, "kind": "security"}, headers=f.auth(w.technician))
    assert r.status_code == 422
    r = await client.post(url, json={**BODY, "items": []}, headers=f.auth(w.technician))
    assert r.status_code == 422


async def test_inspection_photos(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    r = await client.post(f"/v1/communities/{w.cid}/inspections", json=BODY, headers=f.auth(w.technician))
    iid = r.json()["id"]
    url = f"/v1/inspections/{iid}/attachments"
    r = await client.post(
        url, files={"file": ("dead.jpg", f.jpeg_bytes(), "image/jpeg")}, headers=f.auth(w.technician)
    )
    assert r.status_code == 201, r.text
    photo = r.json()
    assert photo["purpose"] == "photo" and photo["url"].startswith("/v1/files/")
    # A PDF renamed .jpg is refused from its bytes; residents may not add evidence; strangers get 401.
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    r = await client.post(url, files={"file": ("x.jpg", pdf, "image/jpeg")}, headers=f.auth(w.technician))
    assert r.status_code == 422 and r.json()["error"]["code"] == "attachment.unsupported_type"
    r = await client.post(
        url, files={"file": ("a.jpg", f.jpeg_bytes(), "image/jpeg")}, headers=f.auth(w.resident)
    )
    assert r.status_code == 403
    assert (
        await client.post(url, files={"file": ("a.jpg", f.jpeg_bytes(), "image/jpeg")})
    ).status_code == 401
    other = await f.ticket_world(db)
    r = await client.post(
        url, files={"file": ("a.jpg", f.jpeg_bytes(), "image/jpeg")}, headers=f.auth(other.technician)
    )
    assert r.status_code == 404
    listed = (await client.get(f"/v1/communities/{w.cid}/inspections", headers=f.auth(w.manager))).json()
    assert [p["id"] for p in listed["items"][0]["photos"]] == [photo["id"]]
    image = await client.get(listed["items"][0]["photos"][0]["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
