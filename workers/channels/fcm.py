"""FCM push channel: the real firebase-admin SDK, pointed at a configurable base URL.

One `FcmChannel` per worker process, used from one long-lived event loop (the SDK's httpx client is
bound to the loop it first runs on). `send()` takes any number of pushes (workers.channels.push.Push),
sends them in chunks of at most IN_FLIGHT at a time per lane — one `messaging.send_each_async` call per
message, so each outcome is handed to the caller's `on_outcome` as soon as its own answer arrives — and
returns one `PushOutcome` per push, in order, never raising for a per-push failure. Outcome statuses
(DESIGN §6):

    sent        FCM accepted it; `message_id` is FCM's message name.
    retry       transient: QUOTA_EXCEEDED (429, `retry_after_seconds` from Retry-After), 5xx after the
                SDK's own retries, timeouts, connection errors, and anything unexpected — including a
                404/403 *without* an FCM error detail (a wrong URL or project must never wipe tokens).
    drop_token  the token is dead: UNREGISTERED, SENDER_ID_MISMATCH, or INVALID_ARGUMENT naming the
                registration token (field violation on message.token, or the "registration token"
                message). Disable the device.
    dead        our request is wrong (INVALID_ARGUMENT about another field, or a message the SDK refuses
                to encode): dead-letter, do not retry.
    alert       THIRD_PARTY_AUTH_ERROR (401; the APNs certificate/key or web-push credentials in the
                Firebase project) or our own credential failing to refresh for good: keep the token,
                page someone, retry later.
    unsent      not sent: `stop` was set before its chunk got a lane (the worker is shutting down).

How the SDK is steered (firebase-admin 7.x; `check_sdk_contract()` fails a test if this moves):
- Endpoint: the SDK has no setting for it. Its per-app `_MessagingService` (cached on the App) formats
  `_MessagingService.FCM_URL` into the instance attribute `_fcm_url` once, and `send_each_async` posts
  to `self._fcm_url`; we overwrite that attribute on our own named App's service.
- Credentials: any `google.auth` credentials object. "static:<token>" gives a fixed bearer token
  (staging, tests); otherwise a service-account JSON file. The SDK's httpx auth flow would refresh an
  expired token (and re-refresh on every 401) with a *blocking* HTTPS call inside the event loop, so the
  SDK gets `_LoopSafeCredentials`: it only applies the cached token, and the channel refreshes the real
  credential in a worker thread before a batch when it is stale or after the SDK asked for a refresh.
- Lanes: httpcore puts every request for one origin on one HTTP/2 connection and lets at most 100
  streams run on it (its own MAX_CONCURRENT_STREAMS, whatever the server allows), so one SDK App
  carries at most 100 requests at once: 100 / latency messages/s (2,000/s at 50 ms). The channel owns
  `LANES` Apps on the same credential, each with its own client (one HTTP/1.1 keep-alive pool of
  IN_FLIGHT connections, or for h2c one HTTP/2 connection), and sends chunks of at most `IN_FLIGHT` on whichever lane is free.
- Transport: for `http://` and `https://` base URLs (production FCM, the tests' stand-in) each
  lane's SDK service gets `fcm_transport.AiohttpSdkClient` in place of its httpx client: aiohttp
  HTTP/1.1 keep-alive, up to IN_FLIGHT connections per lane, with the SDK's own headers, credential
  calls, retry policy and error mapping (see that module). The httpx → httpcore → h2 path cost the
  worker ~0.86 ms of CPU per message, the aiohttp one ~0.21 ms (docs/benchmarks.md, S6).
- `h2c://host:port` as the base URL (stand-ins, benchmarks): plain-text HTTP/2 with prior
  knowledge, through the SDK's own httpx client (aiohttp has no HTTP/2). httpx speaks HTTP/1.1 to an `http://` URL even when asked for HTTP/2 (no h2c upgrade),
  so for h2c the SDK client's `http://` transport is replaced by one built with `http1=False`.
- Retries inside the SDK: 500 and 503 are retried 4 times with backoff 0, 1, 2, 4 s (~7 s before the
  error reaches us; Retry-After is not honoured there); 401 is re-sent twice; connection errors and
  other statuses are not retried. Our own backoff lives in the delivery rows.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import inspect
import itertools
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import firebase_admin
import httpx
from firebase_admin import _http_client, _retry, messaging
from firebase_admin import credentials as fb_credentials
from firebase_admin import exceptions as fb_exceptions
from google.auth import credentials as ga_credentials
from google.auth import exceptions as ga_exceptions
from google.auth.transport import requests as ga_requests

from services.config import Settings
from workers.channels.fcm_transport import AiohttpSdkClient
from workers.channels.push import OutcomeSink, Push, PushOutcome, report, take_lane
from workers.channels.push import OutcomeStatus as PushStatus

log = logging.getLogger("linli.fcm")

MAX_BATCH = 500  # send_each_async refuses more
# A chunk starts all its messages at once. More requests in flight than the HTTP client's pool holds
# makes httpcore's pool bookkeeping quadratic (measured: ~90% of a worker's CPU with 2,000 queued), and
# httpcore runs at most 100 streams on its one HTTP/2 connection, so a chunk is at most this many;
# chunks beyond LANES × IN_FLIGHT wait for a free lane.
IN_FLIGHT = 100
LANES = 3  # SDK Apps (HTTP clients) per channel: up to LANES × IN_FLIGHT requests in flight
H2C_PREFIX = "h2c://"
APNS_COLLAPSE_ID_MAX_BYTES = 64
STATIC_PREFIX = "static:"
DEFAULT_BASE_URL = "https://fcm.googleapis.com"
_FCM_PATH = "/v1/projects/{0}/messages:send"
_DETAIL_MAX = 300  # delivery.last_error is 500 chars
_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
_app_names = itertools.count(1)


@dataclass(frozen=True, slots=True)
class FcmSettings:
    """The FCM part of services.config.Settings."""

    base_url: str = DEFAULT_BASE_URL
    project_id: str | None = None
    credentials: str | None = None  # "static:<token>" or a service-account JSON path
    timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> FcmSettings:
        return cls(
            base_url=settings.fcm_base_url or DEFAULT_BASE_URL,
            project_id=settings.fcm_project_id,
            credentials=settings.fcm_credentials,
            timeout_seconds=settings.fcm_timeout_seconds,
        )


class StaticTokenCredentials(ga_credentials.Credentials):
    """A fixed bearer token that never expires: for staging and tests ("static:<token>")."""

    def __init__(self, token: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._static_token = token
        self.token = token

    def refresh(self, request: Any) -> None:
        self.token = self._static_token


class _LoopSafeCredentials(ga_credentials.Credentials):
    """What the SDK sees. The SDK's httpx auth flow calls `before_request()` for every request and
    `refresh()` after a 401, both synchronously on the event loop. Neither does I/O here: the token of
    the real credential is applied as is, and a refresh request is remembered so that the channel
    refreshes the real credential in a thread before its next batch."""

    def __init__(self, inner: ga_credentials.Credentials) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.inner = inner
        self.refresh_requested = False

    @property
    def valid(self) -> bool:
        return bool(self.inner.valid)

    def before_request(self, request: Any, method: Any, url: Any, headers: Any) -> None:
        self.inner.apply(headers)  # type: ignore[no-untyped-call]

    def refresh(self, request: Any) -> None:
        self.refresh_requested = True


def load_credentials(spec: str) -> tuple[ga_credentials.Credentials, str | None]:
    """`static:<token>` or a path to a service-account JSON → (credential, project id in it).
    Reads a file: call it at start-up or in a thread, not inside a running coroutine."""
    if spec.startswith(STATIC_PREFIX):
        token = spec[len(STATIC_PREFIX) :]
        if not token:
            raise ValueError("fcm_credentials 'static:' needs a token after the colon")
        return StaticTokenCredentials(token), None
    cert = fb_credentials.Certificate(spec)
    return cert.get_credential(), cert.project_id


def collapse_id(key: str) -> str:
    """The dedupe key as an apns-collapse-id / Android tag: as is when it is short printable ASCII,
    else a stable hash (apns-collapse-id is limited to 64 bytes)."""
    if key and key.isascii() and key.isprintable() and len(key) <= APNS_COLLAPSE_ID_MAX_BYTES:
        return key
    digest = hashlib.sha256(key.encode()).digest()
    return "h-" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def build_message(push: Push) -> messaging.Message:
    """The FCM message for one push. Both platform blocks are always set (FCM applies the one that
    fits the token), so a device filed under the wrong platform still collapses and badges:
    collapse key → android.notification.tag and APNs `apns-collapse-id`; badge → aps.badge and
    data["badge"]; priority → android.priority and `apns-priority` 10 (high) / 5 (normal)."""
    if push.priority not in ("high", "normal"):
        raise ValueError(f"priority must be 'high' or 'normal', not {push.priority!r}")
    if not push.token:
        raise ValueError("empty device token")
    tag = collapse_id(push.collapse_key) if push.collapse_key else None
    high = push.priority == "high"
    apns_headers = {"apns-priority": "10" if high else "5", "apns-push-type": "alert"}
    if tag:
        apns_headers["apns-collapse-id"] = tag
    message = messaging.Message(
        notification=messaging.Notification(title=push.title, body=push.body),
        data={**push.data, "badge": str(push.badge)},
        android=messaging.AndroidConfig(
            priority=push.priority,
            notification=messaging.AndroidNotification(tag=tag),
        ),
        apns=messaging.APNSConfig(
            headers=apns_headers,
            payload=messaging.APNSPayload(aps=messaging.Aps(badge=push.badge)),
        ),
    )
    # firebase-admin 7.7 deprecates Message(token=...) for fid (Firebase installation IDs) and warns in
    # __init__ on every message. Devices still register FCM registration tokens, which FCM accepts and
    # the encoder still sends as message.token; setting the attribute skips the per-message warning.
    message.token = push.token
    return message


class FcmChannel:
    """Created once per worker process; owns a named firebase_admin App (never the default app)."""

    def __init__(
        self,
        settings: Settings | FcmSettings,
        *,
        credential: ga_credentials.Credentials | None = None,
        app_name: str | None = None,
    ) -> None:
        """`credential` overrides `settings.fcm_credentials` (tests). Loads the credential file here,
        synchronously: construct the channel at start-up, not inside a busy loop."""
        fcm = settings if isinstance(settings, FcmSettings) else FcmSettings.from_settings(settings)
        file_project = None
        if credential is None:
            if not fcm.credentials:
                raise ValueError("push is not configured (LINLI_FCM_CREDENTIALS is empty)")
            credential, file_project = load_credentials(fcm.credentials)
        project_id = fcm.project_id or file_project
        if not project_id:
            raise ValueError("LINLI_FCM_PROJECT_ID is required (a static token carries no project)")
        self.project_id = project_id
        base_url = (fcm.base_url or DEFAULT_BASE_URL).rstrip("/")
        h2c = base_url.startswith(H2C_PREFIX)
        self.base_url = "http://" + base_url[len(H2C_PREFIX) :] if h2c else base_url
        self.url = self.base_url + _FCM_PATH.format(project_id)
        self._credential = _LoopSafeCredentials(credential)
        self._refresh_lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        name = app_name or f"linli-fcm-{next(_app_names)}"
        self.apps: list[firebase_admin.App] = []
        try:
            for lane in range(LANES):
                app = firebase_admin.initialize_app(
                    self._credential,
                    {"projectId": project_id, "httpTimeout": fcm.timeout_seconds},
                    name=name if lane == 0 else f"{name}#{lane}",
                )
                self.apps.append(app)
                service = messaging._get_messaging_service(app)
                if not isinstance(getattr(service, "_fcm_url", None), str):
                    raise RuntimeError(
                        "firebase-admin moved _MessagingService._fcm_url; see check_sdk_contract()"
                    )
                service._fcm_url = self.url
                if h2c:
                    _use_h2c(service)
                else:
                    _use_aiohttp(service, fcm.timeout_seconds)
        except BaseException:
            for app in self.apps:
                firebase_admin.delete_app(app)
            raise
        self.app = self.apps[0]
        self._free: asyncio.Queue[firebase_admin.App] = asyncio.Queue()
        for app in self.apps:
            self._free.put_nowait(app)

    async def send(
        self,
        pushes: Sequence[Push],
        *,
        on_outcome: OutcomeSink | None = None,
        stop: asyncio.Event | None = None,
    ) -> list[PushOutcome]:
        """One outcome per push, in the same order. Never raises for a per-push failure. Each outcome
        also goes to `on_outcome` the moment FCM answers that push; once `stop` is set, chunks not yet
        on a lane are not sent ("unsent")."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("FcmChannel is bound to the event loop it first sent on")
        if len(pushes) <= IN_FLIGHT:
            return await self._send_on_lane(pushes, on_outcome, stop)
        chunks = await asyncio.gather(
            *(
                self._send_on_lane(pushes[i : i + IN_FLIGHT], on_outcome, stop)
                for i in range(0, len(pushes), IN_FLIGHT)
            )
        )
        return [outcome for chunk in chunks for outcome in chunk]

    async def aclose(self) -> None:
        """Close the SDK's httpx clients on this loop, then delete the Apps (their own close() would
        call asyncio.run(), which cannot run inside a loop, so that part runs in a thread)."""
        for app in self.apps:
            await messaging._get_messaging_service(app)._async_client.aclose()
        for app in self.apps:
            await asyncio.to_thread(firebase_admin.delete_app, app)

    async def _send_on_lane(
        self, batch: Sequence[Push], on_outcome: OutcomeSink | None, stop: asyncio.Event | None
    ) -> list[PushOutcome]:
        if not batch:
            return []
        app = await take_lane(self._free, stop)
        if app is None:
            return [report(on_outcome, PushOutcome(p.delivery_id, "unsent")) for p in batch]
        try:
            return await self._send_batch(batch, app, on_outcome)
        finally:
            self._free.put_nowait(app)

    async def _send_batch(
        self, batch: Sequence[Push], app: firebase_admin.App, on_outcome: OutcomeSink | None
    ) -> list[PushOutcome]:
        results: list[PushOutcome | None] = [None] * len(batch)
        ready: list[tuple[int, messaging.Message]] = []
        for i, push in enumerate(batch):
            try:
                ready.append((i, build_message(push)))
            except (ValueError, TypeError) as exc:
                outcome = PushOutcome(push.delivery_id, "dead", error_code="INVALID_PUSH", detail=str(exc))
                results[i] = report(on_outcome, outcome)
        if ready:
            try:
                await self._ensure_token()
            except ga_exceptions.GoogleAuthError as exc:
                status: PushStatus = "alert" if _permanent_auth_failure(exc) else "retry"
                log.error("FCM credential refresh failed: %s", exc)
                for i, _ in ready:
                    outcome = PushOutcome(
                        batch[i].delivery_id, status, error_code="CREDENTIAL_REFRESH", detail=_short(exc)
                    )
                    results[i] = report(on_outcome, outcome)
                ready = []
        if ready:
            # One SDK call per message (all of the chunk at once), not one call for the chunk: each
            # outcome is known — and recorded by the caller — when its own answer arrives, not when
            # the slowest message of the chunk is done (a crash in between would re-send them all).
            sent = await asyncio.gather(*(self._send_one(batch[i], m, app, on_outcome) for i, m in ready))
            for (i, _), outcome in zip(ready, sent, strict=True):
                results[i] = outcome
        outcomes = [r for r in results if r is not None]
        assert len(outcomes) == len(batch)
        if any(o.status == "alert" for o in outcomes):
            log.warning(
                "FCM reported an alert-class error: %s", next(o for o in outcomes if o.status == "alert")
            )
        return outcomes

    async def _send_one(
        self, push: Push, message: messaging.Message, app: firebase_admin.App, on_outcome: OutcomeSink | None
    ) -> PushOutcome:
        response: Any
        try:
            response = (await messaging.send_each_async([message], app=app)).responses[0]
        except ValueError as exc:  # the SDK refuses to encode it (our bug): dead-letter this one only
            response = _Invalid(exc)
        except Exception as exc:  # the SDK wraps unexpected failures of its gather in UnknownError
            response = exc
        return report(on_outcome, classify(push.delivery_id, response))

    async def _ensure_token(self) -> None:
        cred = self._credential
        if cred.inner.valid and not cred.refresh_requested:
            return
        async with self._refresh_lock:
            if cred.inner.valid and not cred.refresh_requested:
                return
            cred.refresh_requested = False
            await asyncio.to_thread(cred.inner.refresh, ga_requests.Request())


