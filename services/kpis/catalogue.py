"""The formula catalogue: what each metric counts, in words (zh-CN / English), from one place.

Every view of a figure states its formula from here: the JSON (`definition` of each series), the CSV
(the `formula` column), the chart's footnote and the monthly report. The words follow the rules in
services.kpis.metrics; change both together.

Another area adds its metric with `register(Definition(...))` next to its `Metric` in the registry
(e.g. an alarms metric); a metric without an entry reads "numerator / denominator" (see `get`), so
a new metric never breaks a view, and tests/api/test_kpi_catalogue.py asks that every metric has one.
"""

from __future__ import annotations

from dataclasses import dataclass

# Who set a target, by its source (TargetOut.source).
TARGET_SOURCE = {
    "default": ("物业服务合同承诺值（系统默认）", "the service contract's promise (default)"),
    "community": ("本小区业委会 / 居委会设定", "set by this community's committee or office"),
    "company": ("物业公司设定", "set by the property company"),
}


@dataclass(frozen=True)
class Definition:
    metric: str
    numerator: tuple[str, str]  # (zh-CN, en)
    denominator: tuple[str, str]
    excludes: tuple[str, str]
    counted_by: tuple[str, str]  # which date puts a case in a period
    # A figure that is not a share (a quantile in minutes): its formula in words instead of ÷ × 100%.
    statement: tuple[str, str] | None = None

    def words(self, locale: str) -> dict[str, str]:
        i = 1 if locale == "en" else 0
        return {
            "numerator": self.numerator[i],
            "denominator": self.denominator[i],
            "excludes": self.excludes[i],
            "counted_by": self.counted_by[i],
        }

    def formula(self, locale: str) -> str:
        """One line: "按期完成的维修单 ÷ 应完成的维修单 × 100%（不含：…）"."""
        w = self.words(locale)
        if self.statement is not None:
            text = self.statement[1 if locale == "en" else 0]
            return (
                f"{text} (excluded: {w['excludes']})"
                if locale == "en"
                else f"{text}（不计：{w['excludes']}）"
            )
        if locale == "en":
            return f"{w['numerator']} ÷ {w['denominator']} × 100% (excluded: {w['excludes']})"
        return f"{w['numerator']} ÷ {w['denominator']} × 100%（不计：{w['excludes']}）"


CATALOGUE: dict[str, Definition] = {}


def register(*definitions: Definition) -> None:
    for d in definitions:
        CATALOGUE[d.metric] = d


def get(metric: str) -> Definition:
    found = CATALOGUE.get(metric)
    if found is not None:
        return found
    return Definition(metric, ("分子", "numerator"), ("分母", "denominator"), ("无", "nothing"), ("—", "—"))


register(
    Definition(
        "repair_timeliness",
        ("在处理时限内完成的维修单", "repairs resolved by their deadline"),
        (
            "本期完成的维修单，加上期末仍未完成且已超时的维修单",
            "repairs resolved in the period, plus repairs still open and past their deadline at its end",
        ),
        (
            "已撤销、未受理的维修单；挂起（等配件、等业主）的时间不计入时限",
            "cancelled and rejected repairs; paused time (waiting for parts or the owner) does not count",
        ),
        ("完成时间；超时未完成的按期末", "resolution time; overdue open ones at the period's end"),
    ),
    Definition(
        "response_timeliness",
        ("在响应时限内受理的工单", "tickets accepted within the response time"),
        (
            "本期受理的工单，加上期末仍未受理且已超时的工单",
            "tickets accepted in the period, plus tickets not yet accepted and past due at its end",
        ),
        ("未受理前即撤销的工单", "tickets cancelled before anyone accepted them"),
        ("受理时间", "acceptance time"),
    ),
    Definition(
        "owner_satisfaction",
        ("总体评分 4 星及以上的评价", "ratings of 4 stars or more overall"),
        ("本期业主提交的全部评价", "all ratings owners gave in the period"),
        ("未评价的工单（见评价率）", "tickets without a rating (see the rating rate)"),
        ("评价时间", "rating time"),
    ),
    Definition(
        "rating_rate",
        ("已关闭且有业主评价的工单", "closed tickets the owner rated"),
        ("本期关闭的工单", "tickets closed in the period"),
        ("未关闭的工单", "tickets not closed"),
        ("关闭时间", "closing time"),
    ),
    Definition(
        "complaint_handling",
        ("在期末前处理完毕并关闭的有效投诉", "valid complaints closed by the period's end"),
        ("处理时限落在本期的有效投诉", "valid complaints due in the period"),
        (
            "经核实的无效投诉、已撤销和未受理的投诉（均单列）",
            "complaints found invalid, cancelled or rejected (listed separately)",
        ),
        ("处理时限", "due time"),
    ),
    Definition(
        "greening_pass_rate",
        ("检查合格的绿化养护项目", "greening items that passed"),
        ("本期检查的全部绿化养护项目", "greening items inspected in the period"),
        ("保洁等其他类型的检查", "other kinds of inspection (sanitation, …)"),
        ("检查时间", "inspection time"),
    ),
    Definition(
        "notice_read_rate",
        (
            "发布后 7 天内被送达的住户（App 已读、短信或纸质签收）",
            "households reached within 7 days (read in the app, by SMS or signed on paper)",
        ),
        ("公告面向的住户数", "households the notices addressed"),
        ("草稿、撤回的公告", "drafts and withdrawn notices"),
        ("发布时间 + 7 天", "publication time + 7 days"),
    ),
    Definition(
        "duty_attendance",
        ("有人签到的党员责任岗班次", "duty shifts someone checked in to"),
        ("本期已结束的责任岗班次", "duty shifts of the period that have ended"),
        ("尚未结束且无人签到的班次", "shifts still running with no check-in yet"),
        ("班次开始时间", "shift start time"),
    ),
)


