from __future__ import annotations

from fastapi import APIRouter

from api.deps import AuthCtx, ObjectId
from api.uploads import Photo
from services.communities import claims
from services.communities.schemas import ClaimOut, ClaimReject

router = APIRouter(prefix="/v1/claims", tags=["claims"])


@router.post("/{claim_id}/approve", summary="Verify a pending household claim (committee, community admin)")
async def approve(claim_id: ObjectId, ctx: AuthCtx) -> ClaimOut:
    return await claims.approve_claim(ctx, claim_id)


@router.post("/{claim_id}/reject", summary="Reject a pending household claim, with a reason")
async def reject(claim_id: ObjectId, body: ClaimReject, ctx: AuthCtx) -> ClaimOut:
    return await claims.reject_claim(ctx, claim_id, body.reason)


@router.post(
    "/{claim_id}/proof",
    status_code=201,
    summary="Add a proof photo (property certificate) to your pending claim (≤ 3)",
)
async def add_proof(claim_id: ObjectId, photo: Photo, ctx: AuthCtx) -> ClaimOut:
    return await claims.add_proof(ctx, claim_id, photo)
