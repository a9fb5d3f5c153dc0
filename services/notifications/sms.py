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


class SmsProvider(Protocol):
    async def send(self, phone: str, text: str, *, code: str | None = None) -> None: ...


@dataclass
class LogSmsProvider:
    """Development provider: nothing leaves the machine; app developers read codes from the file."""

    outbox_path: Path | None
    sent: list[SmsMessage] = field(default_factory=list)

    async def send(self, phone: str, text: str, *, code: str | None = None) -> None:
        message = SmsMessage(phone=phone, text=text, code=code, sent_at=utcnow())
        self.sent.append(message)
        log.info("sms to %s: %s", phone, text)
        if self.outbox_path is not None:
            line = orjson.dumps(
                {"phone": phone, "text": text, "code": code, "time": message.sent_at.isoformat()}
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
