"""Error codes of the renovation area (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register

register(
    {
        "renovation.project_not_found": ("改造项目不存在", "Renovation project not found"),
        "renovation.item_not_found": ("改造内容不存在", "Renovation item not found"),
        "renovation.source_not_found": ("资金来源不存在", "Fund source not found"),
        "renovation.milestone_not_found": ("节点不存在", "Milestone not found"),
        "renovation.step_not_found": ("审批环节不存在", "Approval step not found"),
        "renovation.request_not_found": ("意见记录不存在", "Request not found"),
        "renovation.invalid_amount": ("金额须为非负整数（分）", "Amounts are whole fen, never negative"),
        "renovation.invalid_quantity": ("工程量须为正数", "The quantity must be a positive number"),
        "renovation.building_not_found": ("楼栋不属于本小区", "The building is not in this community"),
        "renovation.phase_evidence_missing": (
            "当前阶段的材料不齐，不能进入下一阶段",
            "This phase lacks its evidence; the project cannot move on",
        ),
        "renovation.phase_invalid": ("只能推进到下一阶段", "A project moves to the next phase only"),
        "renovation.closed": ("项目已结束", "The project is closed"),
        "renovation.design_notice_missing": (
            "请先发布设计方案的第一轮公示",
            "Publish the design's first publicity round first",
        ),
        "renovation.poll_mismatch": (
            "所链接的问卷或表决不属于本小区或类型不符",
            "The linked poll is not of this community or of the wrong kind",
        ),
        "renovation.notice_mismatch": (
            "所链接的公示不属于本小区",
            "The linked notice is not a publicity notice of this community",
        ),
        "renovation.over_balance": (
            "支出超过该资金来源的到位余额",
            "The payment exceeds what was received for this source",
        ),
        "renovation.received_over_committed": (
            "到位金额不能少于已支出金额",
            "The received amount cannot fall below what was already spent",
        ),
        "renovation.voucher_invalid": (
            "凭证须为本项目上传的凭证附件",
            "The voucher must be this project's upload",
        ),
        "renovation.approver_invalid": (
            "审批人须为本小区居委会或业委会成员",
            "The approver must be a community admin or committee member",
        ),
        "renovation.not_resident": (
            "被任命人须为本小区已认证住户",
            "The appointee must be a verified resident",
        ),
        "renovation.role_exists": ("该住户已担任此角色", "This resident already holds this role"),
        "renovation.not_appointed": ("您未被任命为本项目的该角色", "You are not appointed to this role"),
        "renovation.bad_dates": ("日期先后不符", "The dates are out of order"),
        "renovation.period_exists": ("该半年度已有自评", "This half-year already has a self-assessment"),
        "renovation.request_decided": ("该意见已处理", "This request has already been handled"),
    }
)
