"""A fast loopback stand-in for FCM's HTTP v1 API, for benchmarks (the tests' stand-in,
tests/workers/fcm_standin.py, is a thread per connection and tops out at a few hundred requests/s).

    .venv/bin/python bench/fcm_standin_fast.py --port 8765 [--delay-ms 50] [--h2c]

One asyncio process (uvloop). HTTP/1.1 through uvicorn + httptools by default; `--h2c` serves
HTTP/2 without TLS (prior knowledge, as httpx speaks it with `http1=False`) through the `h2` library on
a raw asyncio protocol — real FCM is HTTP/2, so a worker can be measured with one multiplexed
connection instead of a pool of HTTP/1.1 connections. Routes:

    POST /v1/projects/{project}/messages:send   200 {"name": "projects/{project}/messages/<n>"} after
                                                 the delay (asyncio.sleep: never blocks), or, inside a
                                                 quota window, 429 QUOTA_EXCEEDED with Retry-After
    POST /3/device/{token}                       APNs: 200 with an apns-id header after the delay, or
                                                 inside a quota window 429 {"reason": "TooManyRequests"}
                                                 with Retry-After (same counters; the JWT is not checked
                                                 here — tests/workers/apns_standin.py does that)
    POST /v3/push                                JPush: 200 {"sendno", "msg_id"} after the delay, every
                                                 audience.registration_id counted as a token; inside a
                                                 quota window 429 (code 2002) with X-Rate-Limit-Reset
    POST /token                                  an OAuth2 token response (for a service-account
                                                 credential whose token_uri points here)
    GET  /_stats                                 counters (JSON, see `Stats.snapshot`)
    POST /_control                               {"reset": true, "delay_ms": 50, "quota_seconds": 3,
                                                  "retry_after": 2}; a quota window starts at the
                                                  first send after it is armed

The counters check what a benchmark must: every token answered 200 exactly once (`duplicates`),
no retry for a token sooner than the Retry-After it was given (`early_retries`, with the shortest gap
seen), and the request rate per second (`per_second`) to see a retry storm.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

SEND_SUFFIX = "/messages:send"
_QUOTA_BODY = orjson.dumps(
    {
        "error": {
            "code": 429,
            "message": "Quota exceeded for quota metric 'Send requests' of service 'fcm.googleapis.com'.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "QUOTA_EXCEEDED",
                }
            ],
        }
    }
)
_NOT_FOUND = orjson.dumps({"error": {"code": 404, "message": "Not found.", "status": "NOT_FOUND"}})
_BAD = orjson.dumps(
    {"error": {"code": 400, "message": "Recipient of the message is not set.", "status": "INVALID_ARGUMENT"}}
)
_APNS_PREFIX = "/3/device/"
_APNS_QUOTA_BODY = orjson.dumps({"reason": "TooManyRequests"})
_JPUSH_PATH = "/v3/push"
_JPUSH_QUOTA_BODY = orjson.dumps({"error": {"code": 2002, "message": "Request times exceed the limit"}})
_TOKEN = orjson.dumps({"access_token": "standin-access-token", "expires_in": 3600, "token_type": "Bearer"})
Response = tuple[int, bytes, list[tuple[bytes, bytes]]]


@dataclass
class Stats:
    delay: float = 0.05
    quota_seconds: float = 0.0  # armed window length; 0 = off
    retry_after: int = 2
    quota_started: float | None = None
    quota_until: float = 0.0
    started: float = field(default_factory=time.monotonic)
    requests: int = 0
    ok: int = 0
    quota: int = 0
    other: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    early_retries: int = 0
    min_retry_gap: float | None = None  # shortest (retry time − 429 time) seen, s
    tokens_ok: Counter[str] = field(default_factory=Counter)
    last_429: dict[str, float] = field(default_factory=dict)
    per_second: dict[int, list[int]] = field(default_factory=dict)  # second → [requests, ok, 429]
    message_seq: int = 0

    def reset(self) -> None:
        fresh = Stats(delay=self.delay, retry_after=self.retry_after)
        self.__dict__.update(fresh.__dict__)

    def snapshot(self) -> dict[str, Any]:
        dupes = sum(c - 1 for c in self.tokens_ok.values() if c > 1)
        return {
            "requests": self.requests,
            "ok": self.ok,
            "quota": self.quota,
            "other": self.other,
            "distinct_ok": len(self.tokens_ok),
            "duplicates": dupes,
            "early_retries": self.early_retries,
            "min_retry_gap": self.min_retry_gap,
            "max_in_flight": self.max_in_flight,
            "quota_started": None if self.quota_started is None else self.quota_started - self.started,
            "quota_until": None if self.quota_started is None else self.quota_until - self.started,
            "per_second": {str(k): v for k, v in sorted(self.per_second.items())},
            "delay_ms": self.delay * 1000,
            "retry_after": self.retry_after,
        }

    def control(self, body: dict[str, Any]) -> None:
        if body.get("reset"):
            self.reset()
        if "delay_ms" in body:
            self.delay = float(body["delay_ms"]) / 1000
        if "retry_after" in body:
            self.retry_after = int(body["retry_after"])
        if "quota_seconds" in body:
            self.quota_seconds = float(body["quota_seconds"])
            self.quota_started = None
            self.quota_until = 0.0

    def _bucket(self, now: float) -> list[int]:
        self.requests += 1
        second = int(now - self.started)
        bucket = self.per_second.get(second)
        if bucket is None:
            bucket = self.per_second[second] = [0, 0, 0]
        bucket[0] += 1
        return bucket

    async def send(self, project_path: str, raw: bytes) -> Response:
        now = time.monotonic()
        bucket = self._bucket(now)
        try:
            message = orjson.loads(raw).get("message") or {}
            token = message.get("token")
        except (orjson.JSONDecodeError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            self.other += 1
            return 400, _BAD, []
        if not await self._admit([token], now, bucket):
            return 429, _QUOTA_BODY, [(b"retry-after", str(self.retry_after).encode())]
        return 200, b'{"name":"%s/messages/%d"}' % (project_path.encode(), self.message_seq), []

    async def send_apns(self, token: str) -> Response:
        now = time.monotonic()
        bucket = self._bucket(now)
        if not token:
            self.other += 1
            return 404, b'{"reason":"BadPath"}', []
        if not await self._admit([token], now, bucket):
            return 429, _APNS_QUOTA_BODY, [(b"retry-after", str(self.retry_after).encode())]
        return 200, b"", [(b"apns-id", b"00000000-0000-4000-8000-%012d" % self.message_seq)]

    async def send_jpush(self, raw: bytes) -> Response:
        now = time.monotonic()
        bucket = self._bucket(now)
        try:
            ids = orjson.loads(raw).get("audience", {}).get("registration_id")
        except (orjson.JSONDecodeError, AttributeError):
            ids = None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            self.other += 1
            return 400, b'{"error":{"code":1003,"message":"audience is not valid"}}', []
        if not await self._admit(ids, now, bucket):
            headers = [(b"x-rate-limit-reset", str(self.retry_after).encode())]
            return 429, _JPUSH_QUOTA_BODY, headers
        return 200, b'{"sendno":"0","msg_id":"%d"}' % (1_000_000_000 + self.message_seq), []

    async def _admit(self, tokens: list[str], now: float, bucket: list[int]) -> bool:
        """One request for `tokens`. False: answer 429 (inside the quota window). True: answered 200
        after the delay, every token counted."""
        if self.quota_seconds and self.quota_started is None:
            self.quota_started = now
            self.quota_until = now + self.quota_seconds
        for token in tokens:
            previous = self.last_429.get(token)
            if previous is not None:
                gap = now - previous
                if self.min_retry_gap is None or gap < self.min_retry_gap:
                    self.min_retry_gap = gap
                if gap < self.retry_after:
                    self.early_retries += 1
        if now < self.quota_until:
            self.quota += 1
            bucket[2] += 1
            for token in tokens:
                self.last_429[token] = now
            return False
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        self.ok += len(tokens)
        bucket[1] += len(tokens)
        self.tokens_ok.update(tokens)
        self.message_seq += 1
        return True

    async def handle(self, method: str, path: str, body: bytes) -> Response:
        if method == "POST" and path.startswith("/v1/projects/") and path.endswith(SEND_SUFFIX):
            return await self.send(path[len("/v1/") : -len(SEND_SUFFIX)], body)
        if method == "POST" and path == _JPUSH_PATH:
            return await self.send_jpush(body)
        if method == "POST" and path.startswith(_APNS_PREFIX):
            return await self.send_apns(path[len(_APNS_PREFIX) :])
        if method == "POST" and path == "/token":
            return 200, _TOKEN, []
        if method == "GET" and path == "/_stats":
            return 200, orjson.dumps(self.snapshot()), []
        if method == "POST" and path == "/_control":
            self.control(orjson.loads(body or b"{}"))
            return 200, orjson.dumps(self.snapshot()), []
        if method == "GET" and path == "/_health":
            return 200, b"{}", []
        self.other += 1
        return 404, _NOT_FOUND, []


# --------------------------------------------------------------------------- HTTP/1.1: raw ASGI


def make_asgi(stats: Stats) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        chunks = []
        while True:
            event = await receive()
            chunks.append(event.get("body", b""))
            if not event.get("more_body"):
                break
        status, payload, extra = await stats.handle(scope["method"], scope["path"], b"".join(chunks))
        headers = [(b"content-type", b"application/json; charset=UTF-8"), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return app


def serve_http1(stats: Stats, host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        make_asgi(stats),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        backlog=4096,
        timeout_keep_alive=300,
    )
    uvicorn.Server(config).run()


# --------------------------------------------------------------------------- HTTP/2 prior knowledge


class H2Protocol(asyncio.Protocol):
    def __init__(self, stats: Stats) -> None:
        import h2.config
        import h2.connection

        self.stats = stats
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding=None)
        )
        self.streams: dict[int, tuple[dict[bytes, bytes], list[bytes]]] = {}
        self.transport: asyncio.Transport | None = None
        self.pending: dict[int, tuple[int, bytes]] = {}
        self.tasks: set[asyncio.Future[None]] = set()  # stream → (offset, data) waiting for window

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        import h2.settings

        self.transport = transport  # type: ignore[assignment]  (uvloop's is no asyncio.Transport subclass)
        self.conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16 * 1024 * 1024,
            },
        )
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(64 * 1024 * 1024)
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        import h2.events
        import h2.exceptions

        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            if self.transport is not None:
                self.transport.write(self.conn.data_to_send())
                self.transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                self.streams[event.stream_id] = (dict(event.headers or []), [])
            elif isinstance(event, h2.events.DataReceived):
                stream = self.streams.get(event.stream_id)
                if stream is not None:
                    stream[1].append(event.data or b"")
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                stream = self.streams.pop(event.stream_id, None)
                if stream is not None:
                    task = asyncio.ensure_future(self.respond(event.stream_id, *stream))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
            elif isinstance(event, h2.events.WindowUpdated):
                self.flush_pending()
            elif isinstance(event, h2.events.StreamReset):
                self.streams.pop(event.stream_id, None)
                self.pending.pop(event.stream_id, None)
        out = self.conn.data_to_send()
        if out and self.transport is not None:
            self.transport.write(out)

    async def respond(self, stream_id: int, headers: dict[bytes, bytes], parts: list[bytes]) -> None:
        method = headers.get(b":method", b"").decode()
        path = headers.get(b":path", b"").decode()
        status, payload, extra = await self.stats.handle(method, path, b"".join(parts))
        if self.transport is None or self.transport.is_closing():
            return
        with contextlib.suppress(Exception):
            self.conn.send_headers(
                stream_id,
                [
                    (b":status", str(status).encode()),
                    (b"content-type", b"application/json; charset=UTF-8"),
                    (b"content-length", str(len(payload)).encode()),
                    *extra,
                ],
            )
            self.pending[stream_id] = (0, payload)
            self.flush_pending()
            self.transport.write(self.conn.data_to_send())

    def flush_pending(self) -> None:
        for stream_id, (offset, data) in list(self.pending.items()):
            window = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            chunk = data[offset : offset + max(window, 0)]
            end = offset + len(chunk) >= len(data)
            if not chunk and not end:
                continue
            self.conn.send_data(stream_id, chunk, end_stream=end)
            if end:
                del self.pending[stream_id]
            else:
                self.pending[stream_id] = (offset + len(chunk), data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def serve_h2c(stats: Stats, host: str, port: int) -> None:
    import uvloop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: H2Protocol(stats), host, port, backlog=4096)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()

    uvloop.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--retry-after", type=int, default=2)
    parser.add_argument("--h2c", action="store_true", help="HTTP/2 with prior knowledge instead of HTTP/1.1")
    args = parser.parse_args()
    stats = Stats(delay=args.delay_ms / 1000, retry_after=args.retry_after)
    (serve_h2c if args.h2c else serve_http1)(stats, args.host, args.port)


if __name__ == "__main__":
    main()
