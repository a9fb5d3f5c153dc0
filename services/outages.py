"""Which exceptions mean a dependency (the database, Redis) is unreachable rather than a bug."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc

from services.errors import DependencyUnavailable


def as_outage(exc: BaseException) -> DependencyUnavailable | None:
    """The 503 to answer for `exc`, or None when it is not a dependency failure."""
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return DependencyUnavailable("redis")
    # connection_invalidated: the connection broke under a statement (server stopped or restarted);
    # services.db marks failed connection attempts the same way. sa TimeoutError: the pool is exhausted.
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return DependencyUnavailable("database")
    if isinstance(exc, sa_exc.TimeoutError):
        return DependencyUnavailable("database")
    return None
