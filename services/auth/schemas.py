from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from services.schemas import Line, RequestBody, ResponseBody, Text


class OtpRequest(RequestBody):
    phone: Line = Field(min_length=1, max_length=32, examples=["13800000001"])


class OtpSent(ResponseBody):
    phone: str
    expires_in: int
    resend_after: int


class LoginRequest(RequestBody):
    phone: Line = Field(min_length=1, max_length=32)
    code: Text | None = Field(default=None, pattern=r"^\d{6}$")
    password: Text | None = Field(default=None, min_length=1, max_length=200)


class RefreshRequest(RequestBody):
    refresh_token: Text = Field(min_length=10, max_length=200)


class UserOut(ResponseBody):
    id: int
    phone: str
    name: str
    locale: str


class TokenPair(ResponseBody):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_at: datetime
    expires_in: int
    refresh_token: str
    refresh_expires_at: datetime
    user: UserOut
    # Set when this login cancelled a pending account deletion (services.users.deletion): show it.
    account_notice: str | None = None
    privacy_policy_version: str = Field(description="The privacy policy in force")
    privacy_consent_required: bool = Field(
        description="The user has not accepted this version yet: show it, then POST /v1/me/consent"
    )
