"""The embedded default's mail without an SMTP server: each message written as a file (an
.eml any mail program opens) in a directory, counted as sent once written. A newcomer reads
what the service sent in data/mail/; production sets TRADEHALL_SMTP_HOST instead."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path


@dataclass(frozen=True)
class MailDrop:
    directory: Path
    sender: str

    def probe(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage) -> None:
        """Written whole or not at all (a temporary file renamed); the same message sent again
        (at-least-once) lands on the same file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        key = f"{message['Message-ID']} {message['To']}".encode()
        name = hashlib.sha256(key).hexdigest()[:32]
        final = self.directory / f"{name}.eml"
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(message.as_bytes())
        os.replace(temporary, final)
