"""The CSV parser on its own, and the command-line paths that share it with the API."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from services import migrations
from services.communities import cli
from services.communities.households_import import MAX_REPORTED_ERRORS, parse
from services.communities.schemas import CommunityCreate
from services.config import Settings
from services.db import create_engine
from services.errors import Conflict, InvalidInput


def errors_of(data: bytes) -> list[tuple[int, str]]:
    with pytest.raises(InvalidInput) as exc:
        parse(data)
    assert exc.value.code == "household.import_invalid"
    return [(e["line"], e["error"]) for e in exc.value.details["errors"]]


def test_parse_valid_rows() -> None:
    rows = parse(
        "\ufeffRoom , Building, Entrance ,AREA_M2\r\n101,1号楼,1,60.5\r\n\r\n102,1号楼,,1E+2\r\n".encode()
    )
    assert [(r.line, r.building, r.entrance, r.room, r.area_m2) for r in rows] == [
        (2, "1号楼", "1", "101", Decimal("60.50")),
        (4, "1号楼", "", "102", Decimal("100.00")),
    ]


def test_parse_quoted_and_multiline_cells_keep_line_numbers() -> None:
    data = b'building,entrance,room,area_m2\n"A, B",1,"1\n01",50\n1,1,x,-3\n'
    assert errors_of(data) == [(3, "control_characters"), (4, "area_out_of_range")]


@pytest.mark.parametrize(
    ("area", "error"),
    [
        ("0", "area_out_of_range"),
        ("10000.01", "area_out_of_range"),
        ("1.005", "too_many_decimals"),
        ("inf", "invalid_area"),
        ("NaN", "invalid_area"),
        ("1,5", "wrong_column_count"),
        ("", "invalid_area"),
    ],
)
def test_parse_bad_areas(area: str, error: str) -> None:
    assert errors_of(f"building,entrance,room,area_m2\nB,1,1,{area}\n".encode()) == [(2, error)]


def test_parse_accepts_boundaries_and_trailing_zeros() -> None:
    rows = parse(b"building,entrance,room,area_m2\nB,1,1,10000\nB,1,2,0.01\nB,1,3,12.300\n")
    assert [r.area_m2 for r in rows] == [Decimal("10000.00"), Decimal("0.01"), Decimal("12.30")]


def test_parse_limits_and_report_size() -> None:
    long = "x" * 21
    assert errors_of(f"building,entrance,room,area_m2\nB,1,{long},5\n".encode()) == [(2, "too_long")]
    many = "building,entrance,room,area_m2\n" + "B,1,1,0\n" * (MAX_REPORTED_ERRORS + 50)
    with pytest.raises(InvalidInput) as exc:
        parse(many.encode())
    assert len(exc.value.details["errors"]) == MAX_REPORTED_ERRORS
    assert exc.value.details["error_count"] == MAX_REPORTED_ERRORS + 50


@pytest.fixture
def cli_settings(tmp_path: Path) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    migrations.upgrade(url)
    return Settings(
        env="test",
        database_url=url,
        redis_url=None,
        jwt_secret="test-secret-" + "x" * 40,  # type: ignore[arg-type]
        var_dir=tmp_path,
    )


async def _scalar(settings: Settings, sql: str) -> object:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text(sql))).scalar_one()
    finally:
        await engine.dispose()


async def test_cli_bootstrap_and_import(cli_settings: Settings, tmp_path: Path) -> None:
    s = cli_settings
    community = await cli.create_community(s, CommunityCreate(name="命令行小区", address="一号路"))
    cid = community["id"]
    admin = await cli.create_admin(s, "13800000011", "平台管理员", "a long password")
    assert admin["role"] == "platform_admin" and admin["community_id"] is None
    again = await cli.create_admin(s, "13800000011", "平台管理员", "another long password")
    assert again["id"] == admin["id"]
    local = await cli.create_admin(s, "13800000012", "居委会", "a long password", community_id=cid)
    assert local["role"] == "community_admin" and local["community_id"] == cid
    with pytest.raises(InvalidInput):
        await cli.create_admin(s, "13800000013", "x", "short")
    with pytest.raises(Conflict):
        await cli.create_community(s, CommunityCreate(name="命令行小区", address="二号路"))

    csv_path = tmp_path / "households.csv"
    csv_path.write_text(
        "building,entrance,room,area_m2\n1号楼,1,101,60.5\n1号楼,1,102,61\n", encoding="utf-8"
    )
    first = await cli.import_households_file(s, cid, csv_path)
    assert first == {"rows": 2, "created": 2, "unchanged": 0, "updated": 0, "buildings_created": 1}
    second = await cli.import_households_file(s, cid, csv_path)
    assert second == {"rows": 2, "created": 0, "unchanged": 2, "updated": 0, "buildings_created": 0}
    assert await _scalar(s, "SELECT count(*) FROM household") == 2

    bad = tmp_path / "bad.csv"
    bad.write_text("building,entrance,room,area_m2\n2号楼,1,101,60\n2号楼,1,102,-1\n", encoding="utf-8")
    with pytest.raises(InvalidInput):
        await cli.import_households_file(s, cid, bad)
    assert await _scalar(s, "SELECT count(*) FROM household") == 2
    assert await _scalar(s, "SELECT count(*) FROM building") == 1
    # The operator's actions are audited with no actor.
    assert await _scalar(s, "SELECT count(*) FROM audit_log WHERE actor_id IS NULL") == 6
