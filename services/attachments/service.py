"""Store, list and serve attachments. Callers check access to the owner record first.

Order of checks: `prepare_upload` (before the request's transaction opens) checks size and type (from the
bytes) and decodes; `store_upload` (in the transaction) checks the count. Files are written to
storage before the row is flushed; if the flush fails the files are removed again. If the surrounding
transaction rolls back later, the written files stay behind unreferenced: harmless (their keys are random
and no URL can be signed for them) and left for a future sweep of keys without rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.attachments.messages  # noqa: F401  (registers the error codes)
from services.attachments import images
from services.attachments.inspect import DOCUMENT_TYPES, EXTENSIONS, PDF, PHOTO_TYPES, sniff
from services.attachments.schemas import AttachmentOut
from services.attachments.storage import Storage, StorageKeyMissing, new_key, size_key_for, storage_for
from services.attachments.urls import Variant, expiry, signed_url, verify
from services.config import Settings
from services.errors import DomainError, InvalidInput, NotFound, PayloadTooLarge
from services.models.attachments import Attachment
from services.models.base import utcnow
from services.runtime import Ctx

log = logging.getLogger("linli.attachments")

__all__ = [
    "DOCUMENT_TYPES",
    "PHOTO_TYPES",
    "PreparedUpload",
    "ServedFile",
    "count_for",
    "list_for",
    "list_for_many",
    "open_file",
    "prepare_upload",
    "soft_delete",
    "store_upload",
]


class StorageUnavailable(DomainError):
    status = 503
    code = "attachment.storage_unavailable"


@dataclass(frozen=True)
class PreparedUpload:
    """An upload checked and cleaned, ready to store: the CPU-heavy part, done before any transaction
    opens so that decoding never holds a lock (on SQLite the database's only write lock)."""

    kind: str  # the type sniffed from the bytes
    data: bytes  # what is stored: the cleaned image, or the PDF as uploaded
    content_type: str
    thumb: bytes | None
    width: int | None
    height: int | None
    original_name: str | None
    medium: bytes | None = None  # images only, like thumb


async def prepare_upload(
    settings: Settings, data: bytes, original_name: str | None, allowed: frozenset[str] = PHOTO_TYPES
) -> PreparedUpload:
    """Size, type (from the bytes), then decoding, cleaning and thumbnailing in a thread."""
    if len(data) > settings.max_photo_bytes:
        raise PayloadTooLarge("attachment.too_large", details={"max_bytes": settings.max_photo_bytes})
    kind = sniff(data)
    if kind is None or kind not in allowed or not (kind == PDF or images.supported(kind)):
        raise InvalidInput("attachment.unsupported_type", details={"allowed": sorted(allowed)})
    if kind == PDF:
        # Stored as uploaded: PDFs are only offered as downloads (Content-Disposition: attachment).
        return PreparedUpload(kind, data, PDF, None, None, None, original_name)
    try:
        clean = await asyncio.to_thread(images.clean_image, data, kind, max_pixels=settings.max_image_pixels)
    except images.TooManyPixels as exc:
        raise InvalidInput(
            "attachment.too_many_pixels", details={"max_pixels": settings.max_image_pixels}
        ) from exc
    except images.UnreadableImage as exc:
        raise InvalidInput("attachment.unreadable") from exc
    return PreparedUpload(
        kind,
        clean.data,
        clean.content_type,
        clean.thumb,
        clean.width,
        clean.height,
        original_name,
        clean.medium,
    )


async def store_upload(
    ctx: Ctx,
    *,
    community_id: int,
    owner_type: str,
    owner_id: int,
    purpose: str,
    upload: PreparedUpload | None = None,
    data: bytes | None = None,
    original_name: str | None = None,
    allowed: frozenset[str] = PHOTO_TYPES,
    max_count: int | None = None,
    storage: Storage | None = None,
) -> AttachmentOut:
    """Store one upload for (owner_type, owner_id); flushes, never commits. The API passes an `upload`
    prepared before its transaction; raw `data` is prepared here (scripts and tests). `max_count`
    limits the owner's attachments of this `purpose` (a ticket's before- and after-photos count apart)."""
    principal = ctx.require_principal()
    settings = ctx.settings
    session = ctx.session
    if upload is None:
        upload = await prepare_upload(settings, data or b"", original_name, allowed)
    elif upload.kind not in allowed:
        raise InvalidInput("attachment.unsupported_type", details={"allowed": sorted(allowed)})
    if max_count is not None:
        await _lock_owner(session, owner_type, owner_id)
        if await count_for(session, owner_type, owner_id, purpose) >= max_count:
            raise InvalidInput("attachment.too_many", details={"max_count": max_count})

    stored, content_type = upload.data, upload.content_type
    store = storage or storage_for(settings)
    key = new_key(community_id, EXTENSIONS[content_type])
    written = await write_files(store, key, upload)
    thumb_key = size_key_for(key, "thumb") if upload.thumb is not None else None
    medium_key = size_key_for(key, "medium") if upload.medium is not None else None

    name = _display_name(upload.original_name)
    row = Attachment(
        community_id=community_id,
        owner_type=owner_type,
        owner_id=owner_id,
        purpose=purpose,
        content_type=content_type,
        size_bytes=len(stored),
        sha256=hashlib.sha256(stored).hexdigest(),
        width=upload.width,
        height=upload.height,
        storage_key=key,
        thumb_key=thumb_key,
        medium_key=medium_key,
        original_name=name,
        uploaded_by=principal.user_id,
    )
    session.add(row)
    try:
        await session.flush()
    except Exception:
        await _discard(store, written)
        raise
    return to_out(settings, row)


async def count_for(session: AsyncSession, owner_type: str, owner_id: int, purpose: str | None = None) -> int:
    """Non-deleted attachments of one owner (of one purpose, when given)."""
    stmt = select(func.count()).where(*_of_owner(owner_type, [owner_id]))
    if purpose is not None:
        stmt = stmt.where(col(Attachment.purpose) == purpose)
    return int((await session.exec(stmt)).one())


async def list_for(ctx: Ctx, owner_type: str, owner_id: int) -> list[AttachmentOut]:
    """Non-deleted attachments of one owner, oldest first, with fresh signed URLs."""
    return (await list_for_many(ctx, owner_type, [owner_id])).get(owner_id, [])


async def list_for_many(
    ctx: Ctx, owner_type: str, owner_ids: Sequence[int]
) -> dict[int, list[AttachmentOut]]:
    """The same for several owners in one query (lists of tickets): owner id -> attachments."""
    if not owner_ids:
        return {}
    rows = (
        await ctx.session.exec(
            select(Attachment).where(*_of_owner(owner_type, owner_ids)).order_by(col(Attachment.id))
        )
    ).all()
    exp = expiry(ctx.settings)
    result: dict[int, list[AttachmentOut]] = defaultdict(list)
    for row in rows:
        result[row.owner_id].append(to_out(ctx.settings, row, exp))
    return dict(result)


async def soft_delete(
    ctx: Ctx,
    owner_type: str,
    owner_id: int,
    attachment_id: int,
    allow: Callable[[Attachment], Awaitable[None]] | None = None,
) -> None:
    """Hide one attachment of an owner (the file is kept for history); 404 if it is not there.
    `allow` is the owning area's rule for this row (it raises 403/422)."""
    row = (
        await ctx.session.exec(
            select(Attachment).where(col(Attachment.id) == attachment_id, *_of_owner(owner_type, [owner_id]))
        )
    ).first()
    if row is None:
        raise NotFound("attachment.not_found")
    if allow is not None:
        await allow(row)
    row.deleted_at = utcnow()
    ctx.session.add(row)
    await ctx.session.flush()


@dataclass(frozen=True)
class ServedFile:
    data: bytes
    content_type: str
    max_age: int
    content_disposition: str
    etag: str  # strong validator for Range / If-Range: the stored bytes' SHA-256


async def open_file(
    ctx: Ctx, attachment_id: int, variant: Variant, exp: int, sig: str, *, storage: Storage | None = None
) -> ServedFile:
    """The bytes behind a signed URL. The signature is checked before the database is touched, so a bad
    or expired link answers 403 whether or not the id exists."""
    remaining = verify(ctx.settings, attachment_id, variant, exp, sig)
    row = await ctx.session.get(Attachment, attachment_id)
    if row is None or row.deleted_at is not None:
        raise NotFound("attachment.not_found")
    key, content_type = served_key(row, variant)
    if key is None:
        raise NotFound("attachment.not_found")
    store = storage or storage_for(ctx.settings)
    try:
        data = await store.get(key)
    except StorageKeyMissing as exc:
        log.warning("attachment file missing", extra={"attachment_id": attachment_id, "key": key})
        raise NotFound("attachment.not_found") from exc
    except Exception as exc:
        log.exception("attachment storage read failed", extra={"attachment_id": attachment_id})
        raise StorageUnavailable() from exc
    if content_type == PDF and variant == "original":
        filename = f"{row.id}.pdf"
        disposition = (
            f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(row.original_name or filename)}"
        )
    else:
        disposition = "inline"
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    return ServedFile(data, content_type, remaining, disposition, etag)


