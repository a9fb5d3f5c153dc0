"""A loopback stand-in for APNs' HTTP/2 provider API (`POST /3/device/<token>`), for the real ApnsChannel
(httpx over HTTP/2 + TLS) to talk to.

    key = new_signing_key()
    with ApnsStandIn(public_key=key.public_key(), key_id="KEY123", team_id="TEAM45", topic="cn.linli.app") as apns:
        apns.behave("ab12…", "unregistered")
        ... ApnsChannel(apns_base_url=apns.base_url, apns_ca_file=apns.ca_file, ...) ...
        apns.requests_for("ab12…")

It speaks HTTP/2 only (ALPN "h2" over TLS with a self-signed certificate made here with `cryptography`,
or prior-knowledge h2c with `tls=False`), on its own event loop in a thread, so a configurable latency
delays answers without blocking other streams. Like APNs it checks the provider JWT (ES256, `kid`,
`iss`, `iat` under an hour, signature against the given public key: 403 InvalidProviderToken /
ExpiredProviderToken / MissingProviderToken), `apns-topic` (400 MissingTopic / DeviceTokenNotForTopic),
`apns-push-type`, `apns-priority`, `apns-collapse-id` (≤ 64 bytes, 400 BadCollapseId), the payload (JSON
object with `aps`, ≤ 4 KB: 400 PayloadEmpty / 413 PayloadTooLarge) and answers per token as told.
Error bodies are APNs' `{"reason": ..., "timestamp": ...}` (timestamp only with 410).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded, StreamReset
from h2.exceptions import H2Error

MAX_PAYLOAD = 4096
MAX_COLLAPSE_ID = 64
TOKEN_MAX_AGE = 3600  # APNs refuses a provider token issued more than an hour ago

# mode -> (HTTP status, reason, extra headers)
RESPONSES: dict[str, tuple[int, str, dict[str, str]]] = {
    "unregistered": (410, "Unregistered", {}),
    "bad_token": (400, "BadDeviceToken", {}),
    "not_for_topic": (400, "DeviceTokenNotForTopic", {}),
    "too_many": (429, "TooManyRequests", {"retry-after": "7"}),
    "too_many_bare": (429, "TooManyRequests", {}),  # what APNs documents: no Retry-After
    "invalid_provider_token": (403, "InvalidProviderToken", {}),
    "expired_provider_token": (403, "ExpiredProviderToken", {}),
    "internal": (500, "InternalServerError", {}),
    "unavailable": (503, "ServiceUnavailable", {"retry-after": "3"}),
    "shutdown": (503, "Shutdown", {}),
}
MODES = frozenset({"ok", "unavailable_once", *RESPONSES})


def new_signing_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key, like the .p8 Apple issues."""
    return ec.generate_private_key(ec.SECP256R1())


