"""Command-line entry points (`linli import-households`, `create-community`, `create-admin`).

The operator at the command line is trusted: the Ctx has no principal and audit rows have no actor.
Each command is one transaction, like one request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from services.bootstrap import build_resources
from services.communities import households_import, members, places
from services.communities.schemas import CommunityCreate
from services.config import Settings
from services.db import transaction
from services.runtime import Ctx

T = TypeVar("T")


async def _run(settings: Settings, work: Callable[[Ctx], Awaitable[T]]) -> T:
    resources = build_resources(settings)
    try:
        async with resources.sessionmaker() as session:
            ctx = Ctx(session=session, runtime=resources.runtime)
            async with transaction(session):
                return await work(ctx)
    finally:
        await resources.close()


async def import_households_file(settings: Settings, community_id: int, csv_path: Path) -> dict[str, Any]:
    data = await asyncio.to_thread(Path(csv_path).read_bytes)

    async def work(ctx: Ctx) -> dict[str, Any]:
        result = await households_import.import_households(ctx, community_id, data, operator=True)
        return result.model_dump(mode="json")

    return await _run(settings, work)


async def create_community(settings: Settings, body: CommunityCreate) -> dict[str, Any]:
    async def work(ctx: Ctx) -> dict[str, Any]:
        return (await places.create_community(ctx, body, operator=True)).model_dump(mode="json")

    return await _run(settings, work)


async def create_admin(
    settings: Settings, phone: str, name: str, password: str, community_id: int | None = None
) -> dict[str, Any]:
    async def work(ctx: Ctx) -> dict[str, Any]:
        out = await members.create_admin(ctx, phone, name, password, community_id)
        return out.model_dump(mode="json")

    return await _run(settings, work)
