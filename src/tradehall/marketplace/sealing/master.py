"""The master keys: the current one wraps every data key; older ones only unwrap, during a
rotation. They come from the environment or a file, never from the database."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field

from tradehall.settings import (
    SEALING_KEY_BYTES,
    Settings,
    SettingsError,
    embedded_sealing_key_file,
    sealing_key_bytes,
    sealing_key_file_bytes,
)


def fingerprint(key: bytes) -> str:
    """A master key's public name: 16 hex digits of sha256("tradehall-master:" + key)."""
    return hashlib.sha256(b"tradehall-master:" + key).hexdigest()[:16]


def new_key_text() -> str:
    """A fresh master key as TRADEHALL_SEALING_KEY takes it (urlsafe base64 of 32 bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(SEALING_KEY_BYTES)).decode("ascii")


@dataclass(frozen=True)
class MasterKeys:
    current: bytes = field(repr=False)
    old: tuple[bytes, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        for key in (self.current, *self.old):
            if len(key) != SEALING_KEY_BYTES:
                raise ValueError(f"a master key is {SEALING_KEY_BYTES} bytes")

    @property
    def current_fingerprint(self) -> str:
        return fingerprint(self.current)

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Every configured key's fingerprint, the current one first."""
        return tuple(fingerprint(key) for key in (self.current, *self.old))

    def by_fingerprint(self, wanted: str) -> bytes | None:
        """The configured key of this fingerprint, or None."""
        for key in (self.current, *self.old):
            if secrets.compare_digest(fingerprint(key), wanted):
                return key
        return None

    @classmethod
    def from_settings(cls, settings: Settings) -> MasterKeys:
        """The key given (TRADEHALL_SEALING_KEY or _FILE), or the embedded default's own."""
        if settings.sealing_key:
            current = sealing_key_bytes(settings.sealing_key, "TRADEHALL_SEALING_KEY")
        elif settings.sealing_key_file is not None:
            current = sealing_key_file_bytes(settings.sealing_key_file)
        elif settings.is_production:
            raise SettingsError("production needs TRADEHALL_SEALING_KEY or _SEALING_KEY_FILE")
        else:
            current = sealing_key_file_bytes(
                embedded_sealing_key_file(settings.data_dir), "the embedded sealing key"
            )
        old = tuple(
            key
            for text in settings.sealing_old_keys
            if (key := sealing_key_bytes(text, "TRADEHALL_SEALING_OLD_KEYS")) != current
        )
        return cls(current, old)
