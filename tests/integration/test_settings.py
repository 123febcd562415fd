"""Settings: safe embedded defaults, and a refusal to run production on a default secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradehall.settings import Settings, SettingsError


def test_embedded_defaults_make_and_keep_their_own_secret(tmp_path: Path) -> None:
    env = {"TRADEHALL_DATA_DIR": str(tmp_path / "data")}
    first = Settings.from_env(env)
    second = Settings.from_env(env)
    assert first.environment == "embedded"
    assert first.database_url is None
    assert len(first.jwt_secret) >= 32
    assert first.jwt_secret == second.jwt_secret
    assert (tmp_path / "data" / "jwt-secret").stat().st_mode & 0o077 == 0


def test_production_refuses_a_missing_or_short_secret() -> None:
    base = {"TRADEHALL_ENV": "production", "TRADEHALL_DATABASE_URL": "postgresql://x@h/db"}
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        Settings.from_env(base)
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        Settings.from_env(base | {"TRADEHALL_JWT_SECRET": "changeme"})
    accepted = Settings.from_env(base | {"TRADEHALL_JWT_SECRET": "s" * 40})
    assert accepted.is_production


def test_production_needs_postgresql() -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Settings.from_env({"TRADEHALL_ENV": "production", "TRADEHALL_JWT_SECRET": "s" * 40})


@pytest.mark.parametrize(
    ("name", "value"),
    [("ENV", "staging"), ("DB_POOL_SIZE", "many"), ("DB_POOL_SIZE", "0"), ("MAX_BODY_BYTES", "-1")],
)
def test_bad_values_are_refused_by_name(tmp_path: Path, name: str, value: str) -> None:
    env = {"TRADEHALL_DATA_DIR": str(tmp_path), f"TRADEHALL_{name}": value}
    with pytest.raises(SettingsError, match=f"TRADEHALL_{name}"):
        Settings.from_env(env)


def test_an_unusable_secret_file_is_refused_not_used(tmp_path: Path) -> None:
    (tmp_path / "jwt-secret").write_text("", encoding="utf-8")
    with pytest.raises(SettingsError, match="no usable secret"):
        Settings.from_env({"TRADEHALL_DATA_DIR": str(tmp_path)})


def test_a_short_secret_is_refused_in_every_mode(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.from_env({"TRADEHALL_DATA_DIR": str(tmp_path), "TRADEHALL_JWT_SECRET": "short"})


def test_token_lifetime_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="JWT_LIFETIME_SECONDS"):
        Settings.from_env(
            {"TRADEHALL_DATA_DIR": str(tmp_path), "TRADEHALL_JWT_LIFETIME_SECONDS": "604800"}
        )


def test_evidence_has_its_own_limit_and_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    defaults = Settings.from_env({"TRADEHALL_DATA_DIR": str(data)})
    assert defaults.evidence_max_bytes == 10 * 1024 * 1024
    assert defaults.max_body_bytes == 65536
    assert defaults.evidence_path == data / "evidence"  # beside tradehall.sqlite3
    chosen = Settings.from_env(
        {
            "TRADEHALL_DATA_DIR": str(data),
            "TRADEHALL_EVIDENCE_DIR": str(tmp_path / "files"),
            "TRADEHALL_EVIDENCE_MAX_BYTES": "1000",
        }
    )
    assert (chosen.evidence_path, chosen.evidence_max_bytes) == (tmp_path / "files", 1000)
    with pytest.raises(SettingsError, match="TRADEHALL_EVIDENCE_MAX_BYTES"):
        Settings.from_env({"TRADEHALL_DATA_DIR": str(data), "TRADEHALL_EVIDENCE_MAX_BYTES": "0"})


def test_tender_settings_reach_the_marketplace(tmp_path: Path) -> None:
    from tradehall.marketplace.declaration import tender_policy

    data = {"TRADEHALL_DATA_DIR": str(tmp_path)}
    defaults = tender_policy(Settings.from_env(data))
    assert defaults.ocid_prefix == "ocds-tradehall"
    assert defaults.social_value.minimum_percent == {"public_body": 10, "business": 0}
    chosen = Settings.from_env(
        data
        | {
            "TRADEHALL_OCID_PREFIX": "ocds-a1b2c3",
            "TRADEHALL_SOCIAL_VALUE_MINIMUM_PUBLIC_BODY": "20",
            "TRADEHALL_SOCIAL_VALUE_MINIMUM_BUSINESS": "5",
        }
    )
    policy = tender_policy(chosen)
    assert policy.ocid_prefix == "ocds-a1b2c3"
    assert policy.social_value.minimum_percent == {"public_body": 20, "business": 5}
    for name, value in (
        ("OCID_PREFIX", "ocds tradehall"),
        ("SOCIAL_VALUE_MINIMUM_PUBLIC_BODY", "101"),
        ("SOCIAL_VALUE_MINIMUM_BUSINESS", "-1"),
    ):
        with pytest.raises(SettingsError, match=f"TRADEHALL_{name}"):
            Settings.from_env(data | {f"TRADEHALL_{name}": value})
