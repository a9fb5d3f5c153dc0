"""Error codes and labels of the privacy area."""

from services.i18n import register, register_labels
from services.models import ExportStatus
from services.notifications.catalog import register_templates
from services.notifications.sms_templates import SmsTemplate, register_sms, register_sms_templates
from services.privacy.reads import PURPOSES, READ_ACTIONS

register_templates(
    {
        "account.export_ready": (
            ("个人信息副本已生成", "您申请导出的个人信息副本已可下载，链接{hours}小时内有效。"),
            (
                "Your data export is ready",
                "The copy of your personal data can be downloaded for {hours} hours.",
            ),
        ),
    }
)

register_sms_templates(
    [
        SmsTemplate(
            "account_export_ready",
            "您申请的个人信息副本已生成，请在${hours}小时内登录邻里App下载。",
            {"hours": 4},
        )
    ]
)
register_sms({"account.export_ready": ("account_export_ready", {"hours": "{hours}"})})

register(
    {
        "privacy.export_not_found": ("未找到该导出记录", "No such export"),
        "privacy.export_not_ready": ("导出文件尚未生成，请稍后再试", "The export is not ready yet"),
        "privacy.export_expired": (
            "下载链接已过期，请重新申请导出",
            "The download link has expired; request a new export",
        ),
        "privacy.export_bad_link": ("下载链接无效，请刷新后重试", "The download link is invalid"),
        "privacy.export_in_progress": (
            "已有一份导出正在生成，请等待完成",
            "An export is already being prepared; wait for it to finish",
        ),
        "audit.invalid_range": ("开始时间不能晚于结束时间", "`since` must not be after `until`"),
    }
)
register_labels("audit.action", list(READ_ACTIONS), READ_ACTIONS)
register_labels("audit.purpose", list(PURPOSES), PURPOSES)
register_labels(
    "privacy.export_status",
    ExportStatus,
    {
        "pending": ("生成中", "Being prepared"),
        "ready": ("可下载", "Ready to download"),
        "failed": ("生成失败", "Failed"),
        "expired": ("已过期", "Expired"),
    },
)
