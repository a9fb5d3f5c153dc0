"""Detection pictures: checked and cleaned exactly like ticket photos (services.attachments), stored in
the same storage, linked to the alarm through alarm_picture."""

from __future__ import annotations

import hashlib
import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from services.attachments.inspect import EXTENSIONS, PHOTO_TYPES
from services.attachments.service import PreparedUpload, prepare_upload, write_files
from services.attachments.storage import new_key, size_key_for, storage_for
from services.config import Settings
from services.models.alarms import Alarm, AlarmPicture
from services.models.attachments import Attachment

log = logging.getLogger("linli.alarms")

# A camera in a burst sends a picture with every repeat; the alarm keeps the first few.
MAX_PICTURES_PER_ALARM = 6


async def prepare_pictures(settings: Settings, pictures: list[bytes]) -> list[PreparedUpload]:
    """Size, type from the bytes and decoding, before any transaction: a part that is not an image
    refuses the whole event (4xx), so nothing is half-written."""
    return [await prepare_upload(settings, data, None, PHOTO_TYPES) for data in pictures]


async def store_pictures(
    session: AsyncSession,
    settings: Settings,
    alarm: Alarm,
    uploads: list[PreparedUpload],
    uploaded_by: int | None,
    already: int,
) -> int:
    """Store up to the per-alarm limit. The attachment row needs an uploader: the device's owner, or
    for a device nobody registered through the API (imported, seeded) the community's manager."""
    if not uploads or alarm.id is None:
        return 0
    if uploaded_by is None:
        from services.tickets.people import managers

        found = await managers(session, alarm.community_id)
        uploaded_by = found[0] if found else None
    if uploaded_by is None:
        log.warning("alarm pictures dropped: no device owner or manager", extra={"alarm_id": alarm.id})
        return 0
    store = storage_for(settings)
    stored = 0
    for upload in uploads[: max(0, MAX_PICTURES_PER_ALARM - already)]:
        key = new_key(alarm.community_id, EXTENSIONS[upload.content_type])
        await write_files(store, key, upload)  # the original, thumb and medium sizes (503 on failure)
        thumb_key = size_key_for(key, "thumb") if upload.thumb is not None else None
        medium_key = size_key_for(key, "medium") if upload.medium is not None else None
        row = Attachment(
            community_id=alarm.community_id,
            owner_type="alarm",
            owner_id=alarm.id,
            purpose="photo",
            content_type=upload.content_type,
            size_bytes=len(upload.data),
            sha256=hashlib.sha256(upload.data).hexdigest(),
            width=upload.width,
            height=upload.height,
            storage_key=key,
            thumb_key=thumb_key,
            medium_key=medium_key,
            uploaded_by=uploaded_by,
        )
        session.add(row)
        await session.flush()
        session.add(AlarmPicture(alarm_id=alarm.id, attachment_id=row.id or 0))
        stored += 1
    return stored
