from services.i18n import register

register(
    {
        "notification.not_found": ("通知不存在", "Notification not found"),
        "device.not_found": ("设备不存在", "Device not found"),
        "notification.unknown_category": ("未知的通知类别", "Unknown notification category"),
        "notification.critical_category": (
            "紧急类通知不能关闭",
            "Critical categories cannot be turned off",
        ),
        "notification.invalid_time_zone": ("时区无效", "Unknown time zone"),
    }
)
