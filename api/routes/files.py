"""Attachment bytes behind signed, expiring URLs (no bearer token: phones' image loaders fetch these).

A missing, tampered or expired signature answers 403 `attachment.bad_signature` before any lookup, so
the answer is the same whether or not the id exists (nothing leaks) and the app can tell "refresh the
record for a new URL" (403) from "this file is gone" (404 `attachment.not_found`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import MAX_ID, AnonCtx, ObjectId
from services.attachments import service
from services.attachments.ranges import byte_range
from services.attachments.urls import Variant
from services.schemas import Text

router = APIRouter(prefix="/v1", tags=["files"])


@router.get(
    "/files/{attachment_id}",
    summary="Fetch an attachment or its thumbnail through a signed URL (HEAD and a single Range too)",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "application/pdf": {}}},
        206: {
            "description": "The requested byte range",
            "content": {"image/jpeg": {}, "application/pdf": {}},
        },
    },
)
async def get_file(
    request: Request,
    attachment_id: ObjectId,
    ctx: AnonCtx,
    variant: Variant = "original",
    exp: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    sig: Annotated[Text, Query(max_length=100)] = "",
) -> Response:
    served = await service.open_file(ctx, attachment_id, variant, exp, sig)
    size = len(served.data)
    headers = {
        "Cache-Control": f"private, max-age={served.max_age}",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": served.content_disposition,
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Accept-Ranges": "bytes",
        "ETag": served.etag,
    }
    status, body = 200, served.data
    wanted = byte_range(request.headers.get("range"), size)
    if wanted is not None and if_range_holds(request.headers.get("if-range"), served.etag):
        first, last = wanted
        status, body = 206, served.data[first : last + 1]
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(len(body))
    # HEAD: the same headers, no body (the app learns the size and type before fetching).
    return Response(
        content=b"" if request.method == "HEAD" else body,
        status_code=status,
        media_type=served.content_type,
        headers=headers,
    )


def if_range_holds(if_range: str | None, etag: str) -> bool:
    """`If-Range` with our (strong) ETag: serve the range only if the file is still that one."""
    return if_range is None or if_range.strip() == etag


# HEAD as its own operation (its own operationId): the same handler, which sends no body for HEAD.
router.add_api_route(
    "/files/{attachment_id}",
    get_file,
    methods=["HEAD"],
    name="head_file",
    summary="Size, type and validators of a file through a signed URL, without the bytes",
    response_class=Response,
)
