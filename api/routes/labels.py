"""The label catalogue: the words for every code the app shows, for caching on the phone."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from api.responses import OrjsonResponse
from services import labels
from services.i18n import negotiate

router = APIRouter(prefix="/v1", tags=["labels"])


@router.get(
    "/labels",
    summary="Words for every enum value the API returns, by group (public; cache it with the ETag)",
    responses={304: {"description": "Unchanged since the ETag in If-None-Match"}},
)
async def get_labels(
    request: Request,
    locale: Annotated[
        Literal["zh-CN", "en", "all"] | None,
        Query(description="One locale, or all (both); default: from Accept-Language, zh-CN first"),
    ] = None,
    if_none_match: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    chosen = None if locale == "all" else (locale or negotiate(request.headers.get("accept-language")))
    tag = labels.etag(chosen)
    headers = {"ETag": tag, "Cache-Control": "public, max-age=3600", "Vary": "Accept-Language"}
    if if_none_match is not None and tag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    body = {"locale": chosen or "all", "groups": labels.catalogue(chosen)}
    return OrjsonResponse(body, headers=headers)
