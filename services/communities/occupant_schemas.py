"""Request and response bodies for occupants (people of a household, with or without the app)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from services.schemas import Line, RequestBody, ResponseBody

RelationIn = Literal["owner", "tenant", "family", "carer", "other"]
PersonName = Annotated[Line, Field(min_length=1, max_length=50)]
PhoneIn = Annotated[
    Line, Field(min_length=1, max_length=32, description="Mainland mobile, e.g. 138 0000 0001")
]
Note = Annotated[Line, Field(max_length=200)]


class OccupantIn(RequestBody):
    name: PersonName
    phone: PhoneIn | None = Field(default=None, description="Omit for someone reached on paper only")
    relation: RelationIn
    note: Note = ""


class OccupantPatch(RequestBody):
    name: PersonName | None = None
    phone: PhoneIn | None = None
    clear_phone: bool = Field(default=False, description="Remove the phone number")
    relation: RelationIn | None = None
    note: Note | None = None


class OccupantOut(ResponseBody):
    id: int
    community_id: int
    household_id: int
    household: str = Field(description="e.g. 3号楼 2单元 301")
    name: str
    phone: str | None = Field(description="In full for community staff, masked (138****0001) otherwise")
    phone_masked: bool
    relation: str
    note: str
    has_app: bool = Field(description="A verified app user of this household has this phone")
    created_at: datetime
    updated_at: datetime
