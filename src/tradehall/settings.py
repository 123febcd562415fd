"""Settings from TRADEHALL_* environment variables, with safe embedded defaults."""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from marketplace.working_days import MIN_STANDSTILL_WORKING_DAYS
from tradehall.mail.drop import MailDrop
from tradehall.mail.smtp import SmtpSettings, Transport

DEFAULT_DATA_DIR = Path("data")
MIN_SECRET_LENGTH = 32
MAX_TOKEN_LIFETIME = 86_400
MAX_STANDSTILL_WORKING_DAYS = 60


class SettingsError(Exception):
    """The configuration is unsafe or inconsistent; the service refuses to start."""


@dataclass(frozen=True)
class Settings:
    environment: str  # "embedded" or "production"
    database_url: str | None  # None: SQLite files in data_dir
    data_dir: Path
    jwt_secret: str
    # The defaults below are also what an unset TRADEHALL_* variable means (`from_env`).
    jwt_lifetime_seconds: int = 900
    db_pool_size: int = 8
    max_body_bytes: int = 65536
    # Evidence uploads (ADR 24): their own limit, streamed to disk; every other body keeps
    # max_body_bytes. Files live in evidence_dir; None: "evidence" beside the SQLite file.
    evidence_max_bytes: int = 10 * 1024 * 1024
    evidence_dir: Path | None = None
    log_level: str = "INFO"
    # Run the projections inside the API process (embedded default); production may run
    # them as `tradehall projections run` instead.
    run_projections: bool = True
    projection_poll_seconds: float = 1.0
    # API processes `tradehall serve` starts on its port (PostgreSQL only: the embedded store
    # has one writer). Each single-instance job (the projector, clocks, senders) runs in one
    # process at a time, decided by a lease in the database; the others try for it this often.
    workers: int = 1
    lease_retry_seconds: float = 5.0
    # How often the in-process clock issues due transitions; 0: not in this process.
    clock_interval_seconds: int = 3600
    # Stripe: without a secret key the service takes payments by hand only.
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    # How often the API sends card subscription commands to Stripe; 0: not in this process.
    card_commands_interval_seconds: int = 30
    # How often the quality mark follows the membership log (ADR 23); 0: not in this process.
    follow_interval_seconds: int = 2
    public_url: str = "http://127.0.0.1:8000"
    # Mail: without an SMTP host, messages wait in the outbox.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "Tradehall <no-reply@tradehall.invalid>"
    smtp_username: str | None = None
    # Without an SMTP host, mail may be written as .eml files here instead (counted as sent);
    # the embedded default is data_dir/mail, production has none unless set.
    mail_dir: Path | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_interval_seconds: int = 10
    # Accounts (docs/adr/0014): sign-in throttles, account-mail throttles, refresh tokens.
    login_account_free_failures: int = 5
    login_address_free_failures: int = 20
    login_max_delay_seconds: int = 300
    account_mail_free_per_address: int = 3
    account_mail_max_delay_seconds: int = 3600
    # Registrations per client address (ADRs 8 and 14): registration says when an e-mail
    # address is taken, so this bounds how fast addresses can be tried (and accounts made).
    registrations_per_address_per_hour: int = 10
    # One counted failure (or mail) is forgotten per this many quiet seconds.
    throttle_decay_seconds: int = 600
    refresh_lifetime_seconds: int = 1_209_600
    # Stripe events parked for staff hold people's names and e-mail addresses (ADRs 4, 13):
    # this many days after staff applied or dismissed one it is deleted, and this many days
    # after one still waiting arrived it is cut to what we read (at a clock tick).
    parked_webhook_retention_days: int = 90
    # Proxies in front that append to X-Forwarded-For; 0: the client is the TCP peer.
    trusted_proxy_hops: int = 0
    # Tenders (issue 11): the association's registered OCDS ocid prefix, and the least weight
    # (whole percent) social value carries in a tender, by buyer kind (after PPN 06/20).
    # A placeholder of the standard's form (`ocds-` and six lowercase letters or digits): a
    # publisher registers its own with the Open Contracting Partnership.
    ocid_prefix: str = "ocds-thdemo"
    # Who the OCDS packages name as their publisher (issue 15).
    ocds_publisher: str = "Tradehall trading association"
    social_value_minimum_public_body: int = 10
    social_value_minimum_business: int = 0
    # Sealed bids (ADR 27): the master key that wraps every data key (urlsafe base64 of 32
    # bytes), given as text or as a file holding it (embedded default: `<data dir>/sealing-key`);
    # older master keys kept only to unwrap during a rotation. Never stored in the database.
    sealing_key: str | None = field(default=None, repr=False)
    sealing_key_file: Path | None = None
    sealing_old_keys: tuple[str, ...] = field(default=(), repr=False)
    # How long after a tender's deadline its bids are opened (the opening clock).
    bid_opening_margin_seconds: int = 300
    # The Procurement Act standstill after an award notice, in working days (issue 13): at
    # least 8; configuration may lengthen it, never shorten it.
    standstill_working_days: int = 8
    # Outside opportunities (issue 16): a national portal's OCDS release package feed the clock
    # polls, following `links.next` on its own host only; None: no feed. Each tick reads at
    # most max_pages pages, each at most max_bytes (streamed) and within timeout seconds.
    ocds_feed_url: str | None = None
    ocds_feed_max_bytes: int = 10 * 1024 * 1024
    ocds_feed_timeout_seconds: float = 30.0
    ocds_feed_max_pages: int = 10

    @property
    def smtp(self) -> SmtpSettings | None:
        if not self.smtp_host:
            return None
        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            sender=self.smtp_from,
            username=self.smtp_username,
            password=self.smtp_password,
            starttls=self.smtp_starttls,
        )

    @property
    def mail_transport(self) -> Transport | None:
        """SMTP when a host is set; else the mail directory, if any (the embedded default's
        data_dir/mail); else None: mail waits in the outbox."""
        smtp = self.smtp
        if smtp is not None:
            return smtp
        return None if self.mail_dir is None else MailDrop(self.mail_dir, self.smtp_from)

    @property
    def evidence_path(self) -> Path:
        return self.evidence_dir or self.data_dir / "evidence"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if env is None else env

        def get(name: str, default: str = "") -> str:
            return source.get(f"TRADEHALL_{name}", default).strip()

        environment = get("ENV", "embedded").lower()
        if environment not in {"embedded", "production"}:
            raise SettingsError("TRADEHALL_ENV must be 'embedded' or 'production'")
        data_dir = Path(get("DATA_DIR") or DEFAULT_DATA_DIR)
        database_url = get("DATABASE_URL") or None
        jwt_secret = get("JWT_SECRET")
        if environment == "production":
            if not database_url:
                raise SettingsError("production needs TRADEHALL_DATABASE_URL (PostgreSQL)")
            if len(jwt_secret) < MIN_SECRET_LENGTH:
                raise SettingsError(
                    "production needs TRADEHALL_JWT_SECRET of at least "
                    f"{MIN_SECRET_LENGTH} characters; refusing to start with a default secret"
                )
        elif not jwt_secret:
            jwt_secret = _embedded_secret(data_dir)
        if len(jwt_secret) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"TRADEHALL_JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters"
            )
        sealing_key, sealing_key_file, sealing_old_keys = _sealing_settings(
            get, environment, data_dir
        )
        numbers: dict[str, Any] = {
            field.name: parse(get(field.name.upper(), str(field.default)), field.name.upper())
            for field in fields(cls)
            if (parse := _PARSERS.get(field.name)) is not None
        }
        if get("STRIPE_SECRET_KEY") and not get("STRIPE_WEBHOOK_SECRET"):
            raise SettingsError(
                "TRADEHALL_STRIPE_SECRET_KEY needs TRADEHALL_STRIPE_WEBHOOK_SECRET: webhooks are "
                "how payments arrive"
            )
        if numbers["jwt_lifetime_seconds"] > MAX_TOKEN_LIFETIME:
            raise SettingsError(
                f"TRADEHALL_JWT_LIFETIME_SECONDS must be at most {MAX_TOKEN_LIFETIME} (a day)"
            )
        return cls(
            environment=environment,
            database_url=database_url,
            data_dir=data_dir,
            jwt_secret=jwt_secret,
            evidence_dir=Path(get("EVIDENCE_DIR")) if get("EVIDENCE_DIR") else None,
            log_level=get("LOG_LEVEL", cls.log_level).upper(),
            stripe_secret_key=get("STRIPE_SECRET_KEY") or None,
            stripe_webhook_secret=get("STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=get("STRIPE_API_BASE") or None,
            public_url=get("PUBLIC_URL", cls.public_url),
            smtp_host=get("SMTP_HOST") or None,
            mail_dir=_mail_dir(get, environment, data_dir),
            smtp_from=get("SMTP_FROM", cls.smtp_from),
            smtp_username=get("SMTP_USERNAME") or None,
            smtp_password=get("SMTP_PASSWORD") or None,
            ocid_prefix=_ocid_prefix(get("OCID_PREFIX", cls.ocid_prefix)),
            ocds_publisher=get("OCDS_PUBLISHER") or cls.ocds_publisher,
            ocds_feed_url=_feed_url(get("OCDS_FEED_URL")),
            sealing_key=sealing_key,
            sealing_key_file=sealing_key_file,
            sealing_old_keys=sealing_old_keys,
            **numbers,
        )


def _int(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"TRADEHALL_{name} must be a whole number, not {value!r}") from None
    if number <= 0:
        raise SettingsError(f"TRADEHALL_{name} must be positive")
    return number


def _non_negative(value: str, name: str) -> int:
    if value == "0":
        return 0
    return _int(value, name)


def _bool(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"TRADEHALL_{name} must be true or false, not {value!r}")


def _seconds(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"TRADEHALL_{name} must be a number of seconds") from None
    if not 0 < number <= 60:
        raise SettingsError(f"TRADEHALL_{name} must be between 0 and 60 seconds")
    return number


def _percent(value: str, name: str) -> int:
    number = _non_negative(value, name)
    if number > 100:
        raise SettingsError(f"TRADEHALL_{name} must be a percentage, 0 to 100")
    return number


def _standstill(value: str, name: str) -> int:
    number = _int(value, name)
    if number < MIN_STANDSTILL_WORKING_DAYS:
        raise SettingsError(
            f"TRADEHALL_{name} must be at least {MIN_STANDSTILL_WORKING_DAYS} (the Procurement "
            "Act's standstill: configuration may lengthen it, never shorten it)"
        )
    if number > MAX_STANDSTILL_WORKING_DAYS:
        # The working calendar holds the bank holidays of a notice's year and the next.
        raise SettingsError(f"TRADEHALL_{name} must be at most {MAX_STANDSTILL_WORKING_DAYS}")
    return number


MAX_FEED_URL = 2000
MAX_WORKERS = 64
MAX_FEED_PAGES = 1000


def _bounded_int(value: str, name: str, most: int) -> int:
    number = _int(value, name)
    if number > most:
        raise SettingsError(f"TRADEHALL_{name} must be at most {most}")
    return number


def _bounded_seconds(value: str, name: str, most: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"TRADEHALL_{name} must be a number of seconds") from None
    if not 0 < number <= most:
        raise SettingsError(f"TRADEHALL_{name} must be more than 0 and at most {most:g} seconds")
    return number


def _feed_url(value: str) -> str | None:
    """The OCDS feed's address: an http or https URL with a host, in ASCII (percent-encoded);
    no credentials (settings are logged and shown), no fragment. Empty: no feed."""
    if not value:
        return None
    refused = SettingsError(
        "TRADEHALL_OCDS_FEED_URL must be an http:// or https:// address with a host, no user "
        f"or password and no #fragment, at most {MAX_FEED_URL} ASCII characters"
    )
    if len(value) > MAX_FEED_URL or not value.isascii() or not value.isprintable():
        raise refused
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a port that is not a number in range)
    except ValueError:
        raise refused from None
    if (
        " " in value
        or parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.fragment
    ):
        raise refused
    return value


