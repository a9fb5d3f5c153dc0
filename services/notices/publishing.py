"""Publishing: receipts for the whole audience and the notification fan-out, in one transaction.

Used by POST /v1/notices/{id}/publish and by the scheduler job for due scheduled notices.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import utcnow
from services.models.notices import Notice, NoticeKind, NoticeStatus
from services.notices import audience
from services.notices.common import DEFAULT_WINDOW_DAYS, FANOUT_THRESHOLD
from services.notices.templates import AUTHOR_EN, AUTHOR_ZH, KIND_EN, KIND_ZH
from services.notifications.fanout import notify_later
from services.notifications.outbox import notify

_LINE_MARKS = re.compile(r"^\s*(#{1,6}|>|[-+*]|\d+\.)\s+", re.MULTILINE)  # headings, quotes, lists
_LINKS = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"[*`~]+|__")


def category_of(notice: Notice) -> str:
    return "emergency" if notice.kind == NoticeKind.emergency else "notice"


def template_data(notice: Notice, **extra: Any) -> dict[str, Any]:
    return {
        "notice_id": notice.id,
        "community_id": notice.community_id,
        "kind": notice.kind,
        "title": notice.title,
        "author": AUTHOR_ZH.get(notice.author_role, ""),
        "author_en": AUTHOR_EN.get(notice.author_role, ""),
        "kind_zh": KIND_ZH.get(notice.kind, ""),
        "kind_en": KIND_EN.get(notice.kind, ""),
        # The words themselves, for an emergency's push and SMS ("please look in the app" helps nobody
        # whose phone has no app).
        "summary": summary(notice.body_md),
        **extra,
    }


def summary(body_md: str, limit: int = 300) -> str:
    """The notice text as one plain line: markdown marks and extra whitespace dropped, cut at `limit`."""
    text = _EMPHASIS.sub("", _LINKS.sub(r"\1", _LINE_MARKS.sub("", body_md or "")))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def send(
    session: AsyncSession,
    notice: Notice,
    recipients: list[int],
    template: str,
    dedupe_key: str,
    *,
    category: str | None = None,
    **extra: Any,
) -> int | None:
    """Small audiences are notified in this transaction; large ones through a chunked fan-out job
    (services.notifications.fanout, advanced by the scheduler's `run_fanouts`). Returns its id."""
    cat = category or category_of(notice)
    data = template_data(notice, **extra)
    if len(recipients) > FANOUT_THRESHOLD:
        return await notify_later(
            session, recipients, cat, template, data, dedupe_key, community_id=notice.community_id
        )
    await notify(session, recipients, cat, template, data, dedupe_key, community_id=notice.community_id)
    return None


async def publish_now(session: AsyncSession, notice: Notice, now: datetime | None = None) -> int:
    """draft | scheduled → published. Writes every receipt with one INSERT … SELECT, then notifies the
    audience (the author excepted). Returns the number of receipts. Flushes, never commits."""
    now = now or utcnow()
    notice.status = NoticeStatus.published
    notice.published_at = now
    notice.publish_at = notice.publish_at or now
    if notice.kind == NoticeKind.publicity:
        days = notice.comment_window_days or DEFAULT_WINDOW_DAYS
        notice.comment_window_days = days
        notice.comment_closes_at = now + timedelta(days=days)
    notice.version += 1
    notice.updated_at = now
    session.add(notice)
    await session.flush()
    readers = await audience.write_receipts(session, notice, date.today())
    recipients = [u for u in readers if u != notice.author_id]
    template = "notice.emergency" if notice.kind == NoticeKind.emergency else "notice.published"
    await send(session, notice, recipients, template, f"notice:{notice.id}:published")
    if notice.offline_reach:
        from services.notices.offline import reach_households_without_app

        await reach_households_without_app(session, notice, now)
    return len(readers)
