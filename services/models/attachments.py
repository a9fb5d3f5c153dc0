"""Files attached to a record (ticket photos, notice documents, inspection photos).

Generic over the owner: `owner_type` + `owner_id` name the record, with no foreign key, so one table
serves every area. The owning area checks access to the owner before listing or adding attachments.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import BigIntId, at_field, created_at_field, fk_field, id_field


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"
    __table_args__ = (sa.Index("ix_attachment_owner", "owner_type", "owner_id"),)
    id: int | None = id_field()
    community_id: int = fk_field("community.id")
    owner_type: str = Field(max_length=20)  # "ticket", "notice", "inspection", ...
    owner_id: int = Field(sa_type=BigIntId)
    purpose: str = Field(max_length=20)  # "before", "after", "document", "photo"
    content_type: str = Field(max_length=100)  # as sniffed from the bytes we store, never the client's
    size_bytes: int
    sha256: str = Field(max_length=64)  # of the stored (cleaned) original
    width: int | None = None
    height: int | None = None
    storage_key: str = Field(max_length=200)  # server-generated, never from user input
    thumb_key: str | None = Field(default=None, max_length=200)  # ≤ 320 px JPEG (images only)
    # ≤ 1080 px JPEG; None on images stored before it existed: "medium" is then served from the original.
    medium_key: str | None = Field(default=None, max_length=200)
    original_name: str | None = Field(default=None, max_length=200)  # shown only, never used as a path
    uploaded_by: int = fk_field("user_account.id")
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = at_field()

    def file_keys(self) -> list[str]:
        """Every stored object of this attachment (the original and its sizes): what erasure removes."""
        return [k for k in (self.storage_key, self.thumb_key, self.medium_key) if k]


class DirectUpload(SQLModel, table=True):
    """A presigned upload handed to one user for one owner record: the phone sends the file straight
    to the bucket under `incoming_key`, then asks the server to complete it (check, clean, store).
    `token` is the public id (random, 32 hex digits); `attachment_id` is set once completed."""

    __tablename__ = "direct_upload"
    id: int | None = id_field()
    token: str = Field(max_length=32, unique=True)
    community_id: int = fk_field("community.id")
    owner_type: str = Field(max_length=20)
    owner_id: int = Field(sa_type=BigIntId)
    purpose: str = Field(max_length=20)
    content_type: str = Field(max_length=100)  # declared by the app; the bytes are sniffed anyway
    incoming_key: str = Field(max_length=200)
    issued_to: int = fk_field("user_account.id")
    created_at: datetime = created_at_field()
    expires_at: datetime = at_field(nullable=False)  # complete before this, or issue a new one
    completed_at: datetime | None = at_field()
    attachment_id: int | None = Field(default=None, sa_type=BigIntId)
