"""Request and response bodies for communities, buildings, households, companies, members, claims."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from typing_extensions import TypeAliasType

from services.attachments.schemas import AttachmentOut
from services.i18n import Labelled
from services.models import MembershipStatus, Role
from services.schemas import Day, Line, RequestBody, ResponseBody, Text, no_control_chars

__all__ = ["no_control_chars"]  # re-exported: other areas imported it from here

Name = Annotated[Line, Field(min_length=1, max_length=100)]
Area = Annotated[Decimal, Field(gt=0, le=10000, max_digits=7, decimal_places=2)]
Password = Annotated[Text, Field(min_length=10, max_length=128)]


# --- communities and buildings ---------------------------------------------------------------


class CommunityOut(ResponseBody):
    id: int
    name: str
    address: str
    district: str | None
    built_year: int | None
    renovated_year: int | None
    latitude: float | None
    longitude: float | None
    time_zone: str
    created_at: datetime


class MyCommunityOut(CommunityOut):
    roles: list[str] = Field(description="Verified roles of the caller here")
    pending: bool = Field(description="The caller only has a pending household claim here")


class CommunityCreate(RequestBody):
    name: Name
    address: Annotated[Line, Field(min_length=1, max_length=300)]
    district: Annotated[Line, Field(max_length=100)] | None = None
    built_year: int | None = Field(default=None, ge=1800, le=2200)
    renovated_year: int | None = Field(default=None, ge=1800, le=2200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    radius_m: int = Field(default=500, ge=10, le=10_000)
    time_zone: Line = Field(default="Asia/Shanghai", max_length=64)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value


class DirectoryCommunityOut(ResponseBody):
    """What anyone logged in may see, to find their home."""

    id: int
    name: str
    address: str
    district: str | None


class BuildingOut(ResponseBody):
    id: int
    community_id: int
    name: str
    floors: int | None


class BuildingCreate(RequestBody):
    name: Annotated[Line, Field(min_length=1, max_length=50)]
    floors: int | None = Field(default=None, ge=1, le=200)


# --- households ------------------------------------------------------------------------------


class HouseholdOut(ResponseBody):
    id: int
    community_id: int
    building_id: int
    building_name: str
    entrance: str
    room: str
    area_m2: Decimal
    created_at: datetime


class DirectoryHouseholdOut(ResponseBody):
    """A home a new resident can claim: where it is, never who lives there."""

    id: int
    building_id: int
    building_name: str
    entrance: str
    room: str


class HouseholdCreate(RequestBody):
    building_id: int = Field(ge=1, le=2**53 - 1)
    entrance: Annotated[Line, Field(max_length=20)] = ""
    room: Annotated[Line, Field(min_length=1, max_length=20)]
    area_m2: Area


class ImportResult(ResponseBody):
    rows: int
    created: int
    unchanged: int
    updated: int
    buildings_created: int


# --- companies, contracts, members -----------------------------------------------------------


class CompanyCreate(RequestBody):
    name: Annotated[Line, Field(min_length=1, max_length=200)]
    credit_code: Text | None = Field(
        default=None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$", description="统一社会信用代码"
    )
    phone: Text | None = Field(default=None, max_length=20, pattern=r"^[0-9+\- ]{3,20}$")


class CompanyOut(ResponseBody):
    id: int
    name: str
    credit_code: str | None
    phone: str | None
    created_at: datetime


class ContractCreate(RequestBody):
    company_id: int = Field(ge=1, le=2**53 - 1)
    starts_on: Day
    ends_on: Day | None = None


class ContractOut(ResponseBody):
    id: int
    company_id: int
    community_id: int
    starts_on: date
    ends_on: date | None
    created_at: datetime


class MemberCreate(RequestBody):
    phone: Line = Field(min_length=1, max_length=32)
    name: Annotated[Line, Field(min_length=1, max_length=50)]
    role: Role
    password: Password | None = Field(
        default=None, description="Staff password (≥ 10 characters); only for a new account"
    )


class MemberOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"role": "role", "status": "membership.status"}

    id: int = Field(description="Membership id")
    user_id: int | None = Field(description="None until the person accepts the invitation")
    name: str = Field(description="Until accepted: the name the inviter gave, not the account's")
    phone: str
    role: Role
    status: MembershipStatus
    community_id: int | None
    company_id: int | None
    verified_at: datetime | None
    created_at: datetime
    role_label: str | None = None
    status_label: str | None = None


# --- household claims ------------------------------------------------------------------------


class ClaimCreate(RequestBody):
    household_id: int = Field(ge=1, le=2**53 - 1)
    relation: Literal["owner", "tenant", "family"]
    note: Annotated[Line, Field(max_length=200)] | None = None


class ClaimReject(RequestBody):
    reason: Annotated[Line, Field(min_length=1, max_length=200)]


# The claims filter: a membership's statuses but invited (a role offer, never a household claim).
ClaimStatus = TypeAliasType("ClaimStatus", Literal["pending", "verified", "rejected", "revoked"])


class ClaimOut(ResponseBody, Labelled):
    LABELS: ClassVar[dict[str, str]] = {"relation": "relation", "status": "membership.status"}

    id: int
    community_id: int
    household_id: int
    building_name: str
    entrance: str
    room: str
    relation: str
    status: MembershipStatus
    note: str | None
    user_id: int
    user_name: str
    user_phone: str
    decided_by: int | None
    decision_reason: str | None
    verified_at: datetime | None
    created_at: datetime
    proof: list[AttachmentOut] = Field(
        default_factory=list, description="Photos the claimant added (e.g. the property certificate)"
    )
    relation_label: str | None = None
    status_label: str | None = None
