"""Error codes of the tickets area (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register

register(
    {
        "ticket.not_found": ("工单不存在", "Ticket not found"),
        "followup.not_found": ("回访任务不存在", "Return visit not found"),
        "inspection.not_found": ("巡查记录不存在", "Inspection not found"),
        "followup.already_done": ("该回访已完成", "This return visit is already done"),
        "ticket.invalid_transition": (
            "工单当前状态不允许此操作",
            "This action is not allowed in the ticket's current state",
        ),
        "ticket.version_conflict": (
            "工单已被他人更新，请刷新后重试",
            "The ticket was changed by someone else; reload and try again",
        ),
        "ticket.already_taken": ("该工单已被他人接单", "Someone else has already taken this ticket"),
        "ticket.reason_required": ("请填写原因", "A reason is required"),
        "ticket.note_required": ("请填写处理说明", "A work note is required"),
        "ticket.after_photo_required": (
            "请先上传至少一张完工照片",
            "Upload at least one after-photo first",
        ),
        "ticket.assignee_required": ("请选择维修人员", "Choose a technician"),
        "ticket.assignee_invalid": (
            "该人员不是本小区的物业人员",
            "This person is not property staff of the community",
        ),
        "ticket.priority_required": ("请选择优先级", "Choose a priority"),
        "ticket.validity_required": ("请选择投诉是否有效", "Say whether the complaint is valid"),
        "ticket.complaint_only": ("仅投诉工单可执行此操作", "Only complaints allow this action"),
        "ticket.not_classified_invalid": (
            "只能对被判定为无效的投诉提出异议",
            "Only a complaint classified invalid can be disputed",
        ),
        "ticket.reopen_window_closed": (
            "已超过可重新打开的期限（完成后 7 天）",
            "The ticket can only be reopened within 7 days of being resolved",
        ),
        "ticket.urge_too_soon": (
            "催单过于频繁，4 小时内只能催一次",
            "You can urge at most once every 4 hours",
        ),
        "ticket.household_not_found": ("房屋不存在", "Household not found"),
        "ticket.on_behalf_invalid": (
            "代报人不是该房屋已认证的住户",
            "The person filed for is not a verified resident of this household",
        ),
        "ticket.intake_channel_invalid": ("受理渠道无效", "Invalid intake channel"),
        "ticket.occupant_household_mismatch": (
            "该住户成员不属于所选房屋",
            "The occupant does not belong to this household",
        ),
        "ticket.rating_channel_invalid": (
            "只有为未使用 App 的住户登记的工单可由工作人员代录评价",
            "Staff record ratings only for tickets filed for an occupant without the app",
        ),
        "ticket.appointment_invalid": (
            "预约时间无效（开始须早于结束且在未来）",
            "Invalid appointment window (start before end, in the future)",
        ),
        "ticket.rating_not_allowed": (
            "工单完成后才能评价",
            "A ticket can be rated only after it is resolved",
        ),
        "ticket.rating_locked": ("评价已超过 7 天，不能再修改", "A rating cannot be changed after 7 days"),
        "ticket.photo_not_allowed": ("当前不能上传此类照片", "This photo cannot be added now"),
        "ticket.about_staff_invalid": (
            "被投诉人不是本小区的物业人员",
            "The person complained about is not property staff of the community",
        ),
        "ticket.call_not_allowed": (
            "工单未在处理中，不能拨打住户电话",
            "The resident can be called only while the ticket is being worked on",
        ),
        "ticket.call_relay_unavailable": (
            "隐私号服务暂不可用，请稍后再试",
            "The call relay is unavailable; try again shortly",
        ),
        "ticket.photo_locked": (
            "工单状态已变更，照片不能再删除",
            "The ticket has moved on since this photo was added; it can no longer be removed",
        ),
        "inspection.kind_invalid": ("巡查类型无效", "Invalid inspection kind"),
    }
)
