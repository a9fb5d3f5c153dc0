"""Four payments race for one source holding enough for two: exactly two are recorded, the others get
renovation.over_balance, and the chain stays whole. Each request has its own session (committed
set-up rows, cleaned up at the end), as in tests/api/test_poll_race.py."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from services.config import Settings
from services.db import session_factory, transaction
from services.models import Attachment, AuditLog, Building, Community, Household, Membership, User
from services.models.renovation import FundSource, Payment, RenovationItem, RenovationProject
from tests import factories as f
from tests.api.renovation_world import RenoWorld, ok, project, upload, world
from tests.conftest import committed_client


async def _cleanup(engine: AsyncEngine, w: RenoWorld) -> None:
    cids = [w.cid]
    async with session_factory(engine)() as s, transaction(s):
        outsider_cids = (
            await s.execute(
                sa.select(Membership.community_id).where(
                    col(Membership.user_id).in_([w.outsider_admin.id, w.outsider_resident.id])
                )
            )
        ).scalars()
        cids += [c for c in outsider_cids if c is not None]
        users = list(
            (
                await s.execute(sa.select(Membership.user_id).where(col(Membership.community_id).in_(cids)))
            ).scalars()
        )
        projects = sa.select(RenovationProject.id).where(col(RenovationProject.community_id).in_(cids))
        for stmt in (
            sa.delete(Payment).where(col(Payment.project_id).in_(projects)),
            sa.delete(FundSource).where(col(FundSource.project_id).in_(projects)),
            sa.delete(RenovationItem).where(col(RenovationItem.project_id).in_(projects)),
            sa.delete(Attachment).where(col(Attachment.community_id).in_(cids)),
            sa.delete(RenovationProject).where(col(RenovationProject.community_id).in_(cids)),
            sa.delete(AuditLog).where(col(AuditLog.actor_id).in_(users)),
            sa.delete(Membership).where(col(Membership.user_id).in_(users)),
            sa.delete(User).where(col(User.id).in_(users)),
            sa.delete(Household).where(col(Household.community_id).in_(cids)),
            sa.delete(Building).where(col(Building.community_id).in_(cids)),
            sa.delete(Community).where(col(Community.id).in_(cids)),
        ):
            await s.execute(stmt)


async def test_concurrent_payments_never_overspend_a_source(settings: Settings, engine: AsyncEngine) -> None:
    maker = session_factory(engine)
    async with maker() as s, transaction(s):
        w = await world(s)
    try:
        async with committed_client(settings, engine, maker) as client:
            pid = (await project(client, w))["id"]
            base = f"/v1/renovation/projects/{pid}"
            body = {
                "item_class": "basic",
                "name": "管网改造",
                "quantity": "300",
                "unit": "m",
                "budget_fen": 99_000_000,
            }
            item_id = (await ok(await client.post(base + "/items", json=body, headers=f.auth(w.admin)), 201))[
                "id"
            ]
            src = {"kind": "county", "committed_fen": 10_000_000, "received_fen": 8_000_000}
            source_id = (
                await ok(await client.post(base + "/sources", json=src, headers=f.auth(w.admin)), 201)
            )["id"]
            voucher = (await ok(await upload(client, w.admin, pid), 201))["id"]
            pay = {
                "item_id": item_id, "source_id": source_id, "amount_fen": 4_000_000, "payee": "施工单位",
                "approver_id": w.committee.id, "voucher_id": voucher, "paid_on": "2026-11-30",
            }  # fmt: skip
            results = await asyncio.gather(
                *[client.post(base + "/payments", json=pay, headers=f.auth(w.admin)) for _ in range(4)]
            )
            assert sorted(r.status_code for r in results) == [201, 201, 409, 409], [r.text for r in results]
            assert {r.json()["error"]["code"] for r in results if r.status_code == 409} == {
                "renovation.over_balance"
            }
            async with maker() as s:
                source = await s.get(FundSource, source_id)
                head = await s.get(RenovationProject, pid)
                assert source is not None and source.spent_fen == 8_000_000
                assert head is not None and head.payment_count == 2
            verdict = await ok(await client.get(base + "/ledger/verify", headers=f.auth(w.committee)))
            assert verdict["ok"] is True and verdict["payments"] == 2
    finally:
        await _cleanup(engine, w)
