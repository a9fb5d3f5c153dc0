"""Smart-community alarms: devices (managers), the device doors (public, authenticated per device),
and the app's alarm lists and actions (staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.datastructures import UploadFile

from api.deps import MAX_ID, AnonCtx, AuthCtx, CommunityId, ObjectId
from services.alarms import devices, ingest, service, tickets
from services.alarms.schemas import (
    AlarmBadge,
    AlarmDetail,
    AlarmOut,
    AlarmTicketIn,
    ClearIn,
    CommentIn,
    DeviceCreate,
    DeviceOut,
    DeviceUpdate,
    DeviceWithSecret,
    IngestOut,
    NoteIn,
)
from services.errors import InvalidInput
from services.models.alarms import AlarmType
from services.schemas import Line, Page, Text
from services.tickets.schemas import TicketOut

router = APIRouter(prefix="/v1", tags=["alarms"])

Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[Text | None, Query(max_length=200, description="next_cursor of the previous page")]
StatusFilter = Annotated[
    str | None,
    Query(pattern=r"^(active|active_unacknowledged|active_acknowledged|cleared|closed)$"),
]


# --- devices --------------------------------------------------------------------------------------


@router.post(
    "/communities/{cid}/alarm-devices",
    status_code=201,
    summary="Register a camera channel, NVR or sensor; the answer carries its secret, shown only once",
)
async def create_device(cid: CommunityId, body: DeviceCreate, ctx: AuthCtx) -> DeviceWithSecret:
    return await devices.create_device(ctx, cid, body)


@router.get("/communities/{cid}/alarm-devices", summary="The community's alarm devices")
async def list_devices(cid: CommunityId, ctx: AuthCtx) -> list[DeviceOut]:
    return await devices.list_devices(ctx, cid)


@router.get("/alarm-devices/{alarm_device_id}", summary="One alarm device (never its secret)")
async def get_device(alarm_device_id: ObjectId, ctx: AuthCtx) -> DeviceOut:
    return await devices.get_device(ctx, alarm_device_id)


@router.patch("/alarm-devices/{alarm_device_id}", summary="Change a device's place, thresholds or status")
async def update_device(alarm_device_id: ObjectId, body: DeviceUpdate, ctx: AuthCtx) -> DeviceOut:
    return await devices.update_device(ctx, alarm_device_id, body)


@router.delete("/alarm-devices/{alarm_device_id}", status_code=204, summary="Remove a device")
async def delete_device(alarm_device_id: ObjectId, ctx: AuthCtx) -> Response:
    await devices.delete_device(ctx, alarm_device_id)
    return Response(status_code=204)


@router.post(
    "/alarm-devices/{alarm_device_id}/rotate-secret",
    summary="Issue a new device secret (the old one stops working at once); shown only once",
)
async def rotate_secret(alarm_device_id: ObjectId, ctx: AuthCtx) -> DeviceWithSecret:
    return await devices.rotate_secret(ctx, alarm_device_id)


# --- the device doors -------------------------------------------------------------------------------

_XML = ("application/xml", "text/xml")


def _format(content_type: str) -> str | None:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in _XML:
        return "xml"
    if kind == "application/json":
        return "json"
    return None


@router.post(
    "/alarm-ingest/isapi",
    summary="Hikvision ISAPI HTTP listening: EventNotificationAlert as XML, JSON or multipart with pictures",
    responses={401: {"description": "Unknown device or failed Digest/token (with a Digest challenge)"}},
)
async def ingest_isapi(
    request: Request,
    ctx: AnonCtx,
    device: Annotated[Line | None, Query(max_length=64, description="Device serial or MAC")] = None,
    token: Annotated[Line | None, Query(max_length=200)] = None,
    authorization: Annotated[str | None, Header(max_length=2000)] = None,
) -> IngestOut:
    if token is None and authorization is None:
        # The first leg of a Digest handshake (curl --digest sends it with an empty body, no media
        # type): answer the challenge before looking at the body.
        return await ingest.ingest_isapi(
            ctx, device_key=device, token=None, authorization=None, method=request.method,
            uri=request.url.path, event=b"", event_format="xml", pictures=[],
        )  # fmt: skip
    content_type = request.headers.get("content-type", "")
    pictures: list[bytes] = []
    event: bytes | None = None
    fmt = _format(content_type)
    if content_type.lower().startswith("multipart/form-data"):
        form = await request.form(max_files=8, max_fields=8)
        for value in form.values():
            if isinstance(value, UploadFile):
                data = await value.read()
                part_fmt = _format(value.content_type or "")
                if part_fmt is not None and event is None:
                    event, fmt = data, part_fmt
                else:
                    pictures.append(data)
            elif event is None:
                text = value.encode()
                event, fmt = text, "json" if text.lstrip().startswith(b"{") else "xml"
    elif fmt is not None:
        event = await request.body()
    if event is None or fmt is None:
        raise InvalidInput("alarm.ingest_unsupported_media")
    uri = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return await ingest.ingest_isapi(
        ctx,
        device_key=device,
        token=token,
        authorization=authorization,
        method=request.method,
        uri=uri,
        event=event,
        event_format=fmt,
        pictures=pictures,
    )


@router.post(
    "/alarm-ingest/webhook",
    summary="Signed JSON webhook (HMAC-SHA256 over timestamp.body); a replayed event id answers 'replayed'",
)
async def ingest_webhook(
    request: Request,
    ctx: AnonCtx,
    x_linli_device: Annotated[str | None, Header(max_length=64)] = None,
    x_linli_timestamp: Annotated[str | None, Header(max_length=20)] = None,
    x_linli_signature: Annotated[str | None, Header(max_length=128)] = None,
) -> IngestOut:
    return await ingest.ingest_webhook(
        ctx,
        device_key=x_linli_device,
        timestamp=x_linli_timestamp,
        sig=x_linli_signature,
        body=await request.body(),
    )


# --- alarms in the app --------------------------------------------------------------------------------


@router.get("/communities/{cid}/alarms", summary="Alarms of a community, newest first (staff)")
async def list_alarms(
    cid: CommunityId,
    ctx: AuthCtx,
    status: StatusFilter = None,
    type: Annotated[AlarmType | None, Query()] = None,
    building_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[AlarmOut]:
    return await service.list_alarms(
        ctx, cid, status=status, type_=type, building_id=building_id, limit=limit, cursor=cursor
    )


@router.get("/communities/{cid}/alarms/badge", summary="Counts of active alarms for the app's badge")
async def alarm_badge(cid: CommunityId, ctx: AuthCtx) -> AlarmBadge:
    return await service.badge(ctx, cid)


@router.get("/alarms/{alarm_id}", summary="One alarm with its full history and pictures")
async def get_alarm(alarm_id: ObjectId, ctx: AuthCtx) -> AlarmDetail:
    return await service.get_alarm(ctx, alarm_id)


@router.post("/alarms/{alarm_id}/acknowledge", summary="Acknowledge: someone is on it (stops escalation)")
async def acknowledge(alarm_id: ObjectId, ctx: AuthCtx, body: NoteIn | None = None) -> AlarmDetail:
    return await service.acknowledge(ctx, alarm_id, body.note if body else None)


@router.post("/alarms/{alarm_id}/clear", summary="Clear by a person: resolved or a false alarm, with a note")
async def clear(alarm_id: ObjectId, ctx: AuthCtx, body: ClearIn | None = None) -> AlarmDetail:
    return await service.clear(ctx, alarm_id, body or ClearIn())


@router.post("/alarms/{alarm_id}/close", summary="Close a cleared alarm")
async def close(alarm_id: ObjectId, ctx: AuthCtx, body: NoteIn | None = None) -> AlarmDetail:
    return await service.close(ctx, alarm_id, body.note if body else None)


@router.post("/alarms/{alarm_id}/comments", status_code=201, summary="Comment on an alarm")
async def comment(alarm_id: ObjectId, body: CommentIn, ctx: AuthCtx) -> AlarmDetail:
    return await service.comment(ctx, alarm_id, body.note)


@router.post(
    "/alarms/{alarm_id}/ticket",
    status_code=201,
    summary="Turn an alarm into a repair ticket (pictures copied); once only: again answers 409",
    responses={409: {"description": "alarm.already_ticketed (details.ticket_id) or alarm.closed"}},
)
async def to_ticket(alarm_id: ObjectId, ctx: AuthCtx, body: AlarmTicketIn | None = None) -> TicketOut:
    return await tickets.alarm_to_ticket(ctx, alarm_id, body)
