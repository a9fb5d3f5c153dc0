"""Error codes and inbox templates of the red-property area (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register
from services.notifications.catalog import register_templates
from services.notifications.sms_templates import register_sms

register(
    {
        "party.not_found": ("该小区尚未建立党组织", "This community has no party organisation yet"),
        "party.exists": ("该小区已建立党组织", "This community already has a party organisation"),
        "party.not_member": ("该用户不是本小区党员", "This user is not a party member of the community"),
        "duty.post_not_found": ("党员责任岗不存在", "Duty post not found"),
        "duty.shift_not_found": ("值班班次不存在", "Shift not found"),
        "duty.swap_not_found": ("换班申请不存在", "Swap request not found"),
        "duty.invalid_dates": ("结束日期早于开始日期", "The end date is before the start date"),
        "duty.shift_ends_before_start": ("班次结束时间须晚于开始时间", "A shift must end after it starts"),
        "duty.shift_in_past": ("不能排定已结束的班次", "A shift that has already ended cannot be scheduled"),
        "duty.shift_overlap": (
            "该党员在此时间段已有其他班次",
            "This member already has a shift overlapping this time",
        ),
        "duty.shift_exists": ("该岗位在此时间已有班次", "This post already has a shift starting then"),
        "duty.recurrence_empty": ("所选日期范围内没有符合的日期", "The recurrence matches no date"),
        "duty.recurrence_too_long": (
            "一次最多排定 366 天、200 个班次",
            "At most 366 days and 200 shifts at once",
        ),
        "duty.assignee_not_on_post": (
            "值班人员须在该日期担任此岗位",
            "Assignees must hold this post on that date",
        ),
        "duty.assignment_exists": ("该党员已在此岗位任职", "This member already holds this post then"),
        "duty.not_on_shift": ("您不在该班次的值班名单中", "You are not on this shift"),
        "duty.checkin_too_far": ("签到位置不在小区范围内", "The check-in location is outside the community"),
        "duty.checkin_window": (
            "只能在班次开始前 30 分钟至结束前签到",
            "Check in from 30 minutes before the start until the end of the shift",
        ),
        "duty.already_checked_in": ("您已签到", "You have already checked in"),
        "duty.not_checked_in": ("您尚未签到", "You have not checked in"),
        "duty.already_checked_out": ("您已签退", "You have already checked out"),
        "duty.swap_invalid": ("换班对象无效", "Invalid swap partner"),
        "duty.swap_pending": ("已有待审批的换班申请", "A swap request for this shift is already pending"),
        "duty.swap_not_pending": ("该换班申请已处理", "This swap request has already been decided"),
        "duty.shift_started": ("班次已开始或已结束", "The shift has already started or ended"),
        "duty.not_on_post": ("您未担任此岗位", "You do not hold this post"),
        "activity.not_found": ("活动不存在", "Activity not found"),
        "activity.ends_before_start": ("活动结束时间须晚于开始时间", "An activity must end after it starts"),
        "activity.already_signed_up": ("您已报名该活动", "You have already signed up"),
        "activity.not_signed_up": ("您未报名该活动", "You have not signed up"),
        "activity.not_started": (
            "活动尚未开始，不能登记出勤",
            "Attendance is recorded once the activity starts",
        ),
        "activity.closed": ("活动已结束", "The activity is over"),
    }
)

register_templates(
    {
        "duty.shift_reminder": (
            ("值班提醒", "您的「{post}」班次将于 {start_local} 开始"),
            ("Shift reminder", "Your {post} shift starts at {start_local}"),
        ),
        "duty.shift_missed": (
            ("班次无人签到", "「{post}」{start_local} 的班次开始 15 分钟仍无人签到"),
            ("Shift missed", "Nobody checked in to the {post} shift of {start_local} within 15 minutes"),
        ),
        "duty.shift_missed_member": (
            ("班次未签到", "您在「{post}」{start_local} 的班次未签到，已记为缺勤；如有误请联系党支部"),
            (
                "Shift missed",
                "You did not check in to the {post} shift of {start_local}; it is recorded as missed. Contact the party branch if this is wrong",
            ),
        ),
        "duty.swap_requested": (
            ("换班申请待审批", "{from_name} 申请将 {start_local} 的「{post}」班次换给 {to_name}"),
            ("Swap request", "{from_name} asks to hand the {post} shift of {start_local} to {to_name}"),
        ),
        "duty.swap_decided": (
            ("换班申请{decision_zh}", "{start_local} 的「{post}」班次换班申请{decision_zh}"),
            ("Swap {decision}", "The swap for the {post} shift of {start_local} was {decision}"),
        ),
        "duty.activity_promoted": (
            ("活动报名成功", "有人取消报名，您已从候补转为正式报名：{title}（{start_local}）"),
            ("You are in", "A place opened up; you moved from the waiting list to {title} ({start_local})"),
        ),
    }
)

_SHIFT = {"post": "{post}", "start": "{start_local}"}
register_sms(
    {
        "duty.shift_reminder": ("duty_shift", {**_SHIFT, "event": "即将开始", "detail": "请按时到岗签到"}),
        "duty.shift_missed_member": ("duty_shift", {**_SHIFT, "event": "未签到", "detail": "已记为缺勤，如有误请联系党支部"}),
        "duty.shift_missed": ("duty_manage", {**_SHIFT, "event": "班次开始15分钟仍无人签到"}),
        "duty.swap_requested": ("duty_manage", {**_SHIFT, "event": "{from_name}申请换班给{to_name}"}),
        "duty.swap_decided": ("duty_shift", {**_SHIFT, "event": "换班申请{decision_zh}", "detail": "请以最新排班为准"}),
        "duty.activity_promoted": ("activity_update", {"title": "{title}", "start": "{start_local}", "event": "您已由候补转为正式报名"}),
    }
)  # fmt: skip
