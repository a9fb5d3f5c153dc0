"""JPush push channel: the official `jpush` SDK (synchronous, on `requests`) run in worker threads.

JPush carries mainland Android phones through the vendor channels (Huawei, Honor, Xiaomi, OPPO, vivo,
Meizu; FCM abroad), HarmonyOS and iOS (through APNs). One `JPushChannel` per worker process; `send()`
takes any number of pushes (workers.channels.push.Push) and returns one `PushOutcome` per push, in
order, never raising for a per-push failure. Outcome statuses:

    sent        JPush accepted it (200 with a msg_id; `message_id` is that msg_id).
    drop_token  1011 "no target": none of the request's registration ids is (still) registered.
    retry       2002 / HTTP 429 rate limit (`retry_after_seconds` from X-Rate-Limit-Reset, else
                Retry-After), 1000 / 1030 / HTTP 5xx server errors, timeouts, connection errors and
                anything unexpected — never a reason to drop a token.
    alert       authentication (HTTP 401, 1004), a bad app key (1008), an app barred from the API
                (2003) or without the permission (2004): our configuration is wrong. Keep the tokens,
                page someone, retry later.
    dead        our request is wrong (1002 / 1003 / 1005 / 1009 ... other 4xx, or a push the SDK
                refuses to build): dead-letter, do not retry.
    unsent      not started because `stop` was set (the worker is stopping).

How the SDK is used (jpush 3.4; `check_sdk_contract()` fails a test if this moves):
- Endpoint: the SDK builds its URLs from `jpush.common.ZONES[zone]["PUSH"]`; a zone is a constructor
  argument. We register a zone of our own for the configured base URL (stand-ins, the Beijing site).
- Threads: the SDK blocks (requests). Each request runs in this channel's thread pool, with one SDK
  client (one requests.Session, one keep-alive connection) per thread; at most `concurrency` in
  flight. The event loop never waits on the SDK.
- Batches: one /v3/push per distinct payload, to at most MAX_REGISTRATION_IDS registration ids (the
  API's limit). A person's badge and inbox id are in the payload, so in practice one request carries
  one person's JPush devices. JPush drops unknown ids of a multi-id request silently and answers 1011
  only when none is left: such a device is pruned by staleness (services.notifications.devices).
- Replace, not stack: iOS gets `options.apns_collapse_id` from the delivery's dedupe key (without its
  device part, the same on all of a person's devices); Android's override needs a previous msg_id,
  which a retry after a crash does not know, so the key also travels in `extras.collapse_key` for the
  app to replace its own notification.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import inspect
import json
import logging
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import jpush
from jpush import common as jpush_common

from services.config import Settings
from workers.channels.fcm import collapse_id
from workers.channels.push import OutcomeSink, Push, PushOutcome, report
from workers.channels.push import OutcomeStatus as PushStatus

log = logging.getLogger("linli.jpush")

DEFAULT_BASE_URL = "https://api.jpush.cn"
MAX_REGISTRATION_IDS = 1000  # per push request (JPush's audience limit)
TIME_TO_LIVE = 86_400  # offline messages kept one day (JPush's default; max 10 days)
CHANNEL_CRITICAL = "linli_critical"  # Android notification channels the app creates (README)
CHANNEL_DEFAULT = "linli_default"
_DETAIL_MAX = 300
_NO_TARGET = 1011
_ALERT_CODES = {1004, 1008, 2003, 2004}
_RATE_LIMIT_CODES = {2002, 2008, 2009}
_SERVER_CODES = {1000, 1030}
_PLATFORMS = {"android": "android", "ios": "ios", "harmonyos": "hmos"}
_DEVICE_SUFFIX = re.compile(r":d\d+$")


@dataclass(frozen=True, slots=True)
class JPushSettings:
    """The JPush part of services.config.Settings."""

    app_key: str
    master_secret: str
    base_url: str = DEFAULT_BASE_URL
    timeout_seconds: float = 10.0
    concurrency: int = 8
    apns_production: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> JPushSettings:
        secret = settings.jpush_master_secret.get_secret_value() if settings.jpush_master_secret else ""
        if not settings.jpush_app_key or not secret:
            raise ValueError("JPush is not configured (LINLI_JPUSH_APP_KEY / LINLI_JPUSH_MASTER_SECRET)")
        return cls(
            app_key=settings.jpush_app_key,
            master_secret=secret,
            base_url=settings.jpush_base_url or DEFAULT_BASE_URL,
            timeout_seconds=settings.jpush_timeout_seconds,
            concurrency=max(1, settings.jpush_concurrency),
            apns_production=settings.jpush_apns_production,
        )


def register_zone(base_url: str) -> str:
    """A JPush SDK zone whose push URL is `base_url` (the SDK has no other endpoint setting)."""
    base = base_url.rstrip("/")
    zone = "LINLI_" + hashlib.sha256(base.encode()).hexdigest()[:12].upper()
    jpush_common.ZONES[zone] = {
        key: f"{base}/v3/{path}"
        for key, path in {
            "PUSH": "",
            "REPORT": "report/",
            "DEVICE": "devices/",
            "ALIAS": "aliases/",
            "TAG": "tags/",
            "SCHEDULE": "schedules/",
        }.items()
    } | {"ADMIN": f"{base}/v1/"}
    return zone


def dedupe_tag(push: Push) -> str | None:
    """The delivery's dedupe key without its `:d<device>` part, as an apns-collapse-id (≤ 64 bytes)."""
    if not push.collapse_key:
        return None
    return collapse_id(_DEVICE_SUFFIX.sub("", push.collapse_key))


