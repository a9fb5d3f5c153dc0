"""Words for the renovation area's codes (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register_labels
from services.models.renovation import FundKind, ItemClass, ProjectStatus, SignOffVerdict, ThreeRole

register_labels(
    "renovation.status",
    ProjectStatus,
    {
        "planning": ("问需规划", "Planning"),
        "design": ("方案设计", "Design"),
        "publicity": ("方案公示", "Publicity"),
        "approval": ("审批", "Approval"),
        "construction": ("施工", "Construction"),
        "acceptance": ("竣工验收", "Acceptance"),
        "aftercare": ("后期管护", "Aftercare"),
        "closed": ("已结项", "Closed"),
    },
)
register_labels(
    "renovation.item_class",
    ItemClass,
    {
        "basic": ("基础类", "Basic works"),
        "improvement": ("完善类", "Improvement works"),
        "upgrade": ("提升类", "Upgrade works"),
    },
)
register_labels(
    "renovation.role",
    ThreeRole,
    {
        "collector": ("意见征集员", "Opinion collector"),
        "supervisor": ("施工监督员", "Construction supervisor"),
        "inspector": ("竣工验收员", "Acceptance inspector"),
    },
)
register_labels(
    "renovation.verdict",
    SignOffVerdict,
    {
        "pass": ("通过", "Pass"),
        "rectify": ("整改", "Rectify"),
        "fail": ("不通过", "Fail"),
    },
)
register_labels(
    "renovation.fund_kind",
    FundKind,
    {
        "central": ("中央补助", "Central subsidy"),
        "provincial": ("省级补助", "Provincial subsidy"),
        "county": ("县级补助", "County subsidy"),
        "special_bond": ("专项债券", "Special bonds"),
        "employer_unit": ("原产权单位", "Former employer unit"),
        "utility": ("管线单位", "Utilities"),
        "social_capital": ("社会资本", "Social capital"),
        "residents": ("居民出资", "Residents' contributions"),
        "maintenance_fund": ("专项维修资金", "Maintenance fund"),
    },
)
