"""Error codes of the notices area (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register

register(
    {
        "notice.not_found": ("公告不存在", "Notice not found"),
        "notice.comment_not_found": ("评论不存在", "Comment not found"),
        "notice.invalid_audience": (
            "公告范围有误（楼栋须属于本小区，角色须有效）",
            "The audience is invalid (buildings must belong to this community; roles must be valid)",
        ),
        "notice.invalid_author_role": ("您不具有该发布身份", "You do not hold this author role"),
        "notice.publish_at_past": ("定时发布时间不能早于当前时间", "The publish time must be in the future"),
        "notice.invalid_expiry": ("失效时间须晚于发布时间", "The expiry must be after the publish time"),
        "notice.window_too_short": ("公示期不得少于 5 天", "A publicity period must last at least 5 days"),
        "notice.window_not_allowed": (
            "只有公示可以设置意见征求期",
            "Only publicity notices have a comment window",
        ),
        "notice.window_closed": ("公示期已结束，不能再提交意见", "The comment window is closed"),
        "notice.comments_not_allowed": ("该公告不接受意见", "This notice does not take comments"),
        "notice.published_immutable": (
            "已发布的公告不能修改正文，请发布修订稿",
            "A published notice cannot be edited; post a revision instead",
        ),
        "notice.invalid_transition": (
            "公告当前状态不允许此操作",
            "Not allowed in the notice's current status",
        ),
        "notice.version_conflict": (
            "公告已被他人修改，请刷新后重试",
            "The notice was changed meanwhile; reload and retry",
        ),
        "notice.ack_not_required": ("该公告无需确认", "This notice does not ask for acknowledgement"),
        "notice.revision_exists": ("该公告已有修订稿", "This notice already has a revision"),
        "notice.not_objection": ("只有异议需要答复", "Only objections take an official answer"),
        "notice.remind_too_soon": ("提醒过于频繁，请稍后再试", "A reminder was sent moments ago; wait a bit"),
        "notice.nobody_to_remind": ("所有人均已阅读或确认", "Everyone has read or acknowledged it"),
        "notice.household_not_in_audience": (
            "部分房屋不在该公告的发布范围内",
            "Some households are not in the notice's audience",
        ),
    }
)
