"""Notification templates of the notices area (zh-CN first, English)."""

from __future__ import annotations

from services.notifications.catalog import register_templates
from services.notifications.sms_templates import register_sms

register_templates(
    {
        "notice.published": (
            ("{author}发布{kind_zh}：{title}", "{title}（点击查看）"),
            ("New {kind_en} from the {author_en}: {title}", "{title} (tap to read)"),
        ),
        "notice.emergency": (
            ("紧急通知：{title}", "{summary}"),
            ("Emergency: {title}", "{summary}"),
        ),
        "notice.remind_read": (
            ("请阅读公告：{title}", "您尚未阅读公告《{title}》，请及时查看。"),
            ("Please read: {title}", "You have not read the notice “{title}” yet."),
        ),
        "notice.remind_ack": (
            ("请确认公告：{title}", "公告《{title}》需要您确认已读，请查看后点击确认。"),
            ("Please acknowledge: {title}", "The notice “{title}” asks you to acknowledge it."),
        ),
        # To households without the app (services.notices.offline): the text itself, not "see the app".
        "notice.sms": (
            ("{author}{kind_zh}：{title}", "{text}（详见小区公告栏）"),
            ("{kind_en} from the {author_en}: {title}", "{text} (see the noticeboard)"),
        ),
        "notice.withdrawn": (
            ("公告已撤回：{title}", "公告《{title}》已撤回，原因：{reason}"),
            ("Notice withdrawn: {title}", "The notice “{title}” was withdrawn: {reason}"),
        ),
        "notice.objection_answered": (
            ("您的异议已答复", "您对《{title}》提出的异议已收到答复，请查看。"),
            ("Your objection was answered", "Your objection to “{title}” has an answer."),
        ),
    }
)

KIND_ZH = {"announcement": "公告", "publicity": "公示", "emergency": "紧急通知"}
KIND_EN = {"announcement": "announcement", "publicity": "public notice", "emergency": "emergency notice"}
AUTHOR_ZH = {
    "committee_member": "业委会",
    "property_manager": "物业",
    "party_secretary": "党支部",
    "community_admin": "居委会",
}
AUTHOR_EN = {
    "committee_member": "owners' committee",
    "property_manager": "property company",
    "party_secretary": "party branch",
    "community_admin": "community office",
}

# By SMS (services.notifications.sms_templates): an emergency carries the notice's own words.
register_sms(
    {
        "notice.published": ("notice_published", {"author": "{author}", "kind": "{kind_zh}", "title": "{title}"}),
        "notice.emergency": ("notice_emergency", {"title": "{title}", "content": "{summary}"}),
        "notice.sms": ("notice_offline", {"title": "{title}", "content": "{text}"}),
        "notice.remind_read": ("notice_update", {"title": "{title}", "event": "您尚未阅读", "detail": "请及时查看"}),
        "notice.remind_ack": ("notice_update", {"title": "{title}", "event": "需要您确认已读", "detail": "请查看后点击确认"}),
        "notice.withdrawn": ("notice_update", {"title": "{title}", "event": "已撤回", "detail": "{reason}"}),
        "notice.objection_answered": ("notice_update", {"title": "{title}", "event": "您的异议已收到答复", "detail": "请在邻里App查看"}),
    },
    provides={"notice_id", "community_id", "kind", "title", "author", "author_en", "kind_zh", "kind_en", "summary"},
)  # fmt: skip
