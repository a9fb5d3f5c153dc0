"""Places: communities, buildings, households, property companies and their contracts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from services.models.base import at_field, created_at_field, fk_field, id_field


class Community(SQLModel, table=True):
    __tablename__ = "community"
    id: int | None = id_field()
    name: str = Field(max_length=100, unique=True)
    address: str = Field(max_length=300)
    district: str | None = Field(default=None, max_length=100)
    built_year: int | None = None
    renovated_year: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    # Radius of the estate in metres, for check-in location checks.
    radius_m: int = 500
    time_zone: str = Field(default="Asia/Shanghai", max_length=64)
    # One map (issue 18): GeoJSON in WGS-84, validated by services.geo.geometry. The point mirrors
    # latitude/longitude above; the boundary is an optional Polygon.
    location: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    boundary: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = at_field()


class Building(SQLModel, table=True):
    __tablename__ = "building"
    __table_args__ = (sa.UniqueConstraint("community_id", "name"),)
    id: int | None = id_field()
    community_id: int = fk_field("community.id")
    name: str = Field(max_length=50)
    floors: int | None = None
    location: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)  # GeoJSON Point, WGS-84
    created_at: datetime = created_at_field()


class Household(SQLModel, table=True):
    __tablename__ = "household"
    __table_args__ = (sa.UniqueConstraint("building_id", "entrance", "room"),)
    id: int | None = id_field()
    community_id: int = fk_field("community.id")
    building_id: int = fk_field("building.id")
    entrance: str = Field(default="", max_length=20)
    room: str = Field(max_length=20)
    # Exclusive area (专有面积) in m²; votes weigh by it, so keep it exact.
    area_m2: Decimal = Field(sa_type=sa.Numeric(10, 2))
    created_at: datetime = created_at_field()


class PropertyCompany(SQLModel, table=True):
    __tablename__ = "property_company"
    id: int | None = id_field()
    name: str = Field(max_length=200, unique=True)
    credit_code: str | None = Field(default=None, max_length=18)
    phone: str | None = Field(default=None, max_length=20)
    created_at: datetime = created_at_field()


class ManagementContract(SQLModel, table=True):
    __tablename__ = "management_contract"
    id: int | None = id_field()
    company_id: int = fk_field("property_company.id")
    community_id: int = fk_field("community.id")
    starts_on: date
    ends_on: date | None = None
    created_at: datetime = created_at_field()
