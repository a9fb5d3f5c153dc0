"""The funds ledger (资金使用台账): sources with committed / received amounts, and payments.

Payments are append-only and hash-chained per project with the ballots' helper (services.polls.chain:
hash_n = sha256(hash_{n-1} ‖ canonical JSON of payment n)); the project row keeps the head. A payment
takes the project row lock (which orders the chain) and then its source's row lock, so two payments
racing for the last yuan of a source cannot both pass "never more than was received for that source".
"""

from __future__ import annotations

import csv
import io
from datetime import UTC

import orjson
from sqlmodel import col, select

from services import audit
from services.access import require_community
from services.errors import Conflict, Forbidden, InvalidInput
from services.models import Attachment, Membership, MembershipStatus
from services.models.base import utcnow
from services.models.renovation import FundSource, Payment, RenovationItem, RenovationProject
from services.polls.chain import StoredBallot, link, walk
from services.renovation.common import (
    APPROVERS,
    LEDGER_READERS,
    MANAGERS,
    fen,
    is_staff,
    load_item,
    load_project,
    project_rows,
)
from services.renovation.projects import spent_per_item
from services.renovation.schemas import (
    LedgerOut,
    PaymentCreate,
    PaymentOut,
    SourceCreate,
    SourceOut,
    SourceUpdate,
    VerifyOut,
)
from services.runtime import Ctx

SOURCE_ZH = {
    "central": "中央补助",
    "provincial": "省级补助",
    "county": "县级补助",
    "special_bond": "专项债券",
    "employer_unit": "原产权单位",
    "utility": "管线单位",
    "social_capital": "社会资本",
    "residents": "居民出资",
    "maintenance_fund": "维修资金",
}


def canonical(p: Payment) -> bytes:
    """What the chain covers: every field of the payment, times in UTC with microseconds."""
    return orjson.dumps(
        {
            "project_id": p.project_id,
            "seq": p.seq,
            "item_id": p.item_id,
            "source_id": p.source_id,
            "amount_fen": p.amount_fen,
            "payee": p.payee,
            "approver_id": p.approver_id,
            "recorded_by": p.recorded_by,
            "voucher_id": p.voucher_id,
            "memo": p.memo,
            "paid_on": p.paid_on.isoformat(),
            "created_at": p.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        },
        option=orjson.OPT_SORT_KEYS,
    )


def _source_out(s: FundSource) -> SourceOut:
    return SourceOut(
        id=s.id or 0,
        kind=s.kind,
        name=s.name or SOURCE_ZH.get(s.kind, s.kind),
        committed_fen=s.committed_fen,
        received_fen=s.received_fen,
        spent_fen=s.spent_fen,
        balance_fen=s.received_fen - s.spent_fen,
    )


def _payment_out(p: Payment) -> PaymentOut:
    return PaymentOut.model_validate(p, from_attributes=True)


async def add_source(ctx: Ctx, project_id: int, body: SourceCreate) -> SourceOut:
    p = await load_project(ctx, project_id)
    require_community(ctx.require_principal(), p.community_id, MANAGERS)
    s = FundSource(
        project_id=p.id or 0,
        kind=body.kind,
        name=body.name,
        committed_fen=fen(body.committed_fen, "committed_fen"),
        received_fen=fen(body.received_fen, "received_fen"),
    )
    ctx.session.add(s)
    await ctx.session.flush()
    await audit.record(
        ctx, "renovation.source_create", "renovation_fund_source", s.id, community_id=p.community_id,
        after={"kind": s.kind, "committed_fen": s.committed_fen, "received_fen": s.received_fen},
    )  # fmt: skip
    return _source_out(s)


