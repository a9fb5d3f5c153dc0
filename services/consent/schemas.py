from __future__ import annotations

from datetime import datetime

from pydantic import Field

from services.schemas import Line, RequestBody, ResponseBody


class ConsentIn(RequestBody):
    policy_version: Line = Field(
        min_length=1, max_length=40, description="The version shown to the user (PrivacyOut.policy_version)"
    )


class PrivacyChoicesIn(RequestBody):
    """Opt-in choices; an omitted field keeps its value."""

    share_phone_on_roster: bool | None = Field(
        default=None, description="Duty roster (亮身份): show my masked phone and the call relay"
    )
    show_name_on_comments: bool | None = Field(
        default=None, description="Notice comments: sign with my name by default (else '3号楼 住户')"
    )
    sms_non_critical: bool | None = Field(
        default=None, description="Also SMS for non-critical notices (emergency and safety ones always go)"
    )


class PrivacyOut(ResponseBody):
    policy_version: str = Field(description="The privacy policy in force")
    accepted_version: str | None = Field(description="The version this user accepted (None: never)")
    accepted_at: datetime | None
    consent_required: bool = Field(description="The current version is not accepted yet: show it")
    share_phone_on_roster: bool
    show_name_on_comments: bool
    sms_non_critical: bool
