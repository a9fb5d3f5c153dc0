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
        "ticket.unassigned": (
            ("工单已改派 #{id}", "「{title}」已改派给 {assignee}，您无需再处理"),
            ("Ticket reassigned #{id}", '"{title}" was reassigned to {assignee}; you no longer need to go'),
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
            ("催单 #{id}", "报修人催促处理「{title}」{urge_note_zh}"),
            ("Ticket urged #{id}", 'The reporter is asking for progress on "{title}"{urge_note}'),
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
        "ticket.classified_valid": (
            ("投诉核实结果 #{id}", "您的投诉「{title}」经核实为有效投诉：{reason}"),
            ("Complaint upheld #{id}", 'Your complaint "{title}" was found valid: {reason}'),
        ),
        "ticket.classified_invalid": (
            ("投诉核实结果 #{id}", "您的投诉「{title}」经核实未被认定为有效投诉：{reason}"),
            ("Complaint not upheld #{id}", 'Your complaint "{title}" was not found valid: {reason}'),
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
