"""Resident onboarding: a user claims a household; an approver verifies or rejects the claim.

A claim is a resident Membership: pending → verified | rejected. Only verified residents may file
tickets and vote (services.access.require_verified_resident), so who approves a claim decides who
votes: the community admin and the owners' committee (access.APPROVE_CLAIMS), not the property
company, which may itself be the subject of a vote. They hear of every new claim; the flat's current
verified owners hear when someone else claims it (a wrong claim is caught by the people it hurts);
the claimant may add proof photos (the property certificate) while the claim waits.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from services import access, audit
from services.attachments.service import PreparedUpload, list_for, list_for_many, store_upload
from services.communities.common import after_id, load_community, page
from services.communities.schemas import ClaimCreate, ClaimOut, ClaimStatus
from services.errors import Conflict, Forbidden, NotFound
from services.models import Building, Household, Membership, MembershipStatus, Relation, Role, User, utcnow
from services.notifications.outbox import notify
from services.privacy import reads
from services.runtime import Ctx
from services.schemas import Page

# Claims are free to file (the directory is public), so they are capped while they wait: a user may
# not spray claims over a community, nor bury one home's approvers in claims. 409, not 429: the cap
# lifts when an approver decides, not after a time we could put in Retry-After.
MAX_PENDING_PER_USER = 3
MAX_PENDING_PER_HOUSEHOLD = 5
# Proof photos per claim (property certificate pages, a contract), kept as attachments of the claim.
MAX_PROOF = 3
PROOF_OWNER = "claim"
RELATION_ZH = {"owner": "业主", "tenant": "租户", "family": "家属"}


def _claim_query() -> Any:
    return (
        select(Membership, Household, Building.name, User)
        .join(Household, col(Household.id) == Membership.household_id)
        .join(Building, col(Building.id) == Household.building_id)
        .join(User, col(User.id) == Membership.user_id)
        .where(Membership.role == Role.resident)
    )


def _claim_out(m: Membership, h: Household, building_name: str, u: User) -> ClaimOut:
    return ClaimOut(
        id=m.id or 0,
        community_id=h.community_id,
        household_id=h.id or 0,
        building_name=building_name,
        entrance=h.entrance,
        room=h.room,
        relation=m.relation or "",
        status=m.status,
        note=m.note,
        user_id=u.id or 0,
        user_name=u.name,
        user_phone=u.phone,
        decided_by=m.decided_by,
        decision_reason=m.decision_reason,
        verified_at=m.verified_at,
        created_at=m.created_at,
    )


async def _load_out(ctx: Ctx, claim_id: int) -> ClaimOut:
    m, h, building_name, u = (await ctx.session.exec(_claim_query().where(Membership.id == claim_id))).one()
    out = _claim_out(m, h, building_name, u)
    out.proof = await list_for(ctx, PROOF_OWNER, claim_id)
    return out


async def create_claim(ctx: Ctx, community_id: int, body: ClaimCreate) -> ClaimOut:
    """Anyone logged in may claim a home in an existing community; the claim waits for approval."""
    p = ctx.require_principal()
    await load_community(ctx, community_id)
    # The row locks serialise concurrent claims of one user and of one household on PostgreSQL
    # (SQLite: one writer), so neither cap below can be raced past.
    await ctx.session.exec(select(User.id).where(User.id == p.user_id).with_for_update())
    household = (
        await ctx.session.exec(
            select(Household)
            .where(Household.id == body.household_id, Household.community_id == community_id)
            .with_for_update()
        )
    ).first()
    if household is None:
        raise NotFound("household.not_found")
    dup = (
        await ctx.session.exec(
            select(Membership.id).where(
                Membership.user_id == p.user_id,
                Membership.household_id == body.household_id,
                Membership.role == Role.resident,
                col(Membership.status).in_([MembershipStatus.pending, MembershipStatus.verified]),
            )
        )
    ).first()
    if dup is not None:
        raise Conflict("claim.duplicate", details={"claim_id": dup})
    if await _pending_count(ctx, Membership.user_id == p.user_id) >= MAX_PENDING_PER_USER:
        raise Conflict("claim.user_limit", details={"max_pending": MAX_PENDING_PER_USER})
    if await _pending_count(ctx, Membership.household_id == body.household_id) >= MAX_PENDING_PER_HOUSEHOLD:
        raise Conflict("claim.household_limit", details={"max_pending": MAX_PENDING_PER_HOUSEHOLD})
    row = Membership(
        user_id=p.user_id,
        community_id=community_id,
        role=Role.resident,
        household_id=body.household_id,
        relation=body.relation,
        status=MembershipStatus.pending,
        note=body.note or None,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    out = await _load_out(ctx, row.id or 0)
    await _announce_claim(ctx, out)
    await audit.record(
        ctx,
        "claim.create",
        "membership",
        row.id,
        community_id=community_id,
        after={"household_id": body.household_id, "relation": body.relation, "status": row.status},
    )
    return out


async def _announce_claim(ctx: Ctx, claim: ClaimOut) -> None:
    """Approvers learn of the claim; the flat's verified owners learn that someone else claims it."""
    approvers = (
        await ctx.session.exec(
            select(Membership.user_id).where(
                Membership.community_id == claim.community_id,
                col(Membership.role).in_(list(access.APPROVE_CLAIMS)),
                Membership.status == MembershipStatus.verified,
            )
        )
    ).all()
    owners = (
        await ctx.session.exec(
            select(Membership.user_id).where(
                Membership.household_id == claim.household_id,
                Membership.role == Role.resident,
                Membership.relation == Relation.owner,
                Membership.status == MembershipStatus.verified,
            )
        )
    ).all()
    household = f"{claim.building_name}{claim.entrance}{claim.room}"
    data = {
        "claim_id": claim.id,
        "household": household,
        "relation_zh": RELATION_ZH.get(claim.relation, claim.relation),
        "relation": claim.relation,
    }
    key = f"claim:{claim.id}:filed"
    to_approvers = sorted(set(approvers) - {claim.user_id})
    if to_approvers:
        await notify(
            ctx.session,
            to_approvers,
            "account",
            "account.claim_filed",
            data,
            key,
            community_id=claim.community_id,
        )
    to_owners = sorted(set(owners) - {claim.user_id})
    if to_owners:
        await notify(
            ctx.session,
            to_owners,
            "account",
            "account.household_claimed",
            data,
            f"{key}:owners",
            community_id=claim.community_id,
        )


