"""Error texts and inbox templates of the KPI area."""

from __future__ import annotations

from services.i18n import register
from services.notifications.catalog import register_templates
from services.notifications.sms_templates import register_sms

register(
    {
        "kpi.unknown_metric": ("未知的指标", "Unknown metric"),
        "kpi.unknown_granularity": ("未知的统计粒度", "Unknown granularity"),
        "kpi.range_reversed": ("结束日期早于开始日期", "The range ends before it starts"),
        "kpi.range_too_long": ("查询范围不能超过 5 年", "The range may not exceed 5 years"),
        "kpi.invalid_period": ("统计周期格式无效", "The period is not valid"),
        "kpi.invalid_part": ("part 只能是 numerator、denominator 或 excluded", "part must be numerator, denominator or excluded"),
        "kpi.invalid_target": ("目标值须在 0 到 100 之间，最多两位小数", "A target is a percentage from 0 to 100 with at most 2 decimals"),
        "kpi.invalid_format": ("不支持的导出格式", "Unsupported export format"),
        "report.invalid_month": ("月份格式应为 YYYY-MM", "The month is written YYYY-MM"),
        "report.month_in_future": ("该月份尚未开始", "That month has not begun"),
        "report.month_not_over": ("该月份尚未结束，月底后才能审核或公示", "The month is not over yet: approve or post it after its end"),
        "report.already_published": ("该月报已在公告栏公示", "This month's report is already posted"),
    }
)  # fmt: skip

register_templates(
    {
        "kpi.below_target": (
            ("{community}：{metric}未达标", "{period} {metric} 为 {value}%，低于目标 {target}%（{numerator}/{denominator}）。"),
            ("{community}: {metric_en} below target", "{metric_en} for {period} is {value}%, below the {target}% target ({numerator}/{denominator})."),
        ),
        # Lower-is-better metrics (false alarms, acknowledgement minutes): the target is a maximum.
        "kpi.over_limit": (
            ("{community}：{metric}未达标", "{period} {metric} 为 {value}{unit_zh}，超过目标上限 {target}{unit_zh}（{numerator}/{denominator}）。"),
            ("{community}: {metric_en} over its limit", "{metric_en} for {period} is {value}{unit_en}, above the {target}{unit_en} limit ({numerator}/{denominator})."),
        ),
    }
)  # fmt: skip

register_sms(
    {
        "kpi.below_target": (
            "kpi_alert",
            {"community": "{community}", "metric": "{metric}", "period": "{period}", "value": "{value}", "target": "{target}"},
        ),
        "kpi.over_limit": (
            "kpi_alert",
            {"community": "{community}", "metric": "{metric}", "period": "{period}", "value": "{value}", "target": "{target}"},
        ),
    }
)  # fmt: skip
