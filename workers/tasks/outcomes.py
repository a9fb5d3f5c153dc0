"""Recording delivery outcomes while a batch is still being sent.

Exactly-once, and where it stops: a push is sent twice only if the worker dies after the provider
answered it and before its outcome is committed. Outcomes are committed by a background task every
`delivery_record_seconds` (0.2 s) while the batch is out, so that window is one interval plus one
commit — well under a second — and a SIGKILL re-sends at most what the provider answered in it.
(FCM collapses such a repeat on the phone: the delivery's dedupe key is the Android tag and the
apns-collapse-id.) A graceful stop re-sends nothing: no new push starts, the ones in flight are
answered and recorded, and claims never handed to the provider are released at once.

Meanwhile the claims still out are renewed every third of the lease, so a short lease never lets a
second worker take a row this live worker is still sending, and a killed worker's unsent rows are due
again after one lease. See docs/delivery.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from services.bootstrap import Resources
from services.db import transaction
from services.notifications import deliveries as q
from workers.outage import Outage

log = logging.getLogger("linli.deliveries")
CLOSE_ATTEMPTS = 3  # final writes tried this many times when stopping (the database may be away)


class OutcomeRecorder:
    """Owns one drain's claims: `finish()` an outcome, `release()` a row that will not be sent, and
    `close()` when done (writes what is left and releases every claim without an outcome)."""

    def __init__(
        self,
        resources: Resources,
        claimed: list[q.ClaimedDelivery],
        every: float,
        lease: timedelta,
    ) -> None:
        self.resources = resources
        self.every = every
        self.lease = lease
        self._held = {c.id: c for c in claimed}  # claimed, no outcome yet
        self._finishes: list[q.Finish] = []  # outcomes not yet committed
        self._drops: list[tuple[q.ClaimedDelivery, str]] = []  # devices to disable with them
        self._unstarted: list[q.ClaimedDelivery] = []  # never handed to a provider: release
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        # Writes and renewals of one drain touch the same rows: one at a time (on PostgreSQL two such
        # transactions lock them in different orders and deadlock; on SQLite they only queue).
        self._db = asyncio.Lock()
        self._outage = Outage(log, "database (recording delivery outcomes)", base=0.2, cap=2.0)
        self._writer = asyncio.create_task(self._write_loop(), name="delivery-outcomes")
        self._renewer = asyncio.create_task(self._renew_loop(), name="delivery-leases")

    def finish(self, c: q.ClaimedDelivery, values: dict[str, object], drop_device: str | None = None) -> None:
        if self._held.pop(c.id, None) is None:
            return
        self._finishes.append((c, values))
        if drop_device is not None:
            self._drops.append((c, drop_device))
        self._wake.set()

    def release(self, c: q.ClaimedDelivery) -> None:
        if self._held.pop(c.id, None) is not None:
            self._unstarted.append(c)
            self._wake.set()

    async def close(self) -> None:
        """Commit what is pending now, then give back every claim left without an outcome (pushes cut
        off mid-request keep their attempt: the provider may have taken them)."""
        self._closing.set()
        self._wake.set()
        self._renewer.cancel()
        await asyncio.wait([self._renewer, self._writer])  # never raises their errors
        cut_off = list(self._held.values())
        self._held.clear()
        for attempt in range(CLOSE_ATTEMPTS):
            if not (self._finishes or self._unstarted or cut_off):
                return
            try:
                await self._write(cut_off)
                cut_off = []
            except Exception as exc:
                if attempt + 1 == CLOSE_ATTEMPTS:
                    # The rows stay claimed and are due again after their lease: sent at least once.
                    log.warning("could not record %d delivery outcomes: %s", len(self._finishes), exc)
                    return
                await asyncio.sleep(self._outage.failed(exc))

    async def _write_loop(self) -> None:
        while not self._closing.is_set():
            await self._wake.wait()
            if self._closing.is_set():
                return
            # Let a few more answers arrive, then commit them together (one executemany per kind).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=self.every)
            if self._closing.is_set():
                return  # close() writes what is pending
            self._wake.clear()
            try:
                await self._write([])
                self._outage.recovered()
            except Exception as exc:
                # Kept and tried again: the claim fence (attempt, status) still makes them ours.
                self._wake.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), timeout=self._outage.failed(exc))

    async def _write(self, cut_off: list[q.ClaimedDelivery]) -> None:
        finishes, drops, unstarted = self._finishes, self._drops, self._unstarted
        if not (finishes or unstarted or cut_off):
            return
        self._finishes, self._drops, self._unstarted = [], [], []
        try:
            async with self._db, self.resources.unit() as session:
                for c, reason in drops:
                    await q.disable_device(session, c, reason)
                await q.finish_many(session, finishes)
                await q.release_claims(session, unstarted, unstarted=True)
                await q.release_claims(session, cut_off, unstarted=False)
        except BaseException:
            self._finishes[:0], self._drops[:0], self._unstarted[:0] = finishes, drops, unstarted
            raise

    async def _renew_loop(self) -> None:
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            rows = [*self._held.values(), *(c for c, _ in self._finishes)]
            if not rows:
                continue
            try:
                async with self._db, self.resources.sessionmaker() as session, transaction(session):
                    await q.renew_claims(session, rows, self.lease)
            except Exception as exc:
                log.warning("could not renew %d delivery claims: %s", len(rows), exc)
