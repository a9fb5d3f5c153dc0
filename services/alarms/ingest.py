"""The device doors: ISAPI (HTTP Digest or a token) and the signed JSON webhook. Each authenticates
the device first, then parses, then records in the request's transaction. A refusal raises a
DomainError (the transaction rolls back: nothing is written), is logged with the source address and
counted in `linli_alarm_ingest_rejected_total`.

A device belongs to one community and the alarm takes the device's community, never anything from
the body: a device of community A cannot raise an alarm in B.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import re
import time
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import col, or_, select

import services.alarms.messages  # noqa: F401  (registers the error codes)
from services.alarms import isapi, lifecycle
from services.alarms.devices import normalise_mac
from services.alarms.metrics import INGEST, REJECTED
from services.alarms.pictures import prepare_pictures
from services.alarms.schemas import IngestOut, WebhookEvent
from services.alarms.secrets import decrypt_secret
from services.alarms.signals import AlarmSeverity, AlarmSignal, SignalSource
from services.auth.ratelimit import login_limiter
from services.errors import DomainError, Forbidden, InvalidInput, RateLimited, Unauthorized
from services.models.alarms import AlarmDevice, AlarmWebhookReceipt, DeviceStatus
from services.models.base import utcnow
from services.runtime import Ctx

log = logging.getLogger("linli.alarms.ingest")

REALM = "linli"
NONCE_SECONDS = 300


MINUTE = 60
# Refusals that count towards the source address's limit: failed proofs, not the Digest handshake.
GUESSES = frozenset(
    {"alarm.ingest_unknown_device", "alarm.ingest_unauthorized", "alarm.ingest_bad_signature"}
)


def _refusals_key(ctx: Ctx) -> str:
    return f"alarm-refused:{ctx.ip or '-'}"


async def _check_refusals(ctx: Ctx) -> None:
    """A source address that failed too many proofs this minute is refused before any lookup."""
    wait = await login_limiter(ctx.runtime).wait(
        _refusals_key(ctx), ctx.settings.alarm_ingest_refusals_per_minute, MINUTE
    )
    if wait is not None:
        raise RateLimited(wait, code="alarm.ingest_rate_limited")


async def _check_device_rate(ctx: Ctx, device: AlarmDevice) -> None:
    """One device's events per minute: a camera stuck in a loop cannot flood the duty officers."""
    wait = await login_limiter(ctx.runtime).hit(
        f"alarm-device:{device.id}", ctx.settings.alarm_ingest_device_per_minute, MINUTE
    )
    if wait is not None:
        raise RateLimited(wait, code="alarm.ingest_rate_limited")


async def _counted(
    door: str, ctx: Ctx, device_key: str | None, run: Callable[[], Awaitable[IngestOut]]
) -> IngestOut:
    try:
        await _check_refusals(ctx)
        out = await run()
    except DomainError as exc:
        if exc.code in GUESSES:
            await login_limiter(ctx.runtime).hit(
                _refusals_key(ctx), ctx.settings.alarm_ingest_refusals_per_minute, MINUTE
            )
        REJECTED.labels(door, exc.code).inc()
        log.log(
            logging.INFO if exc.code == "alarm.ingest_digest_required" else logging.WARNING,
            "alarm ingest refused: %s",
            exc.code,
            extra={"door": door, "source": ctx.ip, "device": device_key},
        )
        raise
    INGEST.labels(door, out.status).inc()
    return out


async def _find_device(ctx: Ctx, key: str | None) -> AlarmDevice:
    if not key:
        raise Unauthorized("alarm.ingest_unknown_device")
    mac = normalise_mac(key)
    match = AlarmDevice.serial == key
    stmt = select(AlarmDevice).where(
        col(AlarmDevice.deleted_at).is_(None), or_(match, AlarmDevice.mac == mac) if mac else match
    )
    device = (await ctx.session.exec(stmt)).first()
    if device is None:
        raise Unauthorized("alarm.ingest_unknown_device")
    return device


def _check_source(ctx: Ctx, device: AlarmDevice) -> None:
    if not device.allowed_sources:
        return
    try:
        addr = ipaddress.ip_address(ctx.ip or "")
    except ValueError as exc:
        raise Forbidden("alarm.ingest_source_refused") from exc
    if not any(addr in ipaddress.ip_network(n, strict=False) for n in device.allowed_sources):
        raise Forbidden("alarm.ingest_source_refused")


def _check_enabled(device: AlarmDevice) -> None:
    if device.status == DeviceStatus.disabled:
        raise Forbidden("alarm.ingest_device_disabled")


# --- HTTP Digest (RFC 7616, MD5 as the cameras speak it) -------------------------------------------


def _nonce_mac(key: str, stamp: str) -> str:
    return hmac.new(key.encode(), f"alarm-nonce:{stamp}".encode(), hashlib.sha256).hexdigest()[:32]


def new_nonce(key: str, now: float | None = None) -> str:
    """Stateless: the issue time and a MAC of it, so any API process can check it."""
    stamp = str(int(now if now is not None else time.time()))
    return base64.urlsafe_b64encode(f"{stamp}:{_nonce_mac(key, stamp)}".encode()).decode().rstrip("=")


def _nonce_fresh(key: str, nonce: str) -> bool:
    try:
        stamp, mac = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4)).decode().split(":", 1)
        age = time.time() - int(stamp)
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(mac, _nonce_mac(key, stamp)) and -5 <= age <= NONCE_SECONDS


def challenge(key: str) -> dict[str, str]:
    return {
        "WWW-Authenticate": f'Digest realm="{REALM}", qop="auth", nonce="{new_nonce(key)}", algorithm=MD5'
    }


_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')


