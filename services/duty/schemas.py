"""Request and response bodies of the red-property area: party, posts, roster, shifts, activities."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from services.i18n import Labelled
from services.models import MembershipStatus, Role
from services.models.duty import AssignmentRole, PostCategory, ShiftStatus, SignupStatus, SwapStatus
from services.phones import MaskedPhone
from services.schemas import Day, Instant, Line, LocalTime, RequestBody, ResponseBody, Text
from services.tickets.schemas import TicketPriority

MAX_ID = 2**53 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
LogText = Annotated[Line, Field(min_length=1, max_length=2000)]
Short = Annotated[Line, Field(min_length=1, max_length=100)]
Note = Annotated[Text, Field(max_length=1000)]


def _aware(*values: datetime | None) -> None:
    for value in values:
        if value is not None and value.tzinfo is None:
            raise ValueError("times need a UTC offset")


# --- party organisation ----------------------------------------------------------------------------


class PartyCreate(RequestBody):
    name: Short


class PartyMemberIn(RequestBody):
    phone: Annotated[Line, Field(min_length=5, max_length=32)]
    name: Annotated[Line, Field(min_length=1, max_length=50)]


class PartyMemberOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"role": "role", "status": "membership.status"}

    user_id: int | None = Field(description="None while the invitation waits for the person")
    membership_id: int
    name: str
    role: Role
    phone_masked: MaskedPhone
    status: MembershipStatus = MembershipStatus.verified
    role_label: str | None = None
    status_label: str | None = None


class PartyOut(ResponseBody):
    id: int
    community_id: int
    name: str
    secretary_id: int | None
    created_at: datetime
    members: list[PartyMemberOut]


# --- posts and assignments -------------------------------------------------------------------------


class PostCreate(RequestBody):
    category: PostCategory
    custom_category: Short | None = None
    description: Annotated[Text, Field(max_length=1000)] = ""
    building_ids: list[Id] = Field(default_factory=list, max_length=200)
    headcount: int = Field(default=1, ge=1, le=100)

    @model_validator(mode="after")
    def _custom(self) -> PostCreate:
        if (self.category == PostCategory.custom) != (self.custom_category is not None):
            raise ValueError("custom_category is required for, and only for, category 'custom'")
        return self


class PostOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"category": "duty.category"}

    id: int
    community_id: int
    category: PostCategory
    custom_category: str | None
    description: str
    building_ids: list[int]
    headcount: int
    created_at: datetime
    category_label: str | None = None

    @model_validator(mode="after")
    def _custom_label(self) -> PostOut:
        if self.category == "custom" and self.custom_category:
            self.category_label = self.custom_category  # the post's own name is its label
        return self


class AssignmentCreate(RequestBody):
    user_id: Id
    role: AssignmentRole = AssignmentRole.member
    starts_on: Day
    ends_on: Day | None = None


class AssignmentOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"role": "duty.assignment_role"}

    id: int
    post_id: int
    user_id: int
    name: str
    role: AssignmentRole
    role_label: str | None = None
    starts_on: date
    ends_on: date | None


class ContactPrefIn(RequestBody):
    share_phone: bool | None = None
    allow_message: bool | None = None


class ContactPrefOut(ResponseBody):
    user_id: int
    share_phone: bool
    allow_message: bool
    extension: str


# --- roster (亮身份) -------------------------------------------------------------------------------


class CallRelay(ResponseBody):
    type: Literal["relay"] = "relay"
    number: str = Field(description="The relay (hotline) number residents dial")
    extension: str = Field(description="The member's duty extension, keyed in after the relay answers")


class MessageContact(ResponseBody):
    type: Literal["in_app"] = "in_app"
    user_id: int


class RosterHolder(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"role": "duty.assignment_role"}

    user_id: int
    name: str
    role: AssignmentRole
    role_label: str | None = None
    phone_masked: MaskedPhone | None = Field(description="Only when the member shares the phone")
    call_relay: CallRelay | None
    message: MessageContact | None


class RosterPost(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"category": "duty.category"}

    post_id: int
    category: PostCategory
    custom_category: str | None
    category_label: str | None = None
    description: str
    headcount: int
    holders: list[RosterHolder]


class RosterBuilding(ResponseBody):
    building_id: int
    building_name: str
    posts: list[RosterPost]


class RosterOut(ResponseBody):
    community_id: int
    on: date
    buildings: list[RosterBuilding]


# --- shifts ----------------------------------------------------------------------------------------


class Recurrence(RequestBody):
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        min_length=1, max_length=7, description="ISO weekdays: 1 = Monday … 7 = Sunday"
    )
    start_time: LocalTime
    end_time: LocalTime
    from_date: Day
    to_date: Day


class ShiftCreate(RequestBody):
    """Either one shift (starts_at, ends_at) or a recurrence in the community's time zone."""

    starts_at: Instant | None = None
    ends_at: Instant | None = None
    recurrence: Recurrence | None = None
    assignee_ids: list[Id] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _one_form(self) -> ShiftCreate:
        single = self.starts_at is not None or self.ends_at is not None
        if single == (self.recurrence is not None):
            raise ValueError("give either starts_at and ends_at, or a recurrence")
        if single and (self.starts_at is None or self.ends_at is None):
            raise ValueError("starts_at and ends_at go together")
        _aware(self.starts_at, self.ends_at)
        return self


