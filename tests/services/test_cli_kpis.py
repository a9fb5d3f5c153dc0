"""`linli kpis rollup`: the scheduler's KPI roll-up on demand, with a progress bar."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import cli
from services.config import Settings, get_settings


def test_kpis_rollup_command_runs_and_reports(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_DATABASE_URL", settings.database_url)
    monkeypatch.delenv("LINLI_REDIS_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["kpis", "rollup"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "KPI roll-up (communities)" in result.output
    assert "snapshot rows written" in result.output
