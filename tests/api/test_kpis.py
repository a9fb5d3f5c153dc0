"""KPI endpoints over HTTP: figures, targets and `met`, drill-down, CSV, chart, and access rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.kpis import jobs as kpi_jobs
from services.kpis.schemas import KpiTable
from services.models import AuditLog, Role, utcnow
from services.models.tickets import Ticket
from services.tickets.schemas import TransitionIn
from services.tickets.service import open_ticket
from services.tickets.transitions import Call, apply
from tests import factories as f
from tests.conftest import App
from tests.statements import count_statements

# Written around a fixed history (January to May 2026): it runs after it, at any LINLI_TEST_NOW.
pytestmark = pytest.mark.at("2026-06-16T10:00:00+08:00")

BJ = ZoneInfo("Asia/Shanghai")
RANGE = {"from": "2026-03-01", "to": "2026-04-30", "granularity": "month"}


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ).astimezone(UTC)  # type: ignore[misc]


async def _repair(
    db: AsyncSession, w: f.TicketWorld, ctx: object, created: datetime, resolve_after: timedelta | None
) -> Ticket:
    t = await open_ticket(ctx, community_id=w.cid, kind="repair", category="plumbing", priority="normal",  # type: ignore[arg-type]
                          title="漏水", description="", reporter_id=w.resident.id or 0, intake_channel="app",
                          household=w.household, now=created)  # fmt: skip
    assert t.id is not None
    if resolve_after is None:
        return t
    await f._after_photo(db, w, t.id)
    at = created
    for action in ("assign", "start", "resolve"):
        at = created + (resolve_after if action == "resolve" else timedelta(minutes=10))
        body = TransitionIn(action=action, version=t.version, note="修好了", assignee_id=w.technician.id)  # type: ignore[arg-type]
        await apply(Call(db, ctx, t, body, at, w.manager.id), action)  # type: ignore[arg-type]
    return t


async def _world(db: AsyncSession) -> tuple[f.TicketWorld, list[Ticket]]:
    """March (Beijing): one repair on time, one late; one opened on 30 March, overdue from 1 April."""
    w = await f.ticket_world(db)
    ctx = await f.kpi_ctx(db, w.manager)
    t1 = await _repair(db, w, ctx, bj(2026, 3, 2, 10), timedelta(hours=24))
    t2 = await _repair(db, w, ctx, bj(2026, 3, 10, 9), timedelta(hours=60))
    t3 = await _repair(db, w, ctx, bj(2026, 3, 30, 12), None)
    return w, [t1, t2, t3]


def _series(body: dict[str, object], metric: str) -> dict[str, object]:
    return next(s for s in body["metrics"] if s["metric"] == metric)  # type: ignore[attr-defined, index]


async def test_values_targets_met_and_drilldown(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w, (t1, t2, t3) = await _world(db)
    r = await client.get(f"/v1/communities/{w.cid}/kpis", params=RANGE, headers=f.auth(w.admin))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "community" and body["time_zones"] == {str(w.cid): "Asia/Shanghai"}
    repair = _series(body, "repair_timeliness")
    assert repair["target"] == 100.0 and repair["target_source"] == "default"
    march, april = repair["periods"]  # type: ignore[misc]
    assert (march["period"], march["numerator"], march["denominator"], march["value"], march["met"]) == (
        "2026-03",
        1,
        2,
        50.0,
        False,
    )
    assert march["starts_on"] == "2026-03-01" and march["ends_on"] == "2026-03-31"
    # t3 is due 1 April 12:00 Beijing and still open at April's end: denominator only.
    assert (april["numerator"], april["denominator"], april["met"]) == (0, 1, False)
    assert _series(body, "greening_pass_rate")["periods"][0]["value"] is None  # type: ignore[index]
    assert _series(body, "greening_pass_rate")["target"] == 98.0

    async def drill(part: str, period: str = "2026-03") -> list[int]:
        r = await client.get(
            f"/v1/communities/{w.cid}/kpis/repair_timeliness/tickets",
            params={"period": period, "part": part},
            headers=f.auth(w.manager),
        )
        assert r.status_code == 200, r.text
        return [row["id"] for row in r.json()["items"]]

    assert await drill("numerator") == [t1.id]
    assert sorted(await drill("denominator")) == sorted([t1.id, t2.id])
    assert await drill("denominator", "2026-04") == [t3.id]

    # Targets: the committee lowers the repair target; the figure is now met. Audited.
    r = await client.put(
        f"/v1/communities/{w.cid}/kpi-targets",
        json={"targets": {"repair_timeliness": 50}},
        headers=f.auth(w.committee),
    )
    assert r.status_code == 200, r.text
    assert {t["metric"]: t["target"] for t in r.json()}["repair_timeliness"] == 50.0
    r = await client.get(f"/v1/communities/{w.cid}/kpis", params=RANGE, headers=f.auth(w.admin))
    march = _series(r.json(), "repair_timeliness")["periods"][0]  # type: ignore[index]
    assert march["met"] is True
    audit = (await db.exec(select(AuditLog).where(AuditLog.action == "kpi.targets_updated"))).all()
    assert audit and audit[-1].after == {"repair_timeliness": "50.00"}
    r = await client.get(f"/v1/communities/{w.cid}/kpi-targets", headers=f.auth(w.resident))
    assert r.status_code == 200
    # Residents and the manager may not change community targets; bad values are 422.
    for who in (w.resident, w.manager):
        r = await client.put(
            f"/v1/communities/{w.cid}/kpi-targets", json={"targets": {"rating_rate": 70}}, headers=f.auth(who)
        )
        assert r.status_code == 403, r.text
    for bad in ({"rating_rate": 101}, {"rating_rate": 95.555}, {"nope": 90}):
        r = await client.put(
            f"/v1/communities/{w.cid}/kpi-targets", json={"targets": bad}, headers=f.auth(w.admin)
        )
        assert r.status_code == 422, r.text

    # The company view sums its communities.
    r = await client.get(f"/v1/companies/{w.company.id}/kpis", params=RANGE, headers=f.auth(w.manager))
    assert r.status_code == 200, r.text
    assert _series(r.json(), "repair_timeliness")["periods"][0]["denominator"] == 2  # type: ignore[index]
    r = await client.put(
        f"/v1/companies/{w.company.id}/kpi-targets",
        json={"targets": {"owner_satisfaction": 90}},
        headers=f.auth(w.manager),
    )
    assert r.status_code == 200, r.text
    r = await client.put(
        f"/v1/companies/{w.company.id}/kpi-targets",
        json={"targets": {"owner_satisfaction": 90}},
        headers=f.auth(w.technician),
    )
    assert r.status_code == 403  # fmt: skip


async def test_company_dashboard_is_reused_until_a_rollup_or_a_target_changes(
    app: App, db: AsyncSession
) -> None:
    # From roll-ups the company table is kept per process; anything it is built from is part of its key.
    w, _ = await _world(db)
    ctx = await f.kpi_ctx(db, w.manager)
    t4 = await _repair(db, w, ctx, bj(2026, 4, 27, 10), timedelta(hours=24))  # on time in April
    await kpi_jobs.rollup(db, now=bj(2026, 5, 2, 9), community_ids=[w.cid])
    url = f"/v1/companies/{w.company.id}/kpis"

    async def repairs() -> list[tuple[object, ...]]:
        r = await app.client.get(url, params=RANGE, headers=f.auth(w.manager))
        assert r.status_code == 200, r.text
        s = _series(r.json(), "repair_timeliness")
        return [(s["target"], p["numerator"], p["denominator"], p["source"]) for p in s["periods"]]  # type: ignore[attr-defined]

    assert await repairs() == [(100.0, 1, 2, "snapshot"), (100.0, 1, 2, "snapshot")]
    assert await repairs() == [(100.0, 1, 2, "snapshot"), (100.0, 1, 2, "snapshot")]
    assert len(app.runtime.kpi_dashboards) == 1  # the second answer was the first table
    r = await app.client.put(
        f"/v1/companies/{w.company.id}/kpi-targets",
        json={"targets": {"repair_timeliness": 50}},
        headers=f.auth(w.manager),
    )
    assert r.status_code == 200, r.text
    assert await repairs() == [(50.0, 1, 2, "snapshot"), (50.0, 1, 2, "snapshot")]
    # The April repair is reopened in May: the next roll-up recomputes April, and the table follows.
    body = TransitionIn(action="reopen", version=t4.version, reason="又漏了")  # type: ignore[call-arg]
    await apply(Call(db, ctx, t4, body, bj(2026, 5, 2, 10), w.manager.id), "reopen")  # type: ignore[arg-type]
    await kpi_jobs.rollup(db, now=bj(2026, 5, 2, 15), community_ids=[w.cid])
    assert await repairs() == [(50.0, 1, 2, "snapshot"), (50.0, 0, 2, "snapshot")]
    assert len(app.runtime.kpi_dashboards) == 3


async def test_csv_and_chart(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w, _ = await _world(db)
    r = await client.get(
        f"/v1/communities/{w.cid}/kpis", params={**RANGE, "format": "csv"}, headers=f.auth(w.committee)
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("scope,scope_id,metric,title,period")
    formula = "在处理时限内完成的维修单 ÷ "
    row = next(x for x in lines if ",repair_timeliness,维修及时率,2026-03," in x)
    assert row.startswith(
        f"community,{w.cid},repair_timeliness,维修及时率,2026-03,2026-03-01,2026-03-31,1,2,50.00,100.00,no,live,no,,"
        + formula
    )
    r2 = await client.get(f"/v1/communities/{w.cid}/kpis.csv", params=RANGE, headers=f.auth(w.committee))
    assert r2.text == r.text
    r = await client.get(
        f"/v1/companies/{w.company.id}/kpis", params={**RANGE, "format": "csv"}, headers=f.auth(w.manager)
    )
    assert r.status_code == 200 and "company," in r.text

    r = await client.get(
        f"/v1/communities/{w.cid}/kpis/repair_timeliness/chart.svg", params=RANGE, headers=f.auth(w.committee)
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    svg = r.text
    assert "<svg" in svg and 'id="target-line"' in svg  # text is drawn as glyph paths
    assert "#d62728" in svg  # the March dot is red (and the target line)
    r = await client.get(
        f"/v1/companies/{w.company.id}/kpis/repair_timeliness/chart.svg",
        params=RANGE,
        headers=f.auth(w.manager),
    )
    assert r.status_code == 200 and 'id="target-line"' in r.text  # fmt: skip


async def test_bad_input_is_422(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w, _ = await _world(db)
    url = f"/v1/communities/{w.cid}/kpis"
    cases = [
        ({"from": "2026-05-01", "to": "2026-04-30"}, "kpi.range_reversed"),
        ({"from": "2020-01-01", "to": "2025-01-02"}, "kpi.range_too_long"),
        ({"metrics": "repair_timeliness,happiness"}, "kpi.unknown_metric"),
        ({"granularity": "fortnight"}, "kpi.unknown_granularity"),
    ]
    for params, code in cases:
        r = await client.get(url, params=params, headers=f.auth(w.admin))
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["code"] == code
    r = await client.get(url, params={"from": "2020-01-01", "to": "2025-01-01"}, headers=f.auth(w.admin))
    assert r.status_code == 200  # exactly five years is allowed
    r = await client.get(
        f"/v1/companies/{w.company.id}/kpis", params={"granularity": "hour"}, headers=f.auth(w.manager)
    )
    assert r.status_code == 422
    r = await client.get(url, params={"from": "not-a-date"}, headers=f.auth(w.admin))
    assert r.status_code == 422
    drill = f"/v1/communities/{w.cid}/kpis/repair_timeliness/tickets"
    for params in ({"period": "2026-13"}, {"period": "2026-03", "part": "all"}, {"period": "March"}):
        r = await client.get(drill, params=params, headers=f.auth(w.admin))
        assert r.status_code == 422, (params, r.text)
    r = await client.get(
        f"/v1/communities/{w.cid}/kpis/happiness/tickets",
        params={"period": "2026-03"},
        headers=f.auth(w.admin),
    )
    assert r.status_code == 422  # fmt: skip


async def test_access_rules(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w, _ = await _world(db)
    other = await f.ticket_world(db)
    url = f"/v1/communities/{w.cid}/kpis"
    assert (await client.get(url)).status_code == 401
    # Residents read their own community's published figures, not the ticket lists behind them.
    assert (await client.get(url, headers=f.auth(w.resident))).status_code == 200
    r = await client.get(
        f"{url}/repair_timeliness/tickets", params={"period": "2026-03"}, headers=f.auth(w.resident)
    )
    assert r.status_code == 403
    # Property staff (technicians) are not KPI readers; the manager is.
    assert (await client.get(url, headers=f.auth(w.technician))).status_code == 403
    assert (await client.get(url, headers=f.auth(w.manager))).status_code == 200
    grid = await f.community_staff(db, w.community, Role.grid_worker, "网格员")
    assert (await client.get(url, headers=f.auth(grid))).status_code == 200
    # Another community's KPIs do not exist for you.
    for who in (other.admin, other.resident, other.manager):
        assert (await client.get(url, headers=f.auth(who))).status_code == 404
        assert (
            await client.get(f"{url}/repair_timeliness/chart.svg", headers=f.auth(who))
        ).status_code == 404
    # Company KPIs: a resident of a managed community gets 403, another company's staff 404.
    company = f"/v1/companies/{w.company.id}/kpis"
    assert (await client.get(company, headers=f.auth(w.resident))).status_code == 403
    assert (await client.get(company, headers=f.auth(w.admin))).status_code == 403
    assert (await client.get(company, headers=f.auth(other.manager))).status_code == 404
    assert (await client.get(company, headers=f.auth(w.technician))).status_code == 200
    admin = await f.platform_admin(db)
    assert (await client.get(company, headers=f.auth(admin))).status_code == 200
    assert (await client.get("/v1/companies/999999/kpis", headers=f.auth(admin))).status_code == 404
    # A community that does not exist, or no longer does, has no KPIs (JSON or CSV) even for an admin.
    for path in ("/v1/communities/999999/kpis", "/v1/communities/999999/kpis.csv"):
        r = await client.get(path, headers=f.auth(admin))
        assert (r.status_code, r.json()["error"]["code"]) == (404, "community.not_found")
    other.community.deleted_at = utcnow()
    await db.commit()
    r = await client.get(f"/v1/communities/{other.cid}/kpis", headers=f.auth(admin))
    assert (r.status_code, r.json()["error"]["code"]) == (404, "community.not_found")
    assert (
        await client.get(f"/v1/companies/{w.company.id}/kpi-targets", headers=f.auth(w.resident))
    ).status_code == 403


async def test_community_table_is_reused_until_a_rollup_or_a_target_changes(
    app: App, db: AsyncSession, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The community table of closed, rolled-up months is kept per process like the company's; live
    # figures (a month never rolled up, the running month) are never kept.
    w, _ = await _world(db)
    ctx = await f.kpi_ctx(db, w.manager)
    t4 = await _repair(db, w, ctx, bj(2026, 4, 27, 10), timedelta(hours=24))
    url = f"/v1/communities/{w.cid}/kpis"

    async def repairs(params: dict[str, str] = RANGE) -> list[tuple[object, ...]]:
        r = await app.client.get(url, params=params, headers=f.auth(w.manager))
        assert r.status_code == 200, r.text
        s = _series(r.json(), "repair_timeliness")
        return [(s["target"], p["numerator"], p["denominator"], p["source"]) for p in s["periods"]]  # type: ignore[attr-defined]

    live = [(100.0, 1, 2, "live"), (100.0, 1, 2, "live")]
    assert await repairs() == live  # no roll-up yet: computed live, not kept
    assert len(app.runtime.kpi_dashboards) == 0
    await kpi_jobs.rollup(db, now=bj(2026, 5, 2, 9), community_ids=[w.cid])
    kept = [(100.0, 1, 2, "snapshot"), (100.0, 1, 2, "snapshot")]
    assert await repairs() == kept
    with count_statements(engine) as first:
        assert await repairs() == kept
    assert len(app.runtime.kpi_dashboards) == 1  # the second answer was the first table
    assert not any("kpi_snapshot" in s for s in first)  # … and read no snapshot
    dumps: list[int] = []
    real = KpiTable.model_dump_json
    monkeypatch.setattr(KpiTable, "model_dump_json", lambda t, **kw: dumps.append(1) or real(t, **kw))
    assert await repairs() == kept
    assert dumps == []  # … and its JSON was written once, when first served
    r = await app.client.put(
        f"/v1/communities/{w.cid}/kpi-targets",
        json={"targets": {"repair_timeliness": 50}},
        headers=f.auth(w.committee),
    )
    assert r.status_code == 200, r.text
    assert await repairs() == [(50.0, 1, 2, "snapshot"), (50.0, 1, 2, "snapshot")]
    body = TransitionIn(action="reopen", version=t4.version, reason="又漏了")  # type: ignore[call-arg]
    await apply(Call(db, ctx, t4, body, bj(2026, 5, 2, 10), w.manager.id), "reopen")  # type: ignore[arg-type]
    await kpi_jobs.rollup(db, now=bj(2026, 5, 2, 15), community_ids=[w.cid])
    assert await repairs() == [(50.0, 1, 2, "snapshot"), (50.0, 0, 2, "snapshot")]
    assert len(app.runtime.kpi_dashboards) == 3
    # The running month (June) is live on every read.
    june = {"from": "2026-06-01", "to": "2026-06-30", "granularity": "month"}
    assert await repairs(june) == [(50.0, 0, 2, "live")]  # the two repairs still open are late
    await _repair(db, w, ctx, bj(2026, 6, 10, 10), timedelta(hours=24))
    assert await repairs(june) == [(50.0, 1, 3, "live")]
    assert len(app.runtime.kpi_dashboards) == 3
