"""Attachment bytes behind signed, expiring URLs (no bearer token: phones' image loaders fetch these).

A missing, tampered or expired signature answers 403 `attachment.bad_signature` before any lookup, so
the answer is the same whether or not the id exists (nothing leaks) and the app can tell "refresh the
record for a new URL" (403) from "this file is gone" (404 `attachment.not_found`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import MAX_ID, AnonCtx, ObjectId
from services.attachments import service
from services.attachments.urls import Variant
from services.schemas import Text

router = APIRouter(prefix="/v1", tags=["files"])


@router.get(
    "/files/{attachment_id}",
    summary="Fetch an attachment or its thumbnail through a signed URL",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "application/pdf": {}}}},
)
async def get_file(
    attachment_id: ObjectId,
    ctx: AnonCtx,
    variant: Variant = "original",
    exp: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    sig: Annotated[Text, Query(max_length=100)] = "",
) -> Response:
    served = await service.open_file(ctx, attachment_id, variant, exp, sig)
    return Response(
        content=served.data,
        media_type=served.content_type,
        headers={
            "Cache-Control": f"private, max-age={served.max_age}",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": served.content_disposition,
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
