"""Helpers shared by the communities area: loading a community, unique inserts, keyset pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

import services.communities.messages  # noqa: F401  (registers this area's error codes)
from services.errors import Conflict, NotFound
from services.models import Community, Role
from services.pagination import id_after, next_id_cursor
from services.runtime import Ctx
from services.schemas import Page

T = TypeVar("T")

# Staff who may see a community's household register.
HOUSEHOLD_READERS = (
    Role.community_admin,
    Role.property_manager,
    Role.property_staff,
    Role.committee_member,
    Role.grid_worker,
)
# Roles a community admin hands out (property roles come through a company instead).
COMMUNITY_STAFF_ROLES = frozenset(
    {
        Role.committee_member,
        Role.party_member,
        Role.party_secretary,
        Role.grid_worker,
        Role.community_admin,
    }
)


async def load_community(ctx: Ctx, community_id: int) -> Community:
    """The live community row or 404 (call after the access check)."""
    row = (
        await ctx.session.exec(
            select(Community).where(Community.id == community_id, col(Community.deleted_at).is_(None))
        )
    ).first()
    if row is None:
        raise NotFound("community.not_found")
    return row


async def flush_unique(ctx: Ctx, code: str) -> None:
    """Flush inside a savepoint: a concurrent twin violating a unique key answers 409, not 500."""
    try:
        async with ctx.session.begin_nested():
            await ctx.session.flush()
    except IntegrityError as exc:
        raise Conflict(code) from exc


def after_id(cursor: str | None) -> int:
    """The last id already seen (0 for the first page) of an `ORDER BY id ASC` list."""
    return id_after(cursor) or 0


def page(items: Sequence[T], ids: Sequence[int], limit: int) -> Page[T]:
    return Page[T](items=list(items), next_cursor=next_id_cursor(list(ids), limit))