def build_payload(push: Push, apns_production: bool = True) -> dict[str, Any]:
    """The /v3/push body for one push, audience left out (the batch sets it)."""
    if not push.token:
        raise ValueError("empty registration id")
    if push.priority not in ("high", "normal"):
        raise ValueError(f"priority must be 'high' or 'normal', not {push.priority!r}")
    platform = _PLATFORMS.get(push.platform)
    if platform is None:
        raise ValueError(f"JPush does not serve platform {push.platform!r}")
    high = push.priority == "high"
    tag = dedupe_tag(push)
    extras: dict[str, Any] = {**push.data, "badge": str(push.badge)}
    if tag:
        extras["collapse_key"] = tag
    if platform == "android":
        note = jpush.android(
            alert=push.body,
            title=push.title,
            channel_id=CHANNEL_CRITICAL if high else CHANNEL_DEFAULT,
            priority=2 if high else 0,  # JPush's -2..2; 2 = heads-up on phones that allow it
            badge_set_num=push.badge,
            extras=extras,
        )
        notification = jpush.notification(alert=push.body, android=note)
    elif platform == "ios":
        note = jpush.ios(
            alert={"title": push.title, "body": push.body},
            badge=push.badge,
            sound="default",
            interruption_level="time-sensitive" if high else "active",
            extras=extras,
        )
        notification = jpush.notification(alert=push.body, ios=note)
    else:
        note = jpush.hmos(alert=push.body, title=push.title, badge_set_num=push.badge, extras=extras)
        notification = jpush.notification(alert=push.body, hmos=note)
    options: dict[str, Any] = {"time_to_live": TIME_TO_LIVE, "apns_production": apns_production}
    if tag and platform == "ios":
        options["apns_collapse_id"] = tag
    if platform == "android":
        # The vendor channels: what makes an alarm ring on a Huawei, Honor or vivo phone.
        options["third_party_channel"] = {
            "huawei": {"importance": "HIGH" if high else "NORMAL"},
            "honor": {"importance": "HIGH" if high else "NORMAL"},
            "vivo": {"classification": 1 if high else 0},
        }
    return {"platform": jpush.platform(platform), "notification": notification, "options": options}


class JPushChannel:
    """Created once per worker process from the Settings (LINLI_JPUSH_*)."""

    def __init__(self, settings: Settings | JPushSettings) -> None:
        cfg = settings if isinstance(settings, JPushSettings) else JPushSettings.from_settings(settings)
        self.settings = cfg
        self.base_url = cfg.base_url.rstrip("/")
        self.zone = register_zone(self.base_url)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="jpush")
        self._slots = asyncio.Semaphore(cfg.concurrency)

    async def send(
        self,
        pushes: Sequence[Push],
        *,
        on_outcome: OutcomeSink | None = None,
        stop: asyncio.Event | None = None,
    ) -> list[PushOutcome]:
        results: dict[int, PushOutcome] = {}
        groups: dict[str, tuple[dict[str, Any], list[Push]]] = {}
        for p in pushes:
            try:
                payload = build_payload(p, self.settings.apns_production)
            except (ValueError, TypeError) as exc:
                outcome = PushOutcome(p.delivery_id, "dead", error_code="INVALID_PUSH", detail=str(exc)[:300])
                results[p.delivery_id] = report(on_outcome, outcome)
                continue
            key = json.dumps(payload, sort_keys=True, ensure_ascii=False)
            groups.setdefault(key, (payload, []))[1].append(p)
        batches = [
            (payload, members[i : i + MAX_REGISTRATION_IDS])
            for payload, members in groups.values()
            for i in range(0, len(members), MAX_REGISTRATION_IDS)
        ]
        for outcomes in await asyncio.gather(
            *(self._send_batch(pl, b, on_outcome, stop) for pl, b in batches)
        ):
            for o in outcomes:
                results[o.delivery_id] = o
        return [results[p.delivery_id] for p in pushes]

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _send_batch(
        self,
        payload: dict[str, Any],
        batch: list[Push],
        on_outcome: OutcomeSink | None,
        stop: asyncio.Event | None,
    ) -> list[PushOutcome]:
        async with self._slots:
            if stop is not None and stop.is_set():
                return [report(on_outcome, PushOutcome(p.delivery_id, "unsent")) for p in batch]
            ids = [p.token for p in batch]
            loop = asyncio.get_running_loop()
            try:
                response = await loop.run_in_executor(self._pool, self._post, payload, ids)
            except Exception as exc:  # every failure becomes an outcome (cancellation passes)
                return [report(on_outcome, o) for o in classify_error([p.delivery_id for p in batch], exc)]
        msg_id = str((response or {}).get("msg_id") or "")
        status: PushStatus = "sent" if msg_id else "retry"
        return [
            report(
                on_outcome,
                PushOutcome(
                    p.delivery_id,
                    status,
                    message_id=msg_id or None,
                    error_code=None if msg_id else "NO_MSG_ID",
                    detail=None if msg_id else "200 without a msg_id",
                ),
            )
            for p in batch
        ]

    def _post(self, payload: dict[str, Any], registration_ids: list[str]) -> dict[str, Any]:
        """In a pool thread: one SDK push with this thread's client."""
        client = getattr(self._local, "client", None)
        if client is None:
            cfg = self.settings
            client = jpush.JPush(cfg.app_key, cfg.master_secret, timeout=cfg.timeout_seconds, zone=self.zone)
            self._local.client = client
        push = client.create_push()
        push.audience = jpush.audience(jpush.registration_id(*registration_ids))
        push.platform = payload["platform"]
        push.notification = payload["notification"]
        push.options = payload["options"]
        response = push.send()
        return response.payload if isinstance(response.payload, dict) else {}


