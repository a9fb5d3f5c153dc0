"""The embedded default (SQLite, in-process worker and scheduler): right after a committee publishes a
notice to a large audience, residents reading the feed (GET) and opening the notice (POST …/read)
are never refused while the fan-out writes inbox rows and deliveries and the worker sends them
(issue 21). Reads take no lock at all; writers wait their turn between the fan-out's short chunks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlmodel import col, func, select

from api.main import create_app
from services import migrations
from services.bootstrap import build_resources
from services.config import Settings
from services.models import Membership, MembershipStatus, Notification, NotificationFanout, Role, User
from services.notifications import fanout
from tests import factories as f

RESIDENTS = 3_000  # several SQLite chunks (services.notifications.fanout.SQLITE_CHUNK)


async def test_readers_are_not_refused_while_the_embedded_worker_fans_out(tmp_path: Path) -> None:
    assert RESIDENTS > 2 * fanout.SQLITE_CHUNK
    path = tmp_path / "linli.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(migrations.upgrade, url)
    settings = Settings(
        env="test",
        database_url=url,
        jwt_secret=f.SECRET,  # type: ignore[arg-type]
        embedded_worker=True,
        var_dir=tmp_path,
    )
    res = build_resources(settings)
    async with res.sessionmaker() as db:
        w = await f.notice_world(db)
        users = [{"phone": f"+86137{i:08d}", "name": f"住户{i}", "locale": "zh-CN"} for i in range(RESIDENTS)]
        ids = (await db.execute(sa.insert(User).values(users).returning(User.id))).scalars().all()  # type: ignore[arg-type]
        await db.execute(
            sa.insert(Membership).values(
                [
                    {"user_id": uid, "community_id": w.cid, "role": Role.resident, "household_id": w.households[0].id,
                     "relation": "family", "status": MembershipStatus.verified}
                    for uid in ids
                ]
            )
        )  # fmt: skip
        await db.commit()
    reader = w.residents[1]
    app = create_app(settings, res)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://linli.test") as client,
        ):
            created = await f.post_notice(client, w.committee, w.cid, publish=False)
            published = asyncio.Event()
            answers: list[tuple[int, str]] = []

            async def resident() -> None:
                for i in range(30):
                    if i % 2 and published.is_set():
                        r = await client.post(f"/v1/notices/{created['id']}/read", headers=f.auth(reader))
                    else:
                        r = await client.get("/v1/notices", headers=f.auth(reader))
                    answers.append((r.status_code, f"{r.request.method} {r.text[:80]}"))
                    await asyncio.sleep(0.02)

            residents = [asyncio.create_task(resident()) for _ in range(4)]
            r = await client.post(f"/v1/notices/{created['id']}/publish", headers=f.auth(w.committee))
            assert r.status_code == 200, r.text
            published.set()
            await asyncio.gather(*residents)
            assert [a for a in answers if a[0] != 200] == []
            assert any(a[1].startswith("POST") for a in answers)
            # The fan-out ran meanwhile and finishes: an inbox row for every resident.
            for _ in range(300):
                async with res.sessionmaker() as db:
                    open_ = (
                        await db.exec(select(func.count()).where(col(NotificationFanout.done_at).is_(None)))
                    ).one()
                if open_ == 0:
                    break
                await asyncio.sleep(0.1)
            async with res.sessionmaker() as db:
                inbox = (await db.exec(select(func.count()).select_from(Notification))).one()
            assert open_ == 0 and inbox >= RESIDENTS
    finally:
        await res.close()
