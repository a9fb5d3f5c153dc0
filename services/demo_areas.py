"""Demo data of each product area, seeded after the community and its people exist.

Each entry is `async def seed(session, community_id) -> None`, idempotent (finds its rows by natural
keys, creates only what is missing) and finds demo people by their phone numbers (services.demo).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

AreaSeed = Callable[[AsyncSession, int], Awaitable[None]]


def area_seeds() -> list[AreaSeed]:
    from services import (
        demo_alarms,
        demo_devices,
        demo_duty,
        demo_kpis,
        demo_map,
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
        demo_alarms.seed,  # after the duty posts (cameras belong to them)
        demo_map.seed,  # the one-map district (issue 18)
    ]
