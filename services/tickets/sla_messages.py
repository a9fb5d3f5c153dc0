"""Error codes of the SLA policy and calendar-exception area (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register

register(
    {
        "sla.unknown_kind": ("未知的工单类型", "Unknown ticket kind"),
        "sla.unknown_category": ("该工单类型下没有这个分类", "Unknown category for this ticket kind"),
        "sla.unknown_priority": ("未知的优先级", "Unknown priority"),
        "sla.unknown_calendar": ("未知的计时日历", "Unknown SLA calendar"),
        "sla.invalid_minutes": (
            "时限须为正整数分钟（不超过 365 天）",
            "Targets must be a positive number of minutes (at most 365 days)",
        ),
        "sla.response_after_resolution": (
            "响应时限不能长于解决时限",
            "The response target cannot be longer than the resolution target",
        ),
        "sla.invalid_business_hours": (
            "上班时间须早于下班时间",
            "Business hours must start before they end",
        ),
        "sla.duplicate_policy": (
            "同一类型、类别和优先级的时限规则重复",
            "The same kind, category and priority appear more than once",
        ),
        "sla.duplicate_exception_day": ("同一日期出现多次", "The same day appears more than once"),
        "sla.concurrent_update": (
            "规则正在被他人修改，请刷新后重试",
            "Someone else changed these settings at the same time; reload and retry",
        ),
        "sla.exception_outside_year": (
            "日期不在所指定的年份内",
            "A day lies outside the given year",
        ),
    }
)
