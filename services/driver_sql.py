"""Hot statements run on the driver's own connection (asyncpg on PostgreSQL), past SQLAlchemy.

Every authenticated request reads its principal, and the hottest GETs read one or two rows more. Through
`AsyncSession.execute` each such statement costs ~0.45 ms of CPU here (the execution context, the result
object, ORM entity loading, the greenlet hops); the same SQL through asyncpg's prepared-statement cache
costs ~0.05 ms (measured 2026-12-05, bench/floor_bench.py's principal). A `DriverStatement` is a Core
statement (a SELECT, a UNION, or an INSERT … RETURNING: a filing's writes) compiled once per dialect:
on PostgreSQL it runs as that SQL on the session's own connection (inside the session's transaction,
begun first as SQLAlchemy would begin it; in autocommit on the read engine), with the same bind and
result processors SQLAlchemy would apply; on any other engine (SQLite) it runs through the session as
before, so both paths give the same rows (tests/services/test_driver_sql.py).

Like services.db.RetryingSession, the transaction's first statement is run once more on a fresh
connection when the pooled one died behind the pool; any other connection failure is raised as an
OperationalError marked connection_invalidated, which services.outages answers with 503.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.sql import ColumnElement, CompoundSelect, Insert, Select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.db import STATEMENT_SENT

M = TypeVar("M")
# What a DriverStatement runs: anything that returns rows (an INSERT with RETURNING).
Statement = Select[Any] | CompoundSelect[Any] | Insert

# What a backend that died (restart, pg_terminate_backend, failover) or a lost socket raises. A
# backend's FATAL notice arriving mid-prepare can also leave the protocol stuck ("cannot switch to
# state 12; another operation (2) is in progress"): that connection is as unusable as a closed one.
_CONNECTION_LOST = (
    asyncpg.exceptions.InternalClientError,
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.PostgresConnectionError,
)


def in_values(
    column: Any, name: str | None, dialect: Dialect, constants: Sequence[Any] | None = None
) -> ColumnElement[bool]:
    """`column IN (:name...)` that compiles to one constant SQL string: `= ANY($n)` over an array on
    PostgreSQL (an expanding IN is re-rendered per execution, with one parameter per value). With
    `constants` the values are the statement's own (name None: an anonymous parameter)."""
    if dialect.name == "postgresql":
        array = postgresql.ARRAY(column.type)
        bind = (
            sa.bindparam(name, type_=array)
            if constants is None
            else sa.bindparam(name, list(constants), array)
        )
        clause: ColumnElement[bool] = column == sa.any_(bind)
        return clause
    if constants is None:
        clause = column.in_(sa.bindparam(name, expanding=True))
    else:
        clause = column.in_(sa.bindparam(name, list(constants), expanding=True))
    return clause


@dataclass
class _Compiled:
    sql: str
    # Per positional argument: its bind name, whether the caller gives it, the value bound in the
    # statement otherwise, and the type's bind processor.
    args: tuple[tuple[str, bool, Any, Callable[[Any], Any] | None], ...]
    types: tuple[Any, ...]
    # Per result column, the type's result processor (None when the driver's value is already it).
    # Some depend on the column's PostgreSQL type (NUMERIC), so they are chosen on the first run
    # from the prepared statement's attributes, as SQLAlchemy chooses them from the cursor's.
    results: tuple[Callable[[Any], Any] | None, ...] | None = None


