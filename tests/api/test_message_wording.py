"""What messages say (issue 14 item 5, issue 21 item 8): reasons and statuses in words, in the reader's
locale, and an emergency SMS that carries the notice's instructions through its approved template."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.bootstrap import Resources
from services.models import Delivery, Notification, User
from services.notifications.sms import LogSmsProvider
from services.notifications.sms_templates import render_sms
from services.runtime import Runtime
from tests import factories as f
from tests.conftest import App
from workers.channels.push import LogPushChannel
from workers.tasks.deliveries import drain_once

pytestmark = pytest.mark.calendar


async def _last(db: AsyncSession, user: User, template: str) -> Notification:
    rows = (
        await db.exec(
            select(Notification).where(Notification.user_id == user.id).order_by(col(Notification.id))
        )
    ).all()
    found = [n for n in rows if n.data.get("template") == template]
    assert found, [n.data.get("template") for n in rows]
    return found[-1]


async def test_rejected_ticket_says_why_in_words(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await f.act(
        client, w.manager, t, "reject", reason_code="invalid", note="属于业主自用部分，请联系专业维修"
    )
    assert r.status_code == 200, r.text
    n = await _last(db, w.resident, "ticket.rejected")
    assert n.body == "「厨房水管漏水」未受理：不属于物业处理范围：属于业主自用部分，请联系专业维修"
    assert "invalid" not in n.body
    sms = render_sms("ticket.rejected", n.data)
    assert sms is not None and sms.key == "ticket_update"
    assert sms.params["status"] == "未受理"  # the Chinese label, not "rejected"
    assert sms.params["detail"].startswith("不属于物业处理范围：属于业主自用部分")
    assert len(sms.params["detail"]) <= 35


async def test_english_reader_gets_words_not_codes(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    w.resident.locale = "en"
    db.add(w.resident)
    await db.flush()
    t = await f.file_ticket(client, w)
    r = await f.act(client, w.manager, t, "reject", reason_code="duplicate")
    assert r.status_code == 200, r.text
    n = await _last(db, w.resident, "ticket.rejected")
    assert n.body == '"厨房水管漏水" was rejected: Duplicate'

    t = await f.file_ticket(client, w, title="楼道灯不亮", category="electrical")
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    r = await f.act(client, w.technician, r.json(), "pause", reason_code="waiting_for_parts", note="等灯管")
    assert r.status_code == 200, r.text
    n = await _last(db, w.resident, "ticket.paused")
    assert n.body == '"楼道灯不亮" is paused: Waiting for parts (等灯管)'
    assert "waiting_for_parts" not in n.body


async def test_emergency_sms_carries_the_instructions(
    app: App, db: AsyncSession, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    w = await f.notice_world(db)
    body = (
        "## 燃气泄漏\n\n**3号楼**燃气管道泄漏。请立即关闭燃气总阀，不要开关电器，开窗通风后到小区南门集合。"
    )
    n = await f.post_notice(
        app.client, w.admin, w.cid, kind="emergency", title="燃气泄漏紧急疏散", body_md=body
    )
    row = await _last(db, w.residents[0], "notice.emergency")
    # The push carries the instructions as well, not "read now".
    assert row.body.startswith("燃气泄漏 3号楼燃气管道泄漏。请立即关闭燃气总阀")
    # Nobody in this world has the app: the critical notice goes by SMS at once.
    deliveries = (await db.exec(select(Delivery).where(Delivery.notification_id == row.id))).all()
    assert [d.channel for d in deliveries] == ["sms"]
    await db.commit()

    sms = LogSmsProvider(outbox_path=None)
    resources = Resources(engine, sessionmaker, Runtime(settings=app.settings, sms=sms))
    stats = await drain_once(resources, LogPushChannel())
    assert stats.sent >= 1
    mine = [m for m in sms.sent if m.phone == w.residents[0].phone]
    assert len(mine) == 1
    message = mine[0]
    assert message.template == "notice_emergency"
    assert message.params is not None and message.params["title"] == "燃气泄漏紧急疏散"
    content = message.params["content"]
    assert content.startswith("燃气泄漏 3号楼燃气管道泄漏。") and len(content) <= 35
    assert message.text == f"紧急通知：燃气泄漏紧急疏散。内容：{content}"
    assert "查看" not in message.text and n["id"]
