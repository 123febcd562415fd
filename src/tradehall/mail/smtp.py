"""SMTP: where mail goes, and handing one message over."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False

    def send(self, message: EmailMessage) -> None:
        smtp_send(self, message)

    def probe(self) -> None:
        """Reach the server as a send does, and send nothing (NOOP)."""
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.noop()


class Transport(Protocol):
    """Where the sender hands a message: an SMTP server, or the embedded mail directory."""

    @property
    def sender(self) -> str: ...

    def send(self, message: EmailMessage) -> None: ...

    def probe(self) -> None:
        """Reach where messages go, sending nothing: fails as a send would (a sealed batch
        with nobody to tell is tried as one with, ADR 27)."""
        ...


def smtp_send(settings: SmtpSettings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.host, settings.port, timeout=30) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message)
