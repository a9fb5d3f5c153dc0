"""Inbox templates for ticket events (zh-CN, English). Placeholders: {id}, {title}, {reason}..."""

from __future__ import annotations

from services.i18n import LABELS
from services.notifications.catalog import register_templates
from services.notifications.sms_templates import register_sms
from services.tickets import labels as _labels  # noqa: F401  (the words the messages use)

register_templates(
    {
        "ticket.created": (
            ("新工单 #{id}", "{title}（{kind_zh}）待受理"),
            ("New ticket #{id}", "{title} ({kind_en}) is waiting to be accepted"),
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
            ("Ticket paused #{id}", '"{title}" is paused: {reason_en}'),
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
            ("工单未受理 #{id}", "「{title}」未受理：{reason_zh}"),
            ("Ticket rejected #{id}", '"{title}" was rejected: {reason_en}'),
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
            ("Ticket nearly overdue #{id}", 'The {clock_en} deadline of "{title}" is {due}'),
        ),
        "ticket.sla_breached": (
            ("工单已超时 #{id}", "「{title}」已超过{clock_zh}时限（{due}）"),
            ("Ticket overdue #{id}", '"{title}" missed its {clock_en} deadline ({due})'),
        ),
        "ticket.sla_escalated": (
            ("超时工单升级 #{id}", "「{title}」超时仍未完成（时限 {due}），已升级处理"),
            ("Overdue ticket escalated #{id}", '"{title}" is still open past its deadline ({due})'),
        ),
    }
)

# Kept for older imports; the words live in the label catalogue (services/tickets/labels.py).
PAUSE_REASONS_ZH = {v: z for v, (z, _) in LABELS["ticket.pause_reason"].labels.items()}
KIND_ZH = {v: z for v, (z, _) in LABELS["ticket.kind"].labels.items()}
CLOCK_ZH = {v: z for v, (z, _) in LABELS["ticket.clock"].labels.items()}

# The keys services.tickets.events.template_data always sends (test_sms_templates checks both agree).
TEMPLATE_KEYS = frozenset(
    [
        "id",
        "ticket_id",
        "title",
        "kind",
        "kind_zh",
        "kind_en",
        "status",
        "status_zh",
        "status_en",
        "category_zh",
        "category_en",
        "reason",
        "reason_zh",
        "reason_en",
        "assignee",
        "overall",
        "clock",
        "clock_zh",
        "clock_en",
        "due",
        "urge_note",
        "urge_note_zh",
    ]
)

_TASK = ("ticket_task", {"title": "{title}", "ticket": "{id}"})
_UPDATE = ("ticket_update", {"kind": "{kind_zh}", "title": "{title}", "status": "{status_zh}"})


def _task(event: str, detail: str) -> tuple[str, dict[str, str]]:
    return _TASK[0], {**_TASK[1], "event": event, "detail": detail}


def _update(detail: str) -> tuple[str, dict[str, str]]:
    return _UPDATE[0], {**_UPDATE[1], "detail": detail}


# How each ticket message reads by SMS (services.notifications.sms_templates): residents get the status
# in words, staff the event; both with the reason or the next step.
register_sms(
    {
        "ticket.created": _task("新{kind_zh}待受理", "{category_zh}"),
        "ticket.accepted": _update("物业已受理，将尽快安排维修人员"),
        "ticket.assigned": _update("已安排维修人员{assignee}"),
        "ticket.assigned_to_you": _task("已派给您", "{category_zh}，请尽快联系住户上门处理"),
        "ticket.unassigned": _task("已改派给{assignee}", "您无需再处理"),
        "ticket.started": _update("维修人员已开始处理"),
        "ticket.paused": _update("暂停处理，原因：{reason_zh}"),
        "ticket.resumed": _update("已恢复处理"),
        "ticket.resolved": _update("已处理完成，请确认并评价"),
        "ticket.rejected": _update("{reason_zh}"),
        "ticket.cancelled": _task("已被报修人撤销", "{reason}"),
        "ticket.urged": _task("报修人催单", "{reason}"),
        "ticket.reopened": _task("被报修人重新打开", "{reason}"),
        "ticket.closed": _update("工单已关闭，感谢您的反馈"),
        "ticket.low_rating": _task("获得{overall}星评价", "请安排回访"),
        "ticket.classified_valid": _update("经核实为有效投诉，{reason}"),
        "ticket.classified_invalid": _update("经核实未认定为有效投诉，{reason}"),
        "ticket.disputed": _task("业委会对无效判定提出异议", "{reason}"),
        "ticket.sla_warning": _task("{clock_zh}时限即将到期", "到期时间{due}"),
        "ticket.sla_breached": _task("已超过{clock_zh}时限", "到期时间{due}"),
        "ticket.sla_escalated": _task("超时仍未完成，已升级处理", "时限{due}"),
    },
    provides=TEMPLATE_KEYS,
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

register_sms(
    {
        "ticket.sms_filed": ("ticket_update", {"kind": "{kind_zh}", "title": "{title}", "status": "{status_zh}", "detail": "工单号{id}，物业将尽快受理"}),
        "ticket.sms_accepted": ("ticket_update", {"kind": "{kind_zh}", "title": "{title}", "status": "{status_zh}", "detail": "工单号{id}，正在安排维修人员"}),
        "ticket.sms_assigned": ("ticket_update", {"kind": "{kind_zh}", "title": "{title}", "status": "{status_zh}", "detail": "已派给{assignee}，会与您联系"}),
        "ticket.sms_resolved": ("ticket_update", {"kind": "{kind_zh}", "title": "{title}", "status": "{status_zh}", "detail": "{note}"}),
        "ticket.sms_closed": ("ticket_update", {"kind": "{kind_zh}", "title": "{title}", "status": "{status_zh}", "detail": "感谢您的支持"}),
        "ticket.sms_rejected": ("ticket_update", {"kind": "{kind_zh}", "title": "{title}", "status": "{status_zh}", "detail": "{reason}"}),
    }
)  # fmt: skip
STATUS_ZH = {v: z for v, (z, _) in LABELS["ticket.status"].labels.items()}
