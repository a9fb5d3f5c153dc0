"""Write an audit-log row for a privileged action, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from services.models import AuditLog
from services.runtime import Ctx


async def record(
    ctx: Ctx,
    action: str,
    entity: str,
    entity_id: Any = None,
    *,
    community_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    ctx.session.add(
        AuditLog(
            actor_id=ctx.principal.user_id if ctx.principal else None,
            community_id=community_id,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            before=_jsonable(before),
            after=_jsonable(after),
            ip=ctx.ip,
            request_id=ctx.request_id,
        )
    )


def _jsonable(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {k: v if isinstance(v, str | int | float | bool | type(None)) else str(v) for k, v in data.items()}
