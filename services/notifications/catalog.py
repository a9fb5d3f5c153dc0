"""Notification categories and templates (zh-CN first, English available). Areas register their own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.i18n import Locale


@dataclass(frozen=True)
class Category:
    name: str
    # Critical categories bypass preferences and quiet hours, and fall back to SMS.
    critical: bool = False


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category("account"),
        Category("ticket"),
        Category("notice"),
        Category("poll"),
        Category("duty"),
        Category("kpi"),
        Category("alarm"),  # non-critical alarms (critical ones go out as "safety")
        Category("emergency", critical=True),
        Category("safety", critical=True),
    )
}

# template -> ((zh title, zh body), (en title, en body)); placeholders use str.format names.
TEMPLATES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "account.claim_approved": (
        ("住户认证已通过", "您对 {household} 的认证申请已通过，欢迎使用邻里。"),
        ("Household verified", "Your claim for {household} was approved. Welcome to Linli."),
    ),
    "account.claim_rejected": (
        ("住户认证未通过", "您对 {household} 的认证申请未通过：{reason}"),
        ("Household claim rejected", "Your claim for {household} was rejected: {reason}"),
    ),
    "account.claim_filed": (
        ("新的住户认证申请", "有人申请认证为 {household} 的{relation_zh}，请审核"),
        ("New household claim", "Someone claims {household} as {relation}; please review"),
    ),
    "account.household_claimed": (
        (
            "有人申请认证您的房屋",
            "有人申请认证为 {household} 的{relation_zh}；如非您家人或租户，请联系业委会或居委会",
        ),
        (
            "Someone claims your home",
            "Someone claims {household} as {relation}; if they are not of your household, tell the "
            "committee or the community admin",
        ),
    ),
}


def register_templates(templates: dict[str, tuple[tuple[str, str], tuple[str, str]]]) -> None:
    for name, texts in templates.items():
        if name in TEMPLATES and TEMPLATES[name] != texts:
            raise ValueError(f"template {name!r} registered twice with different text")
        TEMPLATES[name] = texts


def category(name: str) -> Category:
    try:
        return CATEGORIES[name]
    except KeyError:
        raise ValueError(f"unknown notification category {name!r}") from None


def render(template: str, locale: Locale | str, data: dict[str, Any]) -> tuple[str, str]:
    zh, en = TEMPLATES[template]
    title, body = en if locale == "en" else zh
    return title.format_map(data)[:200], body.format_map(data)[:2000]
