from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AuthCtx, ObjectId
from api.responses import ModelResponse
from services.notifications import admin, devices, inbox, preferences
from services.notifications.schemas import (
    DeviceIn,
    DeviceOut,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    ReadAllResult,
    UnreadCount,
)
from services.schemas import Page, Text

router = APIRouter(prefix="/v1", tags=["notifications"])
Limit = Annotated[int, Query(ge=1, le=100)]


# The inbox page and the badge are built and typed by the service and polled by every app: rendered
# once (ModelResponse), not validated again by FastAPI.
@router.get(
    "/notifications", response_model=Page[NotificationOut], summary="The caller's inbox, newest first"
)
async def list_notifications(
    ctx: AuthCtx,
    limit: Limit = 20,
    cursor: Annotated[Text | None, Query(max_length=200)] = None,
    unread: bool = False,
) -> ModelResponse:
    return ModelResponse(await inbox.list_inbox(ctx, limit, cursor, unread))


@router.get("/notifications/unread-count", response_model=UnreadCount, summary="Badge count (capped at 999)")
async def unread_count(ctx: AuthCtx) -> ModelResponse:
    return ModelResponse(await inbox.unread_count(ctx))


@router.post("/notifications/{nid}/read", summary="Mark one item read")
async def mark_read(nid: ObjectId, ctx: AuthCtx) -> NotificationOut:
    return await inbox.mark_read(ctx, nid)


@router.post("/notifications/read-all", summary="Mark every item read")
async def read_all(ctx: AuthCtx) -> ReadAllResult:
    return await inbox.mark_all_read(ctx)


@router.post(
    "/devices",
    status_code=201,
    summary="Register or refresh a push token (platform android / ios / harmonyos, provider fcm / jpush / apns)",
)
async def register_device(body: DeviceIn, ctx: AuthCtx) -> DeviceOut:
    return await devices.register(ctx, body)


@router.get("/devices", summary="The caller's active devices")
async def list_devices(ctx: AuthCtx) -> list[DeviceOut]:
    return await devices.list_mine(ctx)


@router.delete("/devices/{device_id}", status_code=204, summary="Unregister a device (on logout)")
async def unregister_device(device_id: ObjectId, ctx: AuthCtx) -> Response:
    await devices.unregister(ctx, device_id)
    return Response(status_code=204)


@router.get("/me/notification-preferences", summary="Opt-outs per category × channel, and quiet hours")
async def get_preferences(ctx: AuthCtx) -> PreferencesOut:
    return await preferences.get(ctx)


@router.put("/me/notification-preferences", summary="Replace opt-outs and quiet hours")
async def put_preferences(body: PreferencesIn, ctx: AuthCtx) -> PreferencesOut:
    return await preferences.put(ctx, body)


@router.get("/admin/deliveries", summary="Deliveries by status (platform admins): dead letters by default")
async def list_deliveries(
    ctx: AuthCtx,
    status: admin.DeliveryState = admin.DeliveryState.dead,
    limit: Limit = 50,
    cursor: Annotated[Text | None, Query(max_length=200)] = None,
    provider: admin.DeliveryTarget | None = None,
) -> Page[admin.DeliveryOut]:
    return await admin.list_deliveries(ctx, status, limit, cursor, provider)


@router.post("/admin/deliveries/redrive", summary="Put dead letters back in the queue (platform admins)")
async def redrive(body: admin.RedriveIn, ctx: AuthCtx) -> admin.RedriveOut:
    return await admin.redrive(ctx, body)
