"""One map: the counters the community layer reads instead of counting tickets per request."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from services.models.base import BigIntId, UTCDateTime, at_field


class CommunityMapStats(SQLModel, table=True):
    """The map's counts of one community as of `refreshed_at`, rewritten set-based by the worker's
    `refresh_map_stats` job (services/geo/stats.py) for the communities that changed; never updated
    inside a ticket or alarm transaction."""

    __tablename__ = "community_map_stats"
    community_id: int = Field(sa_type=BigIntId, primary_key=True, foreign_key="community.id")
    open_tickets: int = 0
    overdue_tickets: int = 0
    active_alarms: int = 0
    cameras_online: int = 0
    cameras_total: int = 0
    # The next instant an open ticket passes a due time (its overdue count changes with no event):
    # the job recounts the community then. None: no open ticket will become overdue.
    next_change_at: datetime | None = at_field()
    refreshed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
