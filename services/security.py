"""Password hashing (argon2id), JWT access tokens (PyJWT, HS256 only), OTP and refresh-token secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.errors import Unauthorized
from services.lru import Lru
from services.models.base import utcnow
from services.schemas import MAX_ID

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# A real hash to verify against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
JWT_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    expires_at: datetime
    session_id: str | None = None  # the refresh-token family it was issued with (devices, logout)


def issue_access_token(
    key: str, issuer: str, user_id: int, minutes: int, session_id: str | None = None
) -> tuple[str, datetime]:
    now = utcnow()
    expires = now + timedelta(minutes=minutes)
    payload: dict[str, object] = {
        "sub": str(user_id),
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    if session_id:
        payload["sid"] = session_id
    return jwt.encode(payload, key, algorithm=JWT_ALGORITHM), expires


@dataclass(frozen=True)
class _Verified:
    user_id: int
    session_id: str | None
    iat: int
    exp: int


# Tokens whose signature and claims were verified, per process: an app sends the same token with
# every request for its 15-minute life, and HMAC + JSON + claim checks are a tenth of a light read.
# Keyed by the signing key and issuer too, so a rotated key verifies again; the time checks run on
# every use, so an expired token is refused exactly as PyJWT would.
_verified: Lru[tuple[str, str, str], _Verified] = Lru(4096)


def decode_access_token(key: str, issuer: str, token: str) -> AccessClaims:
    known = _verified.get((key, issuer, token))
    if known is not None:
        now = datetime.now(tz=UTC).timestamp()  # the clock PyJWT reads
        if known.iat <= now < known.exp:
            return AccessClaims(user_id=known.user_id, expires_at=utcnow(), session_id=known.session_id)
    try:
        # Only HS256 is accepted: `alg: none` and algorithm-confusion tokens fail here.
        payload = jwt.decode(
            token,
            key,
            algorithms=[JWT_ALGORITHM],
            issuer=issuer,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        if payload.get("typ") != "access":
            raise Unauthorized("auth.invalid_token")
        user_id = int(payload["sub"])
        if not 0 < user_id <= MAX_ID:  # a forged or foreign `sub` must not reach a bigint bind
            raise Unauthorized("auth.invalid_token")
        sid = payload.get("sid")
        session_id = sid if isinstance(sid, str) and 0 < len(sid) <= 32 else None
        _verified.put(
            (key, issuer, token), _Verified(user_id, session_id, int(payload["iat"]), int(payload["exp"]))
        )
        return AccessClaims(user_id=user_id, expires_at=utcnow(), session_id=session_id)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise Unauthorized("auth.invalid_token") from exc


def new_otp_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def hash_secret(key: str, value: str) -> str:
    """Keyed hash for OTP codes and refresh tokens: a database dump reveals neither."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def codes_match(expected_hash: str, key: str, candidate: str) -> bool:
    return hmac.compare_digest(expected_hash, hash_secret(key, candidate))


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def new_family_id() -> str:
    return uuid.uuid4().hex
