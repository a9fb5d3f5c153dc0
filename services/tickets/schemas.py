"""Request and response bodies of the tickets area."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, StringConstraints, model_validator
from typing_extensions import TypeAliasType

from services.models.tickets import IntakeChannel, TicketKind, TicketStatus
from services.phones import MaskedPhone
from services.schemas import Instant, Line, RequestBody, ResponseBody, Text, Version

# Named in the OpenAPI like the enums below: which categories a repair and a complaint take
# (TicketCreate checks the pair), and their union that a ticket carries.
RepairCategory = TypeAliasType(
    "RepairCategory",
    Literal[
        "plumbing",
        "electrical",
        "elevator",
        "roof_leak",
        "door_window",
        "public_facility",
        "greening",
        "sanitation",
        "other",
    ],
)
ComplaintCategory = TypeAliasType(
    "ComplaintCategory", Literal["property_service", "neighbour", "facility", "other"]
)
CATEGORIES: dict[str, tuple[str, ...]] = {
    "repair": get_args(RepairCategory.__value__),
    "complaint": get_args(ComplaintCategory.__value__),
}
TicketCategory = TypeAliasType(
    "TicketCategory",
    Literal[
        "plumbing",
        "electrical",
        "elevator",
        "roof_leak",
        "door_window",
        "public_facility",
        "greening",
        "sanitation",
        "other",
        "property_service",
        "neighbour",
        "facility",
    ],
)
# Named in the OpenAPI (components/schemas), the same type on requests and responses, so a generated
# client has one TicketKind / TicketStatus / TicketPriority / IntakeChannel / ComplaintTarget enum.
Kind = TicketKind
TicketPriority = TypeAliasType("TicketPriority", Literal["urgent", "high", "normal", "low"])
ComplaintTarget = TypeAliasType(
    "ComplaintTarget", Literal["property_service", "neighbour", "facility", "other"]
)
PauseReason = Literal[
    "resident_not_home", "waiting_for_parts", "needs_owner_consent", "needs_third_party", "weather", "other"
]
RejectReason = Literal["duplicate", "invalid"]
RatingChannel = TypeAliasType("RatingChannel", Literal["app", "phone", "in_person", "sms_reply"])
InspectionKind = TypeAliasType("InspectionKind", Literal["greening", "sanitation"])
Action = Literal[
    "accept",
    "assign",
    "grab",
    "start",
    "pause",
    "resume",
    "resolve",
    "close",
    "reopen",
    "cancel",
    "reject",
    "urge",
    "reprioritise",
    "classify",
    "dispute",
]
Text500 = Annotated[Text, StringConstraints(min_length=1, max_length=500)]
MAX_ID = 2**53 - 1


class TicketCreate(RequestBody):
    kind: Kind
    category: TicketCategory
    priority: TicketPriority = "normal"
    title: Text = Field(min_length=1, max_length=100)
    description: Text = Field(default="", max_length=2000)
    household_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    complaint_target: ComplaintTarget | None = None
    appointment_start: Instant | None = None
    appointment_end: Instant | None = None
    on_behalf_of_user_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    # Staff filing for an occupant without the app (GET /v1/communities/{cid}/occupants?phone=).
    occupant_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    intake_channel: Literal["app", "phone", "walk_in", "hotline"] = "app"
    place: Line | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="A public area (stairwell, lift, gate): no household",
    )
    building_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Public areas: the building")
    about_staff_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="A complaint about one staff member: only the property manager and the committee "
        "read it (never the technicians)",
    )

    @model_validator(mode="after")
    def _check(self) -> TicketCreate:
        if self.category not in CATEGORIES[self.kind]:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES[self.kind])} for {self.kind}")
        if self.kind == "complaint" and self.complaint_target is None:
            raise ValueError("complaint_target is required for a complaint")
        if self.kind == "repair" and self.complaint_target is not None:
            raise ValueError("complaint_target applies to complaints only")
        if self.kind == "repair" and self.about_staff_id is not None:
            raise ValueError("about_staff_id applies to complaints only")
        if (self.appointment_start is None) != (self.appointment_end is None):
            raise ValueError("appointment_start and appointment_end go together")
        if self.place is None and self.building_id is not None:
            raise ValueError("building_id goes with place (a public area); a household implies its building")
        if self.place is not None and self.household_id is not None:
            raise ValueError("a ticket is for a household or for a public area (place), not both")
        if self.occupant_id is not None and self.on_behalf_of_user_id is not None:
            raise ValueError("occupant_id and on_behalf_of_user_id exclude each other")
        for value in (self.appointment_start, self.appointment_end):
            if value is not None and value.tzinfo is None:
                raise ValueError("appointment times need a UTC offset")
        return self


class TransitionIn(RequestBody):
    action: Action
    version: Version
    reason: Text | None = Field(default=None, max_length=500)
    # pause: one of PauseReason; reject: duplicate | invalid (details go in `note`).
    reason_code: Text | None = Field(default=None, max_length=30)
    note: Text | None = Field(default=None, max_length=2000)
    assignee_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    priority: TicketPriority | None = None
    valid: bool | None = None


class RatingIn(RequestBody):
    overall: int = Field(ge=1, le=5)
    speed: int = Field(ge=1, le=5)
    attitude: int = Field(ge=1, le=5)
    comment: Text = Field(default="", max_length=500)
    channel: RatingChannel = Field(
        default="app",
        description="app: the reporter; otherwise staff record what an occupant without the app said",
    )


class RatingOut(ResponseBody):
    ticket_id: int
    overall: int
    speed: int
    attitude: int
    comment: str
    channel: RatingChannel = "app"
    recorded_by_id: int | None = None
    created_at: datetime
    updated_at: datetime
    editable_until: datetime
    followup_created: bool = False


class TicketEventOut(ResponseBody):
    id: int
    action: str
    actor_id: int | None
    from_status: TicketStatus | None
    to_status: TicketStatus
    reason: str | None
    data: dict[str, Any]
    created_at: datetime
    action_label: str | None = None
    from_status_label: str | None = None
    to_status_label: str | None = None
    reason_label: str | None = None  # pause and reject reasons are codes: their words


class TicketListItem(ResponseBody):
    id: int
    community_id: int
    building_id: int | None
    household_id: int | None
    kind: TicketKind
    category: TicketCategory
    priority: TicketPriority
    status: TicketStatus
    title: str
    reporter_id: int | None = Field(description="None: filed for an occupant without the app (occupant_id)")
    occupant_id: int | None = None
    place: str | None = None
    assignee_id: int | None
    intake_channel: IntakeChannel
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    overdue: bool
    version: int
    created_at: datetime
    # The words for the codes above, in the request's locale (GET /v1/labels has them all).
    status_label: str | None = None
    kind_label: str | None = None
    category_label: str | None = None
    priority_label: str | None = None
    intake_channel_label: str | None = None


# field -> label group (services/tickets/labels.py)
LIST_LABELS = {
    "status": "ticket.status",
    "kind": "ticket.kind",
    "category": "ticket.category",
    "priority": "ticket.priority",
    "intake_channel": "ticket.intake_channel",
}
DETAIL_LABELS = {
    **LIST_LABELS,
    "pause_reason": "ticket.pause_reason",
    "complaint_target": "ticket.complaint_target",
    "complaint_verdict": "ticket.complaint_verdict",
}
EVENT_LABELS = {"action": "ticket.action", "from_status": "ticket.status", "to_status": "ticket.status"}


class AttachmentRef(ResponseBody):
    id: int
    purpose: str
    url: str = Field(description="The cleaned original (signed, expiring)")
    thumb_url: str | None = Field(default=None, description="≤ 320 px JPEG, for lists")
    medium_url: str | None = Field(default=None, description="≤ 1080 px JPEG, for the detail screen")


class TicketContact(ResponseBody):
    """Where to go and whom to call: shown only to the technician assigned to the ticket."""

    building_name: str | None
    entrance: str | None
    room: str | None
    resident_name: str
    phone_masked: MaskedPhone | None = Field(
        description="138****1234; call through POST /v1/tickets/{id}/call"
    )
    can_call: bool = Field(description="The ticket is open (assigned, in progress, paused)")


class CallOut(ResponseBody):
    ticket_id: int
    relay_number: str = Field(description="Dial this number to reach the resident (privacy number)")
    expires_at: datetime = Field(description="The number reaches the resident until then")


class TicketOut(TicketListItem):
    description: str
    complaint_target: ComplaintTarget | None
    about_staff_id: int | None = None
    created_by_id: int
    recorded_by_id: int | None = Field(
        default=None, description="The staff member who filed it for the reporter (phone, desk, hotline)"
    )
    appointment_start: datetime | None
    appointment_end: datetime | None
    response_minutes: float
    resolution_minutes: float
    paused_at: datetime | None
    pause_reason: str | None
    paused_seconds: int
    paused_working_minutes: float
    resolution_elapsed_minutes: float | None
    accepted_at: datetime | None
    assigned_at: datetime | None
    started_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    last_urged_at: datetime | None
    resolution_note: str | None
    complaint_valid: bool | None
    validity_reason: str | None
    disputed_at: datetime | None
    dispute_reason: str | None
    rating_overall: int | None
    updated_at: datetime
    attachments: list[AttachmentRef] = Field(default_factory=list)
    allowed_actions: list[str] = Field(default_factory=list)
    assignee_name: str | None = Field(default=None, description="The technician's name")
    contact: TicketContact | None = Field(
        default=None, description="Only for the assigned technician: address, resident's name, masked phone"
    )
    pause_reason_label: str | None = None
    complaint_target_label: str | None = None
    complaint_verdict: Literal["valid", "invalid"] | None = None
    complaint_verdict_label: str | None = None
    source_alarm_id: int | None = Field(
        default=None,
        description="The camera or sensor alarm this ticket was turned from (intake channel alarm)",
    )


class TicketCounts(ResponseBody):
    counts: dict[str, int]
    capped: bool


class InspectionItemIn(RequestBody):
    name: Text = Field(min_length=1, max_length=100)
    passed: bool
    note: Text = Field(default="", max_length=500)


class InspectionCreate(RequestBody):
    kind: InspectionKind
    area: Text = Field(min_length=1, max_length=100)
    building_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    note: Text = Field(default="", max_length=1000)
    inspected_at: Instant | None = None
    items: list[InspectionItemIn] = Field(min_length=1, max_length=50)


class InspectionItemOut(ResponseBody):
    id: int
    name: str
    passed: bool
    note: str
    ticket_id: int | None


class InspectionOut(ResponseBody):
    id: int
    community_id: int
    kind: InspectionKind
    area: str
    building_id: int | None
    inspector_id: int
    note: str
    inspected_at: datetime
    created_at: datetime
    passed_items: int
    failed_items: int
    items: list[InspectionItemOut]
    photos: list[AttachmentRef] = Field(default_factory=list)
