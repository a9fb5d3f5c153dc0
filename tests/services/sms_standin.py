"""A loopback stand-in for Aliyun's Dysms endpoint (SendSms, 2017-05-25), for the real SDK to talk to.

The SDK (alibabacloud_dysmsapi20170525 4.x) signs with ACS3-HMAC-SHA256: the API parameters travel in
the query string, the action and version in x-acs-* headers, and an `Authorization` header carries the
access key id, the signed header names and the signature. The stand-in recomputes that signature with
the secret it was given and answers as Aliyun does (InvalidAccessKeyId.NotFound, SignatureDoesNotMatch,
...), so a test that passes here signed its request correctly.

Answers depend on the phone number (see MODES): ok, throttled (isv.BUSINESS_LIMIT_CONTROL),
day_limit (isv.DAY_LIMIT_CONTROL), illegal (isv.MOBILE_NUMBER_ILLEGAL), error500 (HTTP 500 with an
Aliyun error body), garbage (HTTP 502 with an HTML body), slow (answers after `slow_seconds`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

ACCESS_KEY_ID = "LTAI5tStandInKeyId"
ACCESS_KEY_SECRET = "stand-in-secret-0123456789"

MODES: dict[str, str] = {
    "13800138000": "ok",
    "13800138001": "throttled",
    "13800138002": "illegal",
    "13800138003": "error500",
    "13800138004": "slow",
    "13800138005": "day_limit",
    "13800138006": "garbage",
}


@dataclass
class SeenRequest:
    method: str
    path: str
    params: dict[str, str]  # query string and form body together
    headers: dict[str, str]  # lower-cased names
    body: bytes
    access_key_id: str | None = None
    signature_ok: bool = False
    problem: str | None = None  # why the stand-in refused the request, if it did

    @property
    def template_param(self) -> Any:
        return json.loads(self.params["TemplateParam"])


@dataclass
class AliyunSmsStandIn:
    access_keys: dict[str, str] = field(default_factory=lambda: {ACCESS_KEY_ID: ACCESS_KEY_SECRET})
    modes: dict[str, str] = field(default_factory=lambda: dict(MODES))
    slow_seconds: float = 3.0
    requests: list[SeenRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._nonces: set[str] = set()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                standin._handle(self)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="aliyun-standin", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> AliyunSmsStandIn:
        self._thread.start()
        return self

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> AliyunSmsStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sent_to(self, phone: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.params.get("PhoneNumbers") == phone]

    # --- request handling (runs on the server's threads) ---

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length) if length else b""
        split = urlsplit(h.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        params = dict(query)
        if "x-www-form-urlencoded" in (h.headers.get("content-type") or ""):
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        headers = {k.lower(): v for k, v in h.headers.items()}
        seen = SeenRequest(method=h.command, path=split.path, params=params, headers=headers, body=body)
        with self._lock:
            self.requests.append(seen)

        status, answer = self._check(seen, query)
        if status == 200:
            status, answer = self._answer(seen)
        seen.problem = None if answer.get("Code") in (None, "OK") else answer["Code"]
        if answer.get("_slow"):
            self._release.wait(self.slow_seconds)
            answer = {"Code": "OK", "Message": "OK", "BizId": "slow", "RequestId": str(uuid.uuid4())}
        if answer.get("_garbage"):
            raw, content_type = b"<html><body>502 Bad Gateway</body></html>", "text/html"
        else:
            raw, content_type = json.dumps(answer).encode(), "application/json;charset=utf-8"
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(raw)))
            h.end_headers()
            h.wfile.write(raw)
        except OSError:  # the client gave up (timeouts)
            pass

    def _check(self, seen: SeenRequest, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Authenticate like Aliyun's gateway: known key, ACS3 signature, fresh date, unused nonce."""
        h = seen.headers
        if h.get("x-acs-action") != "SendSms":
            return 404, _error("InvalidAction.NotFound", "Specified api is not found.")
        if h.get("x-acs-version") != "2017-05-25":
            return 400, _error("InvalidVersion", "Specified parameter Version is not valid.")
        auth = h.get("authorization", "")
        algorithm, _, rest = auth.partition(" ")
        fields = dict(part.split("=", 1) for part in rest.split(",") if "=" in part)
        if (
            algorithm != "ACS3-HMAC-SHA256"
            or not {"Credential", "SignedHeaders", "Signature"} <= fields.keys()
        ):
            return 400, _error(
                "IncompleteSignature", "The request signature does not conform to Aliyun standards."
            )
        seen.access_key_id = fields["Credential"]
        secret = self.access_keys.get(fields["Credential"])
        if secret is None:
            return 404, _error("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        signed = fields["SignedHeaders"].split(";")
        if not {"host", "x-acs-date", "x-acs-content-sha256", "x-acs-signature-nonce"} <= set(signed):
            return 400, _error("IncompleteSignature", "Required headers are not signed.")
        payload_hash = hashlib.sha256(seen.body).hexdigest()
        if h.get("x-acs-content-sha256") != payload_hash:
            return 400, _error("SignatureDoesNotMatch", "x-acs-content-sha256 does not match the body.")
        canonical = "\n".join(
            [
                seen.method,
                seen.path or "/",
                "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(query.items())),
                "".join(f"{name}:{h.get(name, '').strip()}\n" for name in signed),
                ";".join(signed),
                payload_hash,
            ]
        )
        to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
        expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]):
            return 400, _error(
                "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
            )
        try:
            sent_at = datetime.strptime(h.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return 400, _error("InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs((datetime.now(UTC) - sent_at).total_seconds()) > 900:
            return 400, _error("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        nonce = h.get("x-acs-signature-nonce", "")
        with self._lock:
            if nonce in self._nonces:
                return 400, _error("SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(nonce)
        seen.signature_ok = True
        return 200, {}

    def _answer(self, seen: SeenRequest) -> tuple[int, dict[str, Any]]:
        p = seen.params
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not p.get(name):
                return 200, _error("isv.INVALID_PARAMETERS", f"{name} is mandatory for this action.")
        try:
            json.loads(p.get("TemplateParam", "{}"))
        except ValueError:
            return 200, _error("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        mode = self.modes.get(p["PhoneNumbers"], "ok")
        if mode == "throttled":
            return 200, _error("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
        if mode == "day_limit":
            return 200, _error("isv.DAY_LIMIT_CONTROL", "触发日发送限额")
        if mode == "illegal":
            return 200, _error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if mode == "error500":
            return 500, _error(
                "InternalError", "The request processing has failed due to some unknown error."
            )
        if mode == "garbage":
            return 502, {"_garbage": True}
        if mode == "slow":
            return 200, {"_slow": True}
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "BizId": f"{uuid.uuid4().int % 10**18}^0",
            "RequestId": str(uuid.uuid4()),
        }


def _error(code: str, message: str) -> dict[str, Any]:
    return {"Code": code, "Message": message, "RequestId": str(uuid.uuid4())}


def _enc(value: str) -> str:
    return quote(value, safe="~")
