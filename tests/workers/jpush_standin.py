"""A loopback stand-in for JPush's Push API v3 (`POST /v3/push`), for the real `jpush` SDK to talk to.

    with JPushStandIn(app_key="k", master_secret="s") as jp:
        jp.behave("1a0018970a9b2fe0a22", "unregistered")
        ... JPushChannel(JPushSettings("k", "s", base_url=jp.base_url)) ...
        jp.requests_for("1a0018970a9b2fe0a22")

Answers follow JPush's documented shapes: 200 `{"sendno", "msg_id"}`; errors
`{"error": {"code", "message"}}` with the HTTP status JPush uses (400 for 1003 / 1011, 401 for 1004,
429 + X-Rate-Limit-* headers for 2002, 5xx for its server errors). A request to several registration
ids answers 1011 only when none of them is registered, as JPush does.
"""

from __future__ import annotations

import base64
import itertools
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _error(code: int, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


# mode -> (HTTP status, JSON body or None for a non-JSON body, extra headers)
RESPONSES: dict[str, tuple[int, dict[str, Any] | None, dict[str, str]]] = {
    "unregistered": (400, _error(1011, "cannot find user by this audience"), {}),
    "bad_params": (400, _error(1003, "Parameter value is invalid"), {}),
    "bad_appkey": (400, _error(1008, "app_key is invalid"), {}),
    "auth": (401, _error(1004, "Authen failed"), {}),
    "rate_limited": (
        429,
        _error(2002, "Rate limit exceeded"),
        {"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "42"},
    ),
    "server_error": (500, _error(1000, "Server error"), {}),
    "unavailable": (503, None, {}),  # a proxy's HTML page: no JSON at all
}
MODES = {"ok", "hang", *RESPONSES}


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)

    @property
    def registration_ids(self) -> list[str]:
        audience = self.body.get("audience")
        ids = audience.get("registration_id") if isinstance(audience, dict) else None
        return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


@dataclass
class _Behaviour:
    mode: str = "ok"
    delay_ms: int = 0


@dataclass
class JPushStandIn:
    app_key: str = "linli-jpush-key"
    master_secret: str = "linli-jpush-secret"
    requests: list[Received] = field(default_factory=list)
    hang_seconds: float = 30.0  # how long "hang" keeps a request unanswered (the client times out)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._behaviour: dict[str, _Behaviour] = {}
        self._default = _Behaviour()
        self._msg_ids = itertools.count(18_100_000_001)
        self._answering = threading.Event()
        self._answering.set()
        self._server: _Server | None = None

    # -- test controls --------------------------------------------------------------------------
    def behave(self, registration_id: str | None, mode: str = "ok", delay_ms: int = 0) -> None:
        """How to answer pushes to this id (None: every id without its own behaviour)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {sorted(MODES)}")
        with self._lock:
            if registration_id is None:
                self._default = _Behaviour(mode, delay_ms)
            else:
                self._behaviour[registration_id] = _Behaviour(mode, delay_ms)

    def hold(self) -> None:
        self._answering.clear()

    def release(self) -> None:
        self._answering.set()

    def requests_for(self, registration_id: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if registration_id in r.registration_ids]

    def delivered_to(self, registration_id: str) -> list[Received]:
        return [r for r in self.requests_for(registration_id) if r.status == 200]

    @property
    def base_url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> JPushStandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="jpush-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        self._answering.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> JPushStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling (server threads) ------------------------------------------------------
    def _authorised(self, headers: dict[str, str]) -> bool:
        expected = base64.b64encode(f"{self.app_key}:{self.master_secret}".encode()).decode()
        return headers.get("authorization", "") == f"Basic {expected}"

    def _respond(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        received = Received(path, headers, body, 0)
        ids = received.registration_ids
        with self._lock:
            behaviours = [self._behaviour.get(i, self._default) for i in ids] or [self._default]
        delay = max(b.delay_ms for b in behaviours)
        if delay:
            time.sleep(delay / 1000)
        if any(b.mode == "hang" for b in behaviours):
            time.sleep(self.hang_seconds)
        self._answering.wait()
        status: int
        payload: dict[str, Any] | None
        extra: dict[str, str] = {}
        modes = [b.mode for b in behaviours]
        if path != "/v3/push":
            status, payload = 404, _error(1001, "Unknown path")
        elif not self._authorised(headers):
            status, payload, extra = RESPONSES["auth"]
        elif not ids or "notification" not in body or "platform" not in body:
            status, payload = 400, _error(1002, "Missing parameter")
        elif all(m == "unregistered" for m in modes):
            status, payload, extra = RESPONSES["unregistered"]
        elif failing := [m for m in modes if m not in ("ok", "unregistered", "hang")]:
            status, payload, extra = RESPONSES[failing[0]]
        else:
            status, payload = 200, {"sendno": "0", "msg_id": str(next(self._msg_ids))}
        with self._lock:
            self.requests.append(Received(path, headers, body, status))
        return status, payload, extra


class _Handler(BaseHTTPRequestHandler):
    owner: JPushStandIn
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, extra = self.owner._respond(self.path, headers, raw)
        if payload is None:
            data, kind = b"<html><body>503 Service Temporarily Unavailable</body></html>", "text/html"
        else:
            data, kind = json.dumps(payload).encode(), "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]
