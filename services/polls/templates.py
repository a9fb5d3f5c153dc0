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
        "poll.closed": (
            (
                "表决结果：{title}",
                "「{title}」已结束，结果：{verdict_zh}。参与 {households_voted}/{households_total} 户，"
                "专有面积 {area_voted}/{area_total} m²，详情可查看计票结果。",
            ),
            (
                "Vote result: {title}",
                '"{title}" has closed: {verdict}. {households_voted} of {households_total} households took '
                "part ({area_voted} of {area_total} m²); see the results for every test.",
            ),
        ),
    }
)

KIND_ZH = {"survey": "问卷", "vote": "表决"}

register_sms(
    {
        "poll.opened": ("poll_opened", {"kind": "{kind_zh}", "title": "{title}", "closes": "{closes}"}),
        "poll.closed": (
            "poll_closed",
            {
                "title": "{title}",
                "verdict": "{verdict_zh}",
                "households": "{households_voted}/{households_total}",
                "area": "{area_voted}/{area_total}",
            },
        ),
    }
)
