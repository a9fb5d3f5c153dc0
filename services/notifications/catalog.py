"""Notification categories and templates (zh-CN first, English available). Areas register their own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.i18n import Locale
from services.models.notifications import NotificationCategory as N


@dataclass(frozen=True)
class Category:
    name: str
    # Critical categories bypass preferences and quiet hours, and fall back to SMS.
    critical: bool = False


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category(N.account),
        Category(N.ticket),
        Category(N.notice),
        Category(N.poll),
        Category(N.duty),
        Category(N.kpi),
        Category(N.alarm),
        Category(N.emergency, critical=True),
        Category(N.safety, critical=True),
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


# Sensitive personal information (PIPL art. 28: party membership, complaints): such an item's push
# shows only this on the lock screen, and carries no content; the app fetches it from the inbox.
LOCK_SCREEN_TEXT = {"zh-CN": ("邻里", "您有一条新消息"), "en": ("Linli", "You have a new message")}
# Defaults live here, not in the areas' modules: the worker that sends may not have imported them.
SENSITIVE_CATEGORIES: set[str] = set()
# Duty shifts and swaps go to party members only: the text itself says the person is one.
SENSITIVE_TEMPLATE_PREFIXES: set[str] = {"duty.shift_", "duty.swap_"}
# An invitation to one of these roles tells the lock screen that the person is a party member.
SENSITIVE_ROLES = {"party_member", "party_secretary"}


def register_sensitive(*, categories: tuple[str, ...] = (), template_prefixes: tuple[str, ...] = ()) -> None:
    """An area declares its sensitive notifications (a whole category, or templates by prefix)."""
    SENSITIVE_CATEGORIES.update(categories)
    SENSITIVE_TEMPLATE_PREFIXES.update(template_prefixes)


def is_sensitive(category_name: str, data: dict[str, Any]) -> bool:
    """Complaint tickets (any template whose data says kind=complaint), invitations to a party role,
    registered categories and templates, and anything notify() was told is sensitive
    (data["sensitive"])."""
    template = str(data.get("template", ""))
    return (
        bool(data.get("sensitive"))
        or category_name in SENSITIVE_CATEGORIES
        or data.get("kind") == "complaint"
        or data.get("role") in SENSITIVE_ROLES
        or any(template.startswith(prefix) for prefix in SENSITIVE_TEMPLATE_PREFIXES)
    )


def lock_screen_text(locale: str) -> tuple[str, str]:
    return LOCK_SCREEN_TEXT["en" if locale == "en" else "zh-CN"]


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
