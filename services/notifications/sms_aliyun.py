"""Aliyun Dysms (SendSms, API version 2017-05-25) through the official SDK: `pip install 'linli[aliyun]'`.

Aliyun sends by template only. Login codes go out with the login template and `{"code": code}`;
notifications with their approved template (services.notifications.sms_templates, codes from
LINLI_SMS_TEMPLATE_CODES) and its named variables; a message without one falls back to the notice
template and `{"content": text}` cut to the variable limit.

Outcomes: Code "OK" returns; per-number flow control, Aliyun-side faults, timeouts and network errors
raise `SmsRetryLater` (with a wait hint); everything else - bad numbers, templates, signatures,
credentials - raises `SmsRejected(code, message)`.

The SDK is imported when the provider is built, never at module import, so the package works without
the extra. The SDK's own retry loop stays off: its async path sleeps with `time.sleep` between
attempts, which would block the event loop; callers (the job queue) own retries.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from pydantic import SecretStr

from services.notifications.sms import SmsConfigError, SmsError, SmsRejected, SmsRetryLater
from services.notifications.sms_templates import PARAM_MAX, shorten
from services.phones import mask

if TYPE_CHECKING:
    from services.config import Settings

log = logging.getLogger("linli.sms.aliyun")

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com"
CHINA_TZ = timezone(timedelta(hours=8))  # no DST in China; Aliyun's daily quotas reset at local midnight

# Per-number flow control (defaults: 1 a minute, 5 an hour, 10 a day per number and signature).
THROTTLE_CODES = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL"})
# Faults on Aliyun's side that a later attempt may not meet.
TRANSIENT_CODES = frozenset({"isp.SYSTEM_ERROR", "SignatureNonceUsed", "ServiceUnavailable", "InternalError"})
NETWORK_RETRY_SECONDS = 30.0
SERVER_RETRY_SECONDS = 30.0
API_THROTTLE_RETRY_SECONDS = 5.0

_PHONE = re.compile(r"[0-9]{5,20}")


def aliyun_phone_number(phone: str) -> str:
    """E.164 to Aliyun's PhoneNumbers form: +8613800138000 → 13800138000; other countries keep
    their country code without '+' (85291234567), which is how Aliyun takes international numbers."""
    text = phone.strip().replace(" ", "").replace("-", "")
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("+"):
        text = text[1:]
    if not _PHONE.fullmatch(text):
        raise SmsRejected("linli.INVALID_PHONE", f"not a phone number: {mask(phone)}")
    return text


def seconds_to_china_midnight(now: datetime | None = None) -> float:
    local = (now or datetime.now(CHINA_TZ)).astimezone(CHINA_TZ)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(60.0, (midnight - local).total_seconds())


def throttle_wait(code: str, message: str) -> float:
    """Aliyun's flow-control messages name the window: 触发分钟级流控 / 触发小时级流控 / 触发天级流控."""
    lowered = message.lower()
    if code == "isv.DAY_LIMIT_CONTROL" or "天级" in message or "day" in lowered:
        return seconds_to_china_midnight()
    if "小时级" in message or "hour" in lowered:
        return 3600.0
    return 60.0


def classify(
    code: str | None, message: str, *, status: int | None = None, retry_after: float | None = None
) -> SmsError:
    """Turn an Aliyun answer that is not "OK" into the exception callers act on."""
    if code in THROTTLE_CODES:
        return SmsRetryLater(
            f"aliyun {code}: {message}", retry_after=retry_after or throttle_wait(code, message)
        )
    if code is not None and (code in TRANSIENT_CODES or code.startswith("Throttling")):
        wait = API_THROTTLE_RETRY_SECONDS if code.startswith("Throttling") else SERVER_RETRY_SECONDS
        return SmsRetryLater(f"aliyun {code}: {message}", retry_after=retry_after or wait)
    if retry_after is not None or (status is not None and status >= 500):
        return SmsRetryLater(
            f"aliyun HTTP {status} {code}: {message}", retry_after=retry_after or SERVER_RETRY_SECONDS
        )
    return SmsRejected(code or f"HTTP {status}", message)


