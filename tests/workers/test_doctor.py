"""`linli doctor`: which push channels are live, from the environment alone (no push is sent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import cli
from services.config import get_settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    for name in ("LINLI_FCM_CREDENTIALS", "LINLI_JPUSH_APP_KEY", "LINLI_JPUSH_MASTER_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINLI_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("LINLI_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'doctor.db'}")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _doctor() -> dict[str, dict[str, dict[str, object]]]:
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 0, result.output
    report: dict[str, dict[str, dict[str, object]]] = json.loads(result.output)
    return report


def test_nothing_configured_is_log_only(env: pytest.MonkeyPatch) -> None:
    push = _doctor()["push"]
    assert {name: p["status"] for name, p in push.items()} == {
        "fcm": "log only (not configured)",
        "jpush": "log only (not configured)",
        "apns": "log only (not configured)",
    }


def test_live_and_broken_channels_are_told_apart(env: pytest.MonkeyPatch) -> None:
    env.setenv("LINLI_JPUSH_APP_KEY", "app-key")
    env.setenv("LINLI_JPUSH_MASTER_SECRET", "master-secret")
    env.setenv("LINLI_JPUSH_BASE_URL", "https://bjapi.push.jiguang.cn")
    env.setenv("LINLI_FCM_CREDENTIALS", "/nonexistent/service-account.json")
    push = _doctor()["push"]
    assert push["jpush"] == {
        "configured": True,
        "endpoint": "https://bjapi.push.jiguang.cn",
        "status": "live",
    }
    assert push["fcm"]["status"] == "broken" and "service-account.json" in str(push["fcm"]["error"])
    assert push["apns"]["configured"] is False
