"""Words for the alarms area's codes (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register_labels
from services.models.alarms import (
    AlarmEventKind,
    AlarmSeverity,
    AlarmStatus,
    AlarmType,
    ClearReason,
    DeviceKind,
    DeviceStatus,
    SensorKind,
)

register_labels(
    "alarm.type",
    AlarmType,
    {
        "intrusion": ("区域入侵", "Intrusion"),
        "smoke": ("烟雾", "Smoke"),
        "fire": ("明火", "Open fire"),
        "illegal_parking": ("违章停车", "Illegal parking"),
        "off_post": ("离岗", "Away from post"),
        "asleep_on_post": ("睡岗", "Asleep at post"),
        "tampering": ("视频遮挡", "Camera tampering"),
        "video_loss": ("视频丢失", "Video loss"),
        "motion": ("移动侦测", "Motion"),
        "gas_leak": ("燃气泄漏", "Gas leak"),
        "smoke_detector": ("烟感报警", "Smoke detector"),
        "water_leak": ("漏水", "Water leak"),
        "door_open": ("门磁打开", "Door open"),
        "device_offline": ("设备离线", "Device offline"),
        "other": ("其他告警", "Other"),
    },
)
register_labels(
    "alarm.severity",
    AlarmSeverity,
    {
        "critical": ("紧急", "Critical"),
        "major": ("重要", "Major"),
        "minor": ("次要", "Minor"),
        "warning": ("提示", "Warning"),
    },
)
register_labels(
    "alarm.status",
    AlarmStatus,
    {
        "active_unacknowledged": ("未确认", "Active, unacknowledged"),
        "active_acknowledged": ("处理中", "Acknowledged"),
        "cleared": ("已清除", "Cleared"),
        "closed": ("已关闭", "Closed"),
    },
)
register_labels(
    "alarm.clear_reason",
    ClearReason,
    {
        "device": ("设备恢复", "Cleared by the device"),
        "resolved": ("已处置", "Resolved"),
        "false_alarm": ("误报", "False alarm"),
        "ticket_closed": ("工单已办结", "Ticket closed"),
    },
)
register_labels(
    "alarm.event",
    AlarmEventKind,
    {
        "raised": ("触发", "Raised"),
        "repeated": ("重复上报", "Repeated"),
        "acknowledged": ("确认", "Acknowledged"),
        "cleared": ("清除", "Cleared"),
        "closed": ("关闭", "Closed"),
        "commented": ("备注", "Comment"),
        "escalated": ("升级", "Escalated"),
        "notified": ("已通知", "Notified"),
        "ticketed": ("转工单", "Turned into a ticket"),
    },
)
register_labels(
    "alarm.device_kind",
    DeviceKind,
    {"camera": ("摄像机", "Camera"), "nvr": ("录像机", "NVR"), "sensor": ("传感器", "Sensor")},
)
register_labels(
    "alarm.sensor_kind",
    SensorKind,
    {
        "gas": ("燃气探测器", "Gas detector"),
        "smoke": ("烟感", "Smoke detector"),
        "water_leak": ("水浸传感器", "Water leak sensor"),
        "door_contact": ("门磁", "Door contact"),
    },
)
register_labels(
    "alarm.device_status",
    DeviceStatus,
    {"online": ("在线", "Online"), "offline": ("离线", "Offline"), "disabled": ("已停用", "Disabled")},
)
