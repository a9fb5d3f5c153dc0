"""Words for notification categories and delivery channels (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register_labels
from services.models.notifications import Channel, DeliveryStatus, PushProvider
from services.notifications.catalog import CATEGORIES

register_labels(
    "notification.category",
    tuple(CATEGORIES),
    {
        "account": ("账号", "Account"),
        "ticket": ("工单", "Tickets"),
        "notice": ("公告", "Notices"),
        "poll": ("问卷表决", "Polls"),
        "duty": ("党员值班", "Duty"),
        "kpi": ("考核指标", "KPIs"),
        "alarm": ("设备告警", "Alarms"),
        "emergency": ("紧急通知", "Emergency"),
        "safety": ("安全告警", "Safety alerts"),
    },
)
register_labels("delivery.channel", Channel, {"push": ("App 推送", "Push"), "sms": ("短信", "SMS")})
register_labels(
    "delivery.status",
    DeliveryStatus,
    {
        "pending": ("待发送", "Pending"),
        "sending": ("发送中", "Sending"),
        "sent": ("已发送", "Sent"),
        "failed": ("待重试", "Retrying"),
        "dead": ("发送失败", "Failed"),
        "skipped": ("已跳过", "Skipped"),
    },
)
register_labels(
    "delivery.provider",
    PushProvider,
    {
        "fcm": ("FCM（海外安卓）", "FCM (Google)"),
        "jpush": ("极光推送（含厂商通道）", "JPush (vendor channels)"),
        "apns": ("苹果推送 APNs", "Apple Push (APNs)"),
    },
)
