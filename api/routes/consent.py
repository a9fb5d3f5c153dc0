from __future__ import annotations

from fastapi import APIRouter

from api.deps import AuthCtx
from services.consent import service
from services.consent.schemas import ConsentIn, PrivacyChoicesIn, PrivacyOut

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("/privacy", summary="The privacy policy in force, what I accepted, and my opt-in choices")
async def get_privacy(ctx: AuthCtx) -> PrivacyOut:
    return await service.get_privacy(ctx)


@router.put("/privacy", summary="Change my opt-in choices (roster phone, name on comments, non-critical SMS)")
async def put_privacy(body: PrivacyChoicesIn, ctx: AuthCtx) -> PrivacyOut:
    return await service.set_choices(ctx, body)


@router.post("/consent", summary="Accept the privacy policy in force (its version, as shown)")
async def post_consent(body: ConsentIn, ctx: AuthCtx) -> PrivacyOut:
    return await service.accept_policy(ctx, body)
