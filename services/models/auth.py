"""Login state kept in the database: OTP challenges, rate-limit windows and refresh tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import at_field, created_at_field, fk_field, id_field


class OtpChallenge(SQLModel, table=True):
    """The latest code sent to a phone (used when Redis is not configured)."""

    __tablename__ = "otp_challenge"
    phone: str = Field(max_length=20, primary_key=True)
    code_hash: str = Field(max_length=64)
    attempts: int = 0
    expires_at: datetime = at_field(nullable=False)
    created_at: datetime = created_at_field()


class RateLimitWindow(SQLModel, table=True):
    """A fixed-window counter (used when Redis is not configured)."""

    __tablename__ = "rate_limit_window"
    key: str = Field(max_length=120, primary_key=True)
    count: int = 0
    resets_at: datetime = at_field(nullable=False, index=True)


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_token"
    id: int | None = id_field()
    user_id: int = fk_field("user_account.id")
    family_id: str = Field(max_length=32, index=True)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = at_field(nullable=False)
    rotated_at: datetime | None = at_field()
    revoked_at: datetime | None = at_field()
    created_at: datetime = created_at_field()
    user_agent: str | None = Field(default=None, max_length=200)
    ip: str | None = Field(default=None, max_length=45)


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a creating POST, replayed when the same key comes again."""

    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)
    id: int | None = id_field()
    user_id: int = fk_field("user_account.id", index=False)
    key: str = Field(max_length=100)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: str = Field(sa_type=sa.Text)
    created_at: datetime = created_at_field()
