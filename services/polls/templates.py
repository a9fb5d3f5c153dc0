"""Inbox templates of the polls area. Placeholders: {id}, {title}, {kind_zh}, {closes}."""

from __future__ import annotations

from services.notifications.catalog import register_templates
from services.notifications.sms_templates import register_sms

register_templates(
    {
        "poll.opened": (
            ("新{kind_zh}：{title}", "「{title}」已开始，截止时间 {closes}，请及时参与"),
            ("New {kind}: {title}", '"{title}" is open until {closes}; please take part'),
        ),
    }
)

KIND_ZH = {"survey": "问卷", "vote": "表决"}

register_sms(
    {"poll.opened": ("poll_opened", {"kind": "{kind_zh}", "title": "{title}", "closes": "{closes}"})}
)