def served_key(row: Attachment, variant: Variant) -> tuple[str | None, str]:
    """The stored object behind a variant, and its content type. A size an older image lacks is
    served from the nearest larger one that exists: `medium` from the original (never a blurry
    thumbnail stretched to a detail screen)."""
    if variant == "thumb" and row.thumb_key:
        return row.thumb_key, images.THUMB_CONTENT_TYPE
    if variant == "medium" and row.thumb_key:
        if row.medium_key:
            return row.medium_key, images.THUMB_CONTENT_TYPE
        return row.storage_key, row.content_type
    if variant == "original":
        return row.storage_key, row.content_type
    return None, row.content_type


async def write_files(store: Storage, key: str, upload: PreparedUpload) -> list[str]:
    """Write the original at `key` and its sizes; on a failure remove what was written (503)."""
    files = [(key, upload.data, upload.content_type)]
    if upload.thumb is not None:
        files.append((size_key_for(key, "thumb"), upload.thumb, images.THUMB_CONTENT_TYPE))
    if upload.medium is not None:
        files.append((size_key_for(key, "medium"), upload.medium, images.THUMB_CONTENT_TYPE))
    written: list[str] = []
    try:
        for name, data, content_type in files:
            await store.put(name, data, content_type)
            written.append(name)
    except Exception as exc:
        log.exception("attachment storage write failed", extra={"key": key})
        await _discard(store, written)
        raise StorageUnavailable() from exc
    return written


