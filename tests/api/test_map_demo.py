"""One map, item 6: the demo district — eight communities around the seat of 安吉县, seen by the demo
street-office account, with renovation years 2019–2025 and varied KPI states that survive the roll-up."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo, demo_map
from services.config import Settings
from services.kpis import jobs
from services.models import User
from tests import factories as f


async def test_street_office_sees_the_demo_district(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await demo.seed(settings, sessionmaker)
    officer = (await db.exec(select(User).where(User.phone == demo_map.STREET_OFFICE_PHONE))).one()
    await jobs.rollup(db)  # the roll-up job keeps the district's closed month
    r = await client.get("/v1/map/communities", params={"crs": "gcj02"}, headers=f.auth(officer))
    assert r.status_code == 200, r.text
    features = r.json()["features"]
    names = {x["properties"]["name"] for x in features}
    assert names == {c[0] for c in demo_map.COMMUNITIES}
    assert all(x["geometry"]["type"] == "Polygon" for x in features)
    years = {x["properties"]["renovation"]["year"] for x in features}
    assert min(years) == 2019 and max(years) == 2025
    colours = {x["properties"]["kpi"]["colour"] for x in features}
    assert colours == {"green", "red", "amber", "grey"}
    assert all(x["properties"]["people"]["grid_worker"]["phone"].count("*") == 4 for x in features)
    # Its buildings, and nothing of the Shanghai estate.
    first = features[0]["id"]
    b = await client.get(f"/v1/map/communities/{first}/buildings", headers=f.auth(officer))
    assert b.status_code == 200 and len(b.json()["features"]) == 3
    assert demo.COMMUNITY["name"] not in r.text