async def add_proof(ctx: Ctx, claim_id: int, upload: PreparedUpload) -> ClaimOut:
    """The claimant adds a proof photo to their own claim while it waits (at most MAX_PROOF)."""
    p = ctx.require_principal()
    claim = (
        await ctx.session.exec(
            select(Membership).where(
                Membership.id == claim_id,
                Membership.user_id == p.user_id,
                Membership.role == Role.resident,
                col(Membership.household_id).is_not(None),
            )
        )
    ).first()
    if claim is None or claim.community_id is None:
        raise NotFound("claim.not_found")
    if claim.status != MembershipStatus.pending:
        raise Conflict("claim.not_pending", details={"status": claim.status})
    await store_upload(
        ctx,
        community_id=claim.community_id,
        owner_type=PROOF_OWNER,
        owner_id=claim_id,
        purpose="proof",
        upload=upload,
        max_count=MAX_PROOF,
    )
    await audit.record(ctx, "claim.proof", "membership", claim_id, community_id=claim.community_id)
    return await _load_out(ctx, claim_id)


async def _pending_count(ctx: Ctx, where: Any) -> int:
    stmt = select(sa.func.count()).where(
        where, Membership.role == Role.resident, Membership.status == MembershipStatus.pending
    )
    return int((await ctx.session.exec(stmt)).one())


