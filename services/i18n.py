"""Locale negotiation and the message catalogue for error codes (zh-CN first, English available)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, model_validator
from typing_extensions import TypeAliasType

Locale = Literal["zh-CN", "en"]
DEFAULT_LOCALE: Locale = "zh-CN"

# code -> (zh-CN, en). Codes are stable; messages may be reworded.
MESSAGES: dict[str, tuple[str, str]] = {
    "request.invalid": ("请求参数有误", "The request is invalid"),
    "request.too_large": ("请求内容过大", "The request body is too large"),
    "request.unavailable": ("服务暂时不可用，请稍后再试", "Temporarily unavailable; try again later"),
    "dependency.unavailable": (
        "服务暂时不可用，请稍后重试",
        "A service we depend on is briefly unavailable; try again in a moment",
    ),
    "request.busy": ("系统繁忙，请稍后重试", "The service is busy; try again in a moment"),
    "auth.sms_unavailable": (
        "短信服务暂时不可用，请稍后再试",
        "SMS is temporarily unavailable; try again later",
    ),
    "auth.sms_rejected": ("短信无法发送到该号码", "The SMS provider refused this number"),
    "request.not_found": ("请求的地址不存在", "No such endpoint"),
    "request.method_not_allowed": ("不支持该请求方法", "Method not allowed"),
    "request.rate_limited": ("操作过于频繁，请稍后再试", "Too many requests; try again later"),
    "request.internal": ("服务器内部错误", "Internal server error"),
    "pagination.invalid_cursor": ("分页游标无效", "The pagination cursor is invalid"),
    "idempotency.key_reused": (
        "该幂等键已用于不同的请求内容",
        "This Idempotency-Key was already used with a different request body",
    ),
    "idempotency.in_progress": ("相同请求正在处理中", "The same request is still being processed"),
    "idempotency.invalid_key": ("Idempotency-Key 格式无效", "The Idempotency-Key header is invalid"),
    "auth.required": ("请先登录", "Authentication required"),
    "auth.invalid_token": ("登录凭证无效或已过期", "The access token is invalid or expired"),
    "auth.user_disabled": ("账号已停用", "This account is disabled"),
    "auth.invalid_phone": ("手机号码格式不正确", "The phone number is not valid"),
    "auth.unsupported_phone": ("仅支持中国大陆手机号码", "Only mainland China mobile numbers are supported"),
    "auth.otp_invalid": ("验证码错误", "The verification code is wrong"),
    "auth.otp_expired": ("验证码已过期，请重新获取", "The verification code has expired; request a new one"),
    "auth.otp_too_many_attempts": (
        "验证码错误次数过多，请重新获取",
        "Too many wrong codes; request a new one",
    ),
    "auth.otp_throttled": ("验证码发送过于频繁", "Verification codes requested too often"),
    "auth.invalid_credentials": ("手机号或密码错误", "Wrong phone number or password"),
    "auth.invalid_refresh_token": ("刷新凭证无效，请重新登录", "The refresh token is invalid; log in again"),
    "auth.refresh_token_reused": (
        "刷新凭证已被使用，为保护账号安全已退出所有相关登录",
        "The refresh token was already used; the session has been revoked for safety",
    ),
    "auth.login_method": ("请提供验证码或密码之一", "Provide exactly one of code or password"),
    "access.forbidden": ("无权执行此操作", "You are not allowed to do this"),
    "access.read_only": ("街道账号只读，不能修改", "A street-office account is read-only"),
    "access.unverified": (
        "请先完成住户认证",
        "Verify your household before doing this",
    ),
    "community.not_found": ("小区不存在", "Community not found"),
    "community.name_taken": ("同名小区已存在", "A community with this name already exists"),
    "building.not_found": ("楼栋不存在", "Building not found"),
    "building.name_taken": ("该小区已有同名楼栋", "This community already has a building with that name"),
    "household.not_found": ("房屋不存在", "Household not found"),
    "household.duplicate": ("该房屋已存在", "This household already exists"),
    "household.import_invalid": (
        "导入文件有误，未导入任何数据",
        "The import file has errors; nothing was imported",
    ),
    "company.not_found": ("物业服务企业不存在", "Property company not found"),
    "contract.invalid_dates": ("合同结束日期早于开始日期", "The contract ends before it starts"),
    "user.not_found": ("用户不存在", "User not found"),
    "membership.not_found": ("成员关系不存在", "Membership not found"),
    "membership.duplicate": ("已存在相同的成员关系", "This membership already exists"),
    "membership.invalid_role": ("该角色不适用于此处", "This role does not apply here"),
    "claim.not_found": ("认证申请不存在", "Claim not found"),
    "claim.duplicate": ("您已申请或认证过该房屋", "You have already claimed this household"),
    "claim.not_pending": ("该申请已处理", "This claim has already been decided"),
}


def register(messages: dict[str, tuple[str, str]]) -> None:
    """Areas add their own codes (zh-CN, en) from a `messages.py` beside their service."""
    for code, pair in messages.items():
        if code in MESSAGES and MESSAGES[code] != pair:
            raise ValueError(f"message code {code!r} registered twice with different text")
        MESSAGES[code] = pair


def negotiate(accept_language: str | None) -> Locale:
    """Pick zh-CN or en from an Accept-Language header; zh-CN unless English is preferred."""
    if not accept_language:
        return DEFAULT_LOCALE
    best: tuple[float, Locale] | None = None
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        locale: Locale | None = "en" if tag.startswith("en") else "zh-CN" if tag.startswith("zh") else None
        if locale is None or quality <= 0:
            continue
        # Earlier entries win ties, as browsers list preferences in order.
        score = quality - index * 1e-6
        if best is None or score > best[0]:
            best = (score, locale)
    return best[1] if best else DEFAULT_LOCALE


def message(code: str, locale: Locale) -> str:
    zh, en = MESSAGES.get(code, (code, code))
    return en if locale == "en" else zh


# --- labels: the words for enum values a user sees (ticket statuses, categories, reasons, roles …) ----
# One catalogue, filled by each area's `labels.py` (collected by services.labels). A group names the
# values it must cover (an Enum, a Literal or a tuple), so a new value without words fails a test.


@dataclass(frozen=True)
class LabelGroup:
    name: str  # "ticket.status"
    values: tuple[str, ...]  # every value the source enum allows, in its order
    labels: dict[str, tuple[str, str]]  # value -> (zh-CN, en)

    def missing(self) -> list[str]:
        return [v for v in self.values if v not in self.labels]


LABELS: dict[str, LabelGroup] = {}


def enum_values(source: Any) -> tuple[str, ...]:
    """The values of an Enum class, a Literal[...] (or a union of them, or a named alias of one) or an
    iterable of strings."""
    if isinstance(source, TypeAliasType):
        source = source.__value__
    if isinstance(source, type) and issubclass(source, Enum):
        return tuple(str(m.value) for m in source)
    args = get_args(source)
    if args:
        out: list[str] = []
        for arg in args:
            out += [str(a) for a in (enum_values(arg) if get_args(arg) else (arg,)) if a is not None]
        return tuple(dict.fromkeys(a for a in out if a != "None"))
    return tuple(str(v) for v in source)


def register_labels(name: str, source: Any, labels: dict[str, tuple[str, str]]) -> None:
    values = enum_values(source)
    extra = sorted(set(labels) - set(values))
    if extra:
        raise ValueError(f"labels {name!r} name values the enum does not have: {extra}")
    if name in LABELS and LABELS[name].labels != labels:
        raise ValueError(f"labels {name!r} registered twice with different text")
    LABELS[name] = LabelGroup(name, values, dict(labels))


def label(group: str, value: str | None, locale: Locale | str = DEFAULT_LOCALE) -> str | None:
    """The words for one value; an unknown value reads as itself (never an error on output)."""
    if value is None:
        return None
    found = LABELS.get(group)
    pair = found.labels.get(str(value)) if found else None
    if pair is None:
        return str(value)
    return pair[1] if locale == "en" else pair[0]


def zh(group: str, value: str | None) -> str:
    return label(group, value, "zh-CN") or ""


def en(group: str, value: str | None) -> str:
    return label(group, value, "en") or ""


# The locale of the request being served (set by the API's middleware from Accept-Language), so a
# response model can fill its labels wherever it is built.
_LOCALE: ContextVar[str] = ContextVar("linli_locale", default=DEFAULT_LOCALE)


def use_locale(locale: Locale) -> None:
    _LOCALE.set(locale)


def current_locale() -> Locale:
    return "en" if _LOCALE.get() == "en" else DEFAULT_LOCALE


class Labelled(BaseModel):
    """Mixin for response models: `LABELS = {"status": "ticket.status"}` fills `status_label` (a field
    the model declares) with the words for `status` in the request's locale, unless already given."""

    LABELS: ClassVar[dict[str, str]] = {}

    @model_validator(mode="after")
    def _fill_labels(self) -> Any:
        locale = current_locale()
        for field, group in self.LABELS.items():
            name = f"{field}_label"
            if getattr(self, name, None) is None:
                setattr(self, name, label(group, getattr(self, field, None), locale))
        return self