def _use_aiohttp(service: Any, timeout: float) -> None:
    """Put the lean aiohttp client (workers.channels.fcm_transport) under the SDK's messaging service,
    on the same credential and retry policy as the httpx client it replaces (which has opened nothing
    yet, so dropping it leaks no socket)."""
    sdk_client = service._async_client  # firebase_admin._http_client.HttpxAsyncClient
    service._async_client = AiohttpSdkClient(
        service._credential, timeout=timeout, retry_config=sdk_client._retry_config, limit=IN_FLIGHT
    )


def _use_h2c(service: Any) -> None:
    """Make the SDK's async client speak HTTP/2 with prior knowledge to `http://` URLs."""
    sdk_client = service._async_client  # firebase_admin._http_client.HttpxAsyncClient
    transport = _retry.HttpxRetryTransport(retry=sdk_client._retry_config, http1=False)
    mounts = sdk_client._async_client._mounts
    pattern = httpx._utils.URLPattern("http://")
    if pattern not in mounts:
        raise RuntimeError("firebase-admin's async client has no http:// mount; see check_sdk_contract()")
    mounts[pattern] = transport


@dataclass(frozen=True, slots=True)
class _Invalid:
    error: Exception


def classify(delivery_id: int, response: Any) -> PushOutcome:
    """Map one SendResponse (or exception) to an outcome, per DESIGN §6."""
    if isinstance(response, _Invalid):
        return PushOutcome(delivery_id, "dead", error_code="INVALID_MESSAGE", detail=_short(response.error))
    exc = response if isinstance(response, BaseException) else response.exception
    if exc is None and not isinstance(response, BaseException):
        if response.message_id:
            return PushOutcome(delivery_id, "sent", message_id=response.message_id)
        return PushOutcome(
            delivery_id, "retry", error_code="NO_MESSAGE_ID", detail="200 without a message name"
        )
    error = _error_body(exc)
    code = _fcm_error_code(error) or error.get("status") or getattr(exc, "code", None) or type(exc).__name__
    detail = _detail(exc, error)
    if isinstance(exc, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return PushOutcome(delivery_id, "drop_token", error_code=code, detail=detail)
    if isinstance(exc, messaging.ThirdPartyAuthError):
        return PushOutcome(delivery_id, "alert", error_code=code, detail=detail)
    if isinstance(exc, fb_exceptions.InvalidArgumentError):
        status: PushStatus = "drop_token" if _token_is_the_problem(error) else "dead"
        return PushOutcome(delivery_id, status, error_code=code, detail=detail)
    # Quota, 5xx (after the SDK's own retries), timeouts, connection errors, a 404/403 without an FCM
    # error detail (a wrong URL or project must never wipe tokens) and anything else: retry later.
    return PushOutcome(
        delivery_id, "retry", error_code=code, retry_after_seconds=_retry_after(exc), detail=detail
    )


def _http_response(exc: BaseException) -> Any:
    return getattr(exc, "http_response", None)


def _error_body(exc: BaseException) -> dict[str, Any]:
    resp = _http_response(exc)
    if resp is None:
        return {}
    try:
        body = resp.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _fcm_error_code(error: Mapping[str, Any]) -> str | None:
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("@type") == _FCM_ERROR_TYPE and detail.get("errorCode"):
            return str(detail["errorCode"])
    return None


def _token_is_the_problem(error: Mapping[str, Any]) -> bool:
    """INVALID_ARGUMENT is about the token when a field violation names message.token or the message
    says the registration token is invalid; any other field is a bad payload (our bug)."""
    for detail in error.get("details") or []:
        if not isinstance(detail, dict) or detail.get("@type") != _BAD_REQUEST_TYPE:
            continue
        for violation in detail.get("fieldViolations") or []:
            if isinstance(violation, dict) and str(violation.get("field", "")).startswith("message.token"):
                return True
    return "registration token" in str(error.get("message", "")).lower()


def _retry_after(exc: BaseException) -> float | None:
    resp = _http_response(exc)
    if resp is None:
        return None
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _detail(exc: BaseException, error: Mapping[str, Any]) -> str:
    resp = _http_response(exc)
    prefix = f"HTTP {resp.status_code}: " if resp is not None else ""
    return (prefix + str(error.get("message") or exc))[:_DETAIL_MAX]


def _short(exc: BaseException) -> str:
    return str(exc)[:_DETAIL_MAX]


def _permanent_auth_failure(exc: ga_exceptions.GoogleAuthError) -> bool:
    return isinstance(exc, ga_exceptions.RefreshError) and not getattr(exc, "retryable", False)


def check_sdk_contract() -> None:
    """Assert the firebase-admin internals this module relies on are still there. A failing test after
    a firebase-admin upgrade points here before it points at production."""
    service_cls = messaging._MessagingService
    assert inspect.iscoroutinefunction(messaging.send_each_async)
    params = inspect.signature(messaging.send_each_async).parameters
    assert {"messages", "dry_run", "app"} <= params.keys()
    assert callable(messaging._get_messaging_service)
    assert service_cls.FCM_URL == DEFAULT_BASE_URL + _FCM_PATH, service_cls.FCM_URL
    # The URL is formatted once into the instance and read from there by send_each_async.
    assert "self._fcm_url = " in inspect.getsource(service_cls.__init__)
    assert "url=self._fcm_url" in inspect.getsource(service_cls.send_each_async)
    assert "self._async_client = " in inspect.getsource(service_cls.__init__)
    assert callable(_http_client.HttpxAsyncClient.aclose)
    # h2c (_use_h2c): the SDK mounts its retry transport for "http://" on the httpx client.
    init = inspect.getsource(_http_client.HttpxAsyncClient.__init__)
    assert "self._retry_config = " in init and "'http://': HttpxRetryTransport(" in init
    assert "self._async_client = httpx.AsyncClient(" in init and "mounts=self._mounts" in init
    assert "**kwargs" in inspect.signature(_retry.HttpxRetryTransport.__init__).parameters.__repr__()
    assert httpx._utils.URLPattern("http://") in httpx.AsyncClient(mounts={"http://": None})._mounts
    # Our loop-safe credential relies on the auth flow calling only before_request() and refresh().
    flow = inspect.getsource(_http_client.GoogleAuthCredentialFlow)
    assert "self._credential.before_request(" in flow
    assert "self._credential.refresh(" in flow
    for name in ("UnregisteredError", "SenderIdMismatchError", "QuotaExceededError", "ThirdPartyAuthError"):
        assert issubclass(getattr(messaging, name), fb_exceptions.FirebaseError), name
    for name in ("InvalidArgumentError", "UnavailableError", "InternalError", "DeadlineExceededError"):
        assert issubclass(getattr(fb_exceptions, name), fb_exceptions.FirebaseError), name
    assert isinstance(getattr(fb_exceptions.FirebaseError, "http_response", None), property)
    error_types = service_cls.FCM_ERROR_TYPES
    assert error_types["UNREGISTERED"] is messaging.UnregisteredError
    assert error_types["SENDER_ID_MISMATCH"] is messaging.SenderIdMismatchError
    assert error_types["THIRD_PARTY_AUTH_ERROR"] is messaging.ThirdPartyAuthError
    assert error_types["QUOTA_EXCEEDED"] is messaging.QuotaExceededError
    assert messaging.AndroidNotification(tag="t").tag == "t"
    probe, target = messaging.Message(), "probe-device"
    probe.token = target  # how build_message() sets the target (see there)
    assert messaging._MessagingService.encode_message(probe).get("token") == target


__all__ = [
    "IN_FLIGHT",
    "LANES",
    "MAX_BATCH",
    "FcmChannel",
    "FcmSettings",
    "Push",
    "PushOutcome",
    "PushStatus",
    "StaticTokenCredentials",
    "build_message",
    "check_sdk_contract",
    "classify",
    "collapse_id",
    "load_credentials",
]
