from __future__ import annotations

from fastapi import APIRouter

from api.deps import AuthCtx, ObjectId
from api.responses import ModelResponse
from services.users import deletion, service
from services.users.schemas import DeletionIn, DeletionOut, MembershipOut, MeOut, MeUpdate

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("", response_model=MeOut, summary="The caller, their verified households and roles")
async def get_me(ctx: AuthCtx) -> ModelResponse:
    # Built and typed by the service: FastAPI need not validate it again (every app start reads it).
    return ModelResponse(await service.me(ctx))


@router.patch("", summary="Change display name or language")
async def patch_me(body: MeUpdate, ctx: AuthCtx) -> MeOut:
    return await service.update_me(ctx, body)


@router.delete(
    "",
    status_code=202,
    summary="Delete my account (注销): re-authenticate with an SMS code or password; erased after 15 days "
    "unless I log in again before",
)
async def delete_me(body: DeletionIn, ctx: AuthCtx) -> DeletionOut:
    return await deletion.request_deletion(ctx, body)


@router.get("/memberships", summary="Every role and household claim of the caller, with status")
async def get_memberships(ctx: AuthCtx) -> list[MembershipOut]:
    return await service.memberships(ctx)


@router.post(
    "/invitations/{membership_id}/accept",
    summary="Accept a role offered by phone (a membership with status invited); it becomes verified",
)
async def accept_invitation(membership_id: ObjectId, ctx: AuthCtx) -> MembershipOut:
    return await service.answer_invitation(ctx, membership_id, accept=True)


@router.post("/invitations/{membership_id}/decline", summary="Decline a role offered by phone")
async def decline_invitation(membership_id: ObjectId, ctx: AuthCtx) -> MembershipOut:
    return await service.answer_invitation(ctx, membership_id, accept=False)
