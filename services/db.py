"""Engine, session factory and the transaction boundary."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from services.errors import DomainError


def create_engine(url: str, pool_size: int = 20, parallel_workers: int = 0, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Sized for a process's concurrent requests: overflow connections are closed on return, and a
        # new PostgreSQL connection costs a backend process and a handshake (measured in the bench).
        kwargs.setdefault("pool_size", pool_size)
        kwargs.setdefault("max_overflow", 10)
        if parsed.get_driver_name() == "asyncpg":
            # A request's statements are short. Starting a parallel plan's workers cost ~24 ms of a
            # technician's 32 ms list (3.5 ms without them: docs/benchmarks.md, 2026-12-06), on a
            # server whose cores the other requests need; JIT compiles for 10–100 ms what runs in 1.
            settings = {"jit": "off", "max_parallel_workers_per_gather": str(parallel_workers)}
            connect_args = kwargs.setdefault("connect_args", {})
            connect_args["server_settings"] = {**settings, **connect_args.get("server_settings", {})}
        # No pre-ping (three round trips on every checkout: BEGIN, a ping, ROLLBACK): a pooled
        # connection that died with a server restart fails its first statement, and that statement
        # alone is run again on a fresh connection (RetryingSession below).
        engine = create_async_engine(url, **kwargs)
        _mark_connect_failures(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 15}, **kwargs)
    _fix_sqlite_transactions(engine)
    return engine


def _mark_connect_failures(engine: AsyncEngine) -> None:
    """A refused or failed connection attempt surfaces from asyncpg as a bare OSError or a
    PostgresError, which SQLAlchemy passes through unwrapped: raise it as an OperationalError marked
    connection_invalidated, the same mark a connection lost mid-statement carries (services.outages)."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _on_connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:
            raise OperationalError(None, None, exc, connection_invalidated=True) from exc


def _fix_sqlite_transactions(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, emit BEGIN, so savepoints and rollbacks are real."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so a busy database is waited for (busy_timeout)
        # instead of failing with "database is locked" when a read transaction later writes.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def insert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT (PostgreSQL or SQLite), for ON CONFLICT upserts that both engines speak."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


class RetryingSession(Session):
    """A session whose transaction's first statement is run once more when it met a dead connection
    (a PostgreSQL restart, a terminated backend): nothing of the transaction was sent yet, so the
    rollback loses nothing and the statement goes out on a fresh connection. A failure later in a
    transaction is raised as it is (services.outages answers 503): the work cannot be replayed."""

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self._first_retried(super().execute, args, kwargs)

    def exec(self, *args: Any, **kwargs: Any) -> Any:  # sqlmodel's, which bypasses execute
        return self._first_retried(super().exec, args, kwargs)

    def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return self._first_retried(super().scalar, args, kwargs)

    def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return self._first_retried(super().scalars, args, kwargs)

    def _first_retried(self, run: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        first = not self.info.get(STATEMENT_SENT)
        try:
            result = run(*args, **kwargs)
        except DBAPIError as exc:
            if not (first and exc.connection_invalidated):
                raise
            self.rollback()
            result = run(*args, **kwargs)
        self.info[STATEMENT_SENT] = True
        return result


STATEMENT_SENT = "linli.statement_sent"


@event.listens_for(RetryingSession, "after_transaction_end")
def _transaction_ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost: the next statement starts a new transaction
        session.info.pop(STATEMENT_SENT, None)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine,
        class_=AsyncSession,
        sync_session_class=RetryingSession,
        expire_on_commit=False,
        autoflush=False,
    )


AFTER_COMMIT = "linli.after_commit"


def defer_after_commit(session: AsyncSession, kind: str, items: list[int]) -> None:
    """Remember ids to hand on once the transaction commits (e.g. new deliveries for the relay)."""
    session.info.setdefault(AFTER_COMMIT, {}).setdefault(kind, []).extend(items)


def take_after_commit(session: AsyncSession) -> dict[str, list[int]]:
    taken: dict[str, list[int]] = session.info.pop(AFTER_COMMIT, {})
    return taken


@asynccontextmanager
async def transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Commit on success; roll back on error unless the error asks to keep its changes."""
    try:
        yield session
    except DomainError as exc:
        if exc.keep_changes:
            await session.commit()
        else:
            await session.rollback()
            session.info.pop(AFTER_COMMIT, None)
        raise
    except BaseException:
        await session.rollback()
        session.info.pop(AFTER_COMMIT, None)
        raise
    else:
        await session.commit()
