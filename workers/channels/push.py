"""The push channel interface, and the in-app-only channel used when no FCM credentials are set."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

log = logging.getLogger("linli.push")

OutcomeStatus = Literal["sent", "retry", "drop_token", "dead", "alert"]


@dataclass(frozen=True)
class Push:
    delivery_id: int
    token: str
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    collapse_key: str = ""
    badge: int = 0
    priority: Literal["high", "normal"] = "normal"
    platform: str = "android"


@dataclass(frozen=True)
class PushOutcome:
    delivery_id: int
    status: OutcomeStatus
    message_id: str | None = None
    error_code: str | None = None
    retry_after_seconds: float | None = None
    detail: str | None = None


class PushChannel(Protocol):
    async def send(self, pushes: Sequence[Push]) -> list[PushOutcome]: ...


class LogPushChannel:
    """Embedded default: the inbox row is the notification; the push attempt is only logged."""

    def __init__(self) -> None:
        self.sent: list[Push] = []

    async def send(self, pushes: Sequence[Push]) -> list[PushOutcome]:
        for p in pushes:
            log.info(
                "push attempt (no FCM configured) delivery=%s token=%s… %s",
                p.delivery_id,
                p.token[:8],
                p.title,
            )
            self.sent.append(p)
        return [PushOutcome(p.delivery_id, "sent", message_id=f"log:{p.delivery_id}") for p in pushes]
