"""Error codes of the polls area (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register

register(
    {
        "poll.not_found": ("问卷或表决不存在", "Poll not found"),
        "poll.invalid": ("问卷设置有误", "The poll is not valid"),
        "poll.invalid_times": (
            "截止时间须晚于开始时间且晚于现在",
            "closes_at must be after opens_at and in the future",
        ),
        "poll.notice_not_found": ("关联的公告不存在", "The notice to attach to was not found"),
        "poll.not_open": ("当前不在投票时间内", "The poll is not open for ballots"),
        "poll.not_owner": ("仅业主可以参与此表决", "Only owners may vote in this poll"),
        "poll.already_voted": ("该房屋已投票", "This household has already voted"),
        "poll.unknown_question": ("问题不属于此问卷", "The question does not belong to this poll"),
        "poll.unknown_option": ("选项不属于该问题", "The option does not belong to that question"),
        "poll.duplicate_answer": ("同一问题只能作答一次", "A question may be answered only once"),
        "poll.too_many_choices": ("选择的选项过多", "Too many options chosen"),
        "poll.answer_required": ("请回答所有必答题", "Answer every required question"),
        "poll.answer_invalid": ("答案与题型不符", "The answer does not fit the question type"),
        "poll.results_hidden": ("投票结束后才能查看结果", "Results are shown after the poll closes"),
        "poll.already_closed": ("投票已结束", "The poll is already closed"),
        "poll.not_due": (
            "截止时间未到；提前结束只能取消投票",
            "The poll has not reached closes_at; before then it can only be cancelled",
        ),
    }
)
