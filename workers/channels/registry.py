"""Which push channel carries which provider's devices, and a lane per provider.

A worker process builds one `PushRegistry` at start-up: FCM when LINLI_FCM_CREDENTIALS is set, JPush
when LINLI_JPUSH_APP_KEY and LINLI_JPUSH_MASTER_SECRET are, APNs when LINLI_APNS_* is (its channel
lives in workers/channels/apns.py); a provider that is not configured falls back to the in-app-only
log channel, as FCM always did. A configured provider whose channel cannot be built stops the worker
at start-up (`linli doctor` says which and why).

Lanes: each provider may occupy at most `lane_batches` drains of this worker at once. A drain takes a
lane for every provider that has one free *before* it claims, and claims no rows of a provider whose
lane is full, so a provider that hangs or fails slowly ties up its own lane only and the other
providers' deliveries keep going out. The rows it leaves are not left to the sweeper (which would
only see them after the relay grace, so a burst larger than the lanes went out in 10 s waves): the
lane is marked `backlog`, and the drain that frees a slot of it starts a follow-up drain of that
provider's due rows at once (workers.tasks.deliveries). A drain does not *wait* for a full lane
instead: it would hold one of the receiver's few slots, and a hanging provider would then block
every provider's wake-ups.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from services.config import Settings
from services.models import PushProvider
from workers.channels.push import LogPushChannel, PushChannel

log = logging.getLogger("linli.push")
DEFAULT_LANE_BATCHES = 2  # the worker's receiver runs 4 drains at once: an outage holds at most 2


@dataclass
class Lane:
    capacity: int | None  # None: unbounded (a single channel for everything, as before lanes)
    busy: int = 0
    # A drain found the lane full and left this provider's rows due: the next slot freed takes them.
    backlog: bool = False

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.busy >= self.capacity


@dataclass
class PushRegistry:
    channels: Mapping[str, PushChannel]
    live: Mapping[str, bool] = field(default_factory=dict)  # configured (True) or the log fallback
    fallback: PushChannel = field(default_factory=LogPushChannel)
    lane_batches: int | None = DEFAULT_LANE_BATCHES
    lanes: dict[str, Lane] = field(default_factory=dict)
    # Follow-up drains in progress (a stopping worker waits for them as for the broker's drains).
    followups: set[asyncio.Task[object]] = field(default_factory=set)

    @classmethod
    def single(cls, channel: PushChannel) -> PushRegistry:
        """Every provider through one channel, no lane limit (tests, benchmarks, the old behaviour)."""
        return cls(channels={}, fallback=channel, lane_batches=None)

    def channel_for(self, provider: str | None) -> PushChannel:
        return self.channels.get(provider or PushProvider.fcm, self.fallback)

    def lane(self, provider: str) -> Lane:
        if provider not in self.lanes:
            self.lanes[provider] = Lane(self.lane_batches)
        return self.lanes[provider]

    def reserve(self, providers: Iterable[str]) -> tuple[list[str], list[str]]:
        """Take a lane of each provider that has one free: (taken, full). No await inside, so two
        drains of one worker never both take the last slot."""
        taken, full = [], []
        for p in providers:
            lane = self.lane(p)
            if lane.full:
                lane.backlog = True
                full.append(p)
            else:
                lane.busy += 1
                taken.append(p)
        return taken, full

    def release(self, provider: str) -> None:
        lane = self.lane(provider)
        lane.busy = max(0, lane.busy - 1)

    def describe(self) -> dict[str, str]:
        """provider → "live" or "log only" (for `linli doctor`)."""
        return {p.value: "live" if self.live.get(p.value) else "log only" for p in PushProvider}

    async def aclose(self) -> None:
        for channel in {id(c): c for c in self.channels.values()}.values():
            close = getattr(channel, "aclose", None)
            if close is not None:
                await close()


def configured_providers(settings: Settings) -> dict[str, bool]:
    """Which providers have their settings (no network, no SDK loaded): for the doctor and /readyz."""
    apns = getattr(settings, "apns_key_id", None) or getattr(settings, "apns_key_file", None)
    return {
        PushProvider.fcm.value: bool(settings.fcm_credentials),
        PushProvider.jpush.value: bool(settings.jpush_app_key and settings.jpush_master_secret),
        PushProvider.apns.value: bool(apns),
    }


def build_registry(settings: Settings) -> PushRegistry:
    channels: dict[str, PushChannel] = {}
    wanted = configured_providers(settings)
    if wanted[PushProvider.fcm]:
        from workers.channels.fcm import FcmChannel

        channels[PushProvider.fcm] = FcmChannel(settings)
    if wanted[PushProvider.jpush]:
        from workers.channels.jpush import JPushChannel

        channels[PushProvider.jpush] = JPushChannel(settings)
    if wanted[PushProvider.apns]:
        # --- APNs slot: workers/channels/apns.py, ApnsChannel(settings) -----------------------------
        # Imported lazily, and only when LINLI_APNS_* is set: a build without that module runs. A
        # configured provider whose channel cannot be built stops the worker (as a bad FCM
        # credential does) rather than marking its pushes sent through the log channel.
        try:
            module = importlib.import_module("workers.channels.apns")
        except ImportError as exc:
            raise RuntimeError(f"APNs is configured but its channel cannot be loaded: {exc}") from exc
        channels[PushProvider.apns] = module.ApnsChannel(settings)
    live = {p.value: p.value in channels for p in PushProvider}
    return PushRegistry(channels=channels, live=live, lane_batches=max(1, settings.push_lane_batches))


async def doctor_report(settings: Settings) -> dict[str, dict[str, object]]:
    """What `linli doctor` prints: per provider, whether it is configured and whether its channel
    builds (credentials readable, SDK importable) — no push is sent. Unconfigured or broken
    providers' devices get the in-app inbox only (and the SMS fallback for critical items)."""
    wanted = configured_providers(settings)
    where = {
        PushProvider.fcm.value: settings.fcm_base_url,
        PushProvider.jpush.value: settings.jpush_base_url,
        PushProvider.apns.value: getattr(settings, "apns_base_url", None) or "api.push.apple.com",
    }
    report: dict[str, dict[str, object]] = {}
    for provider in PushProvider:
        name = provider.value
        entry: dict[str, object] = {"configured": wanted[name], "endpoint": where[name]}
        if not wanted[name]:
            entry["status"] = "log only (not configured)"
        else:
            try:
                channel = build_registry(_only(settings, name)).channels.get(name)
            except Exception as exc:  # a bad credential file, a missing project id, ...
                entry["status"], entry["error"] = "broken", str(exc)[:300]
            else:
                entry["status"] = "live"
                close = getattr(channel, "aclose", None)
                if close is not None:
                    await close()
        report[name] = entry
    return report


def _only(settings: Settings, provider: str) -> Settings:
    """The settings with every other provider switched off (build one channel at a time)."""
    off: dict[str, object] = {}
    if provider != PushProvider.fcm:
        off["fcm_credentials"] = None
    if provider != PushProvider.jpush:
        off["jpush_app_key"] = None
    if provider != PushProvider.apns:
        off.update({k: None for k in ("apns_key_id", "apns_key_file") if hasattr(settings, k)})
    return settings.model_copy(update=off)


__all__ = [
    "DEFAULT_LANE_BATCHES",
    "Lane",
    "PushRegistry",
    "build_registry",
    "configured_providers",
    "doctor_report",
]
