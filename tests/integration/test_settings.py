"""Settings: safe embedded defaults, and a refusal to run production on a default secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradehall.mail.drop import MailDrop
from tradehall.marketplace.sealing.master import new_key_text
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
    accepted = Settings.from_env(
        base | {"TRADEHALL_JWT_SECRET": "s" * 40, "TRADEHALL_SEALING_KEY": new_key_text()}
    )
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
    assert defaults.ocid_prefix == "ocds-thdemo"
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
        ("OCID_PREFIX", "ocds-tradehall"),  # not the standard's six characters
        ("OCID_PREFIX", "ocds-A1B2C3"),
        ("SOCIAL_VALUE_MINIMUM_PUBLIC_BODY", "101"),
        ("SOCIAL_VALUE_MINIMUM_BUSINESS", "-1"),
    ):
        with pytest.raises(SettingsError, match=f"TRADEHALL_{name}"):
            Settings.from_env(data | {f"TRADEHALL_{name}": value})


def test_the_embedded_default_makes_and_keeps_its_own_sealing_key(tmp_path: Path) -> None:
    from tradehall.marketplace.sealing.master import MasterKeys

    env = {"TRADEHALL_DATA_DIR": str(tmp_path / "data")}
    first, second = Settings.from_env(env), Settings.from_env(env)
    key_file = tmp_path / "data" / "sealing-key"
    assert first.sealing_key is None
    assert first.sealing_key_file == second.sealing_key_file == key_file
    assert key_file.stat().st_mode & 0o077 == 0
    assert MasterKeys.from_settings(first) == MasterKeys.from_settings(second)
    assert first.bid_opening_margin_seconds == 300
    assert not list((tmp_path / "data").glob(".sealing-key.*"))


def test_production_needs_a_sealing_key_from_the_environment_or_a_file(tmp_path: Path) -> None:
    from tradehall.marketplace.sealing.master import MasterKeys, new_key_text

    base = {
        "TRADEHALL_ENV": "production",
        "TRADEHALL_DATABASE_URL": "postgresql://x@h/db",
        "TRADEHALL_JWT_SECRET": "s" * 40,
        "TRADEHALL_DATA_DIR": str(tmp_path / "data"),
    }
    with pytest.raises(SettingsError, match="TRADEHALL_SEALING_KEY"):
        Settings.from_env(base)
    assert not (tmp_path / "data" / "sealing-key").exists()  # production makes none

    key = new_key_text()
    given = Settings.from_env(base | {"TRADEHALL_SEALING_KEY": key})
    key_file = tmp_path / "master-key"
    key_file.write_text(key + "\n", encoding="utf-8")
    from_file = Settings.from_env(base | {"TRADEHALL_SEALING_KEY_FILE": str(key_file)})
    assert from_file.sealing_key_file == key_file
    assert MasterKeys.from_settings(given) == MasterKeys.from_settings(from_file)
    assert key not in repr(given)  # the key never reaches a log line by a repr
    with pytest.raises(SettingsError, match="not both"):
        Settings.from_env(
            base | {"TRADEHALL_SEALING_KEY": key, "TRADEHALL_SEALING_KEY_FILE": str(key_file)}
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SEALING_KEY", "not-a-key"),
        ("SEALING_KEY", "c2hvcnQ="),  # base64, but 5 bytes
        ("SEALING_KEY", "+" * 43),  # standard base64's alphabet, not the urlsafe one
        ("SEALING_OLD_KEYS", "c2hvcnQ="),
        ("BID_OPENING_MARGIN_SECONDS", "0"),
        ("BID_OPENING_MARGIN_SECONDS", "soon"),
    ],
)
def test_bad_sealing_settings_are_refused_by_name(tmp_path: Path, name: str, value: str) -> None:
    env = {"TRADEHALL_DATA_DIR": str(tmp_path), f"TRADEHALL_{name}": value}
    with pytest.raises(SettingsError, match=f"TRADEHALL_{name}") as refused:
        Settings.from_env(env)
    if name != "BID_OPENING_MARGIN_SECONDS":
        assert value not in str(refused.value)  # a key is never echoed


def test_an_unusable_sealing_key_file_is_refused_by_name(tmp_path: Path) -> None:
    data = {"TRADEHALL_DATA_DIR": str(tmp_path)}
    missing = tmp_path / "no-such-file"
    with pytest.raises(SettingsError, match="TRADEHALL_SEALING_KEY_FILE"):
        Settings.from_env(data | {"TRADEHALL_SEALING_KEY_FILE": str(missing)})
    garbled = tmp_path / "garbled"
    garbled.write_text("not a key", encoding="utf-8")
    with pytest.raises(SettingsError, match="TRADEHALL_SEALING_KEY_FILE"):
        Settings.from_env(data | {"TRADEHALL_SEALING_KEY_FILE": str(garbled)})


def test_old_sealing_keys_and_the_opening_margin_are_read(tmp_path: Path) -> None:
    from tradehall.marketplace.sealing.master import MasterKeys, new_key_text

    current, old_one, old_two = new_key_text(), new_key_text(), new_key_text()
    chosen = Settings.from_env(
        {
            "TRADEHALL_DATA_DIR": str(tmp_path),
            "TRADEHALL_SEALING_KEY": current,
            "TRADEHALL_SEALING_OLD_KEYS": f" {old_one} ,{old_two},",
            "TRADEHALL_BID_OPENING_MARGIN_SECONDS": "60",
        }
    )
    assert chosen.sealing_old_keys == (old_one, old_two)
    assert chosen.bid_opening_margin_seconds == 60
    assert len(MasterKeys.from_settings(chosen).fingerprints) == 3
    assert not (tmp_path / "sealing-key").exists()  # a key was given: none is made


def test_the_standstill_may_be_lengthened_never_shortened(tmp_path: Path) -> None:
    data = {"TRADEHALL_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(data).standstill_working_days == 8
    longer = Settings.from_env(data | {"TRADEHALL_STANDSTILL_WORKING_DAYS": "10"})
    assert longer.standstill_working_days == 10
    cases = (("7", "at least 8"), ("0", "positive"), ("eight", "whole number"), ("61", "at most"))
    for value, says in cases:
        with pytest.raises(SettingsError, match="TRADEHALL_STANDSTILL_WORKING_DAYS") as refused:
            Settings.from_env(data | {"TRADEHALL_STANDSTILL_WORKING_DAYS": value})
        assert says in str(refused.value)


def test_mail_goes_by_smtp_else_into_the_embedded_mail_directory(tmp_path: Path) -> None:
    data = {"TRADEHALL_DATA_DIR": str(tmp_path)}
    embedded = Settings.from_env(data)
    assert embedded.mail_dir == tmp_path / "mail"
    assert isinstance(embedded.mail_transport, MailDrop)
    by_smtp = Settings.from_env(data | {"TRADEHALL_SMTP_HOST": "mail.example"})
    assert by_smtp.mail_dir is None
    assert by_smtp.mail_transport == by_smtp.smtp
    chosen = Settings.from_env(data | {"TRADEHALL_MAIL_DIR": str(tmp_path / "elsewhere")})
    assert chosen.mail_transport == MailDrop(tmp_path / "elsewhere", chosen.smtp_from)
    production = {
        "TRADEHALL_ENV": "production",
        "TRADEHALL_DATABASE_URL": "postgresql://db/tradehall",
        "TRADEHALL_JWT_SECRET": "x" * 40,
        "TRADEHALL_SEALING_KEY": new_key_text(),
    }
    assert Settings.from_env(production).mail_transport is None  # waits in the outbox
    # In production mail counts as sent only once an SMTP server has taken it.
    with pytest.raises(SettingsError, match="TRADEHALL_MAIL_DIR"):
        Settings.from_env(production | {"TRADEHALL_MAIL_DIR": str(tmp_path / "mail")})


def test_the_ocds_feed_is_off_unless_an_http_address_is_given_and_its_limits_are_bounded(
    tmp_path: Path,
) -> None:
    data = {"TRADEHALL_DATA_DIR": str(tmp_path)}
    defaults = Settings.from_env(data)
    assert defaults.ocds_feed_url is None  # no feed
    assert defaults.ocds_feed_max_bytes == 10 * 1024 * 1024
    assert defaults.ocds_feed_timeout_seconds == 30.0
    assert defaults.ocds_feed_max_pages == 10
    chosen = Settings.from_env(
        data
        | {
            "TRADEHALL_OCDS_FEED_URL": " https://www.contractsfinder.service.gov.uk/Published/"
            "Notices/OCDS/Search?stages=tender ",
            "TRADEHALL_OCDS_FEED_MAX_BYTES": "5000000",
            "TRADEHALL_OCDS_FEED_TIMEOUT_SECONDS": "2.5",
            "TRADEHALL_OCDS_FEED_MAX_PAGES": "3",
        }
    )
    assert chosen.ocds_feed_url == (
        "https://www.contractsfinder.service.gov.uk/Published/Notices/OCDS/Search?stages=tender"
    )
    assert (chosen.ocds_feed_max_bytes, chosen.ocds_feed_timeout_seconds) == (5_000_000, 2.5)
    assert chosen.ocds_feed_max_pages == 3
    assert Settings.from_env(data | {"TRADEHALL_OCDS_FEED_URL": "http://127.0.0.1:8080/feed"})
    for name, value in (
        ("OCDS_FEED_URL", "ftp://feed.example/releases.json"),
        ("OCDS_FEED_URL", "file:///etc/passwd"),
        ("OCDS_FEED_URL", "feed.example/releases"),  # no scheme
        ("OCDS_FEED_URL", "https://"),  # no host
        ("OCDS_FEED_URL", "https://user:secret@feed.example/releases"),
        ("OCDS_FEED_URL", "https://feed.example:99999/releases"),
        ("OCDS_FEED_URL", "https://feed.example/releases#page"),
        ("OCDS_FEED_URL", "https://feed.example/a b"),
        ("OCDS_FEED_URL", "https://feed.example/caf\u00e9"),  # not percent-encoded
        ("OCDS_FEED_URL", "https://feed.example/" + "x" * 2000),
        ("OCDS_FEED_MAX_BYTES", "0"),
        ("OCDS_FEED_MAX_BYTES", "lots"),
        ("OCDS_FEED_TIMEOUT_SECONDS", "0"),
        ("OCDS_FEED_TIMEOUT_SECONDS", "301"),
        ("OCDS_FEED_TIMEOUT_SECONDS", "soon"),
        ("OCDS_FEED_MAX_PAGES", "0"),
        ("OCDS_FEED_MAX_PAGES", "1001"),
    ):
        with pytest.raises(SettingsError, match=f"TRADEHALL_{name}"):
            Settings.from_env(data | {f"TRADEHALL_{name}": value})
