"""Ticket photos uploaded straight to an S3-compatible bucket: presign, the phone's real HTTP POST/PUT to
the presigned URL (moto's S3 server on a loopback port stands in for OSS/COS/MinIO), then complete.

The server fetches the object, checks and cleans it as a multipart upload (EXIF/GPS stripped, thumb and
medium sizes), stores the attachment and deletes the raw object.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import time_machine
from PIL import Image
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.main import create_app
from services import retention
from services.attachments import images
from services.attachments.storage import storage_for
from services.bootstrap import Resources
from services.config import Settings
from services.db import session_factory, transaction
from services.models.attachments import Attachment, DirectUpload
from services.models.base import utcnow
from services.notifications.sms import LogSmsProvider
from services.runtime import Runtime
from tests import factories as f
from tests.committed_world import delete_ticket_world
from tests.conftest import committed_client
from tests.services.test_attachments import assert_no_metadata, gps_exif

pytestmark = pytest.mark.calendar

BUCKET = "linli-direct"
CREDS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 in server mode (a real HTTP endpoint in a thread): LINLI_TEST_S3_PORT picks the port
    (a helper's own range on a shared machine), else the OS picks a free one."""
    server_mod = pytest.importorskip("moto.server")
    port = int(os.environ.get("LINLI_TEST_S3_PORT", "0"))
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    endpoint = f"http://{host}:{bound}"
    import boto3  # type: ignore[import-untyped]

    boto3.client("s3", endpoint_url=endpoint, **CREDS).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def s3_settings(settings: Settings, endpoint: str, **extra: object) -> Settings:
    return settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_bucket": BUCKET,
            "s3_endpoint_url": endpoint,
            "s3_region": "us-east-1",
            "s3_access_key_id": SecretStr("test"),
            "s3_secret_access_key": SecretStr("test"),
            "s3_prefix": "att/",
            **extra,
        }
    )


async def _client(
    settings: Settings, engine: AsyncEngine, maker: async_sessionmaker[AsyncSession], redis: Redis | None
) -> AsyncIterator[httpx.AsyncClient]:
    runtime = Runtime(settings=settings, sms=LogSmsProvider(outbox_path=None), redis=redis)
    application = create_app(settings, Resources(engine=engine, sessionmaker=maker, runtime=runtime))
    transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 50000))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://linli.test") as c,
    ):
        yield c


@pytest.fixture
async def s3_client(
    s3_endpoint: str,
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis | None,
) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(s3_settings(settings, s3_endpoint), engine, sessionmaker, redis):
        yield c


def raw(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, **CREDS)


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


