"""The one-map page (一张图, item 4): GET /map, server-rendered HTML and a small script over the map
layer API. Leaflet is vendored (api/static/map, from npm leaflet@1.9.4, BSD-2-Clause): nothing comes
from a CDN, the page works on a network without internet. Base tiles come from settings.map_tile_url;
with none the page draws the outlines and points on a plain background."""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from services.config import Settings
from services.i18n import negotiate

STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "map"
STATIC_PATH = "/map/static"
router = APIRouter()

TITLE = {"zh-CN": "邻里 · 小区一张图", "en": "Linli · One map"}


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


def page(settings: Settings, locale: str) -> str:
    attrs = {
        "data-tile-url": settings.map_tile_url,
        "data-tile-crs": settings.map_tile_crs if settings.map_tile_url else "wgs84",
        "data-tile-attribution": settings.map_tile_attribution,
        "data-tile-subdomains": settings.map_tile_subdomains,
    }
    data = " ".join(f'{k}="{escape(v)}"' for k, v in attrs.items())
    return f"""<!doctype html>
<html lang="{locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{TITLE.get(locale, TITLE["zh-CN"])}</title>
<link rel="stylesheet" href="{STATIC_PATH}/leaflet.css">
<link rel="stylesheet" href="{STATIC_PATH}/map.css">
</head>
<body {data}>
<div id="app"></div>
<script src="{STATIC_PATH}/leaflet.js"></script>
<script src="{STATIC_PATH}/map.js"></script>
</body>
</html>
"""


@router.get("/map", include_in_schema=False, response_class=HTMLResponse)
async def map_page(request: Request) -> HTMLResponse:
    settings: Settings = request.app.state.runtime.settings
    return HTMLResponse(page(settings, negotiate(request.headers.get("accept-language"))))
