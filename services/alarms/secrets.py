"""Device secrets: generated here, shown once, stored Fernet-encrypted.

The server must recompute a webhook HMAC and an HTTP Digest response from the plain secret, so a
one-way hash cannot serve; the encryption key lives in settings (or is derived from the JWT key), never
in the database, so a leaked dump alone gives no device secret.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken

from services.config import Settings, get_settings
from services.models.alarms import AlarmDevice


def _fernet(settings: Settings) -> Fernet:
    material = (
        settings.alarm_secret_key.get_secret_value()
        if settings.alarm_secret_key
        else "linli-alarm-secrets:" + settings.jwt_key()
    )
    # Fernet wants 32 url-safe base64 bytes; any configured string is stretched to that.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest()))


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def encrypt_secret(plain: str, settings: Settings | None = None) -> str:
    return _fernet(settings or get_settings()).encrypt(plain.encode()).decode()


def decrypt_secret(device: AlarmDevice, settings: Settings | None = None) -> str | None:
    """The plain secret, or None when it was encrypted under another key (the door then refuses)."""
    try:
        return _fernet(settings or get_settings()).decrypt(device.secret_encrypted.encode()).decode()
    except InvalidToken:
        return None
