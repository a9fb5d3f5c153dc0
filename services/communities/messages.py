"""Error codes added by the places, people and onboarding area (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register
from services.notifications.catalog import register_templates

register_templates(
    {
        "account.invited": (
            ("角色邀请", "您被邀请担任{role_zh}，请在“我的”中接受或拒绝。"),
            ("Role invitation", "You are invited to be {role_en}. Accept or decline it under Me."),
        ),
    }
)

register(
    {
        "occupant.not_found": ("住户成员不存在", "No such occupant"),
        "occupant.duplicate": (
            "该房屋已登记此手机号",
            "This phone number is already recorded for the household",
        ),
        "company.name_taken": ("同名物业服务企业已存在", "A property company with this name already exists"),
        "invitation.not_found": ("邀请不存在或已处理", "No such invitation, or it was already answered"),
        "claim.self_decision": ("不能审核自己的认证申请", "You cannot decide on your own claim"),
        "claim.user_limit": (
            "您待审核的认证申请已达上限，请等待审核结果后再申请",
            "You have too many claims waiting for approval; wait for a decision before filing another",
        ),
        "claim.household_limit": (
            "该房屋待审核的认证申请已达上限，请联系物业或业委会",
            "This household has too many claims waiting for approval; contact the property office",
        ),
    }
)
