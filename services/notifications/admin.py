"""Dead letters for platform admins: list them, and put them back in the queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field
from sqlmodel import col, select

from services import access, audit
from services.i18n import Labelled
from services.models import Channel, Delivery, DeliveryStatus, Notification, PushProvider
from services.models.notifications import NotificationCategory
from services.notifications import deliveries
from services.pagination import id_after, next_id_cursor
from services.runtime import Ctx
from services.schemas import Id, Page, RequestBody, ResponseBody

DeliveryState = DeliveryStatus  # the query filter takes the response's enum
# A push provider, or "sms" for SMS deliveries (which have no provider).
DeliveryTarget = Literal["fcm", "jpush", "apns", "sms"]


class DeliveryOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {
        "channel": "delivery.channel",
        "status": "delivery.status",
        "category": "notification.category",
    }

    id: int
    notification_id: int
    user_id: int | None  # None: an SMS-only recipient
    channel: Channel
    device_id: int | None
    provider: PushProvider | None  # fcm / jpush / apns for pushes, None for SMS
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    category: NotificationCategory
    channel_label: str | None = None
    status_label: str | None = None
    category_label: str | None = None


class RedriveIn(RequestBody):
    ids: list[Id] | None = Field(
        default=None, max_length=1000, description="Omit to re-drive every dead letter"
    )
    provider: DeliveryTarget | None = Field(
        default=None, description="Only this provider's dead letters (e.g. after its outage), or sms"
    )


class RedriveOut(ResponseBody):
    requeued: int
    by_provider: dict[str, int] = Field(default_factory=dict)  # "sms" for SMS deliveries


def _target_filter(target: DeliveryTarget) -> Any:
    if target == "sms":
        return col(Delivery.channel) == "sms"
    return col(Delivery.provider) == target


async def list_deliveries(
    ctx: Ctx, status: DeliveryState, limit: int, cursor: str | None, provider: DeliveryTarget | None = None
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
    if provider is not None:
        stmt = stmt.where(_target_filter(provider))
    rows = (await ctx.session.exec(stmt.order_by(col(Delivery.id).desc()).limit(limit))).all()
    items = [DeliveryOut.model_validate({**d.model_dump(), "category": c}) for d, c in rows]
    return Page(items=items, next_cursor=next_id_cursor([i.id for i in items], limit))


async def redrive(ctx: Ctx, body: RedriveIn) -> RedriveOut:
    access.require_platform_admin(ctx.require_principal())
    by_provider = await deliveries.redrive_by_provider(ctx.session, body.ids, body.provider)
    count = sum(by_provider.values())
    await audit.record(
        ctx,
        "delivery.redrive",
        "delivery",
        after={
            "ids": str(body.ids or "all"),
            "provider": body.provider,
            "requeued": count,
            "by_provider": str(by_provider),
        },
    )
    return RedriveOut(requeued=count, by_provider=by_provider)
