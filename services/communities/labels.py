"""Words for roles, relations and membership states (zh-CN, English)."""

from __future__ import annotations

from services.i18n import register_labels
from services.models.occupants import OccupantRelation
from services.models.people import MembershipStatus, Relation, Role

register_labels(
    "role",
    Role,
    {
        "resident": ("居民", "Resident"),
        "property_staff": ("物业维修员", "Property staff"),
        "property_manager": ("物业经理", "Property manager"),
        "committee_member": ("业委会委员", "Committee member"),
        "party_member": ("党员", "Party member"),
        "party_secretary": ("党支部书记", "Party secretary"),
        "grid_worker": ("网格员", "Grid worker"),
        "community_admin": ("居委会", "Community office"),
        "platform_admin": ("平台管理员", "Platform admin"),
        "street_office": ("街道办事处", "Street office"),
    },
)
register_labels(
    "relation",
    Relation,
    {"owner": ("业主", "Owner"), "tenant": ("租户", "Tenant"), "family": ("家属", "Family")},
)
register_labels(
    "occupant.relation",
    OccupantRelation,
    {
        "owner": ("业主", "Owner"),
        "tenant": ("租户", "Tenant"),
        "family": ("家属", "Family"),
        "carer": ("照护人", "Carer"),
        "other": ("其他", "Other"),
    },
)
register_labels(
    "membership.status",
    MembershipStatus,
    {
        "pending": ("待审核", "Pending"),
        "verified": ("已认证", "Verified"),
        "rejected": ("未通过", "Rejected"),
        "revoked": ("已撤销", "Revoked"),
        "invited": ("已邀请", "Invited"),
    },
)
