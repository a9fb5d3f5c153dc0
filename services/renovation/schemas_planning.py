"""Request and response models of prioritisation and aftercare (services.renovation.planning)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from services.schemas import Id, RequestBody


class Weights(RequestBody):
    building_age: float = Field(default=1, ge=0, le=100)
    facilities_missing: float = Field(default=1, ge=0, le=100)
    elderly_share: float = Field(default=1, ge=0, le=100)
    ticket_load: float = Field(default=1, ge=0, le=100)
    willingness: float = Field(default=1, ge=0, le=100)


class Candidate(RequestBody):
    community_id: Id
    facilities_missing: int = Field(default=0, ge=0, le=100, description="assessed on site by the bureau")
    elderly_share: float = Field(default=0, ge=0, le=1, description="residents aged 60+, 0..1")


class PriorityIn(RequestBody):
    weights: Weights = Field(default_factory=Weights)
    candidates: list[Candidate] = Field(min_length=1, max_length=500)


class PriorityRow(BaseModel):
    rank: int = 0
    community_id: int
    name: str
    score: float
    factors: dict[str, float]
    weighted: dict[str, float]


class PriorityOut(BaseModel):
    weights: Weights
    items: list[PriorityRow]


class KpiCompare(BaseModel):
    metric: str
    before_num: int
    before_den: int
    before: float | None
    after_num: int
    after_den: int
    after: float | None


class AftercareOut(BaseModel):
    project_id: int
    construction_began_on: date
    aftercare_starts_on: date
    months: int
    metrics: list[KpiCompare]
