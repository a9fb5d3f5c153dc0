"""A loopback stand-in for FCM's HTTP v1 `messages:send`, for the real firebase-admin SDK to talk to.

    with FcmStandIn(project="linli-test") as fcm:
        fcm.behave("tok-1", "unregistered")
        ... FcmChannel(base_url=fcm.base_url, ...) ...
        fcm.requests_for("tok-1")

Error bodies follow the shapes FCM documents (error.code / message / status / details with a
`google.firebase.fcm.v1.FcmError` errorCode and, for bad fields, a `google.rpc.BadRequest`).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def _error(
    code: int,
    status: str,
    message: str,
    fcm_code: str | None = None,
    field_violation: tuple[str, str] | None = None,
) -> dict[str, Any]:
    details: list[dict[str, Any]] = []
    if fcm_code:
        details.append({"@type": FCM_ERROR, "errorCode": fcm_code})
    if field_violation:
        name, description = field_violation
        details.append(
            {"@type": BAD_REQUEST, "fieldViolations": [{"field": name, "description": description}]}
        )
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        body["details"] = details
    return {"error": body}


_TTL_MESSAGE = (
    "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), \"-1s\""
)
_BAD_TOKEN_MESSAGE = "The registration token is not a valid FCM registration token"

# mode -> (HTTP status, JSON body, extra headers)
RESPONSES: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {
    "unregistered": (404, _error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"), {}),
    "sender_mismatch": (403, _error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"), {}),
    "invalid_token": (
        400,
        _error(
            400,
            "INVALID_ARGUMENT",
            _BAD_TOKEN_MESSAGE,
            "INVALID_ARGUMENT",
            ("message.token", "Invalid registration token"),
        ),
        {},
    ),
    # The documented variant with no BadRequest detail: only the message names the token.
    "invalid_token_bare": (400, _error(400, "INVALID_ARGUMENT", _BAD_TOKEN_MESSAGE, "INVALID_ARGUMENT"), {}),
    "invalid_payload": (
        400,
        _error(
            400, "INVALID_ARGUMENT", _TTL_MESSAGE, "INVALID_ARGUMENT", ("message.android.ttl", _TTL_MESSAGE)
        ),
        {},
    ),
    "quota": (
        429,
        _error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Send requests' of service 'fcm.googleapis.com'.",
            "QUOTA_EXCEEDED",
        ),
        {"Retry-After": "7"},
    ),
    "unavailable": (
        503,
        _error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"),
        {"Retry-After": "3"},
    ),
    "internal": (500, _error(500, "INTERNAL", "Internal error encountered.", "INTERNAL"), {}),
    "third_party_auth": (
        401,
        _error(401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service", "THIRD_PARTY_AUTH_ERROR"),
        {},
    ),
}
MODES = frozenset({"ok", "unavailable_once", "drop_once", *RESPONSES})
DROP = -1  # _respond: close the connection without an answer (a connection lost mid-request)
NOT_FOUND = _error(404, "NOT_FOUND", "Requested entity was not found.")  # unknown project/path: no FcmError


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)  # when it was answered (after any delay)

    @property
    def message(self) -> dict[str, Any]:
        message = self.body.get("message")
        return message if isinstance(message, dict) else {}

    @property
    def token(self) -> str | None:
        token = self.message.get("token")
        return token if isinstance(token, str) else None


@dataclass
class _Behaviour:
    mode: str = "ok"
    delay_ms: int = 0
    calls: int = 0


@dataclass
class FcmStandIn:
    project: str = "linli-test"
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._behaviour: dict[str, _Behaviour] = {}
        self._sent = 0
        self._answering = threading.Event()  # cleared by hold(): answers wait until release()
        self._answering.set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- test controls --------------------------------------------------------------------------
    def behave(self, token: str, mode: str = "ok", delay_ms: int = 0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {sorted(MODES)}")
        with self._lock:
            self._behaviour[token] = _Behaviour(mode, delay_ms)

    def hold(self) -> None:
        """Stop answering: requests (new and in flight) wait, unanswered, until `release()`."""
        self._answering.clear()

    def release(self) -> None:
        self._answering.set()

    def reset(self) -> None:
        self._answering.set()
        with self._lock:
            self._behaviour.clear()
            self.requests.clear()

    def requests_for(self, token: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.token == token]

    @property
    def base_url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> FcmStandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        server = _Server(("127.0.0.1", 0), Handler)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fcm-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FcmStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling (server threads) ------------------------------------------------------
    def _respond(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        token = body.get("message", {}).get("token") if isinstance(body.get("message"), dict) else None
        with self._lock:
            behaviour = (
                self._behaviour.setdefault(token, _Behaviour()) if isinstance(token, str) else _Behaviour()
            )
            behaviour.calls += 1
            mode, delay_ms, calls = behaviour.mode, behaviour.delay_ms, behaviour.calls
        if delay_ms:
            time.sleep(delay_ms / 1000)
        self._answering.wait()
        extra: dict[str, str]
        if path != f"/v1/projects/{self.project}/messages:send":
            status, payload, extra = 404, NOT_FOUND, {}
        elif not token:
            violation = ("message", "Recipient of the message is not set.")
            status, payload, extra = (
                400,
                _error(400, "INVALID_ARGUMENT", violation[1], "INVALID_ARGUMENT", violation),
                {},
            )
        elif mode == "drop_once" and calls == 1:
            status, payload, extra = DROP, {}, {}
        elif mode == "ok" or (mode in ("unavailable_once", "drop_once") and calls > 1):
            with self._lock:
                self._sent += 1
                name = f"projects/{self.project}/messages/{self._sent}"
            status, payload, extra = 200, {"name": name}, {}
        elif mode == "unavailable_once":
            status, payload, extra = RESPONSES["unavailable"]
        else:
            status, payload, extra = RESPONSES[mode]
        with self._lock:
            self.requests.append(Received(path, headers, body, status))
        return status, payload, extra


class _Handler(BaseHTTPRequestHandler):
    owner: FcmStandIn
    protocol_version = "HTTP/1.1"  # keep-alive, like the SDK's pooled client expects

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, extra = self.owner._respond(self.path, headers, raw)
        if status == DROP:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    # Up to 500 concurrent sends open up to 100 pooled connections at once: a listen backlog of 5 (the
    # socketserver default) would drop SYNs and stall the client for a second.
    request_queue_size = 256
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A worker killed mid-request resets its connections: expected in the fault tests, not a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]
