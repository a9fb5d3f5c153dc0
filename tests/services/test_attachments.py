"""Attachment machinery: byte sniffing, limits, metadata stripping, thumbnails, storage backends."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import ExifTags, Image
from pydantic import SecretStr
from sqlmodel.ext.asyncio.session import AsyncSession

from services.access import Principal
from services.attachments import service
from services.attachments.inspect import DOCUMENT_TYPES, PHOTO_TYPES, sniff
from services.attachments.schemas import AttachmentOut
from services.attachments.storage import LocalStorage, S3Storage, StorageKeyMissing, new_key, storage_for
from services.errors import DomainError
from services.models import Community, User
from services.models.attachments import Attachment
from services.runtime import Ctx, Runtime
from tests import factories as f
from tests.conftest import App

PDF_BYTES = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# --- image builders -------------------------------------------------------------------------------------


def gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (31.0, 14.0, 3.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (121.0, 28.0, 10.0),
    }
    return exif


def image_bytes(fmt: str, size: tuple[int, int] = (40, 20), mode: str = "RGB", **save: Any) -> bytes:
    im = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None)
    if mode == "RGB":
        im.paste((10, 200, 10), (0, 0, size[0] // 2, size[1]))  # left half green: shows rotation
    out = io.BytesIO()
    im.save(out, format=fmt, **save)
    return out.getvalue()


def heic_bytes(size: tuple[int, int] = (40, 20), **save: Any) -> bytes:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    return image_bytes("HEIF", size, **save)


# --- fixtures -------------------------------------------------------------------------------------------


@pytest.fixture
async def owner(db: AsyncSession) -> tuple[Community, User]:
    return await f.community(db), await f.user(db)


def make_ctx(app: App, db: AsyncSession, user: User, runtime: Runtime | None = None) -> Ctx:
    return Ctx(session=db, runtime=runtime or app.runtime, principal=Principal(user=user))


_owner_ids = iter(range(10_000, 10**9))


async def upload(
    app: App,
    db: AsyncSession,
    owner: tuple[Community, User],
    data: bytes,
    *,
    name: str | None = "photo.jpg",
    owner_id: int | None = None,
    **kwargs: object,
) -> AttachmentOut:
    community, user = owner
    assert community.id is not None
    return await service.store_upload(
        make_ctx(app, db, user),
        community_id=community.id,
        owner_type="ticket",
        owner_id=owner_id if owner_id is not None else next(_owner_ids),
        purpose="before",
        data=data,
        original_name=name,
        **kwargs,  # type: ignore[arg-type]
    )


async def stored(app: App, db: AsyncSession, out: AttachmentOut) -> tuple[Attachment, bytes, bytes | None]:
    row = await db.get(Attachment, out.id)
    assert row is not None
    root = app.settings.files_dir
    original = (root / row.storage_key).read_bytes()
    thumb = (root / row.thumb_key).read_bytes() if row.thumb_key else None
    return row, original, thumb


def expect(exc: pytest.ExceptionInfo[DomainError], status: int, code: str) -> None:
    assert (exc.value.status, exc.value.code) == (status, code)


# --- sniffing -------------------------------------------------------------------------------------------


def test_sniff_detects_each_type_from_bytes() -> None:
    assert sniff(image_bytes("JPEG")) == "image/jpeg"
    assert sniff(image_bytes("PNG")) == "image/png"
    assert sniff(image_bytes("WEBP")) == "image/webp"
    assert sniff(heic_bytes()) == "image/heic"
    assert sniff(PDF_BYTES) == "application/pdf"
    # Generic HEIF structure brand without an HEVC brand; AVIF (major brand avif, compatible mif1) is refused.
    assert sniff(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf" + b"\x00" * 16) == "image/heif"
    assert sniff(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 16) is None
    assert sniff(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 16) is None  # MP4
    for junk in (b"", b"\xff\xd8", b"GIF89a" + b"\x00" * 20, b"RIFF\x00\x00\x00\x00WAVE", b"hello.jpg"):
        assert sniff(junk) is None
    assert PHOTO_TYPES < DOCUMENT_TYPES


async def test_pdf_renamed_jpg_is_refused_as_a_photo(
    app: App, db: AsyncSession, owner: tuple[Community, User]
) -> None:
    with pytest.raises(DomainError) as exc:
        await upload(app, db, owner, PDF_BYTES, name="photo.jpg")
    expect(exc, 422, "attachment.unsupported_type")
    assert "image/jpeg" in exc.value.details["allowed"]


async def test_text_named_jpg_is_refused(app: App, db: AsyncSession, owner: tuple[Community, User]) -> None:
    with pytest.raises(DomainError) as exc:
        await upload(app, db, owner, b"<?php echo 1; ?>", name="x.jpg")
    expect(exc, 422, "attachment.unsupported_type")


async def test_pdf_is_accepted_where_documents_are_allowed(
    app: App, db: AsyncSession, owner: tuple[Community, User]
) -> None:
    out = await upload(app, db, owner, PDF_BYTES, name="公示.pdf", allowed=DOCUMENT_TYPES)
    assert out.content_type == "application/pdf"
    assert out.thumb_url is None and out.width is None
    row, original, thumb = await stored(app, db, out)
    assert original == PDF_BYTES and thumb is None
    assert row.original_name == "公示.pdf"


# --- limits ---------------------------------------------------------------------------------------------


async def test_eleven_megabytes_is_too_large(
    app: App, db: AsyncSession, owner: tuple[Community, User]
) -> None:
    data = image_bytes("JPEG") + os.urandom(11 * 1024 * 1024)
    with pytest.raises(DomainError) as exc:
        await upload(app, db, owner, data)
    expect(exc, 413, "attachment.too_large")
    assert exc.value.details == {"max_bytes": 10 * 1024 * 1024}


async def test_tenth_photo_is_too_many(app: App, db: AsyncSession, owner: tuple[Community, User]) -> None:
    photo = image_bytes("JPEG")
    for _ in range(9):
        await upload(app, db, owner, photo, owner_id=77, max_count=9)
    assert await service.count_for(db, "ticket", 77) == 9
    assert await service.count_for(db, "notice", 77) == 0  # owners are (type, id)
    with pytest.raises(DomainError) as exc:
        await upload(app, db, owner, photo, owner_id=77, max_count=9)
    expect(exc, 422, "attachment.too_many")
    assert exc.value.details == {"max_count": 9}

    # A removed photo frees its place.
    listed = await service.list_for(make_ctx(app, db, owner[1]), "ticket", 77)
    assert len(listed) == 9
    await service.soft_delete(make_ctx(app, db, owner[1]), "ticket", 77, listed[0].id)
    assert await service.count_for(db, "ticket", 77) == 8
    await upload(app, db, owner, photo, owner_id=77, max_count=9)
    with pytest.raises(DomainError) as exc:
        await service.soft_delete(make_ctx(app, db, owner[1]), "ticket", 78, listed[1].id)
    expect(exc, 404, "attachment.not_found")


async def test_corrupt_images_are_unreadable(
    app: App, db: AsyncSession, owner: tuple[Community, User]
) -> None:
    good = image_bytes("JPEG", (200, 200), quality=95)
    for bad in (
        b"\xff\xd8\xff\xe0" + b"\x13" * 500,  # JPEG signature, garbage after
        good[: len(good) // 2],  # truncated
        image_bytes("PNG")[:40],
    ):
        with pytest.raises(DomainError) as exc:
            await upload(app, db, owner, bad)
        expect(exc, 422, "attachment.unreadable")


async def test_decompression_bomb_is_refused_before_decoding(
    app: App, db: AsyncSession, owner: tuple[Community, User]
) -> None:
    small = Runtime(
        settings=app.settings.model_copy(update={"max_image_pixels": 10_000}), sms=app.runtime.sms
    )
    community, user = owner
    assert community.id is not None
    with pytest.raises(DomainError) as exc:
        await service.store_upload(
            make_ctx(app, db, user, small),
            community_id=community.id,
            owner_type="ticket",
            owner_id=1,
            purpose="before",
            data=image_bytes("PNG", (200, 200)),
            original_name=None,
        )
    expect(exc, 422, "attachment.too_many_pixels")


# --- cleaning and thumbnails ----------------------------------------------------------------------------


def assert_no_metadata(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    assert len(im.getexif()) == 0
    assert not im.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "exif" not in im.info and "xmp" not in im.info
    assert b"Exif\x00\x00" not in data and b"TestCam" not in data
    return im


async def test_gps_exif_is_stripped_and_orientation_applied(
    app: App, db: AsyncSession, owner: tuple[Community, User]
) -> None:
    data = image_bytes("JPEG", (40, 20), exif=gps_exif(orientation=6))
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input has GPS
    out = await upload(app, db, owner, data)
    row, original, thumb = await stored(app, db, out)
    im = assert_no_metadata(original)
    # Orientation 6 (rotate 90° clockwise) is baked into the pixels: 40×20 becomes 20×40, green on top.
    assert im.size == (20, 40) == (out.width, out.height)
    rgb = im.convert("RGB")
    assert rgb.getpixel((10, 5))[1] > 150 and rgb.getpixel((10, 35))[0] > 150  # type: ignore[index]
    assert thumb is not None
    assert_no_metadata(thumb)
    assert row.sha256 and row.size_bytes == len(original)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
async def test_png_and_webp_metadata_is_stripped(
    app: App, db: AsyncSession, owner: tuple[Community, User], fmt: str
) -> None:
    extra: dict[str, Any] = {"exif": gps_exif()}
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", "TestCam at home")
        extra["pnginfo"] = info
    out = await upload(
        app, db, owner, image_bytes(fmt, exif=gps_exif()) if fmt == "WEBP" else image_bytes(fmt, **extra)
    )
    assert out.content_type == f"image/{fmt.lower()}"
    _, original, _ = await stored(app, db, out)
    im = assert_no_metadata(original)
    assert not getattr(im, "text", {})


async def test_palette_png_with_transparency_is_kept_readable(
    app: App, db: AsyncSession, owner: tuple[Community, User]
) -> None:
    im = Image.new("P", (30, 30), 0)
    out = io.BytesIO()
    im.save(out, format="PNG", transparency=0)
    result = await upload(app, db, owner, out.getvalue())
    _, original, thumb = await stored(app, db, result)
    assert Image.open(io.BytesIO(original)).mode == "RGBA"
    assert thumb is not None and Image.open(io.BytesIO(thumb)).mode == "RGB"


async def test_thumbnail_is_at_most_320_px(app: App, db: AsyncSession, owner: tuple[Community, User]) -> None:
    out = await upload(app, db, owner, image_bytes("JPEG", (1000, 600)))
    _, original, thumb = await stored(app, db, out)
    assert Image.open(io.BytesIO(original)).size == (1000, 600)
    assert thumb is not None
    t = Image.open(io.BytesIO(thumb))
    assert t.format == "JPEG" and t.size == (320, 192)
    assert out.thumb_url is not None and "variant=thumb" in out.thumb_url


async def test_heic_is_decoded_cleaned_and_stored_as_jpeg(
    app: App, db: AsyncSession, owner: tuple[Community, User]
) -> None:
    data = heic_bytes((40, 20), exif=gps_exif(orientation=6).tobytes())
    assert sniff(data) == "image/heic"
    out = await upload(app, db, owner, data, name="IMG_0001.HEIC")
    assert out.content_type == "image/jpeg"
    row, original, thumb = await stored(app, db, out)
    assert row.storage_key.endswith(".jpg")
    im = assert_no_metadata(original)
    assert im.format == "JPEG" and im.size == (20, 40)  # rotated once, not twice
    assert thumb is not None


# --- storage --------------------------------------------------------------------------------------------


async def test_files_land_in_the_storage_dir_under_server_keys(
    app: App, db: AsyncSession, owner: tuple[Community, User]
) -> None:
    community, _ = owner
    out = await upload(app, db, owner, image_bytes("JPEG"), name="../../etc/passwd\x00.jpg")
    row = await db.get(Attachment, out.id)
    assert row is not None and row.thumb_key is not None
    assert re.fullmatch(rf"c{community.id}/\d{{4}}/\d{{2}}/[0-9a-f]{{32}}\.jpg", row.storage_key)
    assert row.thumb_key == row.storage_key[:-4] + ".thumb.jpg"
    assert row.original_name == "../../etc/passwd.jpg"  # kept for display (less control characters) only
    root = app.settings.files_dir
    assert root == app.settings.var_dir / "files"
    assert (root / row.storage_key).is_file() and (root / row.thumb_key).is_file()
    assert not list(root.rglob("*.tmp"))
    assert isinstance(storage_for(app.settings), LocalStorage)


async def test_list_for_many_groups_by_owner(
    app: App, db: AsyncSession, owner: tuple[Community, User]
) -> None:
    a = await upload(app, db, owner, image_bytes("PNG"), owner_id=501)
    b = await upload(app, db, owner, image_bytes("JPEG"), owner_id=502)
    c = await upload(app, db, owner, image_bytes("WEBP"), owner_id=501)
    got = await service.list_for_many(make_ctx(app, db, owner[1]), "ticket", [501, 502, 503])
    assert {k: [x.id for x in v] for k, v in got.items()} == {501: [a.id, c.id], 502: [b.id]}
    assert got[501][0].url.startswith(f"/v1/files/{a.id}?variant=original&exp=")


async def test_local_storage_refuses_foreign_keys(tmp_path: os.PathLike[str]) -> None:
    store = LocalStorage(tmp_path)  # type: ignore[arg-type]
    for key in ("../x.jpg", "/etc/passwd", "c1/2026/11/../../x.jpg", "c1/2026/11/abc.jpg"):
        with pytest.raises(ValueError):
            await store.put(key, b"x", "image/jpeg")
    key = new_key(1, "jpg")
    with pytest.raises(StorageKeyMissing):
        await store.get(key)
    await store.put(key, b"abc", "image/jpeg")
    assert await store.get(key) == b"abc"
    await store.delete(key)
    await store.delete(key)  # idempotent


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


async def test_s3_storage_against_a_loopback_stand_in(
    s3_endpoint: str, app: App, db: AsyncSession, owner: tuple[Community, User]
) -> None:
    import boto3  # type: ignore[import-untyped]

    creds = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    boto3.client("s3", endpoint_url=s3_endpoint, **creds).create_bucket(Bucket="linli-files")
    settings = app.settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_bucket": "linli-files",
            "s3_endpoint_url": s3_endpoint,
            "s3_region": "us-east-1",
            "s3_access_key_id": SecretStr("test"),
            "s3_secret_access_key": SecretStr("test"),
            "s3_prefix": "att/",
        }
    )
    store = storage_for(settings)
    assert isinstance(store, S3Storage)
    key = new_key(9, "jpg")
    await store.put(key, b"\xff\xd8\xffdata", "image/jpeg")
    assert await store.get(key) == b"\xff\xd8\xffdata"
    raw = boto3.client("s3", endpoint_url=s3_endpoint, **creds).get_object(
        Bucket="linli-files", Key="att/" + key
    )
    assert raw["ContentType"] == "image/jpeg"
    await store.delete(key)
    with pytest.raises(StorageKeyMissing):
        await store.get(key)

    out = await upload(app, db, owner, image_bytes("JPEG", exif=gps_exif()), storage=store)
    row = await db.get(Attachment, out.id)
    assert row is not None and row.thumb_key is not None
    assert_no_metadata(await store.get(row.storage_key))
    assert Image.open(io.BytesIO(await store.get(row.thumb_key))).format == "JPEG"


async def test_files_are_removed_when_the_row_cannot_be_written(
    app: App, db: AsyncSession, owner: tuple[Community, User]
) -> None:
    _, user = owner
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        await service.store_upload(
            make_ctx(app, db, user),
            community_id=987_654_321,  # no such community: the flush fails on the foreign key
            owner_type="ticket",
            owner_id=1,
            purpose="before",
            data=image_bytes("JPEG"),
            original_name=None,
        )
    await db.rollback()
    leftovers = app.settings.files_dir / "c987654321"
    assert not leftovers.exists() or not [p for p in leftovers.rglob("*") if p.is_file()]