# As the standard assigns them, and as its review tool checks them.
_OCID_PREFIX = re.compile(r"^ocds-[a-z0-9]{6}$")


def _ocid_prefix(value: str) -> str:
    if not _OCID_PREFIX.match(value):
        raise SettingsError(
            "TRADEHALL_OCID_PREFIX must be an OCDS ocid prefix: ocds- and six lowercase letters "
            "or digits (such as ocds-a1b2c3)"
        )
    return value


# How each number or flag is read, by field: its variable is TRADEHALL_<FIELD>, and unset
# means the field's default.
_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "jwt_lifetime_seconds": _int,
    "db_pool_size": _int,
    "max_body_bytes": _int,
    "evidence_max_bytes": _int,
    "run_projections": _bool,
    "projection_poll_seconds": _seconds,
    "workers": lambda value, name: _bounded_int(value, name, MAX_WORKERS),
    "lease_retry_seconds": _seconds,
    "clock_interval_seconds": _non_negative,
    "smtp_port": _int,
    "smtp_starttls": _bool,
    "mail_interval_seconds": _non_negative,
    "card_commands_interval_seconds": _non_negative,
    "follow_interval_seconds": _non_negative,
    "login_account_free_failures": _int,
    "login_address_free_failures": _int,
    "login_max_delay_seconds": _int,
    "account_mail_free_per_address": _int,
    "account_mail_max_delay_seconds": _int,
    "registrations_per_address_per_hour": _int,
    "throttle_decay_seconds": _int,
    "refresh_lifetime_seconds": _int,
    "parked_webhook_retention_days": lambda value, name: _bounded_int(value, name, 3650),
    "trusted_proxy_hops": _non_negative,
    "social_value_minimum_public_body": _percent,
    "social_value_minimum_business": _percent,
    "bid_opening_margin_seconds": _int,
    "standstill_working_days": _standstill,
    "ocds_feed_max_bytes": _int,
    "ocds_feed_timeout_seconds": lambda value, name: _bounded_seconds(value, name, 300),
    "ocds_feed_max_pages": lambda value, name: _bounded_int(value, name, MAX_FEED_PAGES),
}


