"""Call relay (privacy numbers, 隐私号 / AXB binding) behind one small interface.

The relay operator binds a number X to the pair (A, B) for a short time: A dials X and is put through
to B, and B sees X, so neither learns the other's number. Two providers:

- `log` (the embedded default): binds nothing and connects nothing. It logs the pair and answers the
  configured number, so the app's call flow can be built and tested; nobody is really put through.
- `http`: POSTs `{"caller", "callee", "ttl_seconds"}` as JSON to `LINLI_CALL_RELAY_URL` (bearer
  `LINLI_CALL_RELAY_TOKEN`) and expects `{"number": "...", "binding_id": "...", "expires_in": 300}`
  back (`binding_id`, `expires_in` optional). An adapter in front of a real operator's API (Aliyun
  PLS, Tencent, a carrier) speaks this; none is reachable from here, so it is tested against a
  stand-in transport.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import httpx

from services.config import Settings
from services.models.base import utcnow

log = logging.getLogger("linli.callrelay")


@dataclass(frozen=True)
class Binding:
    number: str
    expires_at: datetime
    ref: str | None = None


class CallRelayError(Exception):
    """The relay did not give a number (down, refused, answered nonsense): try again later."""


class CallRelayProvider(Protocol):
    name: str

    async def bind(self, caller: str, callee: str, ttl: timedelta) -> Binding: ...


@dataclass
class LogCallRelay:
    number: str
    name: str = "log"
    bound: list[tuple[str, str, Binding]] = field(default_factory=list)

    async def bind(self, caller: str, callee: str, ttl: timedelta) -> Binding:
        binding = Binding(self.number, utcnow() + ttl)
        self.bound = [*self.bound[-99:], (caller, callee, binding)]
        log.info("call relay (log only, nobody is connected): %s -> %s via %s", caller, callee, self.number)
        return binding


@dataclass
class HttpCallRelay:
    url: str
    token: str | None = None
    timeout: float = 5.0
    transport: httpx.AsyncBaseTransport | None = None  # tests: a stand-in
    name: str = "http"

    async def bind(self, caller: str, callee: str, ttl: timedelta) -> Binding:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = {"caller": caller, "callee": callee, "ttl_seconds": int(ttl.total_seconds())}
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                r = await client.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise CallRelayError(f"relay unreachable: {type(exc).__name__}") from exc
        if r.status_code != 200:
            raise CallRelayError(f"relay answered {r.status_code}")
        try:
            data = r.json()
            number = data["number"]
            seconds = data.get("expires_in", ttl.total_seconds())
            ref = data.get("binding_id")
            if not isinstance(number, str) or not 3 <= len(number) <= 32:
                raise ValueError("number")
            if not isinstance(seconds, int | float) or not 0 < seconds <= ttl.total_seconds():
                raise ValueError("expires_in")
            if ref is not None and (not isinstance(ref, str) or len(ref) > 100):
                raise ValueError("binding_id")
        except (ValueError, KeyError, TypeError) as exc:
            raise CallRelayError(f"relay answered an unusable body ({exc})") from exc
        return Binding(number, utcnow() + timedelta(seconds=seconds), ref)


def relay_for(settings: Settings) -> CallRelayProvider:
    if settings.call_relay_provider == "http":
        if not settings.call_relay_url:
            raise CallRelayError("LINLI_CALL_RELAY_URL is not set")
        token = settings.call_relay_token.get_secret_value() if settings.call_relay_token else None
        return HttpCallRelay(settings.call_relay_url, token, settings.call_relay_timeout_seconds)
    return LogCallRelay(settings.call_relay_number)
