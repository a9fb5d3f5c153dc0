"""Localised messages for request validation errors (details.fields[].msg of a 422).

Pydantic writes its messages in English. zh-CN readers get the Chinese text for the error type (with
the limits from the error's context: "最多 100 个字符"); English readers keep pydantic's own text.
Our validators' ValueError texts are translated through VALUE_ERRORS, English pattern -> Chinese,
where `{name}` in the pattern captures a part that the Chinese text repeats.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from services.i18n import Locale

# pydantic-core error type -> zh-CN text; placeholders are keys of the error's `ctx`.
TYPES: dict[str, str] = {
    "no_such_attribute": "不存在的属性 {attribute}",
    "json_invalid": "JSON 格式错误",
    "json_type": "须为 JSON 字符串",
    "needs_python_object": "类型无效",
    "recursion_loop": "数据存在循环引用",
    "recursion_depth_exceeded": "数据嵌套过深",
    "missing": "必填项",
    "frozen_field": "该字段不可修改",
    "frozen_instance": "该对象不可修改",
    "extra_forbidden": "不允许的字段",
    "invalid_key": "键须为字符串",
    "get_attribute_error": "读取属性出错",
    "model_type": "须为对象",
    "model_attributes_type": "须为对象",
    "dataclass_type": "须为对象",
    "dataclass_exact_type": "须为对象",
    "named_tuple_type": "须为数组或对象",
    "default_factory_not_called": "无法计算默认值",
    "none_required": "须为空值（null）",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "须大于或等于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "须小于或等于 {le}",
    "multiple_of": "须为 {multiple_of} 的倍数",
    "finite_number": "须为有限数值",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "iterable_type": "须为数组",
    "iteration_error": "读取数组出错",
    "string_type": "须为字符串",
    "string_unicode": "须为有效的 Unicode 字符串",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "string_not_ascii": "只能包含 ASCII 字符",
    "enum": "须为以下之一：{expected}",
    "dict_type": "须为对象",
    "frozen_dict_type": "须为对象",
    "ordered_dict_type": "须为对象",
    "counter_type": "须为对象",
    "mapping_type": "须为对象",
    "list_type": "须为数组",
    "deque_type": "须为数组",
    "tuple_type": "须为数组",
    "set_type": "须为数组",
    "set_item_not_hashable": "数组中有无效的项",
    "bool_type": "须为布尔值",
    "bool_parsing": "须为布尔值（true 或 false）",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_parsing_size": "整数超出范围",
    "int_from_float": "须为整数，不能有小数部分",
    "float_type": "须为数字",
    "float_parsing": "须为数字",
    "bytes_type": "须为字节串",
    "bytes_too_short": "至少 {min_length} 个字节",
    "bytes_too_long": "最多 {max_length} 个字节",
    "bytes_invalid_encoding": "字节编码无效",
    "value_error": "取值无效",
    "assertion_error": "取值无效",
    "literal_error": "须为以下之一：{expected}",
    "missing_sentinel_error": "取值无效",
    "ellipsis_error": "取值无效",
    "date_type": "须为日期",
    "date_parsing": "须为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "须为日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "日期不能包含时间",
    "date_past": "须为过去的日期",
    "date_future": "须为将来的日期",
    "time_type": "须为时间",
    "time_parsing": "须为时间（HH:MM 或 HH:MM:SS）",
    "datetime_type": "须为日期时间",
    "datetime_parsing": "须为 ISO 8601 日期时间",
    "datetime_object_invalid": "日期时间无效",
    "datetime_from_date_parsing": "须为 ISO 8601 日期时间",
    "datetime_past": "须为过去的时间",
    "datetime_future": "须为将来的时间",
    "timezone_naive": "不能带时区",
    "timezone_aware": "须带时区偏移（如 +08:00）",
    "timezone_offset": "时区偏移须为 {tz_expected}",
    "time_delta_type": "须为时长",
    "time_delta_parsing": "须为时长",
    "frozen_set_type": "须为数组",
    "is_instance_of": "类型无效",
    "is_subclass_of": "类型无效",
    "callable_type": "类型无效",
    "union_tag_invalid": "类型标记无效，须为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少类型标记 {discriminator}",
    "arguments_type": "参数无效",
    "missing_argument": "缺少参数",
    "unexpected_keyword_argument": "多余的参数",
    "missing_keyword_only_argument": "缺少参数",
    "unexpected_positional_argument": "多余的参数",
    "missing_positional_only_argument": "缺少参数",
    "multiple_argument_values": "参数重复",
    "url_type": "须为网址",
    "url_parsing": "网址无效",
    "url_syntax_violation": "网址无效",
    "url_too_long": "网址过长（最多 {max_length} 个字符）",
    "url_scheme": "网址协议须为 {expected_schemes}",
    "uuid_type": "须为 UUID",
    "uuid_parsing": "须为 UUID",
    "uuid_version": "UUID 版本须为 {expected_version}",
    "decimal_type": "须为数字",
    "decimal_parsing": "须为数字",
    "decimal_max_digits": "最多 {max_digits} 位数字",
    "decimal_max_places": "最多 {decimal_places} 位小数",
    "decimal_whole_digits": "整数部分最多 {whole_digits} 位",
    "fraction_type": "须为分数",
    "fraction_parsing": "须为分数",
    "complex_type": "须为复数",
    "complex_str_parsing": "须为复数",
}

# Our validators' ValueError texts (English as written in the schemas) -> zh-CN.
VALUE_ERRORS: dict[str, str] = {}
_COMPILED: list[tuple[re.Pattern[str], str]] = []


def register_value_errors(pairs: Mapping[str, str]) -> None:
    for english, chinese in pairs.items():
        if english in VALUE_ERRORS and VALUE_ERRORS[english] != chinese:
            raise ValueError(f"value error {english!r} registered twice with different text")
        VALUE_ERRORS[english] = chinese
        pattern = re.escape(english)
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", pattern)
        _COMPILED.append((re.compile(f"^{pattern}$"), chinese))


register_value_errors(
    {
        "NUL characters are not allowed": "不能包含 NUL 字符",
        "control characters are not allowed": "不能包含控制字符",
        "date out of range (1900 to 2199)": "日期超出范围（1900 至 2199 年）",
        "date out of range ({low} to {high})": "日期超出范围（{low} 至 {high}）",
        "expected a time of day as HH:MM or HH:MM:SS, without an offset": "须为时刻 HH:MM 或 HH:MM:SS，不带时区",
        "unknown time zone": "未知的时区",
        "times need a UTC offset": "时间须带时区偏移（如 +08:00）",
        "custom_category is required for, and only for, category 'custom'": "仅当类别为 custom 时须填写 custom_category",
        "give either starts_at and ends_at, or a recurrence": "请填写 starts_at 和 ends_at，或填写重复规则",
        "starts_at and ends_at go together": "starts_at 与 ends_at 须同时填写",
        "lat and lng go together": "lat 与 lng 须同时填写",
        "give ticket_id or open_ticket, not both": "ticket_id 与 open_ticket 只能填写其一",
        "a ratio is a number or a fraction like 2/3": "比例须为数字或分数（如 2/3）",
        "not a number": "不是数字",
        "a ratio must be at least 1/2 and below 1 (denominator at most 10000)": "比例须不小于 1/2 且小于 1（分母最大 10000）",
        "a text question has no options and no max_choices": "填空题不能设置选项和 max_choices",
        "a choice question needs at least two options": "选择题至少需要两个选项",
        "options of a question must differ": "同一题的选项不能重复",
        "a single-choice question allows one choice": "单选题只能选一项",
        "max_choices exceeds the number of options": "max_choices 超过了选项数",
        "households_ratio and area_ratio apply to the custom rule only": "households_ratio 与 area_ratio 仅适用于自定义规则（custom）",
        "decision_question is not an index of questions": "decision_question 不是有效的题目序号",
        "the decision question must be single-choice": "决定题须为单选题",
        "category must be one of {allowed} for {kind}": "{kind} 的类别须为以下之一：{allowed}",
        "complaint_target is required for a complaint": "投诉须填写 complaint_target",
        "building_id goes with place (a public area); a household implies its building": "building_id 仅与 place（公共区域）同填；住户已隐含楼栋",
        "a ticket is for a household or for a public area (place), not both": "工单针对住户或公共区域（place），不能同时填写",
        "occupant_id and on_behalf_of_user_id exclude each other": "occupant_id 与 on_behalf_of_user_id 只能填写其一",
        "about_staff_id applies to complaints only": "只有投诉可以填写 about_staff_id",
        "complaint_target applies to complaints only": "只有投诉可以填写 complaint_target",
        "appointment_start and appointment_end go together": "appointment_start 与 appointment_end 须同时填写",
        "appointment times need a UTC offset": "预约时间须带时区偏移（如 +08:00）",
    }
)  # fmt: skip

_VALUE_ERROR_PREFIX = "Value error, "


def field_message(error: Mapping[str, Any], locale: Locale) -> str:
    """The message for one pydantic error in the reader's locale."""
    english = str(error.get("msg") or "")
    if locale == "en":
        return english
    kind = str(error.get("type") or "")
    if kind in ("value_error", "assertion_error"):
        text = english.removeprefix(_VALUE_ERROR_PREFIX).removeprefix("Assertion failed, ")
        for pattern, chinese in _COMPILED:
            match = pattern.match(text)
            if match:
                return chinese.format(**match.groupdict())
    template = TYPES.get(kind)
    if template is None:
        return "取值无效"
    ctx = {k: _show(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return template.split("{")[0].rstrip("：: ") or "取值无效"


def _show(value: Any) -> str:
    # pydantic's `expected` reads "'a', 'b' or 'c'": keep the values, in our punctuation.
    return str(value).replace(" or ", "、").replace("'", "") if isinstance(value, str) else str(value)
