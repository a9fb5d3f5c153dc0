"""The SMS template catalogue against every registered notification template (issue 14 item 5).

Generic on purpose: a notification template added anywhere (another area, another branch) without an
SMS form, or whose SMS variables use data the notification does not send, fails here."""

from __future__ import annotations

import re

import pytest

import api.main  # noqa: F401  (imports every area, so every template is registered)
from services.models.tickets import Ticket
from services.notifications.catalog import TEMPLATES
from services.notifications.sms_templates import (
    EMPTY,
    PARAM_MAX,
    SMS_FOR,
    SMS_TEMPLATES,
    TEXT_MAX,
    placeholders,
    render_sms,
    shorten,
)
from services.tickets.events import template_data
from services.tickets.templates import TEMPLATE_KEYS

NOTIFICATION_TEMPLATES = sorted(name for name in TEMPLATES if not name.startswith("test."))


def _push_placeholders(name: str) -> set[str]:
    (zt, zb), (et, eb) = TEMPLATES[name]
    return set().union(*(placeholders(text) for text in (zt, zb, et, eb)))


def test_the_catalogue_is_not_empty() -> None:
    assert len(NOTIFICATION_TEMPLATES) >= 30 and {"ticket.rejected", "notice.emergency"} <= set(SMS_FOR)


@pytest.mark.parametrize("name", NOTIFICATION_TEMPLATES)
def test_every_notification_template_has_an_sms_form_it_can_fill(name: str) -> None:
    spec = SMS_FOR.get(name)
    assert spec is not None, (
        f"notification template {name!r} has no SMS form: add it with register_sms() beside its "
        "register_templates() call (services/notifications/sms_templates.py explains the catalogue)"
    )
    assert spec.sms in SMS_TEMPLATES, f"{name!r} names an unknown SMS template {spec.sms!r}"
    sms = SMS_TEMPLATES[spec.sms]
    assert set(spec.params) == set(sms.params), (
        f"{name!r} fills {sorted(spec.params)}, {sms.key} has {sms.params}"
    )
    provided = _push_placeholders(name) | spec.provides
    for param, fmt in spec.params.items():
        assert placeholders(fmt) <= provided, f"{name}.{param} uses {placeholders(fmt) - provided}"

    # Worst case: every value far longer than the provider allows.
    long_value = (
        "小区二号楼东侧地下车库入口处的消防通道被长期占用。请车主今天之内尽快挪走，否则物业将联系交警处理。"
        * 3
    )
    rendering = render_sms(name, {key: long_value for key in provided})
    assert rendering is not None
    for param, value in rendering.params.items():
        assert 1 <= len(value) <= sms.limit(param) <= PARAM_MAX, (name, param, value)
        assert not set(value) & set("【】「」[]"), (name, param, value)
    assert len(rendering.text) <= TEXT_MAX and "${" not in rendering.text


@pytest.mark.parametrize("key", sorted(SMS_TEMPLATES))
def test_sms_template_texts_follow_the_provider_rules(key: str) -> None:
    sms = SMS_TEMPLATES[key]
    assert 0 < len(sms.text) <= TEXT_MAX
    assert not set(sms.text) & set("【】「」『』〖〗★※→•")  # refused characters; 【】 mark the signature
    assert "}${" not in sms.text  # no two variables side by side
    assert len(sms.params) == len(set(sms.params))  # a variable appears once
    assert set(sms.text.replace("${", "").replace("}", "")) - set(" ") != set()  # not all variables
    assert "{" not in re.sub(r"\$\{\w+\}", "", sms.text)  # no stray placeholder of another syntax


def test_ticket_template_data_sends_what_the_catalogue_counts_on() -> None:
    t = Ticket(id=7, community_id=1, kind="repair", category="plumbing", priority="normal", status="paused",
               title="厨房水管漏水", reporter_id=1, created_by_id=1)  # fmt: skip
    data = template_data(t, reason="waiting_for_parts")
    assert set(data) == TEMPLATE_KEYS
    assert (data["status_zh"], data["reason_zh"], data["category_zh"]) == ("已挂起", "等待配件", "水管水路")
    assert (data["status_en"], data["reason_en"]) == ("Paused", "Waiting for parts")


def test_shorten_cuts_at_a_break_and_never_returns_empty() -> None:
    text = "今晚20:00至次日6:00全小区停水。请提前储水，关闭家中水龙头，以免来水时跑水。如有疑问请联系物业。"
    cut = shorten(text, PARAM_MAX)
    assert len(cut) <= PARAM_MAX and cut.endswith("…")
    assert cut == "今晚20:00至次日6:00全小区停水。请提前储水，关闭家中水龙头…"
    assert shorten("  \n ", 35) == EMPTY
    assert shorten("【物业】通知\n第二行", 35) == "(物业)通知 第二行"
    assert shorten("一" * 80, 35) == "一" * 34 + "…"