class DriverStatement:
    """A statement, built per dialect by `build` (for `in_values`) and compiled once each."""

    def __init__(self, build: Callable[[Dialect], Statement]) -> None:
        self._build = build
        self._statements: dict[str, Statement] = {}
        self._compiled: dict[str, _Compiled] = {}

    def statement(self, dialect: Dialect) -> Statement:
        stmt = self._statements.get(dialect.name)
        if stmt is None:
            stmt = self._statements[dialect.name] = self._build(dialect)
        return stmt

    def _compile(self, dialect: Dialect) -> _Compiled:
        stmt = self.statement(dialect)
        compiled = stmt.compile(dialect=dialect)
        assert compiled.positiontup is not None, "asyncpg takes positional parameters"
        args = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError(f"{name}: an expanding IN is rendered per execution; use in_values()")
            fixed = None if bind.required else bind.effective_value
            args.append((name, bind.required, fixed, bind.type._cached_bind_processor(dialect)))
        return _Compiled(compiled.string, tuple(args), tuple(c.type for c in stmt.exported_columns))

    def bound(self, dialect: Dialect, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and positional arguments sent to asyncpg (bench/ EXPLAINs exactly these)."""
        compiled = self._compiled_for(dialect)
        return compiled.sql, self._args(compiled, params)

    def _compiled_for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self._compile(dialect)
        return compiled

    @staticmethod
    def _args(compiled: _Compiled, params: Mapping[str, Any]) -> list[Any]:
        return [
            (p(v) if p is not None else v)
            for name, given, fixed, p in compiled.args
            for v in (params[name] if given else fixed,)
        ]

    async def rows(self, session: AsyncSession, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        dialect = session.get_bind().dialect
        if dialect.driver != "asyncpg":
            return (await session.execute(self.statement(dialect), params)).all()
        compiled = self._compiled_for(dialect)
        args = self._args(compiled, params)
        records = await _fetch(session, compiled, args, dialect)
        procs = compiled.results
        assert procs is not None  # chosen by _fetch's first run
        if not any(procs):
            return records
        return [tuple(v if p is None else p(v) for p, v in zip(procs, r, strict=True)) for r in records]


async def _fetch(session: AsyncSession, compiled: _Compiled, args: list[Any], dialect: Dialect) -> list[Any]:
    sql = compiled.sql
    first = not session.info.get(STATEMENT_SENT)
    while True:
        conn = await session.connection()
        pooled = await conn.get_raw_connection()
        driver = pooled.driver_connection
        assert driver is not None
        sync = conn.sync_connection
        # The engine's statement events see these too (echo, the tests' statement counts).
        if sync is not None and (sync._has_events or sync.engine._has_events):
            sync.dispatch.before_cursor_execute(sync, None, sql, args, None, False)
        try:
            await _begin_as_sqlalchemy_would(pooled.dbapi_connection, driver)
            if compiled.results is None:
                attributes = (await driver.prepare(sql)).get_attributes()
                compiled.results = tuple(
                    t._cached_result_processor(dialect, a.type.oid)
                    for t, a in zip(compiled.types, attributes, strict=True)
                )
            records: list[Any] = await driver.fetch(sql, *args)
        except _CONNECTION_LOST as exc:
            # As SQLAlchemy does on a disconnect: every connection of the pool opened before now is
            # stale (a restart killed them all), so none is handed out again.
            assert sync is not None
            sync.engine.pool._invalidate(pooled, exc)
            if first:  # nothing of the transaction was sent: run it again on a fresh connection
                first = False
                await session.rollback()
                continue
            raise sa_exc.OperationalError(sql, args, exc, connection_invalidated=True) from exc
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise sa_exc.IntegrityError(sql, args, exc) from exc  # as SQLAlchemy raises it: a unique race
        except asyncpg.PostgresError as exc:
            raise sa_exc.DatabaseError(sql, args, exc) from exc
        session.info[STATEMENT_SENT] = True
        return records


async def _begin_as_sqlalchemy_would(adapter: Any, driver: Any) -> None:
    """SQLAlchemy's asyncpg adapter sends BEGIN lazily, before its own first statement of a
    transaction (AsyncAdapt_asyncpg_cursor._prepare_and_execute). A statement sent past it must do
    the same, or it runs in autocommit: a filing whose writes all go this way would commit them one
    by one and keep them when the request fails (tests/api/test_idempotency_race.py caught it).
    Raw asyncpg errors, so a dead connection is handled as on any other statement."""
    if adapter._transaction is not None or adapter.isolation_level == "autocommit":
        return
    transaction = driver.transaction(
        isolation=adapter.isolation_level, readonly=adapter.readonly, deferrable=adapter.deferrable
    )
    await transaction.start()
    adapter._transaction = transaction  # committed or rolled back by the adapter, as its own


def in_session(session: AsyncSession, model: type[M], primary_key: Sequence[Any]) -> M | None:
    """The session's own instance of that row, if it has one (what `session.get` answers without a
    query)."""
    key = sa.inspect(model).identity_key_from_primary_key(tuple(primary_key))
    present: M | None = session.sync_session.identity_map.get(key)
    return present


def as_loaded(session: AsyncSession, model: type[M], values: Mapping[str, Any]) -> M:
    """An ORM instance of a row read by hand, in the session as if the ORM had loaded it: changes to
    it flush as an UPDATE, `session.get` and `refresh` find it. `values` holds every column."""
    mapper = sa.inspect(model)
    if not mapper.configured:  # the ORM configures mappers on its first query; this may come first
        sa.orm.configure_mappers()
    present = in_session(session, model, [values[c.key] for c in mapper.primary_key])
    if present is not None:
        return present
    obj = mapper.class_manager.new_instance()
    obj.__dict__.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj  # type: ignore[no-any-return]
