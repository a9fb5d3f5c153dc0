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
        "poll.voted_on_paper": (
            "该房屋已提交纸质选票，不能再在线投票",
            "This household has already voted on a paper ballot; it cannot vote in the app as well",
        ),
        "poll.voted_in_app": (
            "该房屋已在线投票，不能再录入纸质选票",
            "This household has already voted in the app; a paper ballot cannot be recorded as well",
        ),
        "poll.verify_forbidden": (
            "仅本小区业主、业委会和居委会可以核验选票",
            "Only the community's verified owners, the committee and the community admin may verify ballots",
        ),
        "poll.paper_forbidden": (
            "仅业委会、居委会、网格员或物业工作人员可以录入纸质选票",
            "Only the committee, the community admin, grid workers or property staff may record paper ballots",
        ),
        "poll.answers_invalid": ("选票答案格式有误", "The ballot's answers are not valid"),
        "poll.household_not_found": ("该房屋不属于本小区", "The household is not in this poll's community"),
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
