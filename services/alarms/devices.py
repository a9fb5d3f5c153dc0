"""Alarm devices: registered by the property manager or the community admin, each with a secret
shown once (create, rotate) and never returned again."""

from __future__ import annotations

import ipaddress

from sqlmodel import col, select

import services.alarms.labels  # noqa: F401  (registers the labels)
from services import audit
from services.access import community_filter, require_community
from services.alarms.schemas import DeviceCreate, DeviceOut, DeviceUpdate, DeviceWithSecret
from services.alarms.secrets import encrypt_secret, new_secret
from services.communities.common import load_community
from services.errors import Conflict, InvalidInput, NotFound
from services.models import Building, Role
from services.models.alarms import AlarmDevice, DeviceKind
from services.models.base import utcnow
from services.models.duty import DutyPost
from services.runtime import Ctx

DEVICE_MANAGERS = (Role.property_manager, Role.community_admin)


def normalise_mac(mac: str | None) -> str | None:
    if not mac:
        return None
    digits = "".join(ch for ch in mac.lower() if ch in "0123456789abcdef")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2)) if len(digits) == 12 else None


def device_out(d: AlarmDevice) -> DeviceOut:
    return DeviceOut.model_validate(d, from_attributes=True)


def _check_sources(sources: list[str]) -> list[str]:
    out = []
    for s in sources:
        try:
            out.append(str(ipaddress.ip_network(s.strip(), strict=False)))
        except ValueError as exc:
            raise InvalidInput("alarm.bad_source", details={"source": s}) from exc
    return out


async def _check_places(ctx: Ctx, community_id: int, building_id: int | None, post_id: int | None) -> None:
    if building_id is not None:
        b = await ctx.session.get(Building, building_id)
        if b is None or b.community_id != community_id:
            raise InvalidInput("building.not_found", details={"building_ids": [building_id]})
    if post_id is not None:
        p = await ctx.session.get(DutyPost, post_id)
        if p is None or p.community_id != community_id or p.deleted_at is not None:
            raise InvalidInput("duty.post_not_found")


async def create_device(ctx: Ctx, community_id: int, body: DeviceCreate) -> DeviceWithSecret:
    principal = ctx.require_principal()
    require_community(principal, community_id, DEVICE_MANAGERS)
    await load_community(ctx, community_id)
    if body.kind == DeviceKind.sensor and body.sensor_kind is None:
        raise InvalidInput("alarm.sensor_kind_required")
    await _check_places(ctx, community_id, body.building_id, body.duty_post_id)
    taken = (
        await ctx.session.exec(
            select(AlarmDevice.id).where(
                AlarmDevice.serial == body.serial, col(AlarmDevice.deleted_at).is_(None)
            )
        )
    ).first()
    if taken is not None:
        raise Conflict("alarm.device_exists")
    secret = new_secret()
    fields = body.model_dump(exclude={"allowed_sources", "mac", "sensor_kind"})
    device = AlarmDevice(
        community_id=community_id,
        **fields,
        sensor_kind=body.sensor_kind if body.kind == DeviceKind.sensor else None,
        mac=normalise_mac(body.mac),
        allowed_sources=_check_sources(body.allowed_sources),
        secret_encrypted=encrypt_secret(secret, ctx.settings),
        created_by=principal.user_id,
    )
    ctx.session.add(device)
    await ctx.session.flush()
    await audit.record(ctx, "alarm.device_create", "alarm_device", device.id, community_id=community_id)
    return DeviceWithSecret(**device_out(device).model_dump(), secret=secret)


async def load_device(ctx: Ctx, device_id: int) -> AlarmDevice:
    principal = ctx.require_principal()
    row = (
        await ctx.session.exec(
            select(AlarmDevice).where(
                AlarmDevice.id == device_id,
                col(AlarmDevice.deleted_at).is_(None),
                community_filter(principal, col(AlarmDevice.community_id)),
            )
        )
    ).first()
    if row is None:
        raise NotFound("alarm.device_not_found")
    require_community(principal, row.community_id, DEVICE_MANAGERS)
    return row


async def list_devices(ctx: Ctx, community_id: int) -> list[DeviceOut]:
    require_community(ctx.require_principal(), community_id, DEVICE_MANAGERS)
    rows = (
        await ctx.session.exec(
            select(AlarmDevice)
            .where(AlarmDevice.community_id == community_id, col(AlarmDevice.deleted_at).is_(None))
            .order_by(col(AlarmDevice.id))
        )
    ).all()
    return [device_out(d) for d in rows]


async def get_device(ctx: Ctx, device_id: int) -> DeviceOut:
    return device_out(await load_device(ctx, device_id))


async def update_device(ctx: Ctx, device_id: int, body: DeviceUpdate) -> DeviceOut:
    device = await load_device(ctx, device_id)
    changes = body.model_dump(exclude_unset=True)
    await _check_places(ctx, device.community_id, changes.get("building_id"), changes.get("duty_post_id"))
    if "allowed_sources" in changes:
        changes["allowed_sources"] = _check_sources(changes["allowed_sources"] or [])
    for key, value in changes.items():
        setattr(device, key, value)
    device.updated_at = utcnow()
    ctx.session.add(device)
    await ctx.session.flush()
    await audit.record(
        ctx, "alarm.device_update", "alarm_device", device.id, community_id=device.community_id, after=changes
    )
    return device_out(device)


async def delete_device(ctx: Ctx, device_id: int) -> None:
    device = await load_device(ctx, device_id)
    device.deleted_at = utcnow()
    ctx.session.add(device)
    await audit.record(
        ctx, "alarm.device_delete", "alarm_device", device.id, community_id=device.community_id
    )


async def rotate_secret(ctx: Ctx, device_id: int) -> DeviceWithSecret:
    device = await load_device(ctx, device_id)
    secret = new_secret()
    device.secret_encrypted = encrypt_secret(secret, ctx.settings)
    device.secret_rotated_at = device.updated_at = utcnow()
    ctx.session.add(device)
    await ctx.session.flush()
    await audit.record(
        ctx, "alarm.device_rotate", "alarm_device", device.id, community_id=device.community_id
    )
    return DeviceWithSecret(**device_out(device).model_dump(), secret=secret)
