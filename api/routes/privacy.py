"""Privacy (PIPL): the audit log of staff reads, a resident's access log, personal-data exports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import MAX_ID, AuthCtx, ObjectId
from api.idempotency import IdempotentDep
from services.attachments.storage import storage_for
from services.privacy import audit_log, export
from services.privacy.schemas import AccessLogEntryOut, AuditEntryOut, ExportOut
from services.schemas import Line, Page, Text

router = APIRouter(prefix="/v1", tags=["privacy"])

Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Cursor = Annotated[Text | None, Query(max_length=200, description="next_cursor of the previous page")]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get(
    "/admin/audit", summary="Search the audit log (community admin: their communities; platform admin)"
)
async def search_audit(
    ctx: AuthCtx,
    community_id: OptionalId = None,
    actor_id: OptionalId = None,
    subject_id: OptionalId = None,
    action: Annotated[Line | None, Query(min_length=1, max_length=60)] = None,
    since: Annotated[datetime | None, Query(description="From this instant (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="Before this instant")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AuditEntryOut]:
    return await audit_log.search(
        ctx,
        community_id=community_id,
        actor_id=actor_id,
        subject_id=subject_id,
        action=action,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )


@router.get("/me/access-log", summary="Who among the staff read my personal data, what, why and when")
async def my_access_log(ctx: AuthCtx, limit: Limit = 50, cursor: Cursor = None) -> Page[AccessLogEntryOut]:
    return await audit_log.access_log(ctx, limit, cursor)


@router.post(
    "/me/export",
    status_code=202,
    response_model=ExportOut,
    summary="Ask for a copy of all my personal data (a zip, ready within minutes)",
)
async def request_export(idem: IdempotentDep) -> Response:
    return await idem.run(lambda: export.request_export(idem.ctx), status_code=202)


@router.get(
    "/me/export/{export_id}", summary="An export's status and, once ready, its expiring download link"
)
async def get_export(export_id: ObjectId, ctx: AuthCtx) -> ExportOut:
    return await export.get_export(ctx, export_id)


@router.get(
    "/me/export/{export_id}/download",
    summary="Download my export (the signed link from its status, with my bearer token)",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def download_export(
    export_id: ObjectId,
    ctx: AuthCtx,
    exp: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    sig: Annotated[Text, Query(max_length=100)] = "",
) -> Response:
    data = await export.open_download(ctx, storage_for(ctx.settings), export_id, exp, sig)
    return Response(
        content=data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="linli-export-{export_id}.zip"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
