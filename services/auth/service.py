"""Login rules: OTP by SMS for everyone, passwords for staff, rotating refresh tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select, update

from services import audit
from services.auth.ratelimit import LoginLimiter, login_limiter
from services.auth.schemas import LoginRequest, OtpSent, TokenPair, UserOut
from services.auth.store import DbLoginStore, LoginStore, RedisLoginStore
from services.consent.state import consent_required
from services.errors import InvalidInput, RateLimited, ServiceUnavailable, Unauthorized
from services.models import RefreshToken, User, utcnow
from services.notifications.devices import unregister_session_devices
from services.notifications.sms import SmsRejected, SmsRetryLater
from services.phones import normalise_mobile
from services.runtime import Ctx
from services.security import (
    codes_match,
    hash_secret,
    issue_access_token,
    new_family_id,
    new_otp_code,
    new_refresh_token,
    verify_password,
)
from services.users.deletion import cancel_on_login

HOUR = 3600


def login_store(ctx: Ctx) -> LoginStore:
    if ctx.runtime.redis is not None:
        return RedisLoginStore(ctx.runtime.redis)
    return DbLoginStore(ctx.session)


async def _limit(limiter: LoginLimiter, key: str, limit: int, window: int, code: str | None = None) -> None:
    wait = await limiter.hit(key, limit, window)
    if wait is not None:
        raise RateLimited(wait, code, keep_changes=True)


async def request_otp(ctx: Ctx, raw_phone: str) -> OtpSent:
    s = ctx.settings
    phone = normalise_mobile(raw_phone, s.default_region)
    store = login_store(ctx)
    limiter = login_limiter(ctx.runtime)
    await _limit(limiter, f"otp-resend:{phone}", 1, s.otp_resend_seconds, "auth.otp_throttled")
    await _limit(limiter, f"otp-phone:{phone}", s.otp_phone_hourly_limit, HOUR, "auth.otp_throttled")
    if ctx.ip:
        await _limit(limiter, f"otp-ip:{ctx.ip}", s.otp_ip_hourly_limit, HOUR)
    code = new_otp_code()
    await store.save_otp(phone, hash_secret(s.jwt_key(), code), s.otp_ttl_seconds)
    minutes = s.otp_ttl_seconds // 60
    text = (
        f"Your Linli code is {code}; valid for {minutes} minutes."
        if ctx.locale == "en"
        else f"【邻里】您的验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。"
    )
    try:
        await ctx.runtime.sms.send(phone, text, code=code)
    except SmsRetryLater as exc:
        await store.drop_otp(phone)
        raise ServiceUnavailable(int(exc.retry_after or 30), "auth.sms_unavailable") from exc
    except SmsRejected as exc:
        await store.drop_otp(phone)
        raise InvalidInput("auth.sms_rejected", details={"provider_code": exc.code}) from exc
    return OtpSent(phone=phone, expires_in=s.otp_ttl_seconds, resend_after=s.otp_resend_seconds)


async def login(ctx: Ctx, body: LoginRequest) -> TokenPair:
    if (body.code is None) == (body.password is None):
        raise InvalidInput("auth.login_method")
    phone = normalise_mobile(body.phone, ctx.settings.default_region)
    if body.code is not None:
        user = await _login_with_code(ctx, phone, body.code)
    else:
        user = await _login_with_password(ctx, phone, body.password or "")
    if user.disabled_at is not None:
        raise Unauthorized("auth.user_disabled")
    now = utcnow()
    user.last_login_at = now
    notice = cancel_on_login(user, now, ctx.locale)
    pair = await _issue_tokens(ctx, user, new_family_id())
    if notice is not None:
        await audit.record(ctx, "account.deletion_cancel", "user", user.id)
        pair.account_notice = notice
    return pair


async def _login_with_code(ctx: Ctx, phone: str, code: str) -> User:
    s = ctx.settings
    store = login_store(ctx)
    if ctx.ip:
        limit = s.otp_ip_hourly_limit * s.otp_max_attempts
        await _limit(login_limiter(ctx.runtime), f"login-ip:{ctx.ip}", limit, HOUR)
    # Counted before it is judged, in one atomic step: of parallel guesses, only the first
    # otp_max_attempts are compared with the code at all.
    challenge = await store.take_attempt(phone)
    if challenge is None:
        raise InvalidInput("auth.otp_expired", keep_changes=True)
    if challenge.attempts > s.otp_max_attempts:
        raise RateLimited(s.otp_resend_seconds, "auth.otp_too_many_attempts", keep_changes=True)
    if not codes_match(challenge.code_hash, s.jwt_key(), code):
        if challenge.attempts >= s.otp_max_attempts:
            # The code is burnt: the next try needs a new one.
            await store.drop_otp(phone)
            raise RateLimited(s.otp_resend_seconds, "auth.otp_too_many_attempts", keep_changes=True)
        raise InvalidInput(
            "auth.otp_invalid",
            details={"attempts_left": s.otp_max_attempts - challenge.attempts},
            keep_changes=True,
        )
    if not await store.drop_otp(phone):
        # A parallel request with the same code used it first.
        raise InvalidInput("auth.otp_expired", keep_changes=True)
    user = (await ctx.session.exec(select(User).where(User.phone == phone))).first()
    if user is None:
        # First login creates the account; a household claim makes it a verified resident.
        user = User(phone=phone, locale=ctx.locale)
        ctx.session.add(user)
        await ctx.session.flush()
    return user


async def _login_with_password(ctx: Ctx, phone: str, password: str) -> User:
    s = ctx.settings
    limiter = login_limiter(ctx.runtime)
    window = 15 * 60
    # Each attempt takes a slot before the password is checked, so parallel guesses cannot overrun
    # the limit; a success gives its slots back, so only failures count.
    keys = [(f"pw-phone:{phone}", s.password_failures_per_15min)]
    if ctx.ip:
        keys.append((f"pw-ip:{ctx.ip}", s.password_failures_per_15min * 5))
        await _limit(limiter, keys[1][0], keys[1][1], window)
    await _limit(limiter, keys[0][0], keys[0][1], window)
    user = (await ctx.session.exec(select(User).where(User.phone == phone))).first()
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized("auth.invalid_credentials", keep_changes=True)
    for key, limit in keys:
        await limiter.refund(key, limit, window)
    return user


async def _issue_tokens(ctx: Ctx, user: User, family_id: str) -> TokenPair:
    s = ctx.settings
    assert user.id is not None
    access, expires = issue_access_token(
        s.jwt_key(), s.jwt_issuer, user.id, s.access_token_minutes, session_id=family_id
    )
    raw_refresh = new_refresh_token()
    refresh_expires = utcnow() + timedelta(days=s.refresh_token_days)
    ctx.session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=hash_secret(s.jwt_key(), raw_refresh),
            expires_at=refresh_expires,
            user_agent=(ctx.user_agent or "")[:200] or None,
            ip=ctx.ip,
        )
    )
    await ctx.session.flush()
    return TokenPair(
        access_token=access,
        expires_at=expires,
        expires_in=s.access_token_minutes * 60,
        refresh_token=raw_refresh,
        refresh_expires_at=refresh_expires,
        user=UserOut.model_validate(user),
        privacy_policy_version=s.privacy_policy_version,
        privacy_consent_required=await consent_required(ctx.session, user.id, s.privacy_policy_version),
    )


async def refresh(ctx: Ctx, raw_token: str) -> TokenPair:
    s = ctx.settings
    token_hash = hash_secret(s.jwt_key(), raw_token)
    token = (
        await ctx.session.exec(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
    ).first()
    if token is None or token.revoked_at is not None or token.expires_at <= utcnow():
        raise Unauthorized("auth.invalid_refresh_token")
    # Of two concurrent refreshes with one token exactly one rotates it; the other (or a retry after
    # a lost response) is forgiven within the grace window, anything else is reuse.
    if not await _claim_rotation(ctx, token.id) and not await _within_grace(ctx, token.id):
        await _revoke_family(ctx, token.family_id)
        raise Unauthorized("auth.refresh_token_reused", keep_changes=True)
    user = await ctx.session.get(User, token.user_id)
    if user is None or user.disabled_at is not None:
        raise Unauthorized("auth.user_disabled")
    return await _issue_tokens(ctx, user, token.family_id)


async def _claim_rotation(ctx: Ctx, token_id: int | None) -> bool:
    """Conditional update: of two concurrent refreshes with one token, exactly one rotates it (on
    PostgreSQL the second waits for the first's row lock, then finds it rotated)."""
    rotated = await ctx.session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.id) == token_id, col(RefreshToken.rotated_at).is_(None))
        .values(rotated_at=utcnow())
    )
    return bool(rotated.rowcount == 1)  # type: ignore[attr-defined]