def write_p8(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    """Write the key as Apple's .p8 (PKCS#8 PEM)."""
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int
    reason: str | None
    jwt_claims: dict[str, Any] | None
    apns_id: str  # the apns-id answered (the client's, or one made up as APNs does)
    at: float = field(default_factory=time.monotonic)  # when it was answered (after any delay)

    @property
    def token(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def aps(self) -> dict[str, Any]:
        aps = self.body.get("aps")
        return aps if isinstance(aps, dict) else {}


@dataclass
class _Behaviour:
    mode: str = "ok"
    delay_ms: int | None = None
    calls: int = 0


@dataclass
class ApnsStandIn:
    public_key: ec.EllipticCurvePublicKey
    key_id: str
    team_id: str
    topic: str
    tls: bool = True
    latency_ms: int = 0  # every answer waits this long (per stream, not blocking the others)
    max_concurrent_streams: int = 1000  # what APNs advertises
    record: bool = True  # keep every request (the benchmark turns it off and counts instead)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._behaviour: dict[str, _Behaviour] = {}
        self._holding = False
        self._held: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="apns-standin-")
        self.ca_file: str | None = None
        self.port = 0
        self.counts: dict[str, int] = {}  # token -> 200 answers (kept even with record=False)
        self.statuses: dict[int, int] = {}

    # -- test controls --------------------------------------------------------------------------
    def behave(self, token: str, mode: str = "ok", delay_ms: int | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {sorted(MODES)}")
        with self._lock:
            self._behaviour[token] = _Behaviour(mode, delay_ms)

    def hold(self) -> None:
        """Stop answering: answers wait until `release()`."""
        with self._lock:
            self._holding = True

    def release(self) -> None:
        with self._lock:
            self._holding = False
            held, self._held = self._held, []
        if self._loop is not None:
            for answer in held:
                self._loop.call_soon_threadsafe(answer)

    def reset(self) -> None:
        self.release()
        with self._lock:
            self._behaviour.clear()
            self.requests.clear()
            self.counts.clear()
            self.statuses.clear()

    def requests_for(self, token: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.token == token]

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'h2c'}://127.0.0.1:{self.port}"

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> ApnsStandIn:
        ssl_ctx = self._tls_context() if self.tls else None
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    loop.create_server(lambda: _H2Server(self), "127.0.0.1", 0, ssl=ssl_ctx, backlog=256)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="apns-standin", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is not None and server is not None:

            async def shutdown() -> None:
                server.close()
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()

            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(5)
        self._server = None
        self._dir.cleanup()

    def __enter__(self) -> ApnsStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _tls_context(self) -> ssl.SSLContext:
        """A self-signed certificate for 127.0.0.1 / localhost; its PEM is `ca_file` for the client."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "apns-standin.local")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            # Wide: tests travel in time (tests/clock.py) but OpenSSL checks the machine's real clock.
            .not_valid_before(now - dt.timedelta(days=3650))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        cert_path = Path(self._dir.name) / "standin.pem"
        key_path = Path(self._dir.name) / "standin.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_path, key_path)
        ctx.set_alpn_protocols(["h2"])
        self.ca_file = str(cert_path)
        return ctx

    # -- request handling (the stand-in's loop) -------------------------------------------------
    def _check_auth(self, headers: dict[str, str]) -> tuple[str | None, dict[str, Any] | None]:
        """(reason to refuse or None, the verified claims)."""
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "MissingProviderToken", None
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token, self.public_key, algorithms=["ES256"], options={"require": ["iss", "iat"]}
            )
        except jwt.PyJWTError:
            return "InvalidProviderToken", None
        if header.get("kid") != self.key_id or claims.get("iss") != self.team_id:
            return "InvalidProviderToken", claims
        if not isinstance(claims.get("iat"), int) or claims["iat"] < time.time() - TOKEN_MAX_AGE:
            return "ExpiredProviderToken", claims
        return None, claims

    def _respond(
        self, headers: dict[str, str], raw: bytes
    ) -> tuple[int, str | None, dict[str, str], float, str]:
        """(status, reason, extra headers, delay in seconds, apns-id) for one request."""
        apns_id = headers.get("apns-id") or str(uuid.uuid4())
        path = headers.get(":path", "")
        token = path.rsplit("/", 1)[-1] if path.startswith("/3/device/") else ""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            behaviour = self._behaviour.setdefault(token, _Behaviour())
            behaviour.calls += 1
            mode, calls = behaviour.mode, behaviour.calls
            delay_ms = behaviour.delay_ms if behaviour.delay_ms is not None else self.latency_ms
        auth_reason, claims = self._check_auth(headers)
        status, reason = 200, None
        extra: dict[str, str] = {}
        collapse = headers.get("apns-collapse-id")
        if headers.get(":method") != "POST":
            status, reason = 405, "MethodNotAllowed"
        elif not token:
            status, reason = 404, "BadPath"
        elif auth_reason:
            status, reason = 403, auth_reason
        elif not headers.get("apns-topic"):
            status, reason = 400, "MissingTopic"
        elif headers["apns-topic"] != self.topic:
            status, reason = 400, "DeviceTokenNotForTopic"
        elif headers.get("apns-push-type") not in {"alert", "background"}:
            status, reason = 400, "InvalidPushType"
        elif headers.get("apns-priority", "10") not in {"5", "10"}:
            status, reason = 400, "BadPriority"
        elif collapse is not None and len(collapse.encode()) > MAX_COLLAPSE_ID:
            status, reason = 400, "BadCollapseId"
        elif len(raw) > MAX_PAYLOAD:
            status, reason = 413, "PayloadTooLarge"
        elif not isinstance(body, dict) or not isinstance(body.get("aps"), dict):
            status, reason = 400, "PayloadEmpty"
        elif mode == "ok" or (mode == "unavailable_once" and calls > 1):
            pass
        elif mode == "unavailable_once":
            status, reason, extra = RESPONSES["unavailable"]
        else:
            status, reason, extra = RESPONSES[mode]
        with self._lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 200:
                self.counts[token] = self.counts.get(token, 0) + 1
            if self.record:
                self.requests.append(
                    Received(
                        path, headers, body if isinstance(body, dict) else {}, status, reason, claims, apns_id
                    )
                )
        return status, reason, extra, delay_ms / 1000, apns_id

    def _later(self, answer: Callable[[], None]) -> None:
        with self._lock:
            if self._holding:
                self._held.append(answer)
                return
        answer()


class _H2Server(asyncio.Protocol):
    def __init__(self, owner: ApnsStandIn) -> None:
        self.owner = owner
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None and ssl_object.selected_alpn_protocol() != "h2":
            transport.close()  # APNs speaks HTTP/2 only
            return
        self.conn.local_settings.max_concurrent_streams = self.owner.max_concurrent_streams
        self.conn.initiate_connection()
        self._flush()

    def data_received(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except H2Error:
            self._flush()
            if self.transport is not None:
                self.transport.close()
            return
        for event in events:
            if isinstance(event, RequestReceived):
                self.streams[event.stream_id] = (
                    {str(k): str(v) for k, v in event.headers or []},
                    bytearray(),
                )
            elif isinstance(event, DataReceived):
                if event.stream_id in self.streams:
                    self.streams[event.stream_id][1].extend(event.data or b"")
                self.conn.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
            elif isinstance(event, StreamEnded):
                self._handle(event.stream_id)
            elif isinstance(event, StreamReset):
                self.streams.pop(event.stream_id, None)
            elif isinstance(event, ConnectionTerminated) and self.transport is not None:
                self.transport.close()
        self._flush()

    def _handle(self, stream_id: int | None) -> None:
        if stream_id is None or stream_id not in self.streams:
            return
        headers, body = self.streams.pop(stream_id)
        status, reason, extra, delay, apns_id = self.owner._respond(headers, bytes(body))

        def answer() -> None:
            self._answer(stream_id, status, reason, extra, apns_id)

        def due() -> None:
            self.owner._later(answer)

        if delay > 0:
            asyncio.get_running_loop().call_later(delay, due)
        else:
            due()

    def _answer(
        self, stream_id: int, status: int, reason: str | None, extra: dict[str, str], apns_id: str
    ) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        response = [(":status", str(status)), ("apns-id", apns_id), *extra.items()]
        try:
            if reason is None:
                self.conn.send_headers(stream_id, response, end_stream=True)
            else:
                payload: dict[str, Any] = {"reason": reason}
                if status == 410:
                    payload["timestamp"] = int(time.time() * 1000)
                data = json.dumps(payload).encode()
                self.conn.send_headers(
                    stream_id,
                    [*response, ("content-type", "application/json"), ("content-length", str(len(data)))],
                )
                self.conn.send_data(stream_id, data, end_stream=True)
        except H2Error:  # the client reset the stream (timed out) or went away
            return
        self._flush()

    def _flush(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.conn.data_to_send())

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
