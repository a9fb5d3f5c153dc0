"""Personal-data export (PIPL art. 45, the right to access and copy): `POST /v1/me/export` records a
pending row; the scheduler's `build_privacy_exports` job builds a zip — `data.json` with everything the
system holds about the person, and `summary.txt`, a readable summary in Chinese — stores it through the
attachment storage and marks the row ready. `GET /v1/me/export/{id}` answers the status and, once
ready, a signed download link that expires with the export (24 h by default); the download needs the
owner's bearer token as well as the signature, so a forwarded link is useless to anyone else.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import logging
import zipfile
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

import services.privacy.messages  # noqa: F401  (registers the error codes and labels)
from services.attachments.storage import Storage, StorageKeyMissing, new_key
from services.config import Settings
from services.db import transaction
from services.errors import Conflict, Forbidden, Gone, NotFound
from services.models import (
    Attachment,
    AuditLog,
    CallBinding,
    Device,
    ExportStatus,
    Household,
    Membership,
    Notification,
    NotificationPreference,
    PrivacyExport,
    Ticket,
    TicketEvent,
    TicketRating,
    User,
    utcnow,
)
from services.models.duty import (
    ActivitySignup,
    DutyAssignment,
    DutyCheckin,
    DutyContactPref,
    DutyShiftAssignee,
    ServiceLog,
)
from services.models.notices import NoticeComment, NoticeReceipt
from services.models.occupants import Occupant
from services.models.polls import Ballot, BallotAnswer, BallotVoter
from services.notifications.outbox import notify
from services.privacy.schemas import ExportOut
from services.runtime import Ctx

log = logging.getLogger("linli.privacy.export")

MAX_ATTEMPTS = 3
DOWNLOAD_PATH = "/v1/me/export/{id}/download"
# What an export never carries: secrets, and where bytes live inside our storage.
HIDDEN = {"password_hash", "storage_key", "thumb_key", "medium_key", "incoming_key", "token_hash"}

# Sections of data.json with their Chinese and English titles (summary.txt lists them in this order).
SECTIONS: dict[str, tuple[str, str]] = {
    "profile": ("个人资料", "Profile"),
    "memberships": ("身份与房屋认证", "Roles and household claims"),
    "households": ("房屋", "Households"),
    "tickets": ("报修与投诉", "Tickets filed"),
    "ticket_events": ("工单处理记录", "Ticket history"),
    "photos": ("照片（元数据）", "Photos (metadata)"),
    "ratings": ("评价", "Ratings"),
    "notice_receipts": ("公告阅读与确认", "Notices read and acknowledged"),
    "comments": ("公告评论与异议", "Comments and objections"),
    "ballots": ("本人投票", "Own ballots"),
    "ballot_answers": ("投票内容", "Ballot answers"),
    "ballot_voters": ("代表房屋投票记录", "Votes cast for a household"),
    "occupant_records": ("物业登记的住户成员信息", "Occupant records staff keep with your phone"),
    "calls": ("隐私号码通话记录", "Calls through the privacy relay number"),
    "duty_assignments": ("党员责任岗位", "Duty posts held"),
    "duty_contact_preferences": ("亮身份联系方式设置", "What the duty roster shows of you"),
    "duty_shifts": ("值班排班", "Duty shifts"),
    "duty_checkins": ("值班签到", "Duty check-ins"),
    "service_hours": ("志愿服务时长", "Service hours"),
    "activity_signups": ("活动报名", "Activity sign-ups"),
    "notifications": ("消息通知", "Notifications"),
    "notification_preferences": ("通知设置", "Notification preferences"),
    "devices": ("登录设备", "Devices"),
    "access_log": ("工作人员查阅您的信息的记录", "Staff reads of your data"),
}


# --- links ----------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"linli.exports.v1", hashlib.sha256).digest()


def sign(settings: Settings, export_id: int, user_id: int, expires_at: int) -> str:
    msg = f"{int(export_id)}:{int(user_id)}:{int(expires_at)}".encode()
    digest = hmac.new(_key(settings.jwt_key()), msg, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def download_url(settings: Settings, row: PrivacyExport) -> str | None:
    if row.status != ExportStatus.ready or row.expires_at is None or row.id is None:
        return None
    exp = int(row.expires_at.timestamp())
    query = urlencode({"exp": exp, "sig": sign(settings, row.id, row.user_id, exp)})
    return f"{DOWNLOAD_PATH.format(id=row.id)}?{query}"


def _effective_status(row: PrivacyExport, now: datetime) -> str:
    if row.status == ExportStatus.ready and row.expires_at is not None and row.expires_at <= now:
        return ExportStatus.expired
    return row.status


def _out(ctx: Ctx, row: PrivacyExport) -> ExportOut:
    status = _effective_status(row, utcnow())
    return ExportOut(
        id=row.id or 0,
        status=status,
        created_at=row.created_at,
        ready_at=row.ready_at,
        expires_at=row.expires_at,
        size_bytes=row.size_bytes,
        download_url=download_url(ctx.settings, row) if status == ExportStatus.ready else None,
    )


# --- requests -------------------------------------------------------------------------------------


async def request_export(ctx: Ctx) -> ExportOut:
    """A new pending export of the caller's data; one at a time (409 while one is being prepared)."""
    me = ctx.require_principal().user_id
    pending = (
        await ctx.session.exec(
            select(PrivacyExport.id).where(
                PrivacyExport.user_id == me, PrivacyExport.status == ExportStatus.pending
            )
        )
    ).first()
    if pending is not None:
        raise Conflict("privacy.export_in_progress", details={"export_id": pending})
    row = PrivacyExport(user_id=me, created_at=utcnow())
    ctx.session.add(row)
    await ctx.session.flush()
    return _out(ctx, row)


