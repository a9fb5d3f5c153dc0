"""APNs push channel: Apple's HTTP/2 provider API called directly, for iOS builds without JPush.

Client: httpx over HTTP/2 (already a dependency; `h2` is what speaks HTTP/2 underneath), not aioapns.
aioapns 4.0 (the last release, 2025-04) hard-codes Apple's hosts as class attributes of its protocol
classes (pointing it at a stand-in means subclassing its internals or tunnelling through its CONNECT
proxy support), drops the response headers (no Retry-After), has no per-request timeout (a non-200
answer without a body leaves its future waiting forever) and calls `asyncio.get_event_loop()` in its
constructor. With httpx the host is a setting, the timeout is httpx's and the answer is a plain
response. The provider token is PyJWT's ES256 over the .p8 key (also already a dependency).

One `ApnsChannel` per worker process, on one long-lived event loop (httpx's connections are bound to
it). `send()` takes any number of pushes and sends them in chunks of at most IN_FLIGHT per lane, each
lane its own HTTP/2 connection (httpcore runs at most 100 streams on one), one request per push, each
outcome handed to `on_outcome` as soon as its own answer arrives. Outcome statuses:

    sent        200; `message_id` is the apns-id Apple answered with.
    drop_token  410 (Unregistered, ExpiredToken) or 400 BadDeviceToken: disable the device.
    retry       429 TooManyRequests (`retry_after_seconds` from Retry-After if given), 5xx, timeouts,
                connection errors, anything unexpected: the delivery row's backoff.
    alert       403 (InvalidProviderToken, ExpiredProviderToken, a missing token, certificate errors),
                a topic the key may not use (BadTopic, TopicDisallowed, DeviceTokenNotForTopic,
                MissingTopic) and 404/405 (a wrong base URL): our configuration is wrong, so keep every
                token, page someone and retry later. ExpiredProviderToken also re-signs the JWT.
    dead        any other 4xx (payload too large, bad collapse id, …): our request is wrong.
    unsent      `stop` was set before its chunk got a lane (the worker is shutting down).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import ssl
import string
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.config import Settings
from workers.channels.fcm import collapse_id
from workers.channels.push import OutcomeSink, Push, PushOutcome, report, take_lane
from workers.channels.push import OutcomeStatus as PushStatus

log = logging.getLogger("linli.apns")

PRODUCTION_URL = "https://api.push.apple.com"
SANDBOX_URL = "https://api.sandbox.push.apple.com"
H2C_PREFIX = "h2c://"
IN_FLIGHT = 100  # httpcore runs at most 100 streams on one HTTP/2 connection
LANES = 2  # HTTP/2 connections per channel: up to LANES × IN_FLIGHT requests in flight
# Apple refuses a provider token older than an hour and one refreshed more often than every 20 minutes
# (TooManyProviderTokenUpdates): re-sign after 40 minutes, or on ExpiredProviderToken at most once a minute.
JWT_REFRESH_SECONDS = 40 * 60
JWT_MIN_AGE_FOR_FORCED_REFRESH = 60
_DETAIL_MAX = 300
_DROP_400 = frozenset({"BadDeviceToken"})
_CONFIG_400 = frozenset({"BadTopic", "TopicDisallowed", "DeviceTokenNotForTopic", "MissingTopic"})
_HEX = frozenset(string.hexdigits)


@dataclass(frozen=True, slots=True)
class ApnsSettings:
    """The APNs part of services.config.Settings."""

    key_id: str
    team_id: str
    key_file: str
    topic: str
    base_url: str = PRODUCTION_URL
    ca_file: str | None = None
    timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ApnsSettings:
        missing = [
            f"LINLI_APNS_{name.upper()}"
            for name in ("key_id", "team_id", "key_file", "topic")
            if not getattr(settings, f"apns_{name}")
        ]
        if missing:
            raise ValueError("APNs is not configured: set " + ", ".join(missing))
        assert (
            settings.apns_key_id and settings.apns_team_id and settings.apns_key_file and settings.apns_topic
        )
        default = SANDBOX_URL if settings.apns_sandbox else PRODUCTION_URL
        return cls(
            key_id=settings.apns_key_id,
            team_id=settings.apns_team_id,
            key_file=settings.apns_key_file,
            topic=settings.apns_topic,
            base_url=settings.apns_base_url or default,
            ca_file=settings.apns_ca_file,
            timeout_seconds=settings.apns_timeout_seconds,
        )


def configured(settings: Settings) -> bool:
    return bool(
        settings.apns_key_id and settings.apns_team_id and settings.apns_key_file and settings.apns_topic
    )


def load_key(path: str) -> ec.EllipticCurvePrivateKey:
    """The .p8 file (PKCS#8 PEM of a P-256 key). Reads a file: call it at start-up."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError(f"{path} is not an APNs .p8 key (P-256 EC private key)")
    return key


class ProviderToken:
    """The ES256 provider JWT (`kid` = key id, `iss` = team id, `iat`), re-signed every 40 minutes."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, key_id: str, team_id: str) -> None:
        self._key, self._key_id, self._team_id = key, key_id, team_id
        self._token = ""
        self.issued_at = 0.0

    def header(self) -> str:
        now = time.time()
        if not self._token or now - self.issued_at >= JWT_REFRESH_SECONDS:
            self._sign(now)
        return f"bearer {self._token}"

    def expired(self) -> None:
        """Apple said ExpiredProviderToken: sign a new one (not more than once a minute)."""
        now = time.time()
        if now - self.issued_at >= JWT_MIN_AGE_FOR_FORCED_REFRESH:
            self._sign(now)

    def _sign(self, now: float) -> None:
        self.issued_at = now
        self._token = jwt.encode(
            {"iss": self._team_id, "iat": int(now)},
            self._key,
            algorithm="ES256",
            headers={"kid": self._key_id},
        )


def build_request(push: Push, topic: str) -> tuple[dict[str, str], bytes]:
    """Headers and JSON body for one push. Custom data goes beside `aps` (what the app reads)."""
    if push.priority not in ("high", "normal"):
        raise ValueError(f"priority must be 'high' or 'normal', not {push.priority!r}")
    headers = {
        "apns-topic": topic,
        "apns-push-type": "alert",
        "apns-priority": "10" if push.priority == "high" else "5",
    }
    if push.collapse_key:
        headers["apns-collapse-id"] = collapse_id(push.collapse_key)
    payload: dict[str, Any] = {k: v for k, v in push.data.items() if k != "aps"}
    payload["aps"] = {
        "alert": {"title": push.title, "body": push.body},
        "badge": push.badge,
        "sound": "default",
    }
    return headers, json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class ApnsChannel:
    """Created once per worker process."""

    def __init__(
        self, settings: Settings | ApnsSettings, *, key: ec.EllipticCurvePrivateKey | None = None
    ) -> None:
        """Loads the .p8 key (unless `key` is given) synchronously: construct it at start-up."""
        apns = settings if isinstance(settings, ApnsSettings) else ApnsSettings.from_settings(settings)
        self.topic = apns.topic
        base_url = apns.base_url.rstrip("/")
        h2c = base_url.startswith(H2C_PREFIX)
        self.base_url = "http://" + base_url[len(H2C_PREFIX) :] if h2c else base_url
        self._token = ProviderToken(key or load_key(apns.key_file), apns.key_id, apns.team_id)
        verify: ssl.SSLContext | bool = True
        if apns.ca_file:
            verify = ssl.create_default_context(cafile=apns.ca_file)
        self.lanes = [
            httpx.AsyncClient(
                base_url=self.base_url,
                http1=not h2c,
                http2=True,
                verify=verify,
                timeout=apns.timeout_seconds,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
            for _ in range(LANES)
        ]
        self._free: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for lane in self.lanes:
            self._free.put_nowait(lane)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def send(
        self,
        pushes: Sequence[Push],
        *,
        on_outcome: OutcomeSink | None = None,
        stop: asyncio.Event | None = None,
    ) -> list[PushOutcome]:
        """One outcome per push, in the same order; never raises for a per-push failure."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("ApnsChannel is bound to the event loop it first sent on")
        chunks = await asyncio.gather(
            *(
                self._send_on_lane(pushes[i : i + IN_FLIGHT], on_outcome, stop)
                for i in range(0, len(pushes), IN_FLIGHT)
            )
        )
        return [outcome for chunk in chunks for outcome in chunk]

    async def aclose(self) -> None:
        for lane in self.lanes:
            await lane.aclose()

    async def _send_on_lane(
        self, batch: Sequence[Push], on_outcome: OutcomeSink | None, stop: asyncio.Event | None
    ) -> list[PushOutcome]:
        lane = await take_lane(self._free, stop)
        if lane is None:
            return [report(on_outcome, PushOutcome(p.delivery_id, "unsent")) for p in batch]
        try:
            outcomes = await asyncio.gather(*(self._send_one(lane, p, on_outcome) for p in batch))
        finally:
            self._free.put_nowait(lane)
        alert = next((o for o in outcomes if o.status == "alert"), None)
        if alert is not None:
            log.warning("APNs reported an alert-class error: %s", alert)
        return list(outcomes)

    async def _send_one(
        self, lane: httpx.AsyncClient, push: Push, on_outcome: OutcomeSink | None
    ) -> PushOutcome:
        token = push.token
        if not token or not set(token) <= _HEX:
            # APNs device tokens are hex; anything else can never be delivered (and must not reach a URL).
            outcome = PushOutcome(
                push.delivery_id, "drop_token", error_code="BadDeviceToken", detail="not a hex device token"
            )
            return report(on_outcome, outcome)
        try:
            headers, body = build_request(push, self.topic)
        except (ValueError, TypeError) as exc:
            return report(
                on_outcome, PushOutcome(push.delivery_id, "dead", error_code="INVALID_PUSH", detail=str(exc))
            )
        headers["authorization"] = self._token.header()
        try:
            response = await lane.post(f"/3/device/{token}", content=body, headers=headers)
        except httpx.TimeoutException as exc:
            outcome = PushOutcome(push.delivery_id, "retry", error_code="TIMEOUT", detail=_short(exc))
        except httpx.HTTPError as exc:
            outcome = PushOutcome(
                push.delivery_id, "retry", error_code=type(exc).__name__, detail=_short(exc)
            )
        else:
            outcome = classify(push.delivery_id, response)
            if outcome.error_code == "ExpiredProviderToken":
                self._token.expired()
        return report(on_outcome, outcome)


def classify(delivery_id: int, response: httpx.Response) -> PushOutcome:
    """Map one APNs answer to an outcome (see the module docstring)."""
    status = response.status_code
    if status == 200:
        return PushOutcome(delivery_id, "sent", message_id=response.headers.get("apns-id"))
    reason = _reason(response)
    code = reason or f"HTTP_{status}"
    detail = f"HTTP {status}: {reason or response.text[:_DETAIL_MAX]}"[:_DETAIL_MAX]
    kind: PushStatus
    if status == 410 or (status == 400 and reason in _DROP_400):
        kind = "drop_token"
    elif status == 429 or status >= 500:
        return PushOutcome(
            delivery_id, "retry", error_code=code, retry_after_seconds=_retry_after(response), detail=detail
        )
    elif status in (403, 404, 405) or (status == 400 and reason in _CONFIG_400):
        kind = "alert"
    elif 400 <= status < 500:
        kind = "dead"
    else:  # 1xx/3xx from a wrong host: never wipe tokens
        kind = "retry"
    return PushOutcome(delivery_id, kind, error_code=code, detail=detail)


def _reason(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    reason = body.get("reason") if isinstance(body, dict) else None
    return reason if isinstance(reason, str) and reason else None


def _retry_after(response: httpx.Response) -> float | None:
    value = (response.headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:_DETAIL_MAX]


__all__ = [
    "IN_FLIGHT",
    "LANES",
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "ApnsChannel",
    "ApnsSettings",
    "ProviderToken",
    "build_request",
    "classify",
    "configured",
    "load_key",
]