class ShiftPerson(ResponseBody):
    user_id: int
    name: str


class ShiftOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"status": "duty.shift_status"}

    id: int
    post_id: int
    post_name: str = Field(description="The post's label (文化宣传岗, or the custom category)")
    community_id: int
    starts_at: datetime
    ends_at: datetime
    status: ShiftStatus
    status_label: str | None = None
    recurrence_id: str | None
    assignee_ids: list[int]
    assignees: list[ShiftPerson] = Field(description="The members on the shift, with their names")


class ShiftBatchOut(ResponseBody):
    recurrence_id: str | None
    items: list[ShiftOut]


class CheckinIn(RequestBody):
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    note: Note | None = None

    @model_validator(mode="after")
    def _pair(self) -> CheckinIn:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("lat and lng go together")
        return self


class CheckoutIn(RequestBody):
    note: Note | None = None


class CheckinOut(ResponseBody):
    id: int
    shift_id: int
    user_id: int
    checkin_at: datetime
    checkout_at: datetime | None
    distance_m: int | None
    note: str | None
    checkout_note: str | None
    hours: Decimal | None = None


class SwapCreate(RequestBody):
    to_user_id: Id
    reason: Annotated[Text, Field(max_length=500)] | None = None


class SwapOut(ResponseBody):
    id: int
    shift_id: int
    from_user_id: int
    to_user_id: int
    reason: str | None
    status: SwapStatus
    decided_by: int | None
    decided_at: datetime | None
    created_at: datetime


# --- duty log --------------------------------------------------------------------------------------


class OpenTicket(RequestBody):
    title: Short
    category: Literal["public_facility", "electrical", "plumbing", "elevator", "sanitation", "other"] = (
        "public_facility"
    )
    priority: TicketPriority = "normal"
    building_id: Id | None = None


class DutyLogCreate(RequestBody):
    body: LogText
    ticket_id: Id | None = None
    open_ticket: OpenTicket | None = None

    @model_validator(mode="after")
    def _one(self) -> DutyLogCreate:
        if self.ticket_id is not None and self.open_ticket is not None:
            raise ValueError("give ticket_id or open_ticket, not both")
        return self


class DutyLogOut(ResponseBody):
    id: int
    post_id: int
    user_id: int
    body: str
    ticket_id: int | None
    created_at: datetime


# --- ledger ----------------------------------------------------------------------------------------


class ServiceLogItem(ResponseBody):
    id: int
    community_id: int
    source: str
    source_id: int
    hours: Decimal
    at: datetime
    member_name: str
    post_name: str | None = Field(description="For a shift: the post's label")
    activity_title: str | None = Field(description="For an activity: its title")


class ServiceLogPage(ResponseBody):
    user_id: int
    user_name: str
    total_hours: Decimal
    items: list[ServiceLogItem]
    next_cursor: str | None = None


# --- activities ------------------------------------------------------------------------------------


class ActivityCreate(RequestBody):
    title: Short
    description: Annotated[Text, Field(max_length=2000)] = ""
    place: Annotated[Line, Field(min_length=1, max_length=200)]
    starts_at: Instant
    ends_at: Instant
    capacity: int = Field(ge=1, le=10_000)
    hours: Decimal | None = Field(
        default=None, gt=0, le=24, max_digits=4, decimal_places=2, description="Default: the duration"
    )

    @model_validator(mode="after")
    def _aware_times(self) -> ActivityCreate:
        _aware(self.starts_at, self.ends_at)
        return self


class ActivityOut(ResponseBody):
    id: int
    community_id: int
    title: str
    description: str
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    hours: Decimal
    confirmed: int
    waiting: int
    created_at: datetime


class SignupOut(ResponseBody):
    id: int
    activity_id: int
    user_id: int
    status: SignupStatus
    position: int | None = Field(default=None, description="Place on the waiting list (1 = next)")
    signed_up_at: datetime


class AttendanceIn(RequestBody):
    user_ids: list[Id] = Field(min_length=1, max_length=500)


class AttendanceOut(ResponseBody):
    activity_id: int
    attended: list[SignupOut]


def jsonable(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json")
    return data
