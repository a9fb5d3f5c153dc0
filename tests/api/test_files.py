"""Serving attachments through signed URLs, and the larger body limit on upload paths."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import time_machine
from fastapi import Request
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.main import create_app
from services.access import Principal
from services.attachments import service, urls
from services.attachments.inspect import DOCUMENT_TYPES
from services.attachments.schemas import AttachmentOut
from services.bootstrap import Resources
from services.config import Settings
from services.models import User
from services.models.attachments import Attachment
from services.runtime import Ctx
from tests import factories as f
from tests.conftest import App

MiB = 1024 * 1024


def jpeg(size: tuple[int, int] = (600, 400)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 220)).save(out, format="JPEG")
    return out.getvalue()


async def upload(app: App, db: AsyncSession, data: bytes, **kwargs: object) -> AttachmentOut:
    community, user = await f.community(db), await f.user(db)
    assert community.id is not None
    ctx = Ctx(session=db, runtime=app.runtime, principal=Principal(user=user))
    return await service.store_upload(
        ctx,
        community_id=community.id,
        owner_type="ticket",
        owner_id=1,
        purpose="before",
        data=data,
        original_name=kwargs.pop("name", "photo.jpg"),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def error_code(r: httpx.Response) -> str:
    code: str = r.json()["error"]["code"]
    return code


async def test_signed_url_serves_the_stored_bytes(app: App, db: AsyncSession) -> None:
    out = await upload(app, db, jpeg())
    r = await app.client.get(out.url)  # no Authorization header
    assert r.status_code == 200
    row = await db.get(Attachment, out.id)
    assert row is not None
    assert r.content == (app.settings.files_dir / row.storage_key).read_bytes()
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"] == "inline"
    cache = r.headers["cache-control"]
    assert cache.startswith("private, max-age=")
    max_age = int(cache.rsplit("=", 1)[1])
    s = app.settings
    assert s.file_url_ttl_seconds - 5 <= max_age <= s.file_url_ttl_seconds + s.file_url_window_seconds

    assert out.thumb_url is not None
    t = await app.client.get(out.thumb_url)
    assert t.status_code == 200 and t.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(t.content)).size) == 320


async def test_pdf_is_served_as_a_download(app: App, db: AsyncSession) -> None:
    pdf = b"%PDF-1.4\n%%EOF\n"
    out = await upload(app, db, pdf, name="业主大会 公示.pdf", allowed=DOCUMENT_TYPES)
    r = await app.client.get(out.url)
    assert r.status_code == 200 and r.content == pdf
    assert r.headers["content-type"] == "application/pdf"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith(f"attachment; filename=\"{out.id}.pdf\"; filename*=UTF-8''")
    assert "%E4%B8%9A" in disposition and " " not in disposition.split("filename*=")[1]


async def test_bad_signatures_are_refused(app: App, db: AsyncSession) -> None:
    out = await upload(app, db, jpeg())
    q = query(out.url)
    exp, sig = int(q["exp"]), q["sig"]
    path = f"/v1/files/{out.id}"
    tampered = ("A" if sig[0] != "A" else "B") + sig[1:]
    past = int(time.time()) - 1
    thumb_sig = query(out.thumb_url or "")["sig"]
    refused: list[dict[str, str | int]] = [
        {"variant": "original", "exp": exp, "sig": tampered},
        {"variant": "original", "exp": exp + 1, "sig": sig},  # extended expiry
        {"variant": "thumb", "exp": exp, "sig": sig},  # the original's signature for the thumbnail
        {"variant": "original", "exp": exp, "sig": thumb_sig},
        {"variant": "original", "exp": past, "sig": urls.sign(app.settings, out.id, "original", past)},
        {"variant": "original", "exp": exp},  # no signature
        {"variant": "original", "exp": exp, "sig": "é" * 10},  # not ASCII
        {},
    ]
    for params in refused:
        r = await app.client.get(path, params=params)
        assert r.status_code == 403, params
        assert error_code(r) == "attachment.bad_signature"
    # Another attachment's id with this signature: refused the same way, existing or not.
    for other in (out.id + 1, 10**12):
        r = await app.client.get(f"/v1/files/{other}", params={"variant": "original", "exp": exp, "sig": sig})
        assert r.status_code == 403

    invalid: list[dict[str, str | int]] = [
        {"variant": "poster", "exp": exp, "sig": sig},
        {"variant": "original", "exp": "soon", "sig": sig},
    ]
    for params in invalid:
        r = await app.client.get(path, params=params)
        assert r.status_code == 422 and error_code(r) == "request.invalid"
    r = await app.client.get("/v1/files/abc", params={"exp": exp, "sig": sig})
    assert r.status_code == 422


async def test_valid_signature_for_a_missing_or_deleted_file_is_404(app: App, db: AsyncSession) -> None:
    exp = urls.expiry(app.settings)
    missing = 10**12
    r = await app.client.get(urls.signed_url(app.settings, missing, "original", exp))
    assert r.status_code == 404 and error_code(r) == "attachment.not_found"

    out = await upload(app, db, b"%PDF-1.4\n%%EOF\n", allowed=DOCUMENT_TYPES)
    r = await app.client.get(urls.signed_url(app.settings, out.id, "thumb", exp))  # PDFs have no thumbnail
    assert r.status_code == 404

    row = await db.get(Attachment, out.id)
    assert row is not None
    (app.settings.files_dir / row.storage_key).unlink()  # the file vanished from storage
    r = await app.client.get(out.url)
    assert r.status_code == 404 and error_code(r) == "attachment.not_found"

    photo = await upload(app, db, jpeg())
    user = await f.user(db)
    await service.soft_delete(
        Ctx(session=db, runtime=app.runtime, principal=Principal(user=user)), "ticket", 1, photo.id
    )
    r = await app.client.get(photo.url)
    assert r.status_code == 404


def test_signatures_bind_id_variant_and_expiry(settings: Settings) -> None:
    exp = urls.expiry(settings)
    assert exp >= time.time() + settings.file_url_ttl_seconds
    assert urls.expiry(settings, now=3600.0) == urls.expiry(settings, now=7199.0)  # stable within a window
    sig = urls.sign(settings, 5, "original", exp)
    assert urls.verify(settings, 5, "original", exp, sig) > 0
    other_key = settings.model_copy(update={"jwt_secret": None, "var_dir": settings.var_dir / "other"})
    assert urls.sign(other_key, 5, "original", exp) != sig
    assert len({sig, urls.sign(settings, 6, "original", exp), urls.sign(settings, 5, "thumb", exp)}) == 3


# --- the body-size limit on upload paths ----------------------------------------------------------------


async def test_upload_paths_accept_bodies_over_one_mib(client: httpx.AsyncClient) -> None:
    body = b"x" * (3 * MiB)
    headers = {"Content-Type": "application/octet-stream"}
    for path in ("/v1/tickets/123/attachments", "/v1/notices/5/attachments"):
        r = await client.post(path, content=body, headers=headers)
        assert r.status_code not in (413, 500), (path, r.status_code)  # reached routing (404/401/...)
    r = await client.post("/v1/auth/otp", content=body, headers=headers)
    assert r.status_code == 413 and error_code(r) == "request.too_large"
    for path in ("/v1/attachments", "/v1/tickets/1/attachments/x", "/v1/tickets/1/attachmentsx"):
        r = await client.post(path, content=body, headers=headers)
        assert r.status_code == 413, path


async def test_upload_paths_refuse_twelve_mib(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/tickets/123/attachments",
        content=b"x" * (12 * MiB),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 413
    assert error_code(r) == "request.too_large"
    assert r.json()["error"]["details"] == {"max_bytes": 11 * MiB}
    assert "X-Request-ID" in r.headers


@pytest.fixture
async def echo_client(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], app: App
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app plus one upload-shaped route that reads the whole body, for streamed uploads."""
    application = create_app(
        settings, Resources(engine=engine, sessionmaker=sessionmaker, runtime=app.runtime)
    )

    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    application.add_api_route("/v1/echo/{eid}/attachments", echo, methods=["POST"])
    transport = httpx.ASGITransport(app=application)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://linli.test") as client,
    ):
        yield client