def classify_error(delivery_ids: list[int], exc: BaseException) -> list[PushOutcome]:
    """One outcome per delivery of a failed request (they share the request's fate)."""
    status: PushStatus
    retry_after: float | None = None
    if isinstance(exc, jpush_common.Unauthorized):
        status, code, detail = "alert", "UNAUTHORIZED", "HTTP 401: check the app key and master secret"
    elif isinstance(exc, jpush_common.JPushFailure):
        http = getattr(exc.response, "status_code", None)
        jcode = _int(exc.error_code)
        code = str(jcode) if jcode is not None else f"HTTP_{http}"
        detail = f"HTTP {http}: {exc.details if exc.details is not None else exc.error}"[:_DETAIL_MAX]
        if jcode == _NO_TARGET:
            status = "drop_token"
        elif jcode in _ALERT_CODES:
            status = "alert"
        elif jcode in _RATE_LIMIT_CODES or http == 429:
            status, retry_after = "retry", _retry_after(exc.response)
        elif jcode in _SERVER_CODES or (http is not None and http >= 500) or http is None:
            status = "retry"
        else:
            status = "dead"  # 1002 / 1003 / 1005 / 1009 and other 4xx: our request is wrong
    elif isinstance(exc, jpush_common.APIConnectionException | jpush_common.APIRequestException):
        status, code, detail = "retry", "CONNECTION", str(exc.value)[:_DETAIL_MAX]
    else:  # e.g. the SDK choking on an unexpected error body: never a reason to drop a token
        status, code, detail = "retry", type(exc).__name__, str(exc)[:_DETAIL_MAX]
    if status == "alert":
        log.error("JPush alert: %s %s", code, detail)
    return [
        PushOutcome(d, status, error_code=code, retry_after_seconds=retry_after, detail=detail)
        for d in delivery_ids
    ]


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _retry_after(response: Any) -> float | None:
    """Seconds to wait: JPush's X-Rate-Limit-Reset (seconds left in the window), else Retry-After."""
    headers = getattr(response, "headers", None) or {}
    reset = headers.get("X-Rate-Limit-Reset")
    if reset is not None and str(reset).strip().isdigit():
        return float(str(reset).strip())
    value = headers.get("Retry-After")
    if not value:
        return None
    value = str(value).strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def check_sdk_contract() -> None:
    """Assert the jpush SDK internals this module relies on are still there."""
    assert isinstance(jpush_common.ZONES, dict) and "DEFAULT" in jpush_common.ZONES
    assert jpush_common.get_url("push", "default") == DEFAULT_BASE_URL + "/v3/"
    assert "zone" in inspect.signature(jpush.JPush.__init__).parameters
    assert "timeout" in inspect.signature(jpush.JPush.__init__).parameters
    send = inspect.getsource(jpush.Push.send)
    assert "common.get_url('push', self.zone) + self.end_point" in send, send
    request = inspect.getsource(jpush.JPush._request)
    assert "status_code == 401" in request and "JPushFailure.from_response" in request
    assert "timeout=self.timeout" in request
    for name in ("error_code", "details", "response"):
        assert hasattr(jpush_common.JPushFailure, name), name
    assert issubclass(jpush_common.APIConnectionException, Exception)
    assert issubclass(jpush_common.APIRequestException, Exception)
    assert "registration_id" in jpush.audience(jpush.registration_id("x"))
    assert jpush.android(alert="a", channel_id="c")["channel_id"] == "c"
    assert jpush.ios(alert="a", badge=3)["badge"] == 3
    assert jpush.hmos(alert="a", badge_set_num=1)["badge_set_num"] == 1


__all__ = [
    "MAX_REGISTRATION_IDS",
    "JPushChannel",
    "JPushSettings",
    "build_payload",
    "check_sdk_contract",
    "classify_error",
    "register_zone",
]
