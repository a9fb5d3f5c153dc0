"""Waiting out a dependency that went away (Redis, the database): exponential backoff with jitter, and
one log line per change of state — a WARNING when it goes, an INFO when it is back — instead of a
traceback per retry.

A small helper rather than tenacity/backoff: the loops that use it are an async generator that yields
between reads (the broker's listen) and a flusher that must reset its delay after every success, and
a decorator-shaped retry fits neither.
"""

from __future__ import annotations

import logging
import random
import time


class Outage:
    def __init__(self, log: logging.Logger, what: str, base: float = 0.5, cap: float = 10.0) -> None:
        self.log = log
        self.what = what
        self.base = base
        self.cap = cap
        self.failures = 0
        self._since = 0.0

    @property
    def down(self) -> bool:
        return self.failures > 0

    def failed(self, exc: BaseException) -> float:
        """Note a failed attempt; returns how long to wait before the next one. Half to all of
        `base × 2^n`, at most `cap`: retries of many workers spread out instead of arriving together."""
        if self.failures == 0:
            self._since = time.monotonic()
            self.log.warning(
                "%s unavailable (%s: %s); retrying with backoff up to %gs",
                self.what,
                type(exc).__name__,
                exc,
                self.cap,
            )
        ceiling = min(self.cap, self.base * 2 ** min(self.failures, 30))
        self.failures += 1
        return random.uniform(ceiling / 2, ceiling)

    def recovered(self) -> None:
        if self.failures:
            self.log.info(
                "%s is back after %.1fs (%d failed attempts)",
                self.what,
                time.monotonic() - self._since,
                self.failures,
            )
            self.failures = 0
