"""Direct uploads: the phone sends a photo straight to the S3-compatible bucket (Aliyun OSS, Tencent COS,
MinIO, S3) through a presigned POST (or PUT), then asks the server to complete it.

Three steps: `issue` hands out a presigned request for a server-generated key under `incoming/`, with
the size limit and the Content-Type in the POST policy, so the store itself refuses a larger file;
the app uploads; `claim` + `finish` (the owning area's "complete" call) fetch the object, check and
clean it exactly as a multipart upload (`prepare_upload`: type from the bytes, EXIF/GPS stripped,
re-encoded, sizes), store the attachment, and delete the raw object. The raw object is never served.

A complete for a token never issued (or issued for another record) is 404, issued to someone else 403,
already completed 409 (with the attachment id), past `COMPLETE_WITHIN` 410, with no object yet 422.
With local storage there is nothing to presign: 409 `attachment.direct_upload_unavailable`, and the
app uses the multipart upload (the same path without `/uploads`).

Raw objects of uploads never completed stay under `incoming/`: give the bucket a lifecycle rule that
expires `incoming/` after a day or two (README, "for app teams").
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

import sqlalchemy as sa
from pydantic import Field
from sqlmodel import col, select
from typing_extensions import TypeAliasType

from services.attachments.inspect import HEIC, HEIF, JPEG, PNG, WEBP
from services.attachments.service import PreparedUpload, StorageUnavailable, prepare_upload
from services.attachments.storage import S3Storage, StorageKeyMissing, incoming_key, storage_for
from services.config import Settings
from services.errors import Conflict, DomainError, Forbidden, Gone, InvalidInput, NotFound, PayloadTooLarge
from services.models.attachments import DirectUpload
from services.models.base import utcnow
from services.runtime import Ctx
from services.schemas import RequestBody, ResponseBody

log = logging.getLogger("linli.attachments")

# How long after issuing the app may complete (an upload on a weak network, an app killed and
# reopened); the presigned URL itself is valid only `direct_upload_ttl_seconds`.
COMPLETE_WITHIN = timedelta(hours=24)

# Named in the OpenAPI (the app's generated client gets one type for it).
PhotoContentType = TypeAliasType(
    "PhotoContentType", Literal["image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"]
)
assert set(get_args(PhotoContentType.__value__)) == {JPEG, PNG, WEBP, HEIC, HEIF}


class DirectUploadIn(RequestBody):
    purpose: Literal["before", "after"]
    content_type: PhotoContentType = Field(
        description="What the phone will send; the store refuses another Content-Type (POST policy)"
    )


class DirectUploadOut(ResponseBody):
    upload_id: str = Field(description="Pass to .../uploads/{upload_id}/complete after the upload")
    method: Literal["POST", "PUT"] = Field(
        description="POST: a multipart form to `url` with every `fields` entry, then the file as the "
        "last part named `file`. PUT: the raw bytes to `url` with `headers`."
    )
    url: str
    fields: dict[str, str]
    headers: dict[str, str]
    max_bytes: int = Field(description="The store refuses a larger file (POST policy)")
    upload_expires_at: datetime = Field(description="The presigned request works until then")
    complete_by: datetime = Field(description="Complete before this, or ask for a new upload")


async def issue(
    ctx: Ctx, *, community_id: int, owner_type: str, owner_id: int, purpose: str, content_type: str
) -> DirectUploadOut:
    """A presigned upload for one file of (owner_type, owner_id). The owning area checked who may add
    and how many there are already; flushes, never commits."""
    principal = ctx.require_principal()
    settings = ctx.settings
    store = direct_storage(ctx)
    now = utcnow()
    token = uuid.uuid4().hex
    key = incoming_key(token)
    ttl = max(60, settings.direct_upload_ttl_seconds)
    try:  # signing is local (no network): cheap enough to run inline
        if settings.s3_presign_method == "put":
            presigned = store.presign_put(key, content_type, ttl)
        else:
            presigned = store.presign_post(key, content_type, settings.max_photo_bytes, ttl)
    except Exception as exc:
        log.exception("presigning a direct upload failed")
        raise StorageUnavailable() from exc
    row = DirectUpload(
        token=token,
        community_id=community_id,
        owner_type=owner_type,
        owner_id=owner_id,
        purpose=purpose,
        content_type=content_type,
        incoming_key=key,
        issued_to=principal.user_id,
        created_at=now,
        expires_at=now + COMPLETE_WITHIN,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    return DirectUploadOut(
        upload_id=token,
        method="PUT" if presigned.method == "PUT" else "POST",
        url=presigned.url,
        fields=presigned.fields,
        headers=presigned.headers,
        max_bytes=settings.max_photo_bytes,
        upload_expires_at=now + timedelta(seconds=ttl),
        complete_by=row.expires_at,
    )


@dataclass(frozen=True)
class Fetched:
    """A direct upload's object, fetched and prepared before the request's transaction opens (as a
    multipart upload is: decoding never holds a database lock). A problem with the object is kept in
    `error` and raised only after the upload itself was checked (`claim`), so a token never issued
    answers 404, not "no object"."""

    token: str
    upload: PreparedUpload | None
    error: DomainError | None = None
    discard: bool = False  # the object is unacceptable: delete it once the caller proved it is theirs


async def fetch(settings: Settings, token: str) -> Fetched:
    """HEAD, then GET and prepare the object under the token's key. Local storage: nothing to fetch
    (`claim` answers 409 once the ticket was found visible, so another community's id stays 404)."""
    store = storage_for(settings)
    if not isinstance(store, S3Storage):
        return Fetched(token, None, _unavailable())
    key = incoming_key(token)
    max_bytes = settings.max_photo_bytes
    try:
        size = await store.size(key)
        if size is None:
            return Fetched(token, None, InvalidInput("attachment.upload_missing"))
        if size > max_bytes:  # a PUT is not size-limited by the store: refuse before downloading
            error = PayloadTooLarge("attachment.too_large", details={"max_bytes": max_bytes})
            return Fetched(token, None, error, discard=True)
        data = await store.get(key)
    except StorageKeyMissing:
        return Fetched(token, None, InvalidInput("attachment.upload_missing"))
    except Exception as exc:
        log.exception("reading a direct upload failed", extra={"key": key})
        raise StorageUnavailable() from exc
    try:
        return Fetched(token, await prepare_upload(settings, data, None))
    except (InvalidInput, PayloadTooLarge) as exc:
        return Fetched(token, None, exc, discard=True)


async def claim(
    ctx: Ctx, fetched: Fetched, owner_type: str, owner_id: int
) -> tuple[DirectUpload, PreparedUpload]:
    """The pending upload behind the token, checked, with its prepared file. Writes nothing to the
    database; an object that is not an acceptable image is deleted from the bucket (the answer says
    why; the app asks for a new upload)."""
    principal = ctx.require_principal()
    store = direct_storage(ctx)
    row = (
        await ctx.session.exec(select(DirectUpload).where(col(DirectUpload.token) == fetched.token))
    ).first()
    if row is None or row.owner_type != owner_type or row.owner_id != owner_id:
        raise NotFound("attachment.upload_not_found")
    if row.issued_to != principal.user_id:
        raise Forbidden("attachment.upload_not_yours")
    if row.completed_at is not None:
        raise Conflict("attachment.upload_completed", details={"attachment_id": row.attachment_id})
    if row.expires_at <= utcnow():
        raise Gone("attachment.upload_expired")
    if fetched.error is not None or fetched.upload is None:
        if fetched.discard:
            await _discard_raw(store, row.incoming_key)
        raise fetched.error or InvalidInput("attachment.upload_missing")
    return row, fetched.upload


async def mark_completing(ctx: Ctx, row: DirectUpload) -> None:
    """Take the upload for this request: a second complete racing this one finds it taken (409). On
    PostgreSQL the conditional UPDATE waits for the other transaction and then matches nothing."""
    now = utcnow()
    result = await ctx.session.exec(  # type: ignore[call-overload]
        sa.update(DirectUpload)
        .where(col(DirectUpload.id) == row.id, col(DirectUpload.completed_at).is_(None))
        .values(completed_at=now)
    )
    if result.rowcount != 1:
        raise Conflict("attachment.upload_completed")
    row.completed_at = now


async def finish(ctx: Ctx, row: DirectUpload, attachment_id: int) -> None:
    """Record the attachment made from the upload and delete the raw object (best effort: a leftover
    is expired by the bucket's lifecycle rule on `incoming/`)."""
    await ctx.session.exec(  # type: ignore[call-overload]
        sa.update(DirectUpload).where(col(DirectUpload.id) == row.id).values(attachment_id=attachment_id)
    )
    row.attachment_id = attachment_id
    await _discard_raw(direct_storage(ctx), row.incoming_key)


def direct_storage(ctx: Ctx) -> S3Storage:
    """The bucket direct uploads go to; 409 with local storage (the app then uploads multipart)."""
    return _storage(ctx.settings)


def _storage(settings: Settings) -> S3Storage:
    store = storage_for(settings)
    if not isinstance(store, S3Storage):
        raise _unavailable()
    return store


def _unavailable() -> Conflict:
    return Conflict("attachment.direct_upload_unavailable", details={"use": "multipart"})


async def _discard_raw(store: S3Storage, key: str) -> None:
    try:
        await store.delete(key)
    except Exception:
        log.warning("could not remove a raw direct upload", extra={"key": key})
