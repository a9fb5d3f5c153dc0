"""api/main.py includes the hot routers first, because Starlette tries routes in order and each miss
costs. That is safe only while no path can be matched by routes of two modules: then the order
decides speed, never which route answers. This walks every route pair across modules."""

from __future__ import annotations

import itertools

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.main import create_app
from services.config import Settings


def _routes_by_module(app: FastAPI) -> dict[str, list[APIRoute]]:
    out: dict[str, list[APIRoute]] = {}
    for entry in app.routes:
        router = getattr(entry, "original_router", None)  # an included router
        for route in router.routes if router is not None else [entry]:
            if isinstance(route, APIRoute):
                out.setdefault(route.endpoint.__module__, []).append(route)
    return out


def _segment_overlaps(a: str, b: str) -> bool:
    a_param, b_param = a.startswith("{"), b.startswith("{")
    if not a_param and not b_param:
        return a == b
    if a_param and b_param:
        return True
    param, literal = (a, b) if a_param else (b, a)
    return literal.isdigit() if ":int" in param else True


def paths_overlap(p: str, q: str) -> bool:
    """Some URL path matches both templates (a `{x}` segment matches any one segment)."""
    a, b = p.strip("/").split("/"), q.strip("/").split("/")
    if any(":path}" in s for s in a + b):
        return True
    return len(a) == len(b) and all(_segment_overlaps(x, y) for x, y in zip(a, b, strict=True))


def test_overlap_check_sees_a_clash() -> None:
    assert paths_overlap("/v1/communities/{cid}/kpis", "/v1/communities/search/kpis")
    assert paths_overlap("/v1/tickets/{tid}", "/v1/tickets/counts")
    assert not paths_overlap("/v1/tickets/{tid}", "/v1/tickets/{tid}/events")
    assert not paths_overlap("/v1/notices", "/v1/notifications")


def test_no_path_is_matched_by_two_modules() -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    modules = _routes_by_module(app)
    assert len(modules) > 20 and sum(map(len, modules.values())) > 150
    clashes = [
        (m1, r1.path, m2, r2.path)
        for (m1, rs1), (m2, rs2) in itertools.combinations(modules.items(), 2)
        for r1 in rs1
        for r2 in rs2
        if r1.methods & r2.methods and paths_overlap(r1.path, r2.path)
    ]
    assert clashes == [], "order the includes in api/main.py by meaning, or move the route"


def test_hot_routers_come_first() -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    order = [m for m in _routes_by_module(app) if m.startswith("api.routes.")]
    hot = ["health", "me", "tickets", "notifications", "notices", "kpis"]
    assert order[: len(hot)] == [f"api.routes.{m}" for m in hot]
