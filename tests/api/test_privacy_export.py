"""Personal-data export (issue 20, item 2): POST /v1/me/export → the scheduler's job builds a zip
(data.json + a Chinese summary.txt) through the attachment storage → GET /v1/me/export/{id} gives the
status and a signed link that expires; someone else's export is 404, an expired link 410."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import time_machine
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from services.attachments.storage import LocalStorage
from services.config import Settings
from services.models import ExportStatus, PrivacyExport
from services.models.occupants import Occupant
from services.privacy import export
from tests import factories as f
from workers.runner import JOBS


async def _build(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    return await export.run_pending(sessionmaker, settings, LocalStorage(settings.files_dir))


async def test_export_builds_an_archive_of_everything_and_the_link_expires(
    client: httpx.AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    frozen_clock: time_machine.Coordinates,
) -> None:
    assert "build_privacy_exports" in {j.name for j in JOBS}
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    assert (await f.upload_photo(client, w.resident, t["id"])).status_code == 201
    r = await client.get(
        f"/v1/communities/{w.cid}/households/{w.household.id}/occupants", headers=f.auth(w.manager)
    )
    assert r.status_code == 200

    db.add(
        Occupant(
            community_id=w.cid, household_id=w.household.id or 0, name="报修住户本人", phone=w.resident.phone,
            relation="owner", created_by_id=w.admin.id or 0,
        )
    )  # fmt: skip
    await db.flush()
    assert (await client.post("/v1/me/export")).status_code == 401
    r = await client.post("/v1/me/export", headers={**f.auth(w.resident), "Idempotency-Key": "exp-1"})
    assert r.status_code == 202, r.text
    out = r.json()
    assert out["status"] == "pending" and out["status_label"] == "生成中" and out["download_url"] is None
    again = await client.post("/v1/me/export", headers={**f.auth(w.resident), "Idempotency-Key": "exp-1"})
    assert again.status_code == 202 and again.json()["id"] == out["id"]
    # One at a time: a second request while the first is pending is a conflict.
    r = await client.post("/v1/me/export", headers=f.auth(w.resident))
    assert r.status_code == 409 and r.json()["error"]["code"] == "privacy.export_in_progress"

    assert await _build(sessionmaker, settings) == 1
    assert await _build(sessionmaker, settings) == 0  # nothing left: the job is safe to repeat
    r = await client.get(f"/v1/me/export/{out['id']}", headers=f.auth(w.resident))
    assert r.status_code == 200, r.text
    ready = r.json()
    assert ready["status"] == "ready" and ready["size_bytes"] > 0 and ready["download_url"]
    url = ready["download_url"]
    assert url.startswith(f"/v1/me/export/{out['id']}/download?")

    # The owner is told, in the same transaction that made the export ready.
    r = await client.get("/v1/notifications", headers=f.auth(w.resident))
    assert "个人信息副本已生成" in [n["title"] for n in r.json()["items"]]
    r = await client.get(url, headers=f.auth(w.resident))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert sorted(zf.namelist()) == ["data.json", "summary.txt"]
        data = json.loads(zf.read("data.json"))
        summary = zf.read("summary.txt").decode()
    assert data["profile"]["phone"] == w.resident.phone and "password_hash" not in data["profile"]
    assert [m["role"] for m in data["memberships"]] == ["resident"]
    assert [h["id"] for h in data["households"]] == [w.household.id]
    assert [x["id"] for x in data["tickets"]] == [t["id"]]
    assert data["ticket_events"] and all(e["ticket_id"] == t["id"] for e in data["ticket_events"])
    assert len(data["photos"]) == 1 and "storage_key" not in data["photos"][0]
    assert [a["action"] for a in data["access_log"]] == ["read.household_occupants"]
    assert data["access_log"][0]["actor_name"] == "物业经理"
    assert set(export.SECTIONS) <= set(data)
    assert [o["name"] for o in data["occupant_records"]] == [
        "报修住户本人"
    ]  # staff's record with their phone
    assert "个人信息副本" in summary and w.resident.phone in summary and "报修与投诉：1 条" in summary

    # Someone else: their bearer token with the resident's link, or the status, is 404.
    for path in (f"/v1/me/export/{out['id']}", url):
        r = await client.get(path, headers=f.auth(w.manager))
        assert r.status_code == 404 and r.json()["error"]["code"] == "privacy.export_not_found"
    # A tampered signature or expiry is refused; no token is 401.
    parts = parse_qs(urlsplit(url).query)
    base = f"/v1/me/export/{out['id']}/download"
    bad = await client.get(
        base, params={"exp": int(parts["exp"][0]) + 3600, "sig": parts["sig"][0]}, headers=f.auth(w.resident)
    )
    assert bad.status_code == 403 and bad.json()["error"]["code"] == "privacy.export_bad_link"
    assert (await client.get(url)).status_code == 401

    # After 24 h the link and the export are gone: 410, and the job deletes the file.
    frozen_clock.shift(timedelta(hours=24, minutes=1))
    r = await client.get(url, headers=f.auth(w.resident))
    assert r.status_code == 410 and r.json()["error"]["code"] == "privacy.export_expired"
    r = await client.get(f"/v1/me/export/{out['id']}", headers=f.auth(w.resident))
    assert r.json()["status"] == "expired" and r.json()["download_url"] is None
    await _build(sessionmaker, settings)
    row = await db.get(PrivacyExport, out["id"])
    assert row is not None
    await db.refresh(row)
    assert row.status == ExportStatus.expired and row.storage_key is None
    r = await client.get(url, headers=f.auth(w.resident))
    assert r.status_code == 410
    # A new export can be asked for.
    r = await client.post("/v1/me/export", headers=f.auth(w.resident))
    assert r.status_code == 202 and r.json()["id"] != out["id"]


async def test_missing_export_is_404_and_a_failing_build_gives_up_after_three_tries(
    client: httpx.AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    w = await f.ticket_world(db)
    r = await client.get(f"/v1/me/export/{2**40}", headers=f.auth(w.resident))
    assert r.status_code == 404 and r.json()["error"]["code"] == "privacy.export_not_found"
    r = await client.post("/v1/me/export", headers=f.auth(w.resident))
    export_id = r.json()["id"]

    class Broken(LocalStorage):
        async def put(self, key: str, data: bytes, content_type: str) -> None:
            raise OSError("disk full")

    broken = Broken(settings.files_dir)
    for _ in range(3):
        assert await export.run_pending(sessionmaker, settings, broken) == 0
    row = await db.get(PrivacyExport, export_id)
    assert row is not None
    await db.refresh(row)
    assert row.status == ExportStatus.failed and row.attempts == 3 and row.error == "OSError"
    r = await client.get(f"/v1/me/export/{export_id}", headers=f.auth(w.resident))
    assert r.json()["status"] == "failed" and r.json()["status_label"] == "生成失败"
    r = await client.get(
        f"/v1/me/export/{export_id}/download", params={"exp": 1, "sig": "x"}, headers=f.auth(w.resident)
    )
    assert r.status_code == 403


async def test_forget_removes_the_exports_and_their_archives(
    client: httpx.AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """For account deletion (issue 20 item 1): nothing of the archive (phone, name) is left behind."""
    w = await f.ticket_world(db)
    r = await client.post("/v1/me/export", headers=f.auth(w.resident))
    assert await _build(sessionmaker, settings) == 1
    row = await db.get(PrivacyExport, r.json()["id"])
    assert row is not None
    await db.refresh(row)
    storage = LocalStorage(settings.files_dir)
    assert row.storage_key and await storage.get(row.storage_key)
    key = row.storage_key
    assert await export.forget(db, storage, w.resident.id or 0) == 1
    assert (settings.files_dir / key).exists() is False
    r = await client.get(f"/v1/me/export/{row.id}", headers=f.auth(w.resident))
    assert r.status_code == 404