def _mail_dir(get: Callable[[str], str], environment: str, data_dir: Path) -> Path | None:
    if get("MAIL_DIR"):
        if environment == "production":
            # Mail written to a directory counts as sent (an award notice waits for that).
            raise SettingsError(
                "TRADEHALL_MAIL_DIR is for the embedded default; production sends by "
                "TRADEHALL_SMTP_HOST"
            )
        return Path(get("MAIL_DIR"))
    if environment == "embedded" and not get("SMTP_HOST"):
        return data_dir / "mail"
    return None


def _embedded_secret(data_dir: Path) -> str:
    """A random secret kept in the data directory, so tokens survive restarts.

    Written to a private temporary file and linked into place, so a crash or a second process
    starting at the same moment never leaves an empty or half-written secret behind.
    """
    path = data_dir / "jwt-secret"
    _keep_random_secret(path, secrets.token_urlsafe(48))
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise SettingsError(f"{path} holds no usable secret: delete it to make a new one")
    return secret


SEALING_KEY_BYTES = 32
_URLSAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]+")
SEALING_KEY_HELP = "the urlsafe base64 text of 32 bytes (`tradehall sealing new-key` makes one)"


def sealing_key_bytes(text: str, variable: str) -> bytes:
    """A master key from its text (urlsafe base64 of 32 bytes, padding optional). The error
    names the variable, never the value."""
    stripped = text.strip().rstrip("=")
    try:
        if not _URLSAFE_BASE64.fullmatch(stripped):
            raise ValueError("not urlsafe base64")
        key = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        raise SettingsError(f"{variable} must be {SEALING_KEY_HELP}") from None
    if len(key) != SEALING_KEY_BYTES:
        raise SettingsError(f"{variable} must be {SEALING_KEY_HELP}")
    return key


