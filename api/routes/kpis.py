"""KPI dashboards, drill-down, targets, CSV export and the chart (PNG or SVG) (rules: services/kpis)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response

from api.deps import AuthCtx, CommunityId, ObjectId
from api.responses import ModelResponse
from services.kpis import charts, drilldown, export, monthly, service
from services.kpis.schemas import CompanyDrill, DrillPage, KpiTable, TargetOut, TargetsIn
from services.models import Community
from services.schemas import Day, ResponseBody, Text

router = APIRouter(prefix="/v1", tags=["kpis"])

From = Annotated[Day | None, Query(alias="from", description="first local day (default: 12 months back)")]
To = Annotated[Day | None, Query(description="last local day, inclusive (default: today)")]
Gran = Annotated[Text, Query(description="day | week | month | quarter | year")]
Metrics = Annotated[Text | None, Query(description="comma-separated metric keys (default: all)")]
Live = Annotated[bool, Query(description="compute every period live instead of reading snapshots")]
Format = Annotated[Literal["json", "csv"], Query()]
CSV = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Period:
    """The range and granularity every KPI view takes; dates are local to the zone given to query()."""

    first: date | None
    last: date | None
    granularity: str

    def query(self, zone: str, metrics: str | None = None, live: bool = False) -> service.Query:
        return service.parse_query(self.first, self.last, self.granularity, metrics, live, zone)


async def _period(from_: From = None, to: To = None, granularity: Gran = "month") -> Period:
    # async: a sync dependency would hop to the threadpool on every request
    return Period(from_, to, granularity)


PeriodQ = Annotated[Period, Depends(_period)]


def _csv(body: str, name: str) -> Response:
    return Response(
        body, media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{name}.csv"'}
    )


async def _community(ctx: AuthCtx, cid: int) -> Community:
    """The community (readers only), for its time zone. Routes keep the object while the service runs:
    the session's identity map then answers the service's own load without a second query."""
    return await service.load_community(ctx, cid, service.READERS)


@router.get("/communities/{cid}/kpis", response_model=KpiTable, summary="A community's KPIs per period")
async def community_kpis(
    cid: CommunityId,
    ctx: AuthCtx,
    period: PeriodQ,
    metrics: Metrics = None,
    live: Live = False,
    format: Format = "json",
) -> Response | KpiTable:
    head = await service.community_head(ctx, cid)
    q = period.query(head.time_zone, metrics, live)
    if format == "csv":
        return _csv(await export.community_csv(ctx, cid, q, head), f"kpis-community-{cid}")
    return ModelResponse(await service.community_kpis(ctx, cid, q, head=head))


@router.get("/companies/{company_id}/kpis", response_model=KpiTable, summary="A property company's KPIs")
async def company_kpis(
    company_id: ObjectId,
    ctx: AuthCtx,
    period: PeriodQ,
    metrics: Metrics = None,
    live: Live = False,
    format: Format = "json",
) -> Response | KpiTable:
    q = period.query(service.DEFAULT_ZONE, metrics, live)
    if format == "csv":
        return _csv(await export.company_csv(ctx, company_id, q), f"kpis-company-{company_id}")
    return ModelResponse(await service.company_kpis(ctx, company_id, q))


@router.get("/communities/{cid}/kpis.csv", summary="A community's KPIs as CSV")
async def community_kpis_csv(
    cid: CommunityId,
    ctx: AuthCtx,
    period: PeriodQ,
    metrics: Metrics = None,
) -> Response:
    head = await service.community_head(ctx, cid)
    q = period.query(head.time_zone, metrics)
    return _csv(await export.community_csv(ctx, cid, q, head), f"kpis-community-{cid}")


@router.get(
    "/communities/{cid}/kpis/{metric}/tickets",
    response_model=DrillPage,
    summary="The tickets (or items) behind one period's numerator, denominator or exclusions",
)
async def community_drilldown(
    cid: CommunityId,
    metric: Text,
    ctx: AuthCtx,
    period: Annotated[Text, Query(description="2026-10, 2026-W40, 2026-Q4, 2026 or 2026-10-01")],
    part: Annotated[Text, Query(description="numerator | denominator | excluded")] = "denominator",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Text | None = None,
) -> DrillPage:
    return await drilldown.drilldown(ctx, cid, metric, period, part, limit, cursor)


ChartFmt = Literal["svg", "png"]


def _image(body: bytes, fmt: ChartFmt) -> Response:
    return Response(body, media_type=charts.MEDIA[fmt])


async def _community_chart(ctx: AuthCtx, cid: int, metric: str, period: Period, fmt: ChartFmt) -> Response:
    community = await _community(ctx, cid)
    q = period.query(community.time_zone, metric)
    return _image(await export.community_chart(ctx, cid, metric, q, fmt), fmt)


async def _company_chart(
    ctx: AuthCtx, company_id: int, metric: str, period: Period, fmt: ChartFmt
) -> Response:
    q = period.query(service.DEFAULT_ZONE, metric)
    return _image(await export.company_chart(ctx, company_id, metric, q, fmt), fmt)


CHART = "A metric over time: target line, the partial period hollow, the formula in the footnote"


@router.get(
    "/companies/{company_id}/kpis/{metric}/communities",
    response_model=CompanyDrill,
    summary="One period of a company metric per community, worst first (then each one's tickets)",
)
async def company_drilldown(
    company_id: ObjectId,
    metric: Text,
    ctx: AuthCtx,
    period: Annotated[Text, Query(description="2026-10, 2026-W40, 2026-Q4, 2026 or 2026-10-01")],
) -> CompanyDrill:
    return await drilldown.company_communities(ctx, company_id, metric, period)


@router.get("/communities/{cid}/kpis/{metric}/chart.svg", summary=f"{CHART} (SVG)", response_class=Response)
async def community_chart(cid: CommunityId, metric: Text, ctx: AuthCtx, period: PeriodQ) -> Response:
    return await _community_chart(ctx, cid, metric, period, "svg")


@router.get("/communities/{cid}/kpis/{metric}/chart.png", summary=f"{CHART} (PNG)", response_class=Response)
async def community_chart_png(cid: CommunityId, metric: Text, ctx: AuthCtx, period: PeriodQ) -> Response:
    return await _community_chart(ctx, cid, metric, period, "png")


@router.get(
    "/companies/{company_id}/kpis/{metric}/chart.svg",
    summary="A company metric (SVG)",
    response_class=Response,
)
async def company_chart(company_id: ObjectId, metric: Text, ctx: AuthCtx, period: PeriodQ) -> Response:
    return await _company_chart(ctx, company_id, metric, period, "svg")


@router.get(
    "/companies/{company_id}/kpis/{metric}/chart.png",
    summary="A company metric (PNG)",
    response_class=Response,
)
async def company_chart_png(company_id: ObjectId, metric: Text, ctx: AuthCtx, period: PeriodQ) -> Response:
    return await _company_chart(ctx, company_id, metric, period, "png")


@router.get("/communities/{cid}/kpi-targets", summary="A community's KPI targets (defaults filled in)")
async def get_community_targets(cid: CommunityId, ctx: AuthCtx) -> list[TargetOut]:
    return await service.community_targets(ctx, cid)


@router.put("/communities/{cid}/kpi-targets", summary="Set targets (community admin or committee)")
async def put_community_targets(cid: CommunityId, body: TargetsIn, ctx: AuthCtx) -> list[TargetOut]:
    return await service.set_community_targets(ctx, cid, body)


@router.get("/companies/{company_id}/kpi-targets", summary="A company's KPI targets")
async def get_company_targets(company_id: ObjectId, ctx: AuthCtx) -> list[TargetOut]:
    return await service.company_targets(ctx, company_id)


@router.put("/companies/{company_id}/kpi-targets", summary="Set company targets (its manager)")
async def put_company_targets(company_id: ObjectId, body: TargetsIn, ctx: AuthCtx) -> list[TargetOut]:
    return await service.set_company_targets(ctx, company_id, body)


# --- the monthly service report ---------------------------------------------------------------------

Month = Annotated[Text, Query(description="YYYY-MM, local to the community (the company: Beijing)")]
PDF = "application/pdf"


class ReportState(ResponseBody):
    community_id: int
    month: str
    approved_by: int | None
    approved_at: datetime | None
    notice_id: int | None
    published_at: datetime | None


def _pdf(pdf: monthly.Pdf) -> Response:
    name = quote(pdf.filename)
    return Response(
        pdf.body,
        media_type=PDF,
        headers={"Content-Disposition": f"attachment; filename=\"report.pdf\"; filename*=UTF-8''{name}"},
    )


@router.get(
    "/communities/{cid}/reports/monthly",
    summary="The monthly service report (物业服务月报) as an A4 PDF",
    response_class=Response,
    responses={200: {"content": {PDF: {}}}},
)
async def community_report(cid: CommunityId, ctx: AuthCtx, month: Month) -> Response:
    return _pdf(await monthly.community_pdf(ctx, cid, month))


@router.post(
    "/communities/{cid}/reports/monthly/approval",
    response_model=ReportState,
    summary="The committee approves a closed month's report (its signature appears on the PDF)",
)
async def approve_report(cid: CommunityId, ctx: AuthCtx, month: Month) -> ReportState:
    return ReportState.model_validate(await monthly.approve(ctx, cid, month))


@router.post(
    "/communities/{cid}/reports/monthly/notice",
    response_model=ReportState,
    status_code=201,
    summary="The committee posts the report as a notice: PDF attached, on the noticeboard, published",
)
async def publish_report(cid: CommunityId, ctx: AuthCtx, month: Month) -> ReportState:
    return ReportState.model_validate(await monthly.publish(ctx, cid, month))


@router.get(
    "/companies/{company_id}/reports/monthly",
    summary="A company's monthly report: its communities summed and ranked (PDF)",
    response_class=Response,
    responses={200: {"content": {PDF: {}}}},
)
async def company_report(company_id: ObjectId, ctx: AuthCtx, month: Month) -> Response:
    return _pdf(await monthly.company_pdf(ctx, company_id, month))
