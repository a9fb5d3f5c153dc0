"""Consent (PIPL): the privacy policy version a person accepted and their opt-in choices.

Sharing the phone on the duty roster is not here: it stays on `duty_contact_pref.share_phone` (the
roster reads it); GET/PUT /v1/me/privacy reads and writes it there, so there is one source of truth."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from services.models.base import BigIntId, at_field, created_at_field, id_field


class PrivacyConsent(SQLModel, table=True):
    __tablename__ = "privacy_consent"
    id: int | None = id_field()
    user_id: int = Field(sa_type=BigIntId, foreign_key="user_account.id", unique=True)
    # The policy version accepted (None: never); a new version in the settings asks again at login.
    policy_version: str | None = Field(default=None, max_length=40)
    accepted_at: datetime | None = at_field()
    # Opt-in choices, off until the person turns them on.
    show_name_on_comments: bool = False
    sms_non_critical: bool = False
    updated_at: datetime = created_at_field()
