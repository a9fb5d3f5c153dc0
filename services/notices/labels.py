"""Words for the notices area's codes (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register_labels
from services.models.notices import AudienceType, NoticeKind, NoticeOutcome, NoticeStatus
from services.notices.schemas import NoticeAuthorRole

register_labels(
    "notice.kind",
    NoticeKind,
    {
        "announcement": ("公告", "Announcement"),
        "publicity": ("公示", "Public notice"),
        "emergency": ("紧急通知", "Emergency notice"),
    },
)
register_labels(
    "notice.status",
    NoticeStatus,
    {
        "draft": ("草稿", "Draft"),
        "scheduled": ("待发布", "Scheduled"),
        "published": ("已发布", "Published"),
        "expired": ("已过期", "Expired"),
        "withdrawn": ("已撤回", "Withdrawn"),
    },
)
register_labels(
    "notice.audience",
    AudienceType,
    {
        "community": ("全体居民", "Whole community"),
        "buildings": ("指定楼栋", "Chosen buildings"),
        "roles": ("指定角色", "Chosen roles"),
    },
)
register_labels(
    "notice.outcome",
    NoticeOutcome,
    {
        "no_objections": ("公示期内无异议", "No objections"),
        "objections_answered": ("异议均已答复", "All objections answered"),
        "objections_pending": ("有异议待答复", "Objections waiting for an answer"),
    },
)
register_labels(
    "notice.author",
    NoticeAuthorRole,
    {
        "committee_member": ("业委会", "Owners' committee"),
        "property_manager": ("物业", "Property company"),
        "party_secretary": ("党支部", "Party branch"),
        "community_admin": ("居委会", "Community office"),
    },
)