async def _mine(ctx: Ctx, export_id: int) -> PrivacyExport:
    me = ctx.require_principal().user_id
    row = (
        await ctx.session.exec(
            select(PrivacyExport).where(PrivacyExport.id == export_id, PrivacyExport.user_id == me)
        )
    ).first()
    if row is None:
        raise NotFound("privacy.export_not_found")
    return row


async def get_export(ctx: Ctx, export_id: int) -> ExportOut:
    return _out(ctx, await _mine(ctx, export_id))


async def open_download(ctx: Ctx, storage: Storage, export_id: int, exp: int, sig: str) -> bytes:
    """The archive's bytes: the owner's export (404 otherwise), a valid signature (403), not expired
    (410), and built (409)."""
    row = await _mine(ctx, export_id)
    expected = sign(ctx.settings, export_id, row.user_id, exp)
    if not sig or not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
        raise Forbidden("privacy.export_bad_link")
    now = utcnow()
    if exp <= now.timestamp() or _effective_status(row, now) == ExportStatus.expired:
        raise Gone("privacy.export_expired")
    if row.status != ExportStatus.ready or not row.storage_key:
        raise Conflict("privacy.export_not_ready")
    try:
        return await storage.get(row.storage_key)
    except StorageKeyMissing as exc:
        raise Gone("privacy.export_expired") from exc


# --- building the archive -------------------------------------------------------------------------


def _dump(row: SQLModel, hide: set[str] = HIDDEN) -> dict[str, Any]:
    return {k: v for k, v in row.model_dump(mode="json").items() if k not in hide}


async def _all(session: AsyncSession, model: type[SQLModel], *where: Any) -> list[dict[str, Any]]:
    order = list(model.__table__.primary_key.columns)  # type: ignore[attr-defined]
    rows = (await session.exec(select(model).where(*where).order_by(*order))).all()
    return [_dump(r) for r in rows]


