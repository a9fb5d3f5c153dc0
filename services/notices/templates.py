"""Notification templates of the notices area (zh-CN first, English)."""

from __future__ import annotations

from services.notifications.catalog import register_templates

register_templates(
    {
        "notice.published": (
            ("{author}发布{kind_zh}：{title}", "{title}（点击查看）"),
            ("New {kind_en} from the {author_en}: {title}", "{title} (tap to read)"),
        ),
        "notice.emergency": (
            ("紧急通知：{title}", "{title}——请立即查看并按通知要求行动。"),
            ("Emergency: {title}", "{title} — read now and follow the instructions."),
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
