from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import AnonCtx, AuthCtx
from services.auth import service
from services.auth.schemas import LoginRequest, OtpRequest, OtpSent, RefreshRequest, TokenPair

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/otp", status_code=202, summary="Send a 6-digit login code by SMS")
async def send_otp(body: OtpRequest, ctx: AnonCtx) -> OtpSent:
    return await service.request_otp(ctx, body.phone)


@router.post("/login", summary="Log in with an SMS code (anyone) or a password (staff)")
async def login(body: LoginRequest, ctx: AnonCtx) -> TokenPair:
    return await service.login(ctx, body)


@router.post("/refresh", summary="Rotate a refresh token; reusing an old one revokes its family")
async def refresh(body: RefreshRequest, ctx: AnonCtx) -> TokenPair:
    return await service.refresh(ctx, body.refresh_token)


@router.post("/logout", status_code=204, summary="Revoke the refresh token's whole family")
async def logout(body: RefreshRequest, ctx: AuthCtx) -> Response:
    await service.logout(ctx, body.refresh_token)
    return Response(status_code=204)