def to_out(settings: Settings, row: Attachment, exp: int | None = None) -> AttachmentOut:
    assert row.id is not None
    exp = exp if exp is not None else expiry(settings)
    return AttachmentOut(
        id=row.id,
        community_id=row.community_id,
        owner_type=row.owner_type,
        owner_id=row.owner_id,
        purpose=row.purpose,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        width=row.width,
        height=row.height,
        original_name=row.original_name,
        uploaded_by=row.uploaded_by,
        created_at=row.created_at,
        url=signed_url(settings, row.id, "original", exp),
        thumb_url=signed_url(settings, row.id, "thumb", exp) if row.thumb_key else None,
        # Every image has a medium URL: one stored before sizes existed serves its original there.
        medium_url=signed_url(settings, row.id, "medium", exp) if row.thumb_key else None,
        url_expires_at=datetime.fromtimestamp(exp, UTC),
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _display_name(original_name: str | None) -> str | None:
    """The client's file name, kept for display only: control characters (PostgreSQL cannot store NUL)
    are removed, the rest is kept literally, cut to 200 characters."""
    name = _CONTROL.sub("", original_name or "").strip()[:200]
    return name or None


def _of_owner(owner_type: str, owner_ids: Sequence[int]) -> list[sa.ColumnElement[bool]]:
    return [
        col(Attachment.owner_type) == owner_type,
        col(Attachment.owner_id).in_(list(owner_ids)),
        col(Attachment.deleted_at).is_(None),
    ]


async def _lock_owner(session: AsyncSession, owner_type: str, owner_id: int) -> None:
    """Serialise concurrent uploads to one owner so the count check holds (PostgreSQL; SQLite writers
    are serialised by the database lock already)."""
    conn = await session.connection()
    if conn.dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(f"attachment:{owner_type}:{owner_id}".encode(), digest_size=8).digest()
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(int.from_bytes(digest, "big", signed=True))))


async def _discard(store: Storage, keys: list[str]) -> None:
    for key in keys:
        try:
            await store.delete(key)
        except Exception:
            log.warning("could not remove orphan attachment file", extra={"key": key})