class AliyunSmsProvider:
    """SmsProvider over Aliyun's SendSms; one SDK client per provider, shared by concurrent sends."""

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        login_template: str,
        notice_template: str | None = None,
        template_codes: dict[str, str] | None = None,
        endpoint: str | None = None,
        timeout_seconds: float = 5.0,
    ) -> None:
        try:
            from alibabacloud_dysmsapi20170525 import models as sms_models  # type: ignore[import-untyped,import-not-found,unused-ignore]
            from alibabacloud_dysmsapi20170525.client import Client  # type: ignore[import-untyped,import-not-found,unused-ignore]
            from alibabacloud_tea_openapi.models import Config  # type: ignore[import-untyped,import-not-found,unused-ignore]
            from darabonba.exceptions import ResponseException  # type: ignore[import-untyped,import-not-found,unused-ignore]
            from darabonba.runtime import RuntimeOptions  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError as exc:
            raise SmsConfigError(
                "LINLI_SMS_PROVIDER=aliyun needs the Aliyun SDK: pip install 'linli[aliyun]'"
            ) from exc
        protocol, host = _split_endpoint(endpoint or DEFAULT_ENDPOINT)
        millis = max(1, int(timeout_seconds * 1000))
        self.sign_name = sign_name
        self.login_template = login_template
        self.notice_template = notice_template
        # Our catalogue key (services.notifications.sms_templates) -> the code Aliyun gave on approval.
        self.template_codes = dict(template_codes or {})
        self.endpoint = f"{protocol.lower()}://{host}"
        self.timeout_seconds = timeout_seconds
        self._request_type: Any = sms_models.SendSmsRequest
        self._runtime_type: Any = RuntimeOptions
        self._response_error: type[Exception] = ResponseException
        self._client: Any = Client(
            Config(
                access_key_id=access_key_id,
                access_key_secret=access_key_secret,
                endpoint=host,
                protocol=protocol,
                connect_timeout=millis,
                read_timeout=millis,
            )
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> AliyunSmsProvider:
        required = {
            "LINLI_SMS_SIGN_NAME": settings.sms_sign_name,
            "LINLI_SMS_LOGIN_TEMPLATE": settings.sms_login_template,
            "LINLI_SMS_ACCESS_KEY_ID": _secret(settings.sms_access_key_id),
            "LINLI_SMS_ACCESS_KEY_SECRET": _secret(settings.sms_access_key_secret),
        }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise SmsConfigError("LINLI_SMS_PROVIDER=aliyun needs " + ", ".join(missing) + " to be set")
        return cls(
            access_key_id=required["LINLI_SMS_ACCESS_KEY_ID"] or "",
            access_key_secret=required["LINLI_SMS_ACCESS_KEY_SECRET"] or "",
            sign_name=settings.sms_sign_name or "",
            login_template=settings.sms_login_template or "",
            notice_template=settings.sms_notice_template or None,
            template_codes=settings.sms_template_codes,
            endpoint=settings.sms_endpoint or None,
            timeout_seconds=settings.sms_timeout_seconds,
        )

    async def send(
        self,
        phone: str,
        text: str,
        *,
        code: str | None = None,
        template: str | None = None,
        params: dict[str, str] | None = None,
    ) -> None:
        number = aliyun_phone_number(phone)
        values: dict[str, str]
        if code is not None:
            template_code, values = self.login_template, {"code": code}
        elif template is not None and template in self.template_codes:
            template_code, values = self.template_codes[template], dict(params or {})
        elif self.notice_template:
            # No approved template for this message: the one-variable catch-all, cut to its limit.
            template_code, values = self.notice_template, {"content": shorten(text, PARAM_MAX)}
        else:
            raise SmsRejected(
                "linli.NO_NOTICE_TEMPLATE",
                f"no template code for {template!r}: set LINLI_SMS_TEMPLATE_CODES (or LINLI_SMS_NOTICE_TEMPLATE)",
            )
        request = self._request_type(
            phone_numbers=number,
            sign_name=self.sign_name,
            template_code=template_code,
            template_param=orjson.dumps(values).decode(),
        )
        try:
            async with asyncio.timeout(self.timeout_seconds):
                response = await self._client.send_sms_with_options_async(request, self._runtime_type())
        except TimeoutError as exc:
            log.warning("aliyun sms to %s timed out after %ss", mask(phone), self.timeout_seconds)
            raise SmsRetryLater("aliyun: timed out", retry_after=NETWORK_RETRY_SECONDS) from exc
        except self._response_error as exc:
            error = self._http_error(exc)
            log.warning("aliyun sms to %s failed: %s", mask(phone), error)
            raise error from exc
        except Exception as exc:  # the SDK wraps network and decoding errors in UnretryableException
            log.warning("aliyun sms to %s failed: %r", mask(phone), exc)
            raise SmsRetryLater(f"aliyun unreachable: {exc}", retry_after=NETWORK_RETRY_SECONDS) from exc
        body = response.body
        result: str | None = getattr(body, "code", None)
        if result == "OK":
            log.info("aliyun sms to %s accepted, BizId %s", mask(phone), getattr(body, "biz_id", None))
            return
        error = classify(result, str(getattr(body, "message", "") or ""), status=response.status_code)
        log.warning("aliyun sms to %s refused: %s", mask(phone), error)
        raise error

    @staticmethod
    def _http_error(exc: Exception) -> SmsError:
        """An HTTP 4xx/5xx answer the SDK turned into ClientException/ServerException/ThrottlingException."""
        data = getattr(exc, "data", None)
        code = getattr(exc, "code", None)
        message = getattr(exc, "message", None)
        if isinstance(data, dict):
            code = data.get("Code") or data.get("code") or code
            message = data.get("Message") or data.get("message") or message
        if code in (None, "", "None"):
            code = None
        retry_after_ms = getattr(exc, "retry_after", None)  # from x-acs-retry-after, in milliseconds
        retry_after = retry_after_ms / 1000 if isinstance(retry_after_ms, int | float) else None
        status = getattr(exc, "status_code", None)
        return classify(
            str(code) if code is not None else None,
            str(message or ""),
            status=status if isinstance(status, int) else None,
            retry_after=retry_after,
        )


def _split_endpoint(endpoint: str) -> tuple[str, str]:
    """'http://127.0.0.1:9000' → ('HTTP', '127.0.0.1:9000'); a bare host means HTTPS."""
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SmsConfigError(f"LINLI_SMS_ENDPOINT must be an http(s) URL, not {endpoint!r}")
    return parts.scheme.upper(), parts.netloc


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


__all__ = ["AliyunSmsProvider", "aliyun_phone_number", "classify"]
