from __future__ import annotations

from pathlib import Path

import pytest

from services.config import ProductionConfigError, Settings


def test_production_refuses_dev_defaults(tmp_path: Path) -> None:
    with pytest.raises(ProductionConfigError) as info:
        Settings(env="production", var_dir=tmp_path)
    text = str(info.value)
    for name in ("LINLI_JWT_SECRET", "LINLI_DATABASE_URL", "LINLI_REDIS_URL", "LINLI_SMS_PROVIDER"):
        assert name in text


def test_production_accepts_real_settings(tmp_path: Path) -> None:
    s = Settings(
        env="production",
        var_dir=tmp_path,
        jwt_secret="s" * 40,  # type: ignore[arg-type]
        database_url="postgresql+asyncpg://linli@db/linli",
        redis_url="redis://cache:6379/0",
        sms_provider="aliyun",
    )
    assert s.json_logs is True
    assert s.jwt_key() == "s" * 40


def test_dev_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(var_dir=tmp_path).jwt_key()
    second = Settings(var_dir=tmp_path).jwt_key()
    assert first == second and len(first) >= 48
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o077 == 0


def test_production_names_a_missing_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import services.config as config

    monkeypatch.setattr(config, "_installed", lambda module: False)
    with pytest.raises(ProductionConfigError) as info:
        Settings(
            env="production",
            var_dir=tmp_path,
            jwt_secret="s" * 40,  # type: ignore[arg-type]
            database_url="postgresql+asyncpg://linli@db/linli",
            redis_url="redis://cache:6379/0",
            sms_provider="aliyun",
            storage_backend="s3",
        )
    assert "'aliyun' extra" in str(info.value) and "'s3' extra" in str(info.value)
