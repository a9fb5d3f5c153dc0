"""Words for the red-property area's codes (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register_labels
from services.models.duty import (
    AssignmentRole,
    LedgerSource,
    PostCategory,
    ShiftStatus,
    SignupStatus,
    SwapStatus,
)

register_labels(
    "duty.category",
    PostCategory,
    {
        "publicity": ("文化宣传岗", "Publicity"),
        "sanitation_supervision": ("卫生监督岗", "Sanitation supervision"),
        "security_watch": ("安全值守岗", "Security watch"),
        "dispute_mediation": ("纠纷调解岗", "Dispute mediation"),
        "emergency_rescue": ("应急抢险岗", "Emergency rescue"),
        "custom": ("责任岗", "Duty post"),
    },
)
register_labels(
    "duty.assignment_role", AssignmentRole, {"lead": ("岗长", "Lead"), "member": ("岗员", "Member")}
)
register_labels(
    "duty.shift_status",
    ShiftStatus,
    {"scheduled": ("待值班", "Scheduled"), "done": ("已完成", "Done"), "missed": ("缺勤", "Missed")},
)
register_labels(
    "duty.swap_status",
    SwapStatus,
    {
        "pending": ("待审批", "Pending"),
        "approved": ("已批准", "Approved"),
        "rejected": ("已驳回", "Rejected"),
    },
)
register_labels(
    "duty.signup_status",
    SignupStatus,
    {
        "confirmed": ("已报名", "Signed up"),
        "waiting": ("候补", "Waiting list"),
        "cancelled": ("已取消", "Cancelled"),
        "attended": ("已参加", "Attended"),
    },
)
register_labels(
    "duty.ledger_source", LedgerSource, {"shift": ("值班", "Shift"), "activity": ("志愿活动", "Activity")}
)
