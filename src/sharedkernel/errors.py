"""Domain errors. The web layer maps each family to one problem-details status."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a command can raise for a business reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidValue(DomainError):
    """A value that parsed but breaks a rule (unknown code, empty name). Names its field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(DomainError):
    """The thing named does not exist."""


class Conflict(DomainError):
    """The current state forbids the command, or a unique key is already claimed."""


class StaleVersion(Conflict):
    """The caller's expected version is not the current one."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, but the current version is {actual}")
        self.expected = expected
        self.actual = actual