async def test_streamed_uploads_are_counted_against_the_upload_limit(echo_client: httpx.AsyncClient) -> None:
    async def chunks(total: int) -> AsyncIterator[bytes]:
        sent = 0
        while sent < total:
            piece = min(MiB, total - sent)
            sent += piece
            yield b"x" * piece

    r = await echo_client.post("/v1/echo/1/attachments", content=chunks(3 * MiB))
    assert r.status_code == 200 and r.json() == {"received": 3 * MiB}
    r = await echo_client.post("/v1/echo/1/attachments", content=chunks(12 * MiB))
    assert r.status_code == 413 and error_code(r) == "request.too_large"


async def test_image_urls_stay_the_same_within_a_window(
    app: App, db: AsyncSession, frozen_clock: time_machine.Coordinates
) -> None:
    """The app's image cache is keyed by URL: listing the record again a few minutes later must hand out
    the very same URL (not a new one every minute), and the file's max-age covers the rest of it."""
    s = app.settings
    window = s.file_url_window_seconds
    now = time.time()
    frozen_clock.shift(window - now % window + 1)  # just after a window starts
    out = await upload(app, db, jpeg())
    row = await db.get(Attachment, out.id)
    assert row is not None
    first = service.to_out(s, row)
    frozen_clock.shift(window - 10)  # still the same window, 50 minutes later
    later = service.to_out(s, row)
    assert later.url == first.url and later.thumb_url == first.thumb_url
    r = await app.client.get(later.url)
    max_age = int(r.headers["cache-control"].rsplit("=", 1)[1])
    assert s.file_url_ttl_seconds <= max_age <= s.file_url_ttl_seconds + 15
    frozen_clock.shift(20)  # the next window: a new URL, the old one still valid for the TTL
    assert service.to_out(s, row).url != first.url
    assert (await app.client.get(first.url)).status_code == 200
    frozen_clock.shift(s.file_url_ttl_seconds)
    assert (await app.client.get(first.url)).status_code == 403


