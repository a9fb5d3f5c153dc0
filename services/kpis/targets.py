"""KPI targets per community or company: defaults from the metric registry, overrides audited.

Community targets are set by the community admin (居委会) or the owners' committee; company targets
by the company's property manager or a platform admin. A community's figures are judged against the
community's target (else the default), a company's against the company's target (else the default).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services import audit
from services.errors import InvalidInput
from services.kpis.metrics import METRICS
from services.kpis.schemas import TargetOut, TargetsIn
from services.models import utcnow
from services.models.kpis import KpiTarget
from services.runtime import Ctx


def check_metrics(names: list[str]) -> list[str]:
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise InvalidInput("kpi.unknown_metric", details={"unknown": unknown, "known": list(METRICS)})
    return names


_T = KpiTarget.__table__.c  # type: ignore[attr-defined]
# Plain rows of the three columns a table shows (every dashboard read runs it), built once.
_OWN = sa.select(_T.metric, _T.target, _T.updated_at).where(
    _T.scope == sa.bindparam("scope"), _T.scope_id == sa.bindparam("scope_id")
)


async def effective(session: AsyncSession, scope: str, scope_id: int) -> dict[str, TargetOut]:
    rows = (await session.execute(_OWN, {"scope": scope, "scope_id": scope_id})).all()
    return effective_of(scope, [(r.metric, r.target, r.updated_at) for r in rows])


def effective_of(scope: str, own_rows: list[tuple[str, Decimal, datetime]]) -> dict[str, TargetOut]:
    """Every metric's target: the scope's own (metric, target, updated_at) rows, else the default."""
    own = {metric: (target, at) for metric, target, at in own_rows}
    out: dict[str, TargetOut] = {}
    for key, metric in METRICS.items():
        row = own.get(key)
        if row is None:
            out[key] = TargetOut(metric=key, target=float(metric.default_target), source="default")
        else:
            out[key] = TargetOut(metric=key, target=float(row[0]), source=scope, updated_at=row[1])  # type: ignore[arg-type]
    return out


def _valid(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value > 100 or value != value.quantize(Decimal("0.01")):
        raise InvalidInput("kpi.invalid_target", details={"target": str(value)})
    return value.quantize(Decimal("0.01"))


async def put(
    ctx: Ctx, scope: str, scope_id: int, body: TargetsIn, community_id: int | None = None
) -> list[TargetOut]:
    check_metrics(list(body.targets))
    values = {m: None if v is None else _valid(v) for m, v in body.targets.items()}
    principal = ctx.require_principal()
    rows = {
        r.metric: r
        for r in (
            await ctx.session.exec(
                select(KpiTarget).where(
                    KpiTarget.scope == scope,
                    KpiTarget.scope_id == scope_id,
                    col(KpiTarget.metric).in_(list(values)),
                )
            )
        ).all()
    }
    before = {m: (str(rows[m].target) if m in rows else None) for m in values}
    now = utcnow()
    for metric, value in values.items():
        row = rows.get(metric)
        if value is None:
            if row is not None:
                await ctx.session.delete(row)
            continue
        if row is None:
            row = KpiTarget(scope=scope, scope_id=scope_id, metric=metric, target=value)
        row.target, row.updated_by, row.updated_at = value, principal.user_id, now
        ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(
        ctx,
        "kpi.targets_updated",
        f"{scope}_kpi_targets",
        scope_id,
        community_id=community_id,
        before=before,
        after={m: (None if v is None else str(v)) for m, v in values.items()},
    )
    return list((await effective(ctx.session, scope, scope_id)).values())
