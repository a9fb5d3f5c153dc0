"""services.driver_sql: a hot read run on asyncpg gives exactly the rows SQLAlchemy gives (values and
types), and the principal's user read by hand behaves as an ORM-loaded one. On SQLite both sides run
through SQLAlchemy; on PostgreSQL (LINLI_TEST_DATABASE_URL) the left side is the driver path."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services import idempotency
from services.access import _USER_AND_MEMBERSHIPS, load_principal
from services.db import session_factory, transaction
from services.driver_sql import DriverStatement, in_values
from services.models import Household, IdempotencyRecord, User, utcnow
from tests import factories as f

_H = Household.__table__.c  # type: ignore[attr-defined]
_HOMES = DriverStatement(
    lambda d: sa.select(_H.id, _H.room, _H.area_m2).where(in_values(_H.id, "ids", d)).order_by(_H.id)
)


def _typed(rows: object) -> list[list[tuple[object, type]]]:
    return [[(v, type(v)) for v in row] for row in rows]  # type: ignore[attr-defined]


async def test_the_principal_statement_gives_sqlalchemys_rows(db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    dialect = db.get_bind().dialect
    for u in (w.resident, w.manager, w.committee):
        params = {"user_id": u.id, "today": date(2026, 6, 16)}
        by_driver = await _USER_AND_MEMBERSHIPS.rows(db, params)
        by_sqlalchemy = (await db.execute(_USER_AND_MEMBERSHIPS.statement(dialect), params)).all()
        assert by_driver, u.name
        assert _typed(by_driver) == _typed(by_sqlalchemy)
        # The instants come back aware, in UTC (UTCDateTime's result processor ran on both paths).
        created_at = by_driver[0][[c.key for c in User.__table__.c].index("created_at")]  # type: ignore[attr-defined]
        assert created_at.utcoffset() is not None and created_at.utcoffset().total_seconds() == 0


async def test_an_in_list_binds_as_one_parameter_and_matches(db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    other = await f.household(db, w.building, area="88.00")
    ids = [other.id, w.household.id]
    by_driver = await _HOMES.rows(db, {"ids": ids})
    dialect = db.get_bind().dialect
    by_sqlalchemy = (await db.execute(_HOMES.statement(dialect), {"ids": ids})).all()
    assert _typed(by_driver) == _typed(by_sqlalchemy)
    assert [r[0] for r in by_driver] == sorted(ids)
    assert await _HOMES.rows(db, {"ids": [-1]}) == []


async def test_the_principals_user_is_the_sessions_own(db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    db.expunge_all()  # as at the start of a request: nothing loaded yet
    principal = await load_principal(db, w.resident.id)  # type: ignore[arg-type]
    user = principal.user
    assert await db.get(User, user.id) is user
    assert user.name == "报修住户" and user.phone == w.resident.phone
    user.name = "改名"
    await db.flush()  # an UPDATE of the row, not an INSERT of a second one
    names = (await db.execute(sa.text("SELECT name FROM user_account WHERE id = :id"), {"id": user.id})).all()
    assert names == [("改名",)]
    # Loading again in the same session finds the same instance.
    assert (await load_principal(db, user.id)).user is user  # type: ignore[arg-type]


async def test_a_write_that_opens_the_transaction_is_inside_it(engine: AsyncEngine) -> None:
    """The first statement of a write session sent on the driver sends BEGIN first, as SQLAlchemy
    would: rolled back, its row is gone; committed, it stays. (Sent in autocommit, the rolled-back
    row would stay: a failed filing would keep its ticket.)"""
    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        u = await f.user(s, "驱动写入")
    assert u.id is not None
    counted = (
        sa.select(sa.func.count())
        .select_from(IdempotencyRecord)
        .where(col(IdempotencyRecord.user_id) == u.id)
    )
    values = {
        "user_id": u.id,
        "request_hash": "h",
        "status_code": 201,
        "response_body": "{}",
        "created_at": utcnow(),
    }
    try:
        async with maker() as s:
            assert await idempotency._SAVE.rows(
                s, {**values, "key": "rolled-back"}
            )  # the session's first statement
            await s.rollback()
        async with maker() as s:
            assert (await s.execute(counted)).scalar_one() == 0
        async with maker() as s, transaction(s):
            await idempotency._SAVE.rows(s, {**values, "key": "committed"})
        async with maker() as s:
            assert (await s.execute(counted)).scalar_one() == 1
    finally:
        async with maker() as s, transaction(s):
            await s.execute(sa.delete(IdempotencyRecord).where(col(IdempotencyRecord.user_id) == u.id))
            await s.execute(sa.delete(User).where(col(User.id) == u.id))