def photo(size: tuple[int, int] = (1600, 1200)) -> bytes:
    im = Image.new("RGB", size, (200, 30, 30))
    im.paste((10, 200, 10), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    im.save(out, format="JPEG", exif=gps_exif())
    return out.getvalue()


async def presign(
    client: httpx.AsyncClient, who: object, tid: object, purpose: str = "before", key: str | None = None
) -> httpx.Response:
    headers = {**f.auth(who), **({"Idempotency-Key": key} if key else {})}  # type: ignore[arg-type]
    return await client.post(
        f"/v1/tickets/{tid}/attachments/uploads",
        json={"purpose": purpose, "content_type": "image/jpeg"},
        headers=headers,
    )


async def send(up: dict[str, Any], data: bytes, content_type: str = "image/jpeg") -> httpx.Response:
    """What the phone does: straight to the store, no bearer token, no Linli server in between."""
    async with httpx.AsyncClient() as phone:
        if up["method"] == "POST":
            return await phone.post(
                up["url"], data=up["fields"], files={"file": ("p.jpg", data, content_type)}
            )
        return await phone.put(up["url"], content=data, headers=up["headers"])


async def complete(
    client: httpx.AsyncClient, who: object, tid: object, upload_id: str, key: str | None = None
) -> httpx.Response:
    headers = {**f.auth(who), **({"Idempotency-Key": key} if key else {})}  # type: ignore[arg-type]
    return await client.post(f"/v1/tickets/{tid}/attachments/uploads/{upload_id}/complete", headers=headers)


async def test_presigned_post_then_complete_stores_a_clean_photo_in_three_sizes(
    s3_client: httpx.AsyncClient, s3_endpoint: str, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(s3_client, w)
    r = await presign(s3_client, w.resident, t["id"])
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["method"] == "POST" and up["url"] == f"{s3_endpoint}/{BUCKET}"
    assert up["fields"]["key"] == f"att/incoming/{up['upload_id']}.raw"
    assert up["fields"]["Content-Type"] == "image/jpeg"
    assert up["max_bytes"] == 10 * 1024 * 1024
    # The POST policy makes the store refuse a larger file or another Content-Type by itself.
    policy = json.loads(base64.b64decode(up["fields"]["policy"]))
    assert ["content-length-range", 1, up["max_bytes"]] in policy["conditions"]
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]

    sent = await send(up, photo())
    assert sent.status_code in (200, 201, 204), sent.text
    r = await complete(s3_client, w.resident, t["id"], up["upload_id"])
    assert r.status_code == 201, r.text
    ref = r.json()
    assert ref["purpose"] == "before" and ref["thumb_url"] and ref["medium_url"]

    row = await db.get(Attachment, ref["id"])
    assert row is not None and row.uploaded_by == w.resident.id and row.owner_id == t["id"]
    assert row.medium_key == row.storage_key[:-4] + ".medium.jpg"
    original = (await s3_client.get(ref["url"])).content
    assert assert_no_metadata(original).size == (1600, 1200)  # EXIF with its GPS block is gone
    medium = Image.open(io.BytesIO((await s3_client.get(ref["medium_url"])).content))
    thumb = Image.open(io.BytesIO((await s3_client.get(ref["thumb_url"])).content))
    assert (medium.format, medium.size) == ("JPEG", (1080, 810))
    assert (thumb.format, thumb.size) == ("JPEG", (320, 240))
    # The raw upload is gone; the stored files are under their own keys.
    s3 = raw(s3_endpoint)
    names = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="att/").get("Contents", [])}
    assert not any(n.startswith("att/incoming/") for n in names)
    assert {"att/" + k for k in row.file_keys()} <= names
    pending = (await db.exec(select(DirectUpload).where(DirectUpload.token == up["upload_id"]))).one()
    await db.refresh(pending)
    assert pending.completed_at is not None and pending.attachment_id == row.id
    # The ticket lists it with all three URLs.
    detail = (await s3_client.get(f"/v1/tickets/{t['id']}", headers=f.auth(w.resident))).json()
    assert [a["medium_url"] for a in detail["attachments"]] == [ref["medium_url"]]
    # Completing again: 409 with the attachment made the first time.
    again = await complete(s3_client, w.resident, t["id"], up["upload_id"])
    assert again.status_code == 409 and code(again) == "attachment.upload_completed"
    assert again.json()["error"]["details"] == {"attachment_id": row.id}


