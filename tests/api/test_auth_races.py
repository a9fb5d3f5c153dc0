"""Parallel OTP guesses cannot get past the attempt limit, on the Redis store and on the database store.

The usual fixtures share one connection, which would serialise the requests' transactions; here each
request has its own connection from the engine, and what the test committed is deleted at the end.
Every guess comes from another address (X-Forwarded-For), as a spread-out attacker's would, so the
per-address limit neither serialises nor stops them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

import services.auth.service as auth_service
from api.main import create_app
from services.bootstrap import Resources, build_redis
from services.config import Settings
from services.db import session_factory, transaction
from services.models import OtpChallenge, RateLimitWindow, RefreshToken, User
from services.notifications.sms import LogSmsProvider
from services.runtime import Runtime
from tests import factories as f
from tests.servers import PrivateRedis

GUESSES = 30
RIGHT_AT = GUESSES - 1  # sent once all the others have looked (see _Gate)


@pytest.fixture(params=["redis", "database"])
async def store_redis(
    request: pytest.FixtureRequest, redis: Redis | None, tmp_path: Path
) -> AsyncIterator[Redis | None]:
    if request.param == "database":
        yield None
    elif redis is not None:
        yield redis
    else:
        server = PrivateRedis(tmp_path)
        await server.start()
        client = build_redis(server.url)
        try:
            yield client
        finally:
            await client.aclose()
            server.stop()


async def _cleanup(engine: AsyncEngine, phone: str) -> None:
    async with session_factory(engine)() as s, transaction(s):
        users = sa.select(col(User.id)).where(col(User.phone) == phone)
        await s.execute(sa.delete(RefreshToken).where(col(RefreshToken.user_id).in_(users)))
        await s.execute(sa.delete(User).where(col(User.phone) == phone))
        await s.execute(sa.delete(OtpChallenge).where(col(OtpChallenge.phone) == phone))
        await s.execute(sa.delete(RateLimitWindow).where(col(RateLimitWindow.key).like(f"%{phone}%")))
        await s.execute(sa.delete(RateLimitWindow).where(col(RateLimitWindow.key).like("%198.51.100.%")))


def _wrong(code: str, i: int) -> str:
    return f"{(int(code) + 1 + i) % 1_000_000:06d}"


class _Gate:
    """Orders the guesses without sleeping: the right one starts only once `looks` wrong guesses have
    had their first look at the challenge, so it comes after the limit however the requests interleave.

    Redis store: every wrong guess is also held just after that look until the right one has looked,
    so on code that reads and counts in two steps all of them have read an unspent count. Database
    store: the requests serialise on row locks (PostgreSQL) or the write lock (SQLite), so nothing is
    held; the right guess starts once the limit's worth have looked."""

    def __init__(self, looks: int, hold: bool) -> None:
        self.looks, self.hold = looks, hold
        self.looked = 0
        self.enough_looked = asyncio.Event()
        self.right_looking = asyncio.Event()

    def store(self, inner: Any, right: bool) -> Any:
        gate = self

        class Gated:
            looked = False

            def __getattr__(self, name: str) -> Any:
                method = getattr(inner, name)

                async def call(*args: Any, **kwargs: Any) -> Any:
                    if right and name != "hit":
                        gate.right_looking.set()
                    result = await method(*args, **kwargs)
                    if not right and name != "hit" and not self.looked:
                        self.looked = True
                        gate.looked += 1
                        if gate.looked == gate.looks:
                            gate.enough_looked.set()
                        if gate.hold:
                            await asyncio.wait_for(gate.right_looking.wait(), timeout=10)
                    return result

                return call

        return Gated()


async def test_parallel_guesses_cannot_pass_the_attempt_limit(
    settings: Settings, engine: AsyncEngine, store_redis: Redis | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings.model_copy(update={"trust_forwarded": True})
    sms = LogSmsProvider(outbox_path=None)
    runtime = Runtime(settings=settings, sms=sms, redis=store_redis)
    app = create_app(
        settings, Resources(engine=engine, sessionmaker=session_factory(engine), runtime=runtime)
    )
    phone = f.phone()
    redis_store = store_redis is not None
    gate = _Gate(GUESSES - 1 if redis_store else settings.otp_max_attempts, hold=redis_store)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://linli.test") as client,
        ):
            assert (await client.post("/v1/auth/otp", json={"phone": phone})).status_code == 202
            code = sms.last_code(phone)
            assert code is not None
            guesses = [_wrong(code, i) for i in range(GUESSES)]
            guesses[RIGHT_AT] = code
            original = auth_service.login_store
            monkeypatch.setattr(
                auth_service, "login_store", lambda ctx: gate.store(original(ctx), ctx.ip == _ip(RIGHT_AT))
            )

            async def guess(i: int) -> httpx.Response:
                if i == RIGHT_AT:
                    await asyncio.wait_for(gate.enough_looked.wait(), timeout=10)
                return await client.post(
                    "/v1/auth/login",
                    json={"phone": phone, "code": guesses[i]},
                    headers={"X-Forwarded-For": _ip(i)},
                )

            answers = await asyncio.gather(*(guess(i) for i in range(GUESSES)))
            statuses = [r.status_code for r in answers]
            assert 200 not in statuses, statuses
            assert answers[RIGHT_AT].json()["error"]["code"] in (
                "auth.otp_too_many_attempts",
                "auth.otp_expired",
            )
            # Exactly the limit's worth of guesses were judged; every other one was refused unjudged.
            judged = [r for r in answers if r.json()["error"]["code"] == "auth.otp_invalid"]
            assert len(judged) == settings.otp_max_attempts - 1, statuses
            async with session_factory(engine)() as s:
                assert (await s.execute(sa.select(User).where(col(User.phone) == phone))).first() is None
    finally:
        await _cleanup(engine, phone)


def _ip(i: int) -> str:
    return f"198.51.100.{i + 1}"
