"""Error codes of the alarms area (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register

register(
    {
        "alarm.not_found": ("告警不存在", "Alarm not found"),
        "alarm.device_not_found": ("告警设备不存在", "Alarm device not found"),
        "alarm.device_exists": ("该序列号的设备已登记", "A device with this serial is already registered"),
        "alarm.sensor_kind_required": ("传感器须注明类型", "A sensor needs its sensor kind"),
        "alarm.bad_source": ("来源地址格式不正确", "A source address or network is not valid"),
        "alarm.not_active": ("告警已清除，不能确认", "The alarm is no longer active"),
        "alarm.already_acknowledged": ("告警已确认", "The alarm is already acknowledged"),
        "alarm.already_cleared": ("告警已清除", "The alarm is already cleared"),
        "alarm.not_cleared": ("告警清除后才能关闭", "An alarm is closed only once cleared"),
        "alarm.closed": ("告警已关闭", "The alarm is closed"),
        "alarm.ingest_unknown_device": ("未登记的设备", "Unknown device"),
        "alarm.ingest_unauthorized": ("设备认证失败", "Device authentication failed"),
        "alarm.ingest_digest_required": ("需要设备摘要认证", "Device Digest authentication required"),
        "alarm.ingest_bad_signature": ("签名校验失败", "Bad signature"),
        "alarm.ingest_stale": ("时间戳超出允许范围", "The timestamp is outside the allowed window"),
        "alarm.ingest_source_refused": ("来源地址不在允许列表中", "The source address is not allowed"),
        "alarm.ingest_device_disabled": ("设备已停用", "The device is disabled"),
        "alarm.ingest_malformed": ("告警报文无法解析", "The event could not be parsed"),
        "alarm.ingest_unsupported_media": ("不支持的报文类型", "Unsupported content type"),
        "alarm.ingest_rate_limited": ("设备上报过于频繁，请稍后重试", "Too many events; retry later"),
    }
)
