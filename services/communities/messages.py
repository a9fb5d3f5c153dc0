"""Error codes added by the places, people and onboarding area (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register

register(
    {
        "company.name_taken": ("同名物业服务企业已存在", "A property company with this name already exists"),
        "user.password_exists": (
            "该手机号已注册，不能为其设置密码；请去掉密码后重试",
            "This phone number already has an account; its password cannot be set here. Retry without one",
        ),
        "claim.self_decision": ("不能审核自己的认证申请", "You cannot decide on your own claim"),
    }
)