def sealing_key_file_bytes(path: Path, variable: str = "TRADEHALL_SEALING_KEY_FILE") -> bytes:
    """The master key held in a file (its text, as TRADEHALL_SEALING_KEY would give it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(
            f"{variable}: cannot read {path} ({error.__class__.__name__})"
        ) from None
    return sealing_key_bytes(text, f"{variable} ({path})")


def _sealing_settings(
    get: Callable[[str], str], environment: str, data_dir: Path
) -> tuple[str | None, Path | None, tuple[str, ...]]:
    """The sealing key settings, each checked; production must name its master key."""
    key = get("SEALING_KEY") or None
    key_file = Path(get("SEALING_KEY_FILE")) if get("SEALING_KEY_FILE") else None
    if key and key_file:
        raise SettingsError("set TRADEHALL_SEALING_KEY or TRADEHALL_SEALING_KEY_FILE, not both")
    if key:
        sealing_key_bytes(key, "TRADEHALL_SEALING_KEY")
    elif key_file:
        sealing_key_file_bytes(key_file)
    elif environment == "production":
        raise SettingsError(
            "production needs TRADEHALL_SEALING_KEY or TRADEHALL_SEALING_KEY_FILE: the master "
            "key of sealed bids, kept outside the database"
        )
    else:
        key_file = embedded_sealing_key_file(data_dir)
    old = tuple(part.strip() for part in get("SEALING_OLD_KEYS").split(",") if part.strip())
    for text in old:
        sealing_key_bytes(text, "TRADEHALL_SEALING_OLD_KEYS")
    return key, key_file, old


def embedded_sealing_key_file(data_dir: Path) -> Path:
    """The embedded default's master key: random, kept in `<data dir>/sealing-key`, made as
    the JWT secret is (a private temporary file linked into place: one key, even when two
    processes start at once)."""
    path = data_dir / "sealing-key"
    _keep_random_secret(
        path, base64.urlsafe_b64encode(secrets.token_bytes(SEALING_KEY_BYTES)).decode()
    )
    sealing_key_file_bytes(path, "the embedded sealing key")
    return path


def _keep_random_secret(path: Path, text: str) -> None:
    """Keep `text` at `path` unless a secret is there already. Written to a private temporary
    file and linked into place, so a crash or a second process starting at the same moment
    never leaves an empty or half-written secret behind (the first one linked wins)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(8)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    try:
        os.link(temporary, path)  # fails if another process won the race: use theirs
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
