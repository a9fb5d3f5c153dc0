"""The SMS template catalogue: what each notification says by text message, in the provider's approved
templates.

Chinese SMS providers (Aliyun Dysms) send only pre-approved templates: fixed text with named
variables, every variable 1–35 characters (notification templates, "other" variables), the whole
message at most 500. So a notification does not go out as free text: each notification template
names one SMS template here and says, as format strings over the notification's data, what goes into
each variable. The provider's template codes (assigned on approval) come from settings
(LINLI_SMS_TEMPLATE_CODES, a JSON object key -> code). tests/services/test_sms_templates.py checks
every registered notification template against this catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from string import Formatter
from typing import Any

PARAM_MAX = 35  # Aliyun notification templates: a variable holds 1–35 characters
TEXT_MAX = 500  # the template text with its variables filled in
EMPTY = "无"  # a variable may not be empty
_VAR = re.compile(r"\$\{([A-Za-z][A-Za-z0-9_]{0,24})\}")
# Characters the provider refuses in templates and variables (【】 mark the signature).
_SWAP = str.maketrans({"【": "(", "】": ")", "「": "“", "」": "”", "『": "“", "』": "”", "[": "(", "]": ")"})
_BREAKS = "。！？；!?;，,、 "


@dataclass(frozen=True)
class SmsTemplate:
    key: str
    text: str  # as submitted to the provider, ${name} for each variable
    limits: Mapping[str, int] = field(default_factory=dict)  # per-variable overrides of PARAM_MAX

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(_VAR.findall(self.text))

    def limit(self, param: str) -> int:
        return self.limits.get(param, PARAM_MAX)

    def fill(self, params: Mapping[str, str]) -> str:
        return _VAR.sub(lambda m: params.get(m.group(1), EMPTY), self.text)


@dataclass(frozen=True)
class SmsSpec:
    """How one notification template goes out by SMS: the SMS template and a format string per
    variable over the notification's data. `provides` lists data keys the area always sends (beyond
    the placeholders of its push texts), so the catalogue test knows what a format may use."""

    sms: str
    params: Mapping[str, str]
    provides: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SmsRendering:
    key: str
    params: dict[str, str]
    text: str


SMS_TEMPLATES: dict[str, SmsTemplate] = {}
SMS_FOR: dict[str, SmsSpec] = {}


def register_sms_templates(templates: Iterable[SmsTemplate]) -> None:
    for t in templates:
        if t.key in SMS_TEMPLATES and SMS_TEMPLATES[t.key] != t:
            raise ValueError(f"SMS template {t.key!r} registered twice with different text")
        SMS_TEMPLATES[t.key] = t


def register_sms(specs: Mapping[str, tuple[str, Mapping[str, str]]], *, provides: Iterable[str] = ()) -> None:
    """{notification template: (SMS template key, {variable: format over the data})}."""
    extra = frozenset(provides)
    for name, (sms, params) in specs.items():
        spec = SmsSpec(sms, dict(params), extra)
        if name in SMS_FOR and SMS_FOR[name] != spec:
            raise ValueError(f"SMS mapping for {name!r} registered twice differently")
        SMS_FOR[name] = spec


def placeholders(fmt: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(fmt) if name}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""  # a worker must send something readable rather than crash on a missing key


def shorten(value: str, limit: int) -> str:
    """Fit a variable: one line, no provider-reserved brackets, cut at a sentence or clause break when
    the text is too long (with an ellipsis), never empty."""
    text = " ".join(str(value).translate(_SWAP).split())
    if not text:
        return EMPTY
    if len(text) <= limit:
        return text
    room = text[: limit - 1]
    cut = max(room.rfind(ch) for ch in _BREAKS)
    if cut >= limit // 2:
        room = room[: cut + 1] if room[cut] in "。！？!?" else room[:cut]
    return room.rstrip(_BREAKS[:-1] + " ") + "…"


def render_sms(template: str, data: Mapping[str, Any]) -> SmsRendering | None:
    """The SMS for a notification, or None when its template has no SMS form."""
    spec = SMS_FOR.get(template)
    if spec is None or spec.sms not in SMS_TEMPLATES:
        return None
    sms = SMS_TEMPLATES[spec.sms]
    values = _Blank(data)
    params = {p: shorten(spec.params.get(p, "").format_map(values), sms.limit(p)) for p in sms.params}
    return SmsRendering(sms.key, params, sms.fill(params)[:TEXT_MAX])


PRIVATE = "private_message"


def render_private() -> SmsRendering:
    """The SMS that stands in for a sensitive item: no content, the app holds it."""
    return SmsRendering(PRIVATE, {}, SMS_TEMPLATES[PRIVATE].text)


# --- the catalogue ---------------------------------------------------------------------------------
# The texts avoid 【】 and 「」 (refused by the provider) and never put two variables side by side.

register_sms_templates(
    [
        SmsTemplate("login_code", "您的验证码为${code}，5分钟内有效，请勿泄露给他人。", {"code": 6}),
        SmsTemplate("ticket_update", "您的${kind}工单“${title}”当前状态：${status}，说明：${detail}。"),
        SmsTemplate("ticket_task", "工单“${title}”（编号${ticket}）有新动态：${event}，说明：${detail}。"),
        SmsTemplate("notice_published", "${author}发布${kind}：${title}，请在邻里App或小区公告栏查看。"),
        SmsTemplate("notice_emergency", "紧急通知：${title}。内容：${content}"),
        SmsTemplate("notice_offline", "小区公告：${title}。内容：${content}（详见小区公告栏）"),
        SmsTemplate("notice_update", "公告“${title}”有新动态：${event}，说明：${detail}。"),
        SmsTemplate("poll_opened", "${kind}“${title}”已开始，截止时间${closes}，请及时参与。"),
        SmsTemplate("duty_shift", "您的${post}班次（${start}）${event}，说明：${detail}。"),
        SmsTemplate("duty_manage", "值班事项：${event}，岗位：${post}，时间：${start}。"),
        SmsTemplate("activity_update", "您报名的活动“${title}”（${start}）有新动态：${event}。"),
        SmsTemplate("account_claim", "您对${household}的住户认证结果：${result}，说明：${detail}。"),
        SmsTemplate("account_claim_review", "有人申请认证为${household}的${relation}，请登录邻里App审核。"),
        SmsTemplate(
            "account_household_claimed",
            "有人申请认证为${household}的${relation}；如非您的家人或租户，请联系业委会或居委会。",
        ),
        SmsTemplate(
            "poll_closed",
            "表决“${title}”已结束，结果：${verdict}；参与${households}户，专有面积${area}平方米。",
        ),
        # A sensitive item (services.notifications.catalog.is_sensitive) to someone with the app: an
        # SMS sits on the lock screen and in the message history, so it says only this.
        SmsTemplate("private_message", "您有一条新消息，请登录邻里App查看。"),
        SmsTemplate("account_invite", "您被邀请担任${role}，请登录邻里App在“我的”中接受或拒绝。"),
        SmsTemplate(
            "kpi_alert", "小区${community}的考核指标${metric}未达标：${period}为${value}%，目标为${target}%。"
        ),
    ]
)

register_sms(
    {
        "account.claim_approved": ("account_claim", {"household": "{household}", "result": "已通过", "detail": "欢迎使用邻里"}),
        "account.claim_rejected": ("account_claim", {"household": "{household}", "result": "未通过", "detail": "{reason}"}),
        "account.invited": ("account_invite", {"role": "{role_zh}"}),
        "account.claim_filed": ("account_claim_review", {"household": "{household}", "relation": "{relation_zh}"}),
        "account.household_claimed": ("account_household_claimed", {"household": "{household}", "relation": "{relation_zh}"}),
    }
)  # fmt: skip
