"""Bulk import of households from CSV (building,entrance,room,area_m2): every row valid, or nothing.

Used by POST /v1/communities/{cid}/households/import and `linli import-households`. Re-importing the
same file changes nothing; a row whose area differs from the stored one updates it (audited).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from services import access, audit
from services.communities.common import load_community
from services.communities.schemas import ImportResult
from services.errors import Conflict, InvalidInput
from services.models import Building, Household, utcnow
from services.runtime import Ctx

MAX_ROWS = 100_000
MAX_REPORTED_ERRORS = 200
MAX_AREA = Decimal(10000)
COLUMNS = ("building", "entrance", "room", "area_m2")
# Header aliases as they appear in spreadsheets exported in Chinese.
_ALIASES = {
    "building": "building",
    "楼栋": "building",
    "楼号": "building",
    "entrance": "entrance",
    "单元": "entrance",
    "room": "room",
    "房号": "room",
    "室": "room",
    "area_m2": "area_m2",
    "area": "area_m2",
    "专有面积": "area_m2",
    "面积": "area_m2",
}
_LIMITS = {"building": 50, "entrance": 20, "room": 20}


@dataclass(frozen=True)
class Row:
    line: int
    building: str
    entrance: str
    room: str
    area_m2: Decimal

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.building, self.entrance, self.room)


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.count = 0

    def add(self, line: int, error: str, column: str | None = None, **extra: Any) -> None:
        self.count += 1
        if len(self.items) < MAX_REPORTED_ERRORS:
            self.items.append({"line": line, "column": column, "error": error, **extra})

    def raise_if_any(self) -> None:
        if self.count:
            raise InvalidInput(
                "household.import_invalid",
                details={"errors": self.items, "error_count": self.count},
            )


def _decode(data: bytes) -> str:
    # Excel saves UTF-8 with a BOM, or GB18030 on Chinese Windows.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        "household.import_invalid",
        details={"errors": [{"line": 0, "column": None, "error": "encoding"}], "error_count": 1},
    )


def _area(raw: str) -> Decimal | str:
    """The area, or the name of what is wrong with it."""
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return "invalid_area"
    if not value.is_finite():
        return "invalid_area"
    if value <= 0 or value > MAX_AREA:
        return "area_out_of_range"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01")):
        return "too_many_decimals"
    return value.quantize(Decimal("0.01"))


def parse(data: bytes) -> list[Row]:
    """Validate every line; raise household.import_invalid listing each bad line, or return rows."""
    text = _decode(data)
    errors = _Errors()
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[Row] = []
    seen: dict[tuple[str, str, str], int] = {}
    try:
        for raw in reader:
            line = reader.line_num
            cells = [c.strip() for c in raw]
            if not any(cells):
                continue
            if header is None:
                header = [_ALIASES.get(c.lower(), c) for c in cells]
                if sorted(header) != sorted(COLUMNS):
                    errors.add(line, "bad_header", expected=list(COLUMNS), found=cells)
                    break
                continue
            if len(rows) + errors.count >= MAX_ROWS:
                errors.add(line, "too_many_rows", limit=MAX_ROWS)
                break
            if len(cells) != len(header):
                errors.add(line, "wrong_column_count", expected=len(header), found=len(cells))
                continue
            values = dict(zip(header, cells, strict=True))
            ok = True
            for column, limit in _LIMITS.items():
                value = values[column]
                if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
                    errors.add(line, "control_characters", column)
                    ok = False
                elif len(value) > limit:
                    errors.add(line, "too_long", column, max_length=limit)
                    ok = False
                elif not value and column != "entrance":
                    errors.add(line, "required", column)
                    ok = False
            area = _area(values["area_m2"])
            if isinstance(area, str):
                errors.add(line, area, "area_m2", value=values["area_m2"][:40])
                ok = False
            if not ok or isinstance(area, str):
                continue
            row = Row(line, values["building"], values["entrance"], values["room"], area)
            first = seen.get(row.key)
            if first is not None:
                errors.add(line, "duplicate_row", duplicate_of=first)
                continue
            seen[row.key] = line
            rows.append(row)
    except csv.Error as exc:
        errors.add(reader.line_num, "malformed_csv", message=str(exc)[:200])
    if header is None:
        errors.add(0, "empty_file")
    elif not rows and not errors.count:
        errors.add(0, "no_rows")
    errors.raise_if_any()
    return rows


async def import_households(
    ctx: Ctx, community_id: int, data: bytes, *, operator: bool = False
) -> ImportResult:
    """Create missing buildings and households; all or nothing. `operator`: trusted CLI caller."""
    if not operator:
        access.require_community(ctx.require_principal(), community_id, access.MANAGE_COMMUNITY)
    await load_community(ctx, community_id)
    rows = parse(data)
    session = ctx.session

    buildings = {
        b.name: b
        for b in (await session.exec(select(Building).where(Building.community_id == community_id))).all()
    }
    new_buildings = [
        Building(community_id=community_id, name=name)
        for name in dict.fromkeys(r.building for r in rows)
        if name not in buildings
    ]
    existing: dict[tuple[int, str, str], Household] = {
        (h.building_id, h.entrance, h.room): h
        for h in (await session.exec(select(Household).where(Household.community_id == community_id))).all()
    }
    now = utcnow()
    try:
        async with session.begin_nested():
            session.add_all(new_buildings)
            await session.flush()
            for b in new_buildings:
                buildings[b.name] = b
            inserts: list[dict[str, Any]] = []
            unchanged = 0
            updated: list[tuple[Household, Decimal]] = []
            for r in rows:
                building_id = buildings[r.building].id
                assert building_id is not None
                current = existing.get((building_id, r.entrance, r.room))
                if current is None:
                    inserts.append(
                        {
                            "community_id": community_id,
                            "building_id": building_id,
                            "entrance": r.entrance,
                            "room": r.room,
                            "area_m2": r.area_m2,
                            "created_at": now,
                        }
                    )
                elif Decimal(current.area_m2) == r.area_m2:
                    unchanged += 1
                else:
                    updated.append((current, Decimal(current.area_m2)))
                    current.area_m2 = r.area_m2
                    session.add(current)
            if inserts:
                await session.execute(sa.insert(Household), inserts)
            await session.flush()
    except IntegrityError as exc:
        # Another import of the same community committed first.
        raise Conflict("household.duplicate") from exc

    for h, before in updated:
        await audit.record(
            ctx,
            "household.update",
            "household",
            h.id,
            community_id=community_id,
            before={"area_m2": before},
            after={"area_m2": h.area_m2},
        )
    result = ImportResult(
        rows=len(rows),
        created=len(inserts),
        unchanged=unchanged,
        updated=len(updated),
        buildings_created=len(new_buildings),
    )
    await audit.record(
        ctx,
        "household.import",
        "community",
        community_id,
        community_id=community_id,
        after=result.model_dump(),
    )
    return result
