"""Every table. Importing this package registers them all on SQLModel.metadata (Alembic reads it)."""

# Areas whose tables are imported for their side effect: registering them on the metadata.
import services.models.alarms
import services.models.consent
import services.models.duty
import services.models.geo
import services.models.kpis
import services.models.notices
import services.models.occupants
import services.models.polls
import services.models.renovation  # noqa: F401
from services.models.attachments import Attachment, DirectUpload
from services.models.audit import AuditLog, ExportStatus, PrivacyExport
from services.models.auth import IdempotencyRecord, OtpChallenge, RateLimitWindow, RefreshToken
from services.models.base import utcnow
from services.models.notifications import (
    Channel,
    Delivery,
    DeliveryStatus,
    Device,
    Notification,
    NotificationFanout,
    NotificationPreference,
    PushProvider,
    QuietHours,
)
from services.models.people import (
    COMMUNITY_ROLES,
    COMPANY_ROLES,
    Membership,
    MembershipStatus,
    Relation,
    Role,
    User,
)
from services.models.places import Building, Community, Household, ManagementContract, PropertyCompany
from services.models.sla import CalendarException, SlaPolicy
from services.models.tickets import (
    CallBinding,
    Inspection,
    InspectionItem,
    Ticket,
    TicketEvent,
    TicketFollowup,
    TicketRating,
)

__all__ = [
    "COMMUNITY_ROLES",
    "COMPANY_ROLES",
    "Attachment",
    "AuditLog",
    "Building",
    "CalendarException",
    "CallBinding",
    "Channel",
    "Community",
    "Delivery",
    "DeliveryStatus",
    "Device",
    "DirectUpload",
    "ExportStatus",
    "Household",
    "IdempotencyRecord",
    "Inspection",
    "InspectionItem",
    "ManagementContract",
    "Membership",
    "MembershipStatus",
    "Notification",
    "NotificationFanout",
    "NotificationPreference",
    "OtpChallenge",
    "PrivacyExport",
    "PropertyCompany",
    "PushProvider",
    "QuietHours",
    "RateLimitWindow",
    "RefreshToken",
    "Relation",
    "Role",
    "SlaPolicy",
    "Ticket",
    "TicketEvent",
    "TicketFollowup",
    "TicketRating",
    "User",
    "utcnow",
]