async def list_claims(
    ctx: Ctx, community_id: int, status: ClaimStatus | None, limit: int, cursor: str | None
) -> Page[ClaimOut]:
    """Claims of a community for approvers, oldest first."""
    access.require_community(ctx.require_principal(), community_id, access.APPROVE_CLAIMS)
    await load_community(ctx, community_id)
    query = _claim_query().where(
        Membership.community_id == community_id, col(Membership.id) > after_id(cursor)
    )
    if status is not None:
        query = query.where(Membership.status == status)
    rows = (await ctx.session.exec(query.order_by(col(Membership.id)).limit(limit))).all()
    proof = await list_for_many(ctx, PROOF_OWNER, [r[0].id or 0 for r in rows])
    items = [_claim_out(*r) for r in rows]
    if rows:
        await reads.record_read(
            ctx, "read.claims", purpose="claim_review", community_id=community_id, entity="claim",
            subjects=[r[0].user_id for r in rows], detail={"claim_ids": ",".join(str(i.id) for i in items)},
        )  # fmt: skip
    for item in items:
        item.proof = proof.get(item.id, [])
    return page(items, [r[0].id or 0 for r in rows], limit)


async def _pending_claim(ctx: Ctx, claim_id: int) -> Membership:
    p = ctx.require_principal()
    claim = (
        await ctx.session.exec(
            select(Membership)
            .where(
                Membership.id == claim_id,
                Membership.role == Role.resident,
                col(Membership.household_id).is_not(None),
                access.community_filter(p, Membership.community_id),
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if claim is None or claim.community_id is None:
        raise NotFound("claim.not_found")
    access.require_community(p, claim.community_id, access.APPROVE_CLAIMS)
    if claim.user_id == p.user_id:
        raise Forbidden("claim.self_decision")
    if claim.status != MembershipStatus.pending:
        raise Conflict("claim.not_pending", details={"status": claim.status})
    return claim


async def approve_claim(ctx: Ctx, claim_id: int) -> ClaimOut:
    claim = await _pending_claim(ctx, claim_id)
    claim.status = MembershipStatus.verified
    claim.verified_at = utcnow()
    claim.decided_by = ctx.require_principal().user_id
    ctx.session.add(claim)
    await ctx.session.flush()
    await audit.record(
        ctx,
        "claim.approve",
        "membership",
        claim.id,
        community_id=claim.community_id,
        before={"status": MembershipStatus.pending},
        after={"status": claim.status, "verified_at": claim.verified_at, "household_id": claim.household_id},
    )
    out = await _load_out(ctx, claim_id)
    await _tell_claimant(ctx, out, "account.claim_approved", {})
    return out


async def reject_claim(ctx: Ctx, claim_id: int, reason: str) -> ClaimOut:
    claim = await _pending_claim(ctx, claim_id)
    claim.status = MembershipStatus.rejected
    claim.decided_by = ctx.require_principal().user_id
    claim.decision_reason = reason
    ctx.session.add(claim)
    await ctx.session.flush()
    await audit.record(
        ctx,
        "claim.reject",
        "membership",
        claim.id,
        community_id=claim.community_id,
        before={"status": MembershipStatus.pending},
        after={"status": claim.status, "reason": reason, "household_id": claim.household_id},
    )
    out = await _load_out(ctx, claim_id)
    await _tell_claimant(ctx, out, "account.claim_rejected", {"reason": reason})
    return out


async def _tell_claimant(ctx: Ctx, claim: ClaimOut, template: str, extra: dict[str, str]) -> None:
    """The decision and its notification commit together (transactional outbox)."""
    household = f"{claim.building_name}{claim.entrance}{claim.room}"
    await notify(
        ctx.session,
        [claim.user_id],
        "account",
        template,
        {"household": household, **extra},
        f"claim:{claim.id}:{claim.status}",
        community_id=claim.community_id,
    )
