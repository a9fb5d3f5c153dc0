"""SMS providers behind one small interface. The dev provider writes to a log and a JSONL file."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import orjson

from services.models.base import utcnow

log = logging.getLogger("linli.sms")


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str
    code: str | None
    sent_at: datetime
    # The approved template (services.notifications.sms_templates) and its variables; `text` is it filled.
    template: str | None = None
    params: dict[str, str] | None = None


class SmsProvider(Protocol):
    async def send(
        self,
        phone: str,
        text: str,
        *,
        code: str | None = None,
        template: str | None = None,
        params: dict[str, str] | None = None,
    ) -> None: ...


@dataclass
class LogSmsProvider:
    """Development provider: nothing leaves the machine; app developers read codes from the file."""

    outbox_path: Path | None
    sent: list[SmsMessage] = field(default_factory=list)
    # A long-running dev server must not grow without bound; tests read only recent messages.
    keep: int = 1000

    async def send(
        self,
        phone: str,
        text: str,
        *,
        code: str | None = None,
        template: str | None = None,
        params: dict[str, str] | None = None,
    ) -> None:
        message = SmsMessage(
            phone=phone, text=text, code=code, sent_at=utcnow(), template=template, params=params
        )
        self.sent.append(message)
        if len(self.sent) > self.keep:
            del self.sent[: len(self.sent) - self.keep]
        log.info("sms to %s: %s", phone, text)
        if self.outbox_path is not None:
            line = orjson.dumps(
                {
                    "phone": phone,
                    "text": text,
                    "code": code,
                    "template": template,
                    "params": params,
                    "time": message.sent_at.isoformat(),
                }
            )
            await asyncio.to_thread(_append_line, self.outbox_path, line)

    def last_code(self, phone: str) -> str | None:
        for message in reversed(self.sent):
            if message.phone == phone:
                return message.code
        return None


def _append_line(path: Path, line: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as fh:
        fh.write(line + b"\n")


class SmsConfigError(RuntimeError):
    """The configured SMS provider cannot be built (missing settings or the provider's extra)."""


class SmsError(Exception):
    """A message was not accepted by the provider."""


class SmsRetryLater(SmsError):
    """Temporary: throttled, provider down, network trouble. `retry_after` is a hint in seconds."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class SmsRejected(SmsError):
    """Permanent for this message: bad number, template or signature problems, bad credentials."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
