"""One map, item 5: GET /v1/map/communities.png / .svg — the layer drawn without tiles for a printed
report: a real PNG of the set size, every label drawn in the bundled CJK font (no tofu), the same
scope and errors as the layer API."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from PIL import Image
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import demo, demo_map
from services.config import Settings
from services.geo import render
from services.geo.schemas import FeatureCollection
from services.kpis import jobs
from services.kpis.charts import missing_glyphs
from services.models import User
from tests import factories as f

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "map"


async def _officer(db: AsyncSession, settings: Settings, maker: async_sessionmaker[AsyncSession]) -> User:
    await demo.seed(settings, maker)
    await jobs.rollup(db)
    return (await db.exec(select(User).where(User.phone == demo_map.STREET_OFFICE_PHONE))).one()


async def test_the_district_as_a_png_with_readable_chinese_labels(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    officer = await _officer(db, settings, sessionmaker)
    r = await client.get("/v1/map/communities.png", headers=f.auth(officer))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert 20_000 < len(r.content) < 2_000_000
    image = Image.open(io.BytesIO(r.content))
    assert image.format == "PNG" and image.size == (1000, 800)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "communities.png").write_bytes(r.content)  # kept to look at, not in git
    # Not a blank canvas: the four KPI colours are drawn.
    colours = {rgb for _, rgb in (image.convert("RGB").getcolors(1_000_000) or [])}
    assert len(colours) > 50
    # Every label the image draws is in the font the package installs.
    layer = await client.get("/v1/map/communities", headers=f.auth(officer))
    fc = FeatureCollection.model_validate(layer.json())
    drawn = render.labels(fc)
    assert {c[0] for c in demo_map.COMMUNITIES} <= set(drawn)
    assert not {ch for text in drawn for ch in missing_glyphs(text)}
    assert not {ch for text in render.labels(fc, "en") for ch in missing_glyphs(text)}


async def test_svg_and_english(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    officer = await _officer(db, settings, sessionmaker)
    r = await client.get("/v1/map/communities.svg", params={"crs": "gcj02"}, headers=f.auth(officer))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in r.content[:1000] and b"<path" in r.content
    en = await client.get("/v1/map/communities.png", headers={**f.auth(officer), "Accept-Language": "en"})
    assert en.status_code == 200 and en.content[:4] == b"\x89PNG"
    assert en.content != (await client.get("/v1/map/communities.png", headers=f.auth(officer))).content


async def test_same_rules_as_the_layer(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    r = await client.get("/v1/map/communities.png")
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth.required"
    officer = await _officer(db, settings, sessionmaker)
    bad = await client.get(
        "/v1/map/communities.png", params={"bbox": "120,31,119,30"}, headers=f.auth(officer)
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "bbox"
    layers = await client.get(
        "/v1/map/communities.svg", params={"layers": "kpi,nope"}, headers=f.auth(officer)
    )
    assert layers.status_code == 422 and layers.json()["error"]["code"] == "geo.unknown_layer"
    # A bbox with nobody inside: an image that says so, not an error.
    empty = await client.get(
        "/v1/map/communities.png", params={"bbox": "100,20,100.1,20.1"}, headers=f.auth(officer)
    )
    assert empty.status_code == 200 and empty.content[:4] == b"\x89PNG"


def test_labels_of_an_empty_layer_are_in_the_font() -> None:
    fc = FeatureCollection(crs="wgs84", features=[])
    assert render.render(fc, "png")[:4] == b"\x89PNG"
    assert not {ch for text in render.labels(fc) for ch in missing_glyphs(text)}
