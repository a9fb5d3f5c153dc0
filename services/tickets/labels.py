"""Words for the ticket area's codes (zh-CN, English): statuses, kinds, categories, reasons, actions."""

from __future__ import annotations

from services.i18n import register_labels
from services.models.tickets import IntakeChannel, TicketKind, TicketStatus
from services.tickets.schemas import (
    CATEGORIES,
    Action,
    ComplaintTarget,
    PauseReason,
    RejectReason,
    TicketPriority,
)

register_labels(
    "ticket.status",
    TicketStatus,
    {
        "submitted": ("待受理", "Submitted"),
        "accepted": ("已受理", "Accepted"),
        "assigned": ("已派单", "Assigned"),
        "in_progress": ("处理中", "In progress"),
        "paused": ("已挂起", "Paused"),
        "resolved": ("已完成", "Resolved"),
        "closed": ("已关闭", "Closed"),
        "cancelled": ("已撤销", "Cancelled"),
        "rejected": ("未受理", "Rejected"),
    },
)
register_labels("ticket.kind", TicketKind, {"repair": ("报修", "Repair"), "complaint": ("投诉", "Complaint")})
register_labels(
    "ticket.category",
    tuple(dict.fromkeys(c for cats in CATEGORIES.values() for c in cats)),
    {
        "plumbing": ("水管水路", "Plumbing"),
        "electrical": ("电路电器", "Electrical"),
        "elevator": ("电梯", "Lift"),
        "roof_leak": ("屋面渗漏", "Roof leak"),
        "door_window": ("门窗", "Doors and windows"),
        "public_facility": ("公共设施", "Public facility"),
        "greening": ("绿化", "Greening"),
        "sanitation": ("环境卫生", "Sanitation"),
        "property_service": ("物业服务", "Property service"),
        "neighbour": ("邻里纠纷", "Neighbour"),
        "facility": ("设施设备", "Facility"),
        "other": ("其他", "Other"),
    },
)
register_labels(
    "ticket.priority",
    TicketPriority,
    {
        "urgent": ("紧急", "Urgent"),
        "high": ("高", "High"),
        "normal": ("普通", "Normal"),
        "low": ("低", "Low"),
    },
)
register_labels(
    "ticket.complaint_target",
    ComplaintTarget,
    {
        "property_service": ("物业服务", "Property service"),
        "neighbour": ("邻居", "A neighbour"),
        "facility": ("设施设备", "A facility"),
        "other": ("其他", "Other"),
    },
)
register_labels(
    "ticket.pause_reason",
    PauseReason,
    {
        "resident_not_home": ("住户不在家", "Resident not at home"),
        "waiting_for_parts": ("等待配件", "Waiting for parts"),
        "needs_owner_consent": ("需业主同意", "Needs the owner's consent"),
        "needs_third_party": ("需第三方处理", "Needs a third party"),
        "weather": ("天气原因", "Weather"),
        "other": ("其他", "Other"),
    },
)
register_labels(
    "ticket.reject_reason",
    RejectReason,
    {"duplicate": ("重复报修", "Duplicate"), "invalid": ("不属于物业处理范围", "Not a valid request")},
)
register_labels(
    "ticket.intake_channel",
    IntakeChannel,
    {
        "app": ("App", "App"),
        "phone": ("电话", "Phone"),
        "walk_in": ("现场", "Walk-in"),
        "hotline": ("热线", "Hotline"),
        "inspection": ("巡查", "Inspection"),
        "alert": ("告警", "Alarm"),
        "alarm": ("设备告警", "Device alarm"),
    },
)
register_labels(
    "ticket.action",
    (*(str(a) for a in Action.__args__), "create", "rate", "rerate", "sla_breach", "sla_escalate"),  # type: ignore[attr-defined]
    {
        "create": ("提交", "Filed"),
        "accept": ("受理", "Accept"),
        "assign": ("派单", "Assign"),
        "grab": ("抢单", "Take"),
        "start": ("开始处理", "Start"),
        "pause": ("挂起", "Pause"),
        "resume": ("恢复处理", "Resume"),
        "resolve": ("完成", "Resolve"),
        "close": ("关闭", "Close"),
        "reopen": ("重新打开", "Reopen"),
        "cancel": ("撤销", "Cancel"),
        "reject": ("不予受理", "Reject"),
        "urge": ("催单", "Urge"),
        "reprioritise": ("调整优先级", "Change priority"),
        "classify": ("判定投诉", "Classify"),
        "dispute": ("提出异议", "Dispute"),
        "rate": ("评价", "Rate"),
        "rerate": ("修改评价", "Rating changed"),
        "sla_breach": ("超时", "Deadline missed"),
        "sla_escalate": ("超时升级", "Escalated"),
    },
)
register_labels(
    "ticket.complaint_verdict",
    ("valid", "invalid"),
    {"valid": ("有效投诉", "Valid"), "invalid": ("无效投诉", "Not valid")},
)
register_labels(
    "ticket.clock",
    ("response", "resolution"),
    {"response": ("响应", "response"), "resolution": ("处理", "resolution")},
)
register_labels(
    "inspection.kind",
    ("greening", "sanitation"),
    {"greening": ("绿化养护", "Greening"), "sanitation": ("环境卫生", "Sanitation")},
)
