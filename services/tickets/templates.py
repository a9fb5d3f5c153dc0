"""Inbox templates for ticket events (zh-CN, English). Placeholders: {id}, {title}, {reason}..."""

from __future__ import annotations

from services.notifications.catalog import register_templates

register_templates(
    {
        "ticket.created": (
            ("新工单 #{id}", "{title}（{kind_zh}）待受理"),
            ("New ticket #{id}", "{title} ({kind}) is waiting to be accepted"),
        ),
        "ticket.accepted": (
            ("工单已受理 #{id}", "您的工单「{title}」已受理"),
            ("Ticket accepted #{id}", 'Your ticket "{title}" was accepted'),
        ),
        "ticket.assigned": (
            ("工单已派单 #{id}", "「{title}」已安排维修人员 {assignee}"),
            ("Ticket assigned #{id}", '"{title}" was assigned to {assignee}'),
        ),
        "ticket.assigned_to_you": (
            ("新派单 #{id}", "您有新的工单「{title}」"),
            ("New assignment #{id}", 'You were assigned "{title}"'),
        ),
        "ticket.started": (
            ("开始处理 #{id}", "维修人员已开始处理「{title}」"),
            ("Work started #{id}", 'Work on "{title}" has started'),
        ),
        "ticket.paused": (
            ("工单挂起 #{id}", "「{title}」暂停处理：{reason_zh}"),
            ("Ticket paused #{id}", '"{title}" is paused: {reason}'),
        ),
        "ticket.resumed": (
            ("继续处理 #{id}", "「{title}」已恢复处理"),
            ("Work resumed #{id}", 'Work on "{title}" has resumed'),
        ),
        "ticket.resolved": (
            ("工单已完成 #{id}", "「{title}」已处理完成，请确认并评价"),
            ("Ticket resolved #{id}", '"{title}" is resolved; please confirm and rate it'),
        ),
        "ticket.rejected": (
            ("工单未受理 #{id}", "「{title}」未受理：{reason}"),
            ("Ticket rejected #{id}", '"{title}" was rejected: {reason}'),
        ),
        "ticket.cancelled": (
            ("工单已撤销 #{id}", "「{title}」已被报修人撤销"),
            ("Ticket cancelled #{id}", '"{title}" was cancelled by the reporter'),
        ),
        "ticket.urged": (
            ("催单 #{id}", "报修人催促处理「{title}」"),
            ("Ticket urged #{id}", 'The reporter is asking for progress on "{title}"'),
        ),
        "ticket.reopened": (
            ("工单重新打开 #{id}", "「{title}」被重新打开：{reason}"),
            ("Ticket reopened #{id}", '"{title}" was reopened: {reason}'),
        ),
        "ticket.closed": (
            ("工单已关闭 #{id}", "「{title}」已关闭"),
            ("Ticket closed #{id}", '"{title}" is closed'),
        ),
        "ticket.low_rating": (
            ("差评待回访 #{id}", "「{title}」获得 {overall} 星评价，请安排回访"),
            ("Low rating: return visit #{id}", '"{title}" was rated {overall}/5; arrange a return visit'),
        ),
        "ticket.disputed": (
            ("投诉判定被提出异议 #{id}", "业委会对「{title}」的无效判定提出异议：{reason}"),
            ("Complaint call disputed #{id}", 'The committee disputes "{title}" being invalid: {reason}'),
        ),
        "ticket.sla_warning": (
            ("工单即将超时 #{id}", "「{title}」的{clock_zh}时限将于 {due} 到期"),
            ("Ticket nearly overdue #{id}", 'The {clock} deadline of "{title}" is {due}'),
        ),
        "ticket.sla_breached": (
            ("工单已超时 #{id}", "「{title}」已超过{clock_zh}时限（{due}）"),
            ("Ticket overdue #{id}", '"{title}" missed its {clock} deadline ({due})'),
        ),
        "ticket.sla_escalated": (
            ("超时工单升级 #{id}", "「{title}」超时仍未完成（时限 {due}），已升级处理"),
            ("Overdue ticket escalated #{id}", '"{title}" is still open past its deadline ({due})'),
        ),
    }
)

# SMS to an occupant without the app (services.tickets.occupant_sms): the whole story in the text,
# since there is no app to open. Sent as "【邻里】{title}：{body}".
register_templates(
    {
        "ticket.sms_filed": (
            (
                "报修已登记",
                "您的{kind_zh}「{title}」已登记，工单号 {id}，状态：{status_zh}。物业将尽快受理。",
            ),
            ("Ticket filed", 'Your request "{title}" was filed as ticket {id}; status: {status}.'),
        ),
        "ticket.sms_accepted": (
            (
                "工单已受理",
                "您的{kind_zh}「{title}」（工单号 {id}）已受理，状态：{status_zh}，正在安排维修人员。",
            ),
            ("Ticket accepted", 'Your ticket {id} "{title}" was accepted; status: {status}.'),
        ),
        "ticket.sms_assigned": (
            (
                "已派维修人员",
                "您的{kind_zh}「{title}」（工单号 {id}）已派给 {assignee}，状态：{status_zh}，维修人员会与您联系。",
            ),
            (
                "Technician assigned",
                'Your ticket {id} "{title}" was assigned to {assignee}; status: {status}.',
            ),
        ),
        "ticket.sms_resolved": (
            (
                "工单已处理完成",
                "您的{kind_zh}「{title}」（工单号 {id}）已处理完成：{note}。状态：{status_zh}。满意度评价（1-5 分）请告诉物业工作人员。",
            ),
            (
                "Ticket resolved",
                'Your ticket {id} "{title}" is resolved: {note}. Status: {status}. Tell the property office your rating (1-5).',
            ),
        ),
        "ticket.sms_closed": (
            (
                "工单已关闭",
                "您的{kind_zh}「{title}」（工单号 {id}）已关闭，状态：{status_zh}。感谢您的支持。",
            ),
            ("Ticket closed", 'Your ticket {id} "{title}" is closed; status: {status}.'),
        ),
        "ticket.sms_rejected": (
            (
                "工单未受理",
                "您的{kind_zh}「{title}」（工单号 {id}）未受理：{reason}。状态：{status_zh}。如有疑问请联系物业服务中心。",
            ),
            ("Ticket rejected", 'Your ticket {id} "{title}" was rejected: {reason}. Status: {status}.'),
        ),
    }
)

STATUS_ZH = {
    "submitted": "待受理",
    "accepted": "已受理",
    "assigned": "已派单",
    "in_progress": "处理中",
    "paused": "挂起",
    "resolved": "已完成",
    "closed": "已关闭",
    "cancelled": "已撤销",
    "rejected": "未受理",
}
PAUSE_REASONS_ZH = {
    "resident_not_home": "住户不在家",
    "waiting_for_parts": "等待配件",
    "needs_owner_consent": "需业主同意",
    "needs_third_party": "需第三方处理",
    "weather": "天气原因",
    "other": "其他",
}
KIND_ZH = {"repair": "报修", "complaint": "投诉"}
CLOCK_ZH = {"response": "响应", "resolution": "处理"}