async def _locked_source(ctx: Ctx, project: RenovationProject, source_id: int) -> FundSource:
    s = (
        await ctx.session.exec(
            select(FundSource)
            .where(FundSource.id == source_id, FundSource.project_id == project.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if s is None:
        raise InvalidInput("renovation.source_not_found", details={"source_id": source_id})
    return s


async def update_source(ctx: Ctx, project_id: int, source_id: int, body: SourceUpdate) -> SourceOut:
    p = await load_project(ctx, project_id, lock=True)
    require_community(ctx.require_principal(), p.community_id, MANAGERS)
    s = await _locked_source(ctx, p, source_id)
    before = {"committed_fen": s.committed_fen, "received_fen": s.received_fen}
    if body.committed_fen is not None:
        s.committed_fen = fen(body.committed_fen, "committed_fen")
    if body.received_fen is not None:
        received = fen(body.received_fen, "received_fen")
        if received < s.spent_fen:
            raise Conflict(
                "renovation.received_over_committed",
                details={"spent_fen": s.spent_fen, "received_fen": received},
            )
        s.received_fen = received
    ctx.session.add(s)
    await ctx.session.flush()
    await audit.record(
        ctx, "renovation.source_update", "renovation_fund_source", s.id, community_id=p.community_id,
        before=before, after={"committed_fen": s.committed_fen, "received_fen": s.received_fen},
    )  # fmt: skip
    return _source_out(s)


async def _check_approver(ctx: Ctx, community_id: int, user_id: int) -> None:
    found = (
        await ctx.session.exec(
            select(Membership.id).where(
                Membership.community_id == community_id,
                Membership.user_id == user_id,
                Membership.status == MembershipStatus.verified,
                col(Membership.role).in_(list(APPROVERS)),
            )
        )
    ).first()
    if found is None:
        raise InvalidInput("renovation.approver_invalid", details={"approver_id": user_id})


async def _check_voucher(ctx: Ctx, project_id: int, voucher_id: int) -> None:
    a = await ctx.session.get(Attachment, voucher_id)
    if (
        a is None
        or a.owner_type != "renovation_project"
        or a.owner_id != project_id
        or a.purpose != "voucher"
        or a.deleted_at is not None
    ):
        raise InvalidInput("renovation.voucher_invalid", details={"voucher_id": voucher_id})


async def record_payment(ctx: Ctx, project_id: int, body: PaymentCreate) -> PaymentOut:
    principal = ctx.require_principal()
    amount = fen(body.amount_fen, "amount_fen")
    if amount == 0:
        raise InvalidInput("renovation.invalid_amount", details={"field": "amount_fen", "value": 0})
    p = await load_project(ctx, project_id, lock=True)  # orders the chain
    require_community(principal, p.community_id, MANAGERS)
    item = await load_item(ctx, p, body.item_id)
    await _check_approver(ctx, p.community_id, body.approver_id)
    await _check_voucher(ctx, p.id or 0, body.voucher_id)
    source = await _locked_source(ctx, p, body.source_id)
    balance = source.received_fen - source.spent_fen
    if amount > balance:
        raise Conflict(
            "renovation.over_balance",
            details={"source_id": source.id, "balance_fen": balance, "amount_fen": amount},
        )
    row = Payment(
        project_id=p.id or 0,
        seq=p.payment_count + 1,
        prev_hash=p.last_hash,
        hash="",
        item_id=item.id or 0,
        source_id=source.id or 0,
        amount_fen=amount,
        payee=body.payee,
        approver_id=body.approver_id,
        recorded_by=principal.user_id,
        voucher_id=body.voucher_id,
        memo=body.memo,
        paid_on=body.paid_on,
        created_at=utcnow(),
    )
    row.hash = link(row.prev_hash, canonical(row))
    source.spent_fen += amount
    p.payment_count = row.seq
    p.last_hash = row.hash
    ctx.session.add_all([row, source, p])
    await ctx.session.flush()
    await audit.record(
        ctx, "renovation.payment", "renovation_payment", row.id, community_id=p.community_id,
        after={"seq": row.seq, "amount_fen": amount, "source_id": source.id, "hash": row.hash},
    )  # fmt: skip
    return _payment_out(row)


async def ledger(ctx: Ctx, project_id: int) -> LedgerOut:
    """Residents of the community read the summary; committee and staff the payment rows too."""
    p = await load_project(ctx, project_id)
    principal = ctx.require_principal()
    require_community(principal, p.community_id)
    full = is_staff(principal, p.community_id, LEDGER_READERS)
    pid = p.id or 0
    sources = (
        await ctx.session.exec(
            select(FundSource).where(FundSource.project_id == pid).order_by(col(FundSource.id))
        )
    ).all()
    items = (
        await ctx.session.exec(
            select(RenovationItem).where(RenovationItem.project_id == pid).order_by(col(RenovationItem.id))
        )
    ).all()
    spent = await spent_per_item(ctx, pid)
    payments = None
    if full:
        payments = [
            _payment_out(r)
            for r in (
                await ctx.session.exec(
                    select(Payment).where(Payment.project_id == pid).order_by(col(Payment.seq))
                )
            ).all()
        ]
    return LedgerOut(
        project_id=pid,
        sources=[_source_out(s) for s in sources],
        items=[
            {
                "id": i.id,
                "name": i.name,
                "budget_fen": i.budget_fen,
                "spent_fen": spent.get(i.id or 0, 0),
                "remaining_fen": i.budget_fen - spent.get(i.id or 0, 0),
            }
            for i in items
        ],
        committed_fen=sum(s.committed_fen for s in sources),
        received_fen=sum(s.received_fen for s in sources),
        spent_fen=sum(s.spent_fen for s in sources),
        payments=payments,
    )


async def verify(ctx: Ctx, project_id: int) -> VerifyOut:
    """Recompute the chain from the rows; the first broken row is named by seq and id."""
    p = await load_project(ctx, project_id)
    require_community(ctx.require_principal(), p.community_id, LEDGER_READERS)
    rows = await project_rows(ctx, Payment, p, col(Payment.seq))
    stored = [StoredBallot(r.seq, r.prev_hash, r.hash, canonical(r)) for r in rows]
    v = walk(stored, p.payment_count, p.last_hash)
    by_seq = {r.seq: r.id for r in rows}
    return VerifyOut(
        ok=v.ok,
        payments=v.ballots,
        head_hash=v.head_hash,
        broken_seq=v.broken_seq,
        broken_payment_id=by_seq.get(v.broken_seq) if v.broken_seq is not None else None,
        problem=v.problem.replace("ballot", "payment") if v.problem else None,
    )


def yuan(value: int) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"


async def export_csv(ctx: Ctx, project_id: int) -> tuple[str, bytes]:
    """Readable by the community's residents: the payment rows with the chain hashes, UTF-8 with a BOM
    so Excel opens the Chinese text."""
    p = await load_project(ctx, project_id)
    require_community(ctx.require_principal(), p.community_id)
    pid = p.id or 0
    names = dict(
        (
            await ctx.session.exec(
                select(RenovationItem.id, RenovationItem.name).where(RenovationItem.project_id == pid)
            )
        ).all()
    )
    sources = {
        s.id: s
        for s in (await ctx.session.exec(select(FundSource).where(FundSource.project_id == pid))).all()
    }
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "序号",
            "支付日期",
            "改造内容",
            "资金来源",
            "金额(元)",
            "收款方",
            "审批人ID",
            "凭证ID",
            "备注",
            "哈希",
        ]
    )
    for r in (
        await ctx.session.exec(select(Payment).where(Payment.project_id == pid).order_by(col(Payment.seq)))
    ).all():
        src = sources.get(r.source_id)
        w.writerow(
            [
                r.seq,
                r.paid_on.isoformat(),
                names.get(r.item_id, ""),
                (src.name or SOURCE_ZH.get(src.kind, src.kind)) if src else "",
                yuan(r.amount_fen),
                r.payee,
                r.approver_id,
                r.voucher_id,
                r.memo,
                r.hash,
            ]
        )
    return f"renovation-{pid}-ledger.csv", ("\ufeff" + buf.getvalue()).encode("utf-8")


async def summary_text(ctx: Ctx, project_id: int) -> str:
    """The printable summary (markdown): totals per source and per item, and the chain head."""
    p = await load_project(ctx, project_id)
    data = await ledger(ctx, project_id)
    lines = [
        f"# {p.title} 资金使用台账",
        "",
        f"承诺 {yuan(data.committed_fen)} 元，到位 {yuan(data.received_fen)} 元，已支出 {yuan(data.spent_fen)} 元。",
        "",
        "| 资金来源 | 承诺(元) | 到位(元) | 支出(元) | 余额(元) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {s.name} | {yuan(s.committed_fen)} | {yuan(s.received_fen)} | {yuan(s.spent_fen)} | {yuan(s.balance_fen)} |"
        for s in data.sources
    ]
    lines += ["", "| 改造内容 | 预算(元) | 支出(元) |", "|---|---|---|"]
    lines += [f"| {i['name']} | {yuan(i['budget_fen'])} | {yuan(i['spent_fen'])} |" for i in data.items]
    lines += ["", f"台账共 {p.payment_count} 笔，链头哈希 {p.last_hash}。"]
    return "\n".join(lines)


async def publish_notice(ctx: Ctx, project_id: int) -> int:
    """Publish the summary as a public notice (公示, with its comment window) through the notices area."""
    from services.notices import service as notices
    from services.notices.schemas import NoticeCreate, PublishIn

    p = await load_project(ctx, project_id)
    principal = ctx.require_principal()
    require_community(principal, p.community_id, MANAGERS)
    if not is_staff(principal, p.community_id, MANAGERS):
        raise Forbidden()
    body = await summary_text(ctx, project_id)
    created = await notices.create_notice(
        ctx,
        p.community_id,
        NoticeCreate(kind="publicity", title=f"{p.title} 资金使用公示"[:100], body_md=body[:10000]),  # type: ignore[arg-type]  # str literals validate to the enums
    )
    published = await notices.publish(ctx, created.id, PublishIn())
    await audit.record(
        ctx, "renovation.ledger_notice", "renovation_project", p.id, community_id=p.community_id,
        after={"notice_id": published.id},
    )  # fmt: skip
    return published.id
