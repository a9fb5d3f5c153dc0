"""Shift swaps: an assignee asks to hand a shift to another party member; the secretary decides."""

from __future__ import annotations

from sqlmodel import col, select

from services.access import community_filter, require_community
from services.duty.common import (
    MANAGERS,
    check_no_overlap,
    load_shift,
    local_label,
    party_user_ids,
    post_label,
    secretaries,
    zone_of,
)
from services.duty.schemas import SwapCreate, SwapOut
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.models import User, utcnow
from services.models.duty import (
    DutyPost,
    DutyShift,
    DutyShiftAssignee,
    DutySwapRequest,
    ShiftStatus,
    SwapStatus,
)
from services.notifications.outbox import notify
from services.runtime import Ctx


def swap_out(s: DutySwapRequest) -> SwapOut:
    return SwapOut.model_validate(s, from_attributes=True)


async def _assignees(ctx: Ctx, shift_id: int) -> set[int]:
    rows = await ctx.session.exec(
        select(DutyShiftAssignee.user_id).where(DutyShiftAssignee.shift_id == shift_id)
    )
    return set(rows.all())


def _open(shift: DutyShift) -> None:
    if shift.status != ShiftStatus.scheduled or shift.starts_at <= utcnow():
        raise InvalidInput("duty.shift_started")


async def _data(ctx: Ctx, shift: DutyShift, swap: DutySwapRequest) -> dict[str, object]:
    post = await ctx.session.get(DutyPost, shift.post_id)
    zone = await zone_of(ctx.session, shift.community_id)
    names = {
        u.id: u.name
        for u in (
            await ctx.session.exec(select(User).where(col(User.id).in_([swap.from_user_id, swap.to_user_id])))
        ).all()
    }
    return {
        "swap_id": swap.id or 0,
        "shift_id": shift.id or 0,
        "post": post_label(post) if post else "",
        "start_local": local_label(shift.starts_at, zone),
        "from_name": names.get(swap.from_user_id, ""),
        "to_name": names.get(swap.to_user_id, ""),
    }


async def request_swap(ctx: Ctx, shift_id: int, body: SwapCreate) -> SwapOut:
    principal = ctx.require_principal()
    shift = await load_shift(ctx, shift_id)
    on_shift = await _assignees(ctx, shift_id)
    if principal.user_id not in on_shift:
        raise Forbidden("duty.not_on_shift")
    _open(shift)
    if body.to_user_id in on_shift or body.to_user_id not in await party_user_ids(
        ctx.session, shift.community_id
    ):
        raise InvalidInput("duty.swap_invalid", details={"to_user_id": body.to_user_id})
    pending = (
        await ctx.session.exec(
            select(DutySwapRequest.id).where(
                DutySwapRequest.shift_id == shift_id,
                DutySwapRequest.from_user_id == principal.user_id,
                DutySwapRequest.status == SwapStatus.pending,
            )
        )
    ).first()
    if pending is not None:
        raise Conflict("duty.swap_pending", details={"swap_id": pending})
    swap = DutySwapRequest(
        shift_id=shift_id, from_user_id=principal.user_id, to_user_id=body.to_user_id, reason=body.reason
    )
    ctx.session.add(swap)
    await ctx.session.flush()
    await notify(
        ctx.session,
        await secretaries(ctx.session, shift.community_id),
        "duty",
        "duty.swap_requested",
        await _data(ctx, shift, swap),
        f"duty:swap:{swap.id}:requested",
        community_id=shift.community_id,
    )
    return swap_out(swap)


async def decide(ctx: Ctx, swap_id: int, approve: bool) -> SwapOut:
    principal = ctx.require_principal()
    found = (
        await ctx.session.exec(
            select(DutySwapRequest, DutyShift)
            .join(DutyShift, col(DutyShift.id) == DutySwapRequest.shift_id)
            .where(DutySwapRequest.id == swap_id, community_filter(principal, col(DutyShift.community_id)))
            .with_for_update()
        )
    ).first()
    if found is None:
        raise NotFound("duty.swap_not_found")
    swap, shift = found
    require_community(principal, shift.community_id, MANAGERS)
    if swap.status != SwapStatus.pending:
        raise Conflict("duty.swap_not_pending")
    if approve:
        _open(shift)
        on_shift = await _assignees(ctx, shift.id or 0)
        if swap.from_user_id not in on_shift or swap.to_user_id in on_shift:
            raise InvalidInput("duty.swap_invalid")
        await check_no_overlap(ctx.session, [swap.to_user_id], shift.starts_at, shift.ends_at)
        row = (
            await ctx.session.exec(
                select(DutyShiftAssignee).where(
                    DutyShiftAssignee.shift_id == shift.id, DutyShiftAssignee.user_id == swap.from_user_id
                )
            )
        ).one()
        row.user_id = swap.to_user_id
        ctx.session.add(row)
    swap.status = SwapStatus.approved if approve else SwapStatus.rejected
    swap.decided_by = principal.user_id
    swap.decided_at = utcnow()
    ctx.session.add(swap)
    await ctx.session.flush()
    data = await _data(ctx, shift, swap)
    data |= {
        "decision": "approved" if approve else "rejected",
        "decision_zh": "已批准" if approve else "未批准",
    }
    await notify(
        ctx.session,
        [swap.from_user_id, swap.to_user_id] if approve else [swap.from_user_id],
        "duty",
        "duty.swap_decided",
        data,
        f"duty:swap:{swap.id}:decided",
        community_id=shift.community_id,
    )
    return swap_out(swap)
