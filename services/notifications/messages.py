from services.i18n import register

register(
    {
        "notification.not_found": ("通知不存在", "Notification not found"),
        "device.not_found": ("设备不存在", "Device not found"),
        "device.unknown_provider": (
            "未知的推送通道，可选 fcm、jpush、apns",
            "Unknown push provider; use fcm, jpush or apns",
        ),
        "device.provider_not_for_platform": (
            "该推送通道不支持此平台（鸿蒙请用 jpush，apns 仅限 iOS）",
            "This push provider does not serve that platform (HarmonyOS: jpush; apns: iOS only)",
        ),
        "device.token_invalid": (
            "推送令牌格式不符合该通道的要求",
            "The token does not have the shape this provider's tokens have",
        ),
        "notification.unknown_category": ("未知的通知类别", "Unknown notification category"),
        "notification.critical_category": (
            "紧急类通知不能关闭",
            "Critical categories cannot be turned off",
        ),
        "notification.invalid_time_zone": ("时区无效", "Unknown time zone"),
    }
)