async def _within_grace(ctx: Ctx, token_id: int | None) -> bool:
    """An already rotated token is forgiven when it comes back within the grace window from the
    client it was issued to (the app retried after a lost response, or refreshed twice in parallel):
    it gets another pair in the same family. Read fresh columns, not the loaded row, which predates
    the concurrent rotation."""
    row = (
        await ctx.session.execute(
            select(RefreshToken.rotated_at, RefreshToken.revoked_at, RefreshToken.user_agent).where(
                col(RefreshToken.id) == token_id
            )
        )
    ).one()
    rotated_at, revoked_at, user_agent = row
    if rotated_at is None or revoked_at is not None:
        return False
    same_client = user_agent == ((ctx.user_agent or "")[:200] or None)
    window = timedelta(seconds=ctx.settings.refresh_reuse_grace_seconds)
    return bool(same_client and rotated_at + window >= utcnow())


async def logout(ctx: Ctx, raw_token: str) -> None:
    token_hash = hash_secret(ctx.settings.jwt_key(), raw_token)
    token = (
        await ctx.session.exec(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
    ).first()
    if token is not None and token.user_id == ctx.require_principal().user_id:
        await _revoke_family(ctx, token.family_id)
        # The phone that logged out must stop getting this account's pushes.
        await unregister_session_devices(ctx.session, token.user_id, token.family_id)


async def _revoke_family(ctx: Ctx, family_id: str) -> None:
    await ctx.session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


__all__ = ["login", "logout", "refresh", "request_otp"]
