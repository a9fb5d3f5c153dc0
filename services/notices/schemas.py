"""Request and response bodies of the notices area."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field
from typing_extensions import TypeAliasType

from services.attachments.schemas import AttachmentOut
from services.i18n import Labelled
from services.models import Role
from services.models.notices import AudienceType, NoticeKind, NoticeStatus
from services.schemas import Id, Instant, Line, RequestBody, ResponseBody, Text, Version

Title = Annotated[Line, Field(min_length=1, max_length=200)]
# Markdown keeps its newlines; only NUL is refused (PostgreSQL cannot store it).
BodyMd = Annotated[Text, Field(min_length=1, max_length=20_000)]
Prose = Annotated[Text, Field(min_length=1, max_length=2000)]
# Named in the OpenAPI and shared by requests and responses (one enum in a generated client).
NoticeAuthorRole = TypeAliasType(
    "NoticeAuthorRole", Literal["committee_member", "property_manager", "party_secretary", "community_admin"]
)


class NoticeCreate(RequestBody):
    kind: NoticeKind
    title: Title
    body_md: BodyMd
    author_role: NoticeAuthorRole | None = Field(
        default=None, description="Which of your roles signs the notice; default: your first author role"
    )
    audience_type: AudienceType = AudienceType.community
    audience_building_ids: list[Id] = Field(default_factory=list, max_length=500)
    audience_roles: list[Role] = Field(default_factory=list, max_length=10)
    pinned: bool = False
    requires_ack: bool = False
    offline_reach: bool = Field(
        default=False,
        description="Post on the noticeboard and SMS the households without the app (community or "
        "building audiences); receipts then count households reached by app, SMS and paper",
    )
    expires_at: Instant | None = None
    comment_window_days: int | None = Field(
        default=None, le=90, description="Publicity only; at least 5 days (default 5)"
    )
    publish_at: Instant | None = Field(
        default=None, description="Schedule at once for this future time (otherwise a draft)"
    )


class NoticeUpdate(RequestBody):
    """Drafts and scheduled notices: any field. Published notices: only `pinned` and `expires_at`."""

    version: Version
    title: Title | None = None
    body_md: BodyMd | None = None
    audience_type: AudienceType | None = None
    audience_building_ids: list[Id] | None = Field(default=None, max_length=500)
    audience_roles: list[Role] | None = Field(default=None, max_length=10)
    requires_ack: bool | None = None
    offline_reach: bool | None = None
    comment_window_days: int | None = Field(default=None, le=90)
    pinned: bool | None = None
    expires_at: Instant | None = None


class PublishIn(RequestBody):
    publish_at: Instant | None = Field(default=None, description="Future time → scheduled; none → now")


class WithdrawIn(RequestBody):
    reason: Annotated[Line, Field(min_length=1, max_length=500)]


class RevisionIn(RequestBody):
    change_summary: Prose
    title: Title | None = None
    body_md: BodyMd | None = None
    comment_window_days: int | None = Field(default=None, le=90)
    expires_at: Instant | None = None


class CommentIn(RequestBody):
    body: Prose
    is_objection: bool = False
    signed: bool | None = Field(
        default=None,
        description="Sign with your name; unsigned, other residents see '1号楼 住户'. Omitted: the "
        "author's privacy choice show_name_on_comments (GET /v1/me/privacy), off unless opted in",
    )


class AnswerIn(RequestBody):
    body: Prose


class RemindIn(RequestBody):
    what: Literal["read", "ack"] | None = Field(
        default=None, description="Who to remind: not yet read, or not yet acknowledged (default)"
    )


class MyReceipt(ResponseBody):
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    acked_at: datetime | None = None


class NoticeItem(ResponseBody, Labelled):
    """One feed row."""

    LABELS: ClassVar[dict[str, str]] = {
        "kind": "notice.kind",
        "status": "notice.status",
        "author_role": "notice.author",
    }

    id: int
    community_id: int
    kind: NoticeKind
    title: str
    author_role: NoticeAuthorRole
    status: NoticeStatus
    pinned: bool
    requires_ack: bool
    round: int
    published_at: datetime | None
    expires_at: datetime | None
    comment_closes_at: datetime | None
    unread: bool
    acked: bool
    kind_label: str | None = None
    status_label: str | None = None
    author_role_label: str | None = None


class NoticeOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {
        **NoticeItem.LABELS,
        "audience_type": "notice.audience",
        "outcome": "notice.outcome",
    }
    id: int
    community_id: int
    author_id: int
    author_name: str
    author_role: NoticeAuthorRole
    kind: NoticeKind
    title: str
    body_md: str
    audience_type: AudienceType
    audience_building_ids: list[int]
    audience_roles: list[str]
    status: NoticeStatus
    publish_at: datetime | None
    published_at: datetime | None
    expires_at: datetime | None
    pinned: bool
    requires_ack: bool
    offline_reach: bool = False
    comment_window_days: int | None
    comment_closes_at: datetime | None
    window_open: bool
    outcome: str | None
    outcome_detail: dict[str, Any] | None
    outcome_at: datetime | None
    round: int
    previous_id: int | None
    next_id: int | None
    change_summary: str | None
    withdrawn_reason: str | None
    withdrawn_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    attachments: list[AttachmentOut]
    my_receipt: MyReceipt | None
    can_manage: bool
    kind_label: str | None = None
    status_label: str | None = None
    author_role_label: str | None = None
    audience_type_label: str | None = None
    outcome_label: str | None = None


class NoticeRef(ResponseBody):
    """What another area (polls) needs to know about a notice it is attached to."""

    id: int
    community_id: int
    kind: NoticeKind
    title: str
    status: NoticeStatus
    round: int
    audience_type: AudienceType
    audience_building_ids: list[int]
    audience_roles: list[str]


class CommentOut(ResponseBody):
    id: int
    notice_id: int
    user_id: int | None = Field(description="None when the author did not sign and you may not see it")
    user_name: str = Field(description="The author's name, or a masked label such as '1号楼 住户'")
    household_label: str | None
    signed: bool
    name_masked: bool = Field(description="True when user_name is the masked label")
    body: str
    is_objection: bool
    answer_body: str | None
    answered_by: int | None
    answered_at: datetime | None
    created_at: datetime


class BuildingReceipts(ResponseBody):
    building_id: int | None = Field(description="None: recipients without a household (staff)")
    building_name: str | None
    people: int
    delivered: int
    read: int
    acked: int
    households: int
    households_read: int
    households_acked: int


class HouseholdReceipts(ResponseBody):
    household_id: int
    entrance: str
    room: str
    people: int
    read: int
    acked: int


class ReceiptsOut(ResponseBody):
    notice_id: int
    requires_ack: bool
    people: int
    delivered: int
    read: int
    acked: int
    read_rate: float = Field(
        description="Households reached (read in the app, sent by SMS, or recorded on paper) over the "
        "audience's households"
    )
    people_read_rate: float = Field(description="App users who read it over app users in the audience")
    ack_rate: float | None
    households_total: int = Field(description="Households in the audience")
    households_reached: int
    households_by_app: int = Field(description="Households where someone read it in the app")
    households_by_sms: int = Field(description="Households without the app sent the text by SMS")
    households_by_paper: int = Field(description="Households recorded as reached on paper")
    buildings: list[BuildingReceipts]
    households: list[HouseholdReceipts] | None = Field(
        default=None, description="Per household, only when asked for one building (?building_id=)"
    )


class MissingOut(ResponseBody):
    """A recipient who has not read (or not acknowledged) the notice yet."""

    user_id: int
    name: str
    building_name: str | None
    entrance: str | None
    room: str | None
    read_at: datetime | None
    acked_at: datetime | None


class RemindOut(ResponseBody):
    notice_id: int
    what: str
    recipients: int
    reminders_sent: int
    fanout_id: int | None


class HistoryItem(ResponseBody):
    id: int
    round: int
    title: str
    status: NoticeStatus
    published_at: datetime | None
    comment_closes_at: datetime | None
    outcome: str | None
    outcome_detail: dict[str, Any] | None
    change_summary: str | None
    comments: int
    objections: int
    objections_answered: int


class PaperReceiptsIn(RequestBody):
    """Households that have the printed notice (put through the door, read out by a grid worker)."""

    household_ids: list[Id] = Field(min_length=1, max_length=500)


class PaperReceiptsOut(ResponseBody):
    notice_id: int
    recorded: list[int] = Field(description="Households recorded now")
    already: list[int] = Field(description="Households already recorded on paper")
