from services.i18n import register

register(
    {
        "consent.policy_version_mismatch": (
            "该隐私政策版本不是当前版本，请阅读最新版本后再同意",
            "That is not the privacy policy in force; read the current version and accept it",
        ),
    }
)
