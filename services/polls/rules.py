"""Decision rules of a vote: Civil Code art. 278 (ordinary and major matters), the older 双过半 of all
owners (a named rule for local bylaws that still use it), and a custom rule stated openly.

Art. 278: a decision needs participation by owners of at least 2/3 of the exclusive area AND at least
2/3 of the owners; it then passes with more than half of the participating area and of the
participating owners (`ordinary`), or, for items 6-8 (raising the maintenance fund, rebuilding or
altering buildings and facilities such as adding a lift, changing the use of common parts), with at
least 3/4 of both (`major`). Using the fund (item 5) is ordinary.

Counting owners: one owner per exclusive part (专有部分), as the Supreme People's Court interpretation
on building division counts them: a household is one exclusive part with its area, casts one ballot
(any of its verified owners may cast it) and counts as one owner however many co-owners it has. Not
modelled: one buyer holding several parts counts once (we only know households, not title deeds).
Participation is every household that cast a ballot, abstentions included.

Arithmetic is exact: a test compares numerator × d against n × denominator (Fraction ratios, Decimal
areas, integer headcounts), never a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from services.i18n import Locale
from services.models.polls import DecisionRule

Comparison = Literal["at_least", "more_than"]
TestName = Literal["participation_area", "participation_owners", "approval_area", "approval_owners"]
TWO_THIRDS, HALF, THREE_QUARTERS = Fraction(2, 3), Fraction(1, 2), Fraction(3, 4)


@dataclass(frozen=True)
class Spec:
    """quorum: the participation ratio (≥) or None; approval over participants or over all."""

    quorum: Fraction | None
    households_ratio: Fraction
    area_ratio: Fraction
    comparison: Comparison
    over_participants: bool


def spec_for(rule: str, households_ratio: str = "1/2", area_ratio: str = "1/2") -> Spec:
    if rule == DecisionRule.ordinary:
        return Spec(TWO_THIRDS, HALF, HALF, "more_than", True)
    if rule == DecisionRule.major:
        return Spec(TWO_THIRDS, THREE_QUARTERS, THREE_QUARTERS, "at_least", True)
    if rule == DecisionRule.double_majority_all:
        return Spec(None, HALF, HALF, "more_than", False)
    return Spec(None, Fraction(households_ratio), Fraction(area_ratio), "more_than", False)


def ratios_of(rule: str) -> tuple[str, str] | None:
    """The pass ratios a named rule fixes (stored on the poll for display); None for custom."""
    if rule == DecisionRule.custom:
        return None
    s = spec_for(rule)
    return fraction_text(s.households_ratio), fraction_text(s.area_ratio)


def fraction_text(f: Fraction) -> str:
    return f"{f.numerator}/{f.denominator}"


def check(
    numerator: Decimal | int, denominator: Decimal | int, ratio: Fraction, comparison: Comparison
) -> bool:
    """numerator/denominator ≥ ratio (at_least) or > ratio (more_than), exactly; nothing of 0 passes."""
    num, den = Decimal(numerator), Decimal(denominator)
    if den <= 0:
        return False
    left, right = num * ratio.denominator, den * ratio.numerator
    return left >= right if comparison == "at_least" else left > right


# --- words ----------------------------------------------------------------------------------------

_RULE_TEXT: dict[str, tuple[str, str]] = {
    DecisionRule.ordinary: (
        "《民法典》第二百七十八条 一般事项：须专有面积占比 2/3 以上且人数占比 2/3 以上的业主参与表决，"
        "经参与表决专有面积过半数且参与表决人数过半数的业主同意",
        "Civil Code art. 278, ordinary matter: owners of at least 2/3 of the exclusive area and at least "
        "2/3 of the owners take part; it passes with more than half of the participating area and more "
        "than half of the participating owners",
    ),
    DecisionRule.major: (
        "《民法典》第二百七十八条 重大事项（第六至八项：筹集维修资金、改建重建建筑物及其附属设施如加装电梯、"
        "改变共有部分用途）：须专有面积占比 2/3 以上且人数占比 2/3 以上的业主参与表决，"
        "经参与表决专有面积 3/4 以上且参与表决人数 3/4 以上的业主同意",
        "Civil Code art. 278, major matter (items 6-8: raising the maintenance fund, rebuilding or "
        "altering buildings and facilities such as adding a lift, changing the use of common parts): "
        "owners of at least 2/3 of the exclusive area and at least 2/3 of the owners take part; it "
        "passes with at least 3/4 of the participating area and at least 3/4 of the participating owners",
    ),
    DecisionRule.double_majority_all: (
        "本小区议事规则（全体业主双过半）：同意的业主人数超过全体业主的 1/2，且其专有面积超过总面积的 1/2",
        "Local bylaw (double majority of all owners): more than half of all owners and more than half "
        "of the total exclusive area agree",
    ),
}

_TEST_WORDS: dict[str, tuple[str, str]] = {
    "participation_area": ("参与表决的专有面积", "participating exclusive area"),
    "participation_owners": ("参与表决的业主人数", "participating owners"),
    "approval_area": ("同意的专有面积", "agreeing exclusive area"),
    "approval_owners": ("同意的业主人数", "agreeing owners"),
}


def rule_text(rule: str, households_ratio: str, area_ratio: str, locale: Locale) -> str:
    if rule in _RULE_TEXT:
        zh, en = _RULE_TEXT[rule]
        return en if locale == "en" else zh
    if locale == "en":
        return (
            f"Custom rule (not the Civil Code art. 278 standard): more than {households_ratio} of all "
            f"owners and more than {area_ratio} of the total exclusive area agree; no participation quorum"
        )
    return (
        f"自定义规则（非《民法典》第二百七十八条标准）：同意的业主人数超过全体业主的 {households_ratio}，"
        f"且其专有面积超过总面积的 {area_ratio}；不设参与比例要求"
    )


def _num(value: Decimal) -> str:
    return f"{value:f}"


def test_text(name: str, numerator: Decimal, denominator: Decimal, threshold: str, comparison: str,
              passed: bool, locale: Locale) -> str:  # fmt: skip
    zh, en = _TEST_WORDS.get(name, (name, name))
    unit = " m²" if name.endswith("area") else ""
    if locale == "en":
        op = "≥" if comparison == "at_least" else ">"
        verdict = "met" if passed else "not met"
        return (
            f"{en} {_num(numerator)}{unit} of {_num(denominator)}{unit} (needs {op} {threshold}): {verdict}"
        )
    op = "≥" if comparison == "at_least" else ">"
    verdict = "达到" if passed else "未达到"
    return f"{zh} {_num(numerator)}{unit} / {_num(denominator)}{unit}（须 {op} {threshold}）：{verdict}"


def outcome_text(outcome: str, option_text: str | None, failed: list[str], locale: Locale) -> str:
    """Why the decision passed or failed, from the outcome and the failing tests' sentences."""
    reasons = ("; " if locale == "en" else "；").join(failed)
    if outcome == "passed":
        if locale == "en":
            return f'Passed: "{option_text}" meets every test of the rule.'
        return f"通过：「{option_text}」达到规则的全部要求。"
    if outcome == "no_quorum":
        if locale == "en":
            return f"Not decided: too few owners took part ({reasons})."
        return f"未形成决定：参与表决的业主不足（{reasons}）。"
    if locale == "en":
        return f"Not passed: no option met the approval tests ({reasons})." if reasons else "Not passed."
    return f"未通过：没有选项达到同意比例（{reasons}）。" if reasons else "未通过。"


VERDICT = {
    "passed": ("通过", "passed"),
    "no_quorum": ("未形成决定（参与不足）", "not decided (too few took part)"),
    "not_approved": ("未通过", "not passed"),
}
