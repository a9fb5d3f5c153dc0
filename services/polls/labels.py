"""Words for the polls area's codes (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register_labels
from services.models.polls import (
    BallotChannel,
    DecisionRule,
    Eligibility,
    PollKind,
    QuestionType,
    ResultsVisibility,
)
from services.polls.schemas import Status

register_labels("poll.kind", PollKind, {"survey": ("问卷", "Survey"), "vote": ("表决", "Vote")})
register_labels(
    "poll.status",
    Status,
    {
        "scheduled": ("未开始", "Scheduled"),
        "open": ("进行中", "Open"),
        "closed": ("已结束", "Closed"),
        "cancelled": ("已取消", "Cancelled"),
    },
)
register_labels(
    "poll.question_type",
    QuestionType,
    {
        "single": ("单选", "Single choice"),
        "multiple": ("多选", "Multiple choice"),
        "text": ("填空", "Free text"),
    },
)
register_labels(
    "poll.eligibility",
    Eligibility,
    {
        "owners": ("业主（每户一票）", "Owners, one per household"),
        "households": ("每户一票", "One per household"),
    },
)
register_labels(
    "poll.results_visibility",
    ResultsVisibility,
    {"after_close": ("结束后公布", "After closing"), "live": ("实时公布", "Live")},
)
register_labels(
    "poll.ballot_channel",
    BallotChannel,
    {"app": ("App 投票", "App"), "paper": ("纸质表决票", "Paper ballot"), "seed": ("导入", "Imported")},
)
register_labels(
    "poll.decision_rule",
    DecisionRule,
    {
        "ordinary": ("一般事项（民法典第278条：过半数）", "Ordinary matter (Civil Code art. 278: majority)"),
        "major": (
            "重大事项（民法典第278条：四分之三）",
            "Major matter (Civil Code art. 278: three quarters)",
        ),
        "double_majority_all": ("全体双过半（地方规约）", "Majority of all owners and area (local bylaw)"),
        "custom": ("自定义规则", "Custom rule"),
    },
)