_ALARM_EXCLUDES = ("“移动侦测”类告警（只存档、不派发）", "motion alarms (stored, not routed)")
register(
    Definition(
        "alarm_ack_median",
        (
            "已响应告警的响应分钟数（确认，或未确认即由人工清除）",
            "minutes to the response (acknowledged, or cleared by a person)",
        ),
        ("本期首次出现且已响应的告警", "alarms first seen in the period that have a response"),
        _ALARM_EXCLUDES,
        ("首次出现时间", "first seen time"),
        statement=(
            "本期首次出现的告警从出现到响应的分钟数的中位数（最近秩）",
            "the median (nearest rank) of minutes from first seen to the response, alarms first seen in the period",
        ),
    ),
    Definition(
        "alarm_ack_p90",
        (
            "已响应告警的响应分钟数（确认，或未确认即由人工清除）",
            "minutes to the response (acknowledged, or cleared by a person)",
        ),
        ("本期首次出现且已响应的告警", "alarms first seen in the period that have a response"),
        _ALARM_EXCLUDES,
        ("首次出现时间", "first seen time"),
        statement=(
            "本期首次出现的告警从出现到响应的分钟数的第 90 百分位（最近秩）",
            "the 90th percentile (nearest rank) of minutes from first seen to the response",
        ),
    ),
    Definition(
        "alarm_ack_timeliness",
        (
            "在时限内响应的告警（严重 5、重要 15、一般 30、提示 60 分钟）",
            "alarms answered within their severity's time (critical 5, major 15, minor 30, warning 60 min)",
        ),
        ("本期首次出现、已可判定的告警", "alarms first seen in the period that can be judged"),
        (
            "移动侦测告警；尚在时限内未响应的；时限内被设备自行清除且无人响应的（单列）",
            "motion alarms; unanswered ones still within their time; ones the device cleared in time (listed)",
        ),
        ("首次出现时间", "first seen time"),
    ),
    Definition(
        "alarm_false_rate",
        ("人工清除为“误报”的告警", "alarms cleared as a false alarm"),
        ("本期清除的告警", "alarms cleared in the period"),
        _ALARM_EXCLUDES,
        ("清除时间", "clearing time"),
    ),
    Definition(
        "device_online_rate",
        (
            "期末在线的设备（无未清除的“设备离线”告警）",
            "devices online at the period's end (no active device-offline alarm)",
        ),
        ("期末在册的设备", "devices registered at the period's end"),
        ("已停用、已删除的设备", "disabled and deleted devices"),
        ("期末（本期未结束时为当前）", "the period's end (now for the running period)"),
    ),
)


def target_note(source: str, locale: str) -> str:
    pair = TARGET_SOURCE.get(source, TARGET_SOURCE["default"])
    return pair[1] if locale == "en" else pair[0]
