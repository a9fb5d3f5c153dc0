from __future__ import annotations

from fastapi import APIRouter

from api.deps import AuthCtx
from services.users import service
from services.users.schemas import MembershipOut, MeOut, MeUpdate

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("", summary="The caller, their verified households and roles")
async def get_me(ctx: AuthCtx) -> MeOut:
    return await service.me(ctx)


@router.patch("", summary="Change display name or language")
async def patch_me(body: MeUpdate, ctx: AuthCtx) -> MeOut:
    return await service.update_me(ctx, body)


@router.get("/memberships", summary="Every role and household claim of the caller, with status")
async def get_memberships(ctx: AuthCtx) -> list[MembershipOut]:
    return await service.memberships(ctx)
