"""The push channel interface, and the in-app-only channel used when no FCM credentials are set."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

log = logging.getLogger("linli.push")

# "unsent": never handed to the provider because the worker is stopping (the claim is released).
OutcomeStatus = Literal["sent", "retry", "drop_token", "dead", "alert", "unsent"]


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


OutcomeSink = Callable[["PushOutcome"], None]
L = TypeVar("L")


def report(on_outcome: OutcomeSink | None, outcome: PushOutcome) -> PushOutcome:
    """Hand one outcome to the caller's sink as soon as it is known, and return it."""
    if on_outcome is not None:
        on_outcome(outcome)
    return outcome


async def take_lane(free: asyncio.Queue[L], stop: asyncio.Event | None) -> L | None:
    """A free lane from `free`, or None once `stop` is set (while waiting or before)."""
    if stop is None:
        return await free.get()
    if stop.is_set():
        return None
    lane = asyncio.ensure_future(free.get())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({lane, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not lane.done():
            lane.cancel()
            await asyncio.wait([lane])  # settle: the get may have won the race meanwhile
    if lane.cancelled():
        return None
    taken = lane.result()
    if stop.is_set():  # both happened at once: give the lane back, start nothing new
        free.put_nowait(taken)
        return None
    return taken


class PushChannel(Protocol):
    async def send(
        self,
        pushes: Sequence[Push],
        *,
        on_outcome: OutcomeSink | None = None,
        stop: asyncio.Event | None = None,
    ) -> list[PushOutcome]:
        """One outcome per push, in order. `on_outcome` is called with each outcome as soon as the
        provider answers (so the caller can record it before the rest of the batch is done); once
        `stop` is set no further push is started and those left over come back as "unsent"."""
        ...


class LogPushChannel:
    """Embedded default: the inbox row is the notification; the push attempt is only logged."""

    def __init__(self) -> None:
        self.sent: list[Push] = []

    async def send(
        self,
        pushes: Sequence[Push],
        *,
        on_outcome: OutcomeSink | None = None,
        stop: asyncio.Event | None = None,
    ) -> list[PushOutcome]:
        outcomes = []
        for p in pushes:
            if stop is not None and stop.is_set():
                outcome = PushOutcome(p.delivery_id, "unsent")
            else:
                log.info(
                    "push attempt (no FCM configured) delivery=%s token=%s… %s",
                    p.delivery_id,
                    p.token[:8],
                    p.title,
                )
                self.sent.append(p)
                outcome = PushOutcome(p.delivery_id, "sent", message_id=f"log:{p.delivery_id}")
            if on_outcome is not None:
                on_outcome(outcome)
            outcomes.append(outcome)
        return outcomes