def parse_digest(header: str | None) -> dict[str, str] | None:
    if not header or header[:7].lower() != "digest ":
        return None
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _PARAM.finditer(header[7:])
    }


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def digest_ok(params: dict[str, str], secret: str, method: str, uri: str) -> bool:
    ha1 = _md5(f"{params.get('username', '')}:{REALM}:{secret}")
    ha2 = _md5(f"{method}:{params.get('uri', '')}")
    if params.get("qop") == "auth":
        expected = _md5(
            f"{ha1}:{params.get('nonce', '')}:{params.get('nc', '')}:{params.get('cnonce', '')}:auth:{ha2}"
        )
    else:
        expected = _md5(f"{ha1}:{params.get('nonce', '')}:{ha2}")
    # The uri parameter must name this request (path and query), or a response could be replayed
    # against another device's URL.
    return params.get("uri") == uri and hmac.compare_digest(expected, params.get("response", ""))


async def ingest_isapi(
    ctx: Ctx,
    *,
    device_key: str | None,
    token: str | None,
    authorization: str | None,
    method: str,
    uri: str,
    event: bytes,
    event_format: str,
    pictures: list[bytes],
) -> IngestOut:
    nonce_key = ctx.settings.jwt_key()
    digest = parse_digest(authorization)

    async def run() -> IngestOut:
        device = await _find_device(ctx, device_key or (digest or {}).get("username"))
        _check_source(ctx, device)
        secret = decrypt_secret(device, ctx.settings)
        if secret is None:
            raise Unauthorized("alarm.ingest_unauthorized", headers=challenge(nonce_key))
        if token is not None:
            if not hmac.compare_digest(token.encode(), secret.encode()):
                raise Unauthorized("alarm.ingest_unauthorized", headers=challenge(nonce_key))
        elif digest is None:
            # The first leg of the Digest handshake, not an attack: counted under its own code.
            raise Unauthorized("alarm.ingest_digest_required", headers=challenge(nonce_key))
        elif not _nonce_fresh(nonce_key, digest.get("nonce", "")):
            raise Unauthorized("alarm.ingest_stale", headers=challenge(nonce_key))
        elif digest.get("username") not in (device.serial, device.mac) or not digest_ok(
            digest, secret, method, uri
        ):
            raise Unauthorized("alarm.ingest_unauthorized", headers=challenge(nonce_key))
        _check_enabled(device)
        await _check_device_rate(ctx, device)
        try:
            parsed = isapi.parse_xml(event) if event_format == "xml" else isapi.parse_json(event)
            signal = isapi.to_signal(parsed)
        except isapi.MalformedEvent as exc:
            raise InvalidInput("alarm.ingest_malformed", details={"reason": str(exc)}) from exc
        prepared = await prepare_pictures(ctx.settings, pictures)
        outcome = await lifecycle.record_signal(
            ctx.session, device, signal, settings=ctx.settings, prepared=prepared
        )
        return IngestOut(status=outcome.status.value, alarm_id=outcome.alarm_id)

    return await _counted("isapi", ctx, device_key, run)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


async def ingest_webhook(
    ctx: Ctx, *, device_key: str | None, timestamp: str | None, sig: str | None, body: bytes
) -> IngestOut:
    async def run() -> IngestOut:
        device = await _find_device(ctx, device_key)
        _check_source(ctx, device)
        secret = decrypt_secret(device, ctx.settings)
        if secret is None or not sig or not timestamp:
            raise Unauthorized("alarm.ingest_bad_signature")
        if not hmac.compare_digest(signature(secret, timestamp, body), sig.strip().lower()):
            raise Unauthorized("alarm.ingest_bad_signature")
        try:
            skew = abs(utcnow().timestamp() - int(timestamp))
        except ValueError as exc:
            raise Unauthorized("alarm.ingest_stale") from exc
        if skew > ctx.settings.alarm_webhook_skew_seconds:
            raise Unauthorized(
                "alarm.ingest_stale", details={"max_skew_seconds": ctx.settings.alarm_webhook_skew_seconds}
            )
        _check_enabled(device)
        await _check_device_rate(ctx, device)
        try:
            event = WebhookEvent.model_validate_json(body)
        except ValidationError as exc:
            raise InvalidInput("alarm.ingest_malformed", details={"errors": exc.error_count()}) from exc
        assert device.id is not None
        seen = (
            await ctx.session.exec(
                select(AlarmWebhookReceipt).where(
                    AlarmWebhookReceipt.device_id == device.id, AlarmWebhookReceipt.event_id == event.event_id
                )
            )
        ).first()
        if seen is not None:
            return IngestOut(status="replayed", alarm_id=seen.alarm_id)
        receipt = AlarmWebhookReceipt(device_id=device.id, event_id=event.event_id)
        try:
            async with ctx.session.begin_nested():
                ctx.session.add(receipt)
                await ctx.session.flush()
        except sa.exc.IntegrityError:
            return IngestOut(status="replayed")  # the same event id in a concurrent request
        signal = AlarmSignal(
            type=event.type,
            active=event.state == "active",
            occurred_at=event.occurred_at,
            severity=AlarmSeverity(event.severity) if event.severity else None,
            source=SignalSource.webhook,
            external_id=event.event_id,
            raw=event.model_dump(mode="json"),
            value=event.value,
            title=f"{device.name}：{event.message}" if event.message else None,
        )
        outcome = await lifecycle.record_signal(ctx.session, device, signal, settings=ctx.settings)
        receipt.alarm_id = outcome.alarm_id
        ctx.session.add(receipt)
        await ctx.session.flush()
        return IngestOut(status=outcome.status.value, alarm_id=outcome.alarm_id)

    return await _counted("webhook", ctx, device_key, run)
