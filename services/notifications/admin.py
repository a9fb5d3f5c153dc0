"""Dead letters for platform admins: list them, and put them back in the queue."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field
from sqlmodel import col, select

from services import access, audit
from services.models import Delivery, Notification
from services.notifications import deliveries
from services.pagination import id_after, next_id_cursor
from services.runtime import Ctx
from services.schemas import Id, Page, RequestBody, ResponseBody

DeliveryState = Literal["pending", "sending", "sent", "failed", "dead", "skipped"]


class DeliveryOut(ResponseBody):
    id: int
    notification_id: int
    user_id: int | None  # None: an SMS-only recipient
    channel: str
    device_id: int | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    category: str


class RedriveIn(RequestBody):
    ids: list[Id] | None = Field(
        default=None, max_length=1000, description="Omit to re-drive every dead letter"
    )


class RedriveOut(ResponseBody):
    requeued: int


async def list_deliveries(
    ctx: Ctx, status: DeliveryState, limit: int, cursor: str | None
) -> Page[DeliveryOut]:
    access.require_platform_admin(ctx.require_principal())
    after = id_after(cursor)
    stmt = (
        select(Delivery, Notification.category)
        .join(Notification, col(Notification.id) == Delivery.notification_id)
        .where(Delivery.status == status)
    )
    if after is not None:
        stmt = stmt.where(col(Delivery.id) < after)
    rows = (await ctx.session.exec(stmt.order_by(col(Delivery.id).desc()).limit(limit))).all()
    items = [DeliveryOut.model_validate({**d.model_dump(), "category": c}) for d, c in rows]
    return Page(items=items, next_cursor=next_id_cursor([i.id for i in items], limit))


async def redrive(ctx: Ctx, body: RedriveIn) -> RedriveOut:
    access.require_platform_admin(ctx.require_principal())
    count = await deliveries.redrive(ctx.session, body.ids)
    await audit.record(
        ctx, "delivery.redrive", "delivery", after={"ids": str(body.ids or "all"), "requeued": count}
    )
    return RedriveOut(requeued=count)