async def test_idempotency_key_replays_presign_and_complete(
    s3_client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(s3_client, w)
    first = await presign(s3_client, w.resident, t["id"], key="presign-1")
    again = await presign(s3_client, w.resident, t["id"], key="presign-1")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    tokens = (await db.exec(select(DirectUpload).where(DirectUpload.owner_id == t["id"]))).all()
    assert len(tokens) == 1
    up = first.json()
    assert (await send(up, photo((200, 100)))).is_success
    done = await complete(s3_client, w.resident, t["id"], up["upload_id"], key="complete-1")
    replay = await complete(s3_client, w.resident, t["id"], up["upload_id"], key="complete-1")
    assert done.status_code == replay.status_code == 201, (done.text, replay.text)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == done.json()
    rows = (
        await db.exec(
            select(Attachment).where(Attachment.owner_type == "ticket", Attachment.owner_id == t["id"])
        )
    ).all()
    assert len(rows) == 1


async def test_complete_refusals_have_their_own_codes(
    s3_client: httpx.AsyncClient,
    s3_endpoint: str,
    db: AsyncSession,
    frozen_clock: time_machine.Coordinates,
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(s3_client, w)
    never = "0" * 32
    r = await complete(s3_client, w.resident, t["id"], never)
    assert r.status_code == 404 and code(r) == "attachment.upload_not_found"
    r = await s3_client.post(
        f"/v1/tickets/{t['id']}/attachments/uploads/not-hex/complete", headers=f.auth(w.resident)
    )
    assert r.status_code == 422
    # Issued, nothing uploaded yet.
    up = (await presign(s3_client, w.resident, t["id"])).json()
    r = await complete(s3_client, w.resident, t["id"], up["upload_id"])
    assert r.status_code == 422 and code(r) == "attachment.upload_missing"
    assert (await send(up, photo((64, 48)))).is_success
    # Someone else who sees the ticket (the manager), someone who does not, another ticket, a stranger.
    r = await complete(s3_client, w.manager, t["id"], up["upload_id"])
    assert r.status_code == 403 and code(r) == "attachment.upload_not_yours"
    neighbour = await f.resident(db, await f.household(db, w.building, room="902"), name="邻居")
    r = await complete(s3_client, neighbour, t["id"], up["upload_id"])
    assert r.status_code == 404 and code(r) == "ticket.not_found"
    other = await f.file_ticket(s3_client, w)
    r = await complete(s3_client, w.resident, other["id"], up["upload_id"])
    assert r.status_code == 404 and code(r) == "attachment.upload_not_found"
    r = await s3_client.post(f"/v1/tickets/{t['id']}/attachments/uploads/{up['upload_id']}/complete")
    assert r.status_code == 401
    # A day later the upload has expired.
    frozen_clock.shift(timedelta(hours=24, seconds=1))
    r = await complete(s3_client, w.resident, t["id"], up["upload_id"])
    assert r.status_code == 410 and code(r) == "attachment.upload_expired"
    assert await _photos(db, t["id"]) == 0


async def test_a_file_that_is_not_a_photo_is_refused_and_removed(
    s3_client: httpx.AsyncClient, s3_endpoint: str, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(s3_client, w)
    up = (await presign(s3_client, w.resident, t["id"])).json()
    assert (await send(up, f.PDF_BYTES)).is_success  # the store checks the declared type only
    r = await complete(s3_client, w.resident, t["id"], up["upload_id"])
    assert r.status_code == 422 and code(r) == "attachment.unsupported_type"
    with pytest.raises(Exception, match=r"404|Not Found"):
        raw(s3_endpoint).head_object(Bucket=BUCKET, Key=up["fields"]["key"])
    r = await complete(s3_client, w.resident, t["id"], up["upload_id"])
    assert r.status_code == 422 and code(r) == "attachment.upload_missing"


async def test_presign_applies_the_photo_rules(s3_client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(s3_client, w)
    r = await presign(s3_client, w.technician, t["id"])  # before-photos are the reporter's
    assert r.status_code in (403, 404)
    r = await presign(s3_client, w.resident, t["id"], "after")  # after-photos are the worker's
    assert r.status_code == 403
    r = await s3_client.post(
        f"/v1/tickets/{t['id']}/attachments/uploads",
        json={"purpose": "before", "content_type": "application/pdf"},
        headers=f.auth(w.resident),
    )
    assert r.status_code == 422
    for i in range(9):  # multipart uploads go to the bucket too, and count alike
        up = await f.upload_photo(s3_client, w.resident, t["id"], data=f.jpeg_bytes(color=(i * 20, 1, 1)))
        assert up.status_code == 201, up.text
    r = await presign(s3_client, w.resident, t["id"])
    assert r.status_code == 422 and code(r) == "attachment.too_many"


async def test_presigned_put_for_stores_without_post_policies(
    s3_endpoint: str,
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis | None,
    db: AsyncSession,
) -> None:
    conf = s3_settings(settings, s3_endpoint, s3_presign_method="put", max_photo_bytes=40_000)
    async for client in _client(conf, engine, sessionmaker, redis):
        w = await f.ticket_world(db)
        t = await f.file_ticket(client, w)
        up = (await presign(client, w.resident, t["id"])).json()
        assert up["method"] == "PUT" and up["fields"] == {}
        assert up["headers"] == {"Content-Type": "image/jpeg"}
        assert (await send(up, photo((300, 200)))).status_code == 200
        r = await complete(client, w.resident, t["id"], up["upload_id"])
        assert r.status_code == 201, r.text
        # A PUT is not size-limited by the store: the server refuses it before downloading.
        up = (await presign(client, w.resident, t["id"])).json()
        assert (await send(up, f.jpeg_bytes() + b"\0" * 50_000)).status_code == 200
        r = await complete(client, w.resident, t["id"], up["upload_id"])
        assert r.status_code == 413 and code(r) == "attachment.too_large"
        assert await _photos(db, t["id"]) == 1


async def test_local_storage_says_to_use_the_multipart_upload(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await presign(client, w.resident, t["id"])
    assert r.status_code == 409 and code(r) == "attachment.direct_upload_unavailable"
    assert r.json()["error"]["details"] == {"use": "multipart"}
    r = await complete(client, w.resident, t["id"], "a" * 32)
    assert r.status_code == 409 and code(r) == "attachment.direct_upload_unavailable"
    assert (await f.upload_photo(client, w.resident, t["id"])).status_code == 201


async def _photos(db: AsyncSession, tid: object) -> int:
    rows = (
        await db.exec(
            select(Attachment.id).where(
                col(Attachment.owner_type) == "ticket", col(Attachment.owner_id) == tid
            )
        )
    ).all()
    return len(rows)


async def test_complete_decodes_before_any_statement_of_the_request(
    s3_client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the multipart upload: fetching and decoding never happen inside the request's transaction
    (on SQLite that holds the database's one write lock)."""
    w = await f.ticket_world(db)
    t = await f.file_ticket(s3_client, w)
    up = (await presign(s3_client, w.resident, t["id"])).json()
    assert (await send(up, photo((400, 300)))).is_success
    events: list[str] = []
    clean_image = images.clean_image

    def decode(*args: Any, **kwargs: Any) -> images.CleanImage:
        events.append("decode")
        return clean_image(*args, **kwargs)

    def statement(*_: Any) -> None:
        events.append("sql")

    monkeypatch.setattr(images, "clean_image", decode)
    sa.event.listen(engine.sync_engine, "before_cursor_execute", statement)
    try:
        r = await complete(s3_client, w.resident, t["id"], up["upload_id"])
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", statement)
    assert r.status_code == 201, r.text
    assert events[0] == "decode" and events.count("decode") == 1 and "sql" in events


async def test_retention_removes_old_uploads_and_raw_objects(
    s3_client: httpx.AsyncClient,
    s3_endpoint: str,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    db: AsyncSession,
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(s3_client, w)
    up = (await presign(s3_client, w.resident, t["id"])).json()
    assert (await send(up, photo((64, 48)))).is_success
    conf = s3_settings(settings, s3_endpoint)
    store = storage_for(conf)
    assert await retention.enforce(sessionmaker, conf, store, utcnow() + timedelta(days=6)) == {}
    removed = await retention.enforce(sessionmaker, conf, store, utcnow() + timedelta(days=8))
    assert removed == {"direct_uploads": 1}
    assert (await db.exec(select(DirectUpload).where(DirectUpload.token == up["upload_id"]))).first() is None
    with pytest.raises(Exception, match=r"404|Not Found"):
        raw(s3_endpoint).head_object(Bucket=BUCKET, Key=up["fields"]["key"])


async def test_two_simultaneous_completes_make_one_photo(
    s3_endpoint: str, settings: Settings, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request on its own connection (committed rows, cleaned up after). On PostgreSQL both have
    read the pending upload before either marks it: the conditional UPDATE lets one through."""
    from services.attachments import direct

    if engine.dialect.name == "postgresql":
        barrier = asyncio.Barrier(2)
        original = direct.mark_completing

        async def after_both_read(ctx: Any, row: DirectUpload) -> None:
            await asyncio.wait_for(barrier.wait(), timeout=10)
            await original(ctx, row)

        monkeypatch.setattr(direct, "mark_completing", after_both_read)
    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        w = await f.ticket_world(s)
    conf = s3_settings(settings, s3_endpoint)
    try:
        async with committed_client(conf, engine, maker) as client:
            t = await f.file_ticket(client, w)
            up = (await presign(client, w.resident, t["id"])).json()
            assert (await send(up, photo((200, 100)))).is_success
            results = await asyncio.gather(
                complete(client, w.resident, t["id"], up["upload_id"]),
                complete(client, w.resident, t["id"], up["upload_id"]),
            )
            assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
            loser = next(r for r in results if r.status_code == 409)
            assert code(loser) == "attachment.upload_completed"
            async with maker() as s:
                n = (
                    await s.execute(
                        sa.select(sa.func.count())
                        .select_from(Attachment)
                        .where(col(Attachment.owner_type) == "ticket", col(Attachment.owner_id) == t["id"])
                    )
                ).scalar_one()
                assert n == 1
    finally:
        async with maker() as s, transaction(s):
            await s.execute(sa.delete(DirectUpload).where(col(DirectUpload.community_id) == w.community.id))
            await s.execute(sa.delete(Attachment).where(col(Attachment.community_id) == w.community.id))
        await delete_ticket_world(engine, w)
