"""Ticket photos sent straight to the bucket (services/attachments/direct.py): the same rules as the
multipart upload (who may add which purpose in which status, ≤ 9 of each purpose, types, size)."""

from __future__ import annotations

from services.attachments import direct
from services.attachments.service import count_for, store_upload
from services.errors import InvalidInput
from services.runtime import Ctx
from services.tickets import queries
from services.tickets.schemas import AttachmentRef
from services.tickets.service import MAX_PHOTOS, photo_ticket


async def presign(ctx: Ctx, ticket_id: int, body: direct.DirectUploadIn) -> direct.DirectUploadOut:
    """Checked up front so the phone does not spend 4G data on a photo that would be refused; checked
    again (authoritatively) on completion."""
    await queries.load_visible(ctx, ticket_id)  # 404 for who cannot see it, whatever the storage
    direct.direct_storage(ctx)  # then 409 on local storage: the app uses the multipart upload
    t = await photo_ticket(ctx, ticket_id, body.purpose)
    assert t.id is not None
    if await count_for(ctx.session, "ticket", t.id, body.purpose) >= MAX_PHOTOS:
        raise InvalidInput("attachment.too_many", details={"max_count": MAX_PHOTOS})
    return await direct.issue(
        ctx,
        community_id=t.community_id,
        owner_type="ticket",
        owner_id=t.id,
        purpose=body.purpose,
        content_type=body.content_type,
    )


async def complete(ctx: Ctx, ticket_id: int, fetched: direct.Fetched) -> AttachmentRef:
    """The upload's object was fetched and prepared before the transaction (api/uploads.py)."""
    await queries.load_visible(ctx, ticket_id)  # who cannot see the ticket learns nothing of its uploads
    row, prepared = await direct.claim(ctx, fetched, "ticket", ticket_id)
    await direct.mark_completing(ctx, row)
    # The rules again, as of now: the status may have moved on, nine photos may have arrived meanwhile.
    t = await photo_ticket(ctx, ticket_id, row.purpose)
    assert t.id is not None
    stored = await store_upload(
        ctx,
        community_id=t.community_id,
        owner_type="ticket",
        owner_id=t.id,
        purpose=row.purpose,
        upload=prepared,
        max_count=MAX_PHOTOS,
    )
    await direct.finish(ctx, row, stored.id)
    return AttachmentRef.model_validate(stored, from_attributes=True)
