"""Signed, expiring file URLs: `/v1/files/{id}?variant=...&exp=...&sig=...`.

The signature is an HMAC-SHA256 over (id, variant, exp) with a key derived from the JWT secret for this
purpose only, so a file signature can never stand in for anything else and vice versa. No bearer token is
needed to fetch, so the phone's image loader can use the URL as it is; whoever holds the URL can read the
file until it expires — hand URLs only to callers that passed the owner's access check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from functools import lru_cache
from typing import Literal
from urllib.parse import urlencode

from services.config import Settings
from services.errors import Forbidden

# thumb: ≤ 320 px (lists), medium: ≤ 1080 px (detail screens on 4G), original: the cleaned upload.
Variant = Literal["original", "thumb", "medium"]
VARIANTS: tuple[Variant, ...] = ("original", "thumb", "medium")
FILES_PATH = "/v1/files"


@lru_cache(maxsize=4)
def _derive(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"linli.files.v1", hashlib.sha256).digest()


def _message(attachment_id: int, variant: str, expires_at: int) -> bytes:
    return f"{int(attachment_id)}:{variant}:{int(expires_at)}".encode()


def sign(settings: Settings, attachment_id: int, variant: Variant, expires_at: int) -> str:
    """The URL-safe signature for fetching one variant of one attachment until `expires_at` (Unix s)."""
    digest = hmac.new(
        _derive(settings.jwt_key()), _message(attachment_id, variant, expires_at), hashlib.sha256
    )
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def verify(
    settings: Settings,
    attachment_id: int,
    variant: str,
    expires_at: int,
    sig: str,
    *,
    now: float | None = None,
) -> int:
    """Seconds the URL stays valid; `Forbidden("attachment.bad_signature")` if tampered or expired."""
    now = time.time() if now is None else now
    if variant not in VARIANTS or not sig:
        raise Forbidden("attachment.bad_signature")
    expected = sign(settings, attachment_id, variant, expires_at)
    # Compare first (constant time), then look at the clock: both failures answer the same.
    valid = hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace"))
    remaining = int(expires_at - now)
    if not valid or remaining <= 0:
        raise Forbidden("attachment.bad_signature")
    return remaining


def expiry(settings: Settings, *, now: float | None = None) -> int:
    """The end of the current window plus `file_url_ttl_seconds`: every URL signed for a file within one
    window (an hour by default) is the same URL, so the app's image cache (keyed by URL) and the
    `Cache-Control: max-age` the file answers with hold for the whole window, and any URL handed out
    stays valid for at least the TTL."""
    now = time.time() if now is None else now
    window = max(1, settings.file_url_window_seconds)
    return int(math.floor(now / window) * window) + window + max(1, settings.file_url_ttl_seconds)


def signed_url(settings: Settings, attachment_id: int, variant: Variant, expires_at: int) -> str:
    query = urlencode(
        {"variant": variant, "exp": expires_at, "sig": sign(settings, attachment_id, variant, expires_at)}
    )
    return f"{FILES_PATH}/{int(attachment_id)}?{query}"