async def test_three_sizes_and_an_older_photo_without_medium(app: App, db: AsyncSession) -> None:
    out = await upload(app, db, jpeg((2000, 1000)))
    assert out.thumb_url and out.medium_url
    sizes = {}
    for variant, url in (("thumb", out.thumb_url), ("medium", out.medium_url), ("original", out.url)):
        r = await app.client.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        sizes[variant] = Image.open(io.BytesIO(r.content)).size
    assert sizes == {"thumb": (320, 160), "medium": (1080, 540), "original": (2000, 1000)}
    # Photos stored before the medium size existed have no medium file: "medium" serves the original
    # (the nearest larger size; a thumbnail would be blurry on a detail screen).
    row = await db.get(Attachment, out.id)
    assert row is not None and row.medium_key is not None
    (app.settings.files_dir / row.medium_key).unlink()
    row.medium_key = None
    db.add(row)
    await db.flush()
    uploader = await db.get(User, row.uploaded_by)
    assert uploader is not None
    [again] = await service.list_for(
        Ctx(session=db, runtime=app.runtime, principal=Principal(user=uploader)), "ticket", 1
    )
    assert again.medium_url == out.medium_url  # the same URL: the app needs no change
    r = await app.client.get(again.medium_url)
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (2000, 1000)
    h = await app.client.head(again.medium_url)
    assert h.status_code == 200 and h.headers["content-length"] == str(len(r.content))
    # A PDF has no sizes.
    pdf = await upload(app, db, b"%PDF-1.4\n%%EOF\n", allowed=DOCUMENT_TYPES)
    assert pdf.thumb_url is None and pdf.medium_url is None
