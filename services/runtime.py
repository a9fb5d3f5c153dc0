"""What a request or job needs besides its database session: settings, Redis, outbound channels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.config import Settings
from services.i18n import DEFAULT_LOCALE, Locale
from services.lru import Lru
from services.notifications.sms import SmsProvider

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from services.access import Principal


@dataclass
class Runtime:
    settings: Settings
    sms: SmsProvider
    redis: Redis | None = None
    # Hands committed delivery ids to the broker; set by whoever owns the broker (API or worker).
    relay: Callable[[list[int]], Awaitable[None]] | None = None
    # Starts expanding committed fan-out jobs (services.notifications.fanout); workers.jobs.LocalFanouts.
    fanout_relay: Callable[[list[int]], Awaitable[None]] | None = None
    # The ticket call relay (services/callrelay.py); None: built from settings on first use.
    calls: Any = None
    # KPI tables of closed periods built from roll-ups (services.kpis.service: company_table and
    # community_table), per process; a roll-up run or a target change makes a new key.
    kpi_dashboards: Lru[Hashable, Any] = field(default_factory=lambda: Lru(128))
    # Login rate limits (services.auth.ratelimit.login_limiter builds it on first use).
    login_limiter: Any = None


@dataclass
class Ctx:
    """One unit of work: a session inside a transaction, who asks, and from where."""

    session: AsyncSession
    runtime: Runtime
    locale: Locale = DEFAULT_LOCALE
    ip: str | None = None
    request_id: str | None = None
    user_agent: str | None = None
    principal: Principal | None = field(default=None)
    session_id: str | None = None  # the caller's login session (the access token's `sid` claim)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def require_principal(self) -> Principal:
        from services.errors import Unauthorized

        if self.principal is None:
            raise Unauthorized()
        return self.principal
