from __future__ import annotations

from datetime import datetime

from services.schemas import ResponseBody


class AttachmentOut(ResponseBody):
    id: int
    community_id: int
    owner_type: str
    owner_id: int
    purpose: str
    content_type: str
    size_bytes: int
    width: int | None
    height: int | None
    original_name: str | None
    uploaded_by: int
    created_at: datetime
    # Relative, signed URLs (GET without a bearer token) valid until url_expires_at.
    url: str
    thumb_url: str | None  # ≤ 320 px JPEG, for lists (images only)
    medium_url: str | None = None  # ≤ 1080 px JPEG, for detail screens on 4G (images only)
    url_expires_at: datetime