async def collect(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """Everything the system holds about one person, section by section."""
    user = await session.get(User, user_id)
    if user is None:
        return {}
    data: dict[str, Any] = {"profile": _dump(user)}
    data["memberships"] = await _all(session, Membership, Membership.user_id == user_id)
    homes = sorted({m["household_id"] for m in data["memberships"] if m.get("household_id")})
    data["households"] = await _all(session, Household, col(Household.id).in_(homes)) if homes else []
    data["tickets"] = await _all(session, Ticket, Ticket.reporter_id == user_id)
    tickets = [t["id"] for t in data["tickets"]]
    data["ticket_events"] = await _all(
        session,
        TicketEvent,
        or_(col(TicketEvent.ticket_id).in_(tickets), col(TicketEvent.actor_id) == user_id),
    )
    data["photos"] = await _all(
        session,
        Attachment,
        col(Attachment.deleted_at).is_(None),
        or_(
            sa.and_(col(Attachment.owner_type) == "ticket", col(Attachment.owner_id).in_(tickets)),
            col(Attachment.uploaded_by) == user_id,
        ),
    )
    data["ratings"] = await _all(session, TicketRating, TicketRating.user_id == user_id)
    data["notice_receipts"] = await _all(session, NoticeReceipt, NoticeReceipt.user_id == user_id)
    data["comments"] = await _all(session, NoticeComment, NoticeComment.user_id == user_id)
    data["ballots"] = await _all(session, Ballot, Ballot.voter_id == user_id)
    ballots = [b["id"] for b in data["ballots"]]
    data["ballot_answers"] = (
        await _all(session, BallotAnswer, col(BallotAnswer.ballot_id).in_(ballots)) if ballots else []
    )
    data["ballot_voters"] = await _all(session, BallotVoter, BallotVoter.voter_id == user_id)
    data["occupant_records"] = await _all(session, Occupant, Occupant.phone == user.phone)
    data["calls"] = [
        {k: v for k, v in c.items() if k != "provider_ref"}
        for c in await _all(
            session,
            CallBinding,
            or_(col(CallBinding.callee_id) == user_id, col(CallBinding.caller_id) == user_id),
        )
    ]
    data["duty_assignments"] = await _all(session, DutyAssignment, DutyAssignment.user_id == user_id)
    data["duty_contact_preferences"] = await _all(
        session, DutyContactPref, DutyContactPref.user_id == user_id
    )
    data["duty_shifts"] = await _all(session, DutyShiftAssignee, DutyShiftAssignee.user_id == user_id)
    data["duty_checkins"] = await _all(session, DutyCheckin, DutyCheckin.user_id == user_id)
    data["service_hours"] = await _all(session, ServiceLog, ServiceLog.user_id == user_id)
    data["activity_signups"] = await _all(session, ActivitySignup, ActivitySignup.user_id == user_id)
    data["notifications"] = await _all(session, Notification, Notification.user_id == user_id)
    data["notification_preferences"] = await _all(
        session, NotificationPreference, NotificationPreference.user_id == user_id
    )
    devices = await _all(session, Device, Device.user_id == user_id)
    for d in devices:  # the push token is a credential of the device: its tail is enough to recognise it
        d["token"] = "…" + str(d.get("token") or "")[-6:]
    data["devices"] = devices
    actor = sa.orm.aliased(User)
    reads = (
        await session.exec(
            select(AuditLog, actor.name)
            .outerjoin(actor, col(actor.id) == AuditLog.actor_id)
            .where(AuditLog.subject_user_id == user_id)
            .order_by(col(AuditLog.id))
        )
    ).all()
    data["access_log"] = [
        {
            "at": a.created_at.isoformat(),
            "actor_name": name,
            "actor_roles": str((a.after or {}).get("actor_roles") or ""),
            "community_id": a.community_id,
            "action": a.action,
            "purpose": a.purpose,
        }
        for a, name in reads
    ]
    return data


def summary_text(data: dict[str, Any], generated_at: datetime) -> str:
    from services.i18n import zh

    profile = data.get("profile", {})
    lines = [
        "邻里 · 个人信息副本",
        "=" * 20,
        f"生成时间（UTC）：{generated_at:%Y-%m-%d %H:%M}",
        f"姓名：{profile.get('name') or '（未填写）'}",
        f"手机号：{profile.get('phone', '')}",
        f"注册时间：{str(profile.get('created_at', ''))[:10]}",
        "",
        "本压缩包中的 data.json 含有本系统保存的您的全部个人信息（JSON 格式），各部分条数如下：",
    ]
    for key, (title, _) in SECTIONS.items():
        if key == "profile":
            continue
        lines.append(f"  · {title}：{len(data.get(key) or [])} 条")
    if data.get("households"):
        lines += ["", "您的房屋："]
        lines += [f"  · {h.get('room', '')}（{h.get('area_m2', '')} 平方米）" for h in data["households"]]
    if data.get("access_log"):
        lines += ["", "工作人员查阅您的信息的记录（最近 20 条）："]
        for r in data["access_log"][-20:]:
            lines.append(f"  · {r['at'][:16]} {r['actor_name'] or '系统'}：{zh('audit.action', r['action'])}")
    lines += [
        "",
        "如对上述信息有疑问，或需要更正、删除，请在 App「我的 → 隐私」中操作或联系物业。",
        "依据《中华人民共和国个人信息保护法》第四十五条提供。",
        "",
    ]
    return "\n".join(lines)


def archive(data: dict[str, Any], generated_at: datetime) -> bytes:
    buf = io.BytesIO()
    body = {"generated_at": generated_at.isoformat(), "sections": {k: v for k, v in SECTIONS.items()}, **data}
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.json", json.dumps(body, ensure_ascii=False, indent=2, default=str))
        zf.writestr("summary.txt", summary_text(data, generated_at))
    return buf.getvalue()


Maker = async_sessionmaker[AsyncSession]


async def build(sessionmaker: Maker, settings: Settings, storage: Storage, export_id: int) -> bool:
    """Build one pending export (row locked with SKIP LOCKED: one builder per export); True if built."""
    try:
        async with sessionmaker() as session, transaction(session):
            row = (
                await session.exec(
                    select(PrivacyExport)
                    .where(PrivacyExport.id == export_id, PrivacyExport.status == ExportStatus.pending)
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if row is None:
                return False  # done, gone or another builder's
            now = utcnow()
            data = await collect(session, row.user_id)
            blob = await asyncio.to_thread(archive, data, now)
            key = new_key(0, "zip", now=now)
            await storage.put(key, blob, "application/zip")
            row.storage_key, row.size_bytes, row.status = key, len(blob), ExportStatus.ready
            row.ready_at, row.expires_at = now, now + timedelta(hours=settings.privacy_export_ttl_hours)
            row.attempts += 1
            session.add(row)
            await notify(
                session, [row.user_id], "account", "account.export_ready",
                {"export_id": export_id, "hours": settings.privacy_export_ttl_hours},
                f"privacy_export:{export_id}:ready",
            )  # fmt: skip
        return True
    except Exception as exc:
        log.exception("privacy export %s failed", export_id)
        async with sessionmaker() as session, transaction(session):
            failed = await session.get(PrivacyExport, export_id)
            if failed is not None and failed.status == ExportStatus.pending:
                failed.attempts += 1
                failed.error = type(exc).__name__[:200]
                if failed.attempts >= MAX_ATTEMPTS:
                    failed.status = ExportStatus.failed
                session.add(failed)
        return False


async def expire(sessionmaker: Maker, storage: Storage, now: datetime) -> int:
    """Ready exports past their expiry: delete the archive, mark the row expired."""
    async with sessionmaker() as session, transaction(session):
        rows = (
            await session.exec(
                select(PrivacyExport)
                .where(PrivacyExport.status == ExportStatus.ready, col(PrivacyExport.expires_at) <= now)
                .limit(100)
            )
        ).all()
        for row in rows:
            if row.storage_key:
                await storage.delete(row.storage_key)
            row.status, row.storage_key = ExportStatus.expired, None
            session.add(row)
    return len(rows)


async def run_pending(sessionmaker: Maker, settings: Settings, storage: Storage) -> int:
    async with sessionmaker() as session:
        ids = (
            await session.exec(
                select(PrivacyExport.id)
                .where(PrivacyExport.status == ExportStatus.pending)
                .order_by(col(PrivacyExport.id))
                .limit(20)
            )
        ).all()
    built = 0
    for export_id in ids:
        built += await build(sessionmaker, settings, storage, int(export_id or 0))
    await expire(sessionmaker, storage, utcnow())
    return built


async def forget(session: AsyncSession, storage: Storage, user_id: int) -> int:
    """Account deletion: the person's exports go, archives first (each holds their phone and name)."""
    rows = (await session.exec(select(PrivacyExport).where(PrivacyExport.user_id == user_id))).all()
    for row in rows:
        if row.storage_key:
            await storage.delete(row.storage_key)
        await session.delete(row)
    await session.flush()
    return len(rows)
