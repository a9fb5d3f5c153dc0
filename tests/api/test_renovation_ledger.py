"""The funds ledger: sources, payments within what was received, integer fen, the hash chain and its
verification, the CSV export and the public notice; residents read the summary, outsiders get 404."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import AuditLog
from services.models.notices import Notice
from services.models.renovation import FundSource, Payment
from tests import factories as f
from tests.api.renovation_world import RenoWorld, ok, project, upload, world


async def _setup(client: httpx.AsyncClient, db: AsyncSession) -> tuple[RenoWorld, int, int, int, int]:
    w = await world(db)
    p = await project(client, w)
    pid = p["id"]
    r = await client.post(f"/v1/renovation/projects/{pid}/items", headers=f.auth(w.admin), json={
        "item_class": "basic", "name": "屋面防水", "quantity": "1200", "unit": "m²", "budget_fen": 30_000_000,
    })  # fmt: skip
    item_id = (await ok(r, 201))["id"]
    r = await client.post(
        f"/v1/renovation/projects/{pid}/sources",
        json={"kind": "central", "committed_fen": 20_000_000, "received_fen": 10_000_000},
        headers=f.auth(w.admin),
    )
    source = await ok(r, 201)
    assert source["balance_fen"] == 10_000_000 and source["name"] == "中央补助"
    voucher = (await ok(await upload(client, w.admin, pid), 201))["id"]
    return w, pid, item_id, source["id"], voucher


def _pay(
    item_id: int, source_id: int, voucher: int, w: RenoWorld, amount: Any, **extra: Any
) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "source_id": source_id,
        "amount_fen": amount,
        "payee": "某建设公司",
        "approver_id": w.committee.id,
        "voucher_id": voucher,
        "paid_on": "2023-06-01",
        **extra,
    }


async def _count(db: AsyncSession) -> int:
    return int((await db.exec(select(sa.func.count()).select_from(Payment))).one())


async def test_payments_chain_balances_verify_and_export(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w, pid, item_id, source_id, voucher = await _setup(client, db)
    base = f"/v1/renovation/projects/{pid}"
    first = await ok(
        await client.post(
            base + "/payments", json=_pay(item_id, source_id, voucher, w, 6_000_000), headers=f.auth(w.admin)
        ),
        201,
    )
    second = await ok(
        await client.post(
            base + "/payments", json=_pay(item_id, source_id, voucher, w, 4_000_000), headers=f.auth(w.admin)
        ),
        201,
    )
    assert (first["seq"], second["seq"]) == (1, 2) and second["prev_hash"] == first["hash"]
    led = await ok(await client.get(base + "/ledger", headers=f.auth(w.committee)))
    assert led["sources"][0]["spent_fen"] == 10_000_000 and led["sources"][0]["balance_fen"] == 0
    assert led["items"][0]["spent_fen"] == 10_000_000 and led["items"][0]["remaining_fen"] == 20_000_000
    assert [p["seq"] for p in led["payments"]] == [1, 2]
    # A resident reads the summary without the rows.
    mine = await ok(await client.get(base + "/ledger", headers=f.auth(w.residents[0])))
    assert mine["payments"] is None and mine["spent_fen"] == 10_000_000
    verdict = await ok(await client.get(base + "/ledger/verify", headers=f.auth(w.committee)))
    assert verdict == {
        "ok": True, "payments": 2, "head_hash": second["hash"], "broken_seq": None,
        "broken_payment_id": None, "problem": None,
    }  # fmt: skip
    r = await client.get(base + "/ledger.csv", headers=f.auth(w.residents[0]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("序号,支付日期,改造内容") and len(lines) == 3
    assert ",60000.00," in lines[1] and first["hash"] in lines[1]
    summary = await ok(await client.get(base + "/ledger/summary", headers=f.auth(w.residents[0])))
    assert "已支出 100000.00 元" in summary["markdown"]
    # Published as a public notice through the notices area.
    notice = await ok(await client.post(base + "/ledger/notice", headers=f.auth(w.admin)))
    row = await db.get(Notice, notice["notice_id"])
    assert row is not None and row.kind == "publicity" and row.published_at is not None
    assert "资金使用台账" in row.body_md
    audits = (
        await db.exec(select(AuditLog.action).where(col(AuditLog.action) == "renovation.payment"))
    ).all()
    assert len(audits) == 2


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        (10_000_001, 409, "renovation.over_balance"),
        (-100, 422, "renovation.invalid_amount"),
        (100.5, 422, "renovation.invalid_amount"),
        (100.0, 422, "renovation.invalid_amount"),
        (0, 422, "renovation.invalid_amount"),
    ],
)
async def test_bad_amounts_write_nothing(
    client: httpx.AsyncClient, db: AsyncSession, amount: Any, status: int, code: str
) -> None:
    w, pid, item_id, source_id, voucher = await _setup(client, db)
    r = await client.post(
        f"/v1/renovation/projects/{pid}/payments",
        json=_pay(item_id, source_id, voucher, w, amount),
        headers=f.auth(w.admin),
    )
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert await _count(db) == 0
    src = await db.get(FundSource, source_id)
    assert src is not None
    await db.refresh(src)
    assert src.spent_fen == 0


async def test_bad_sources_approvers_and_vouchers(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w, pid, item_id, source_id, voucher = await _setup(client, db)
    url = f"/v1/renovation/projects/{pid}/payments"
    cases = [
        (
            _pay(item_id, source_id, voucher, w, 100, approver_id=w.residents[0].id),
            "renovation.approver_invalid",
        ),
        (_pay(item_id, source_id, 999_999, w, 100), "renovation.voucher_invalid"),
        (_pay(item_id, 999_999, voucher, w, 100), "renovation.source_not_found"),
        (_pay(999_999, source_id, voucher, w, 100), "renovation.item_not_found"),
    ]
    for body, code in cases:
        r = await client.post(url, json=body, headers=f.auth(w.admin))
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    r = await client.post(
        f"/v1/renovation/projects/{pid}/sources",
        json={"kind": "county", "received_fen": 1.5},
        headers=f.auth(w.admin),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "renovation.invalid_amount"
    # Residents and the committee do not record payments; a resident cannot upload a voucher.
    for who in (w.residents[0], w.committee):
        r = await client.post(url, json=_pay(item_id, source_id, voucher, w, 100), headers=f.auth(who))
        assert r.status_code == 403, r.text
    assert (await upload(client, w.residents[0], pid)).status_code == 403
    assert await _count(db) == 0
    # Lowering received below what was spent is refused.
    await ok(
        await client.post(url, json=_pay(item_id, source_id, voucher, w, 5_000), headers=f.auth(w.admin)), 201
    )
    r = await client.put(
        f"/v1/renovation/projects/{pid}/sources/{source_id}",
        json={"received_fen": 4_999},
        headers=f.auth(w.admin),
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "renovation.received_over_committed"


async def test_tampered_row_is_named(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w, pid, item_id, source_id, voucher = await _setup(client, db)
    url = f"/v1/renovation/projects/{pid}/payments"
    ids = [
        (
            await ok(
                await client.post(url, json=_pay(item_id, source_id, voucher, w, n), headers=f.auth(w.admin)),
                201,
            )
        )["id"]
        for n in (1_000, 2_000, 3_000)
    ]
    await db.execute(sa.update(Payment).where(col(Payment.id) == ids[1]).values(amount_fen=200))
    verdict = await ok(
        await client.get(f"/v1/renovation/projects/{pid}/ledger/verify", headers=f.auth(w.committee))
    )
    assert verdict["ok"] is False and verdict["broken_seq"] == 2 and verdict["broken_payment_id"] == ids[1]
    assert verdict["problem"] == "content_changed"
    # Deleting the newest row breaks the head.
    await db.execute(sa.update(Payment).where(col(Payment.id) == ids[1]).values(amount_fen=2_000))
    await db.execute(sa.delete(Payment).where(col(Payment.id) == ids[2]))
    verdict = await ok(
        await client.get(f"/v1/renovation/projects/{pid}/ledger/verify", headers=f.auth(w.committee))
    )
    assert verdict["ok"] is False and verdict["broken_seq"] == 3 and verdict["problem"] == "missing_payment"
    # Residents may not run the verification (committee and staff do).
    r = await client.get(f"/v1/renovation/projects/{pid}/ledger/verify", headers=f.auth(w.residents[0]))
    assert r.status_code == 403


async def test_other_community_is_404(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w, pid, item_id, source_id, voucher = await _setup(client, db)
    for who in (w.outsider_admin, w.outsider_resident):
        for path in ("", "/ledger", "/ledger.csv", "/milestones"):
            r = await client.get(f"/v1/renovation/projects/{pid}{path}", headers=f.auth(who))
            assert r.status_code == 404, (path, r.text)
        r = await client.post(
            f"/v1/renovation/projects/{pid}/payments",
            json=_pay(item_id, source_id, voucher, w, 1),
            headers=f.auth(who),
        )
        assert r.status_code == 404
    assert (await client.get(f"/v1/renovation/projects/{pid}")).status_code == 401
