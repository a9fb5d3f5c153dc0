"""Demo data of each product area, seeded after the community and its people exist.

Each entry is `async def seed(session, community_id) -> None`, idempotent (finds its rows by natural
keys, creates only what is missing) and finds demo people by their phone numbers (services.demo).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from services.config import Settings

AreaSeed = Callable[[AsyncSession, int], Awaitable[None]]


def area_seeds(settings: Settings) -> list[AreaSeed]:
    """`settings`: the deployment's, for seeds that encrypt or store (device secrets are encrypted
    under its key, so the doors of that deployment can verify them)."""
    from services import (
        demo_alarms,
        demo_devices,
        demo_duty,
        demo_kpis,
        demo_notices,
        demo_polls,
        demo_tickets,
    )

    return [
        demo_devices.seed,
        demo_tickets.seed,
        demo_notices.seed,
        demo_polls.seed,
        demo_duty.seed,
        demo_kpis.seed,
        partial(demo_alarms.seed, settings=settings),  # after the duty posts (cameras belong to them)
    ]
