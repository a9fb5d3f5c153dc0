from services.i18n import register

register(
    {
        "attachment.too_large": (
            "文件过大，超过单个文件的大小上限",
            "The file is larger than the per-file limit",
        ),
        "attachment.unsupported_type": (
            "不支持的文件类型（按文件内容识别，不看文件名）",
            "Unsupported file type (judged from the content, not the file name)",
        ),
        "attachment.too_many": ("附件数量已达上限", "This record already has the maximum number of files"),
        "attachment.unreadable": ("图片已损坏或无法识别", "The image is damaged or cannot be read"),
        "attachment.too_many_pixels": ("图片分辨率过大", "The image has too many pixels"),
        "attachment.not_found": ("文件不存在", "File not found"),
        "attachment.bad_signature": (
            "文件链接无效或已过期，请刷新后重试",
            "The file link is invalid or expired",
        ),
        "attachment.range_not_satisfiable": (
            "请求的字节范围超出文件大小",
            "The requested byte range lies outside the file",
        ),
        "attachment.direct_upload_unavailable": (
            "当前存储不支持直传，请改用普通上传（multipart）",
            "Direct upload is not available with this storage; upload the file as multipart instead",
        ),
        "attachment.upload_not_found": ("上传任务不存在", "No such upload for this record"),
        "attachment.upload_not_yours": ("这不是你发起的上传", "This upload was started by someone else"),
        "attachment.upload_completed": ("该上传已完成", "This upload has been completed already"),
        "attachment.upload_expired": (
            "上传已过期，请重新发起",
            "The upload expired; start a new one",
        ),
        "attachment.upload_missing": (
            "尚未收到文件，请先上传再完成",
            "The file has not arrived yet; upload it, then complete",
        ),
        "attachment.storage_unavailable": (
            "文件存储暂时不可用，请稍后再试",
            "File storage is temporarily unavailable; try again later",
        ),
    }
)
