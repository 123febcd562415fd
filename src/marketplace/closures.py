"""The association's closure days: weekdays staff mark as not working days (an office move, a
strike), which lengthen every standstill that crosses them. Pure domain code.

One aggregate holds them all, at the fixed id CLOSURE_DAYS_ID. It is made by `start` (an
empty list) when the first closure is entered: the application looks for CLOSURE_DAYS_ID and,
finding nothing, calls `ClosureDays.start(context)` and then `close` on it, saving both events
together; two first closures racing both try to make version 1 and the second loses on the
event store's version check (retried, it then finds the aggregate).

Only the future changes. A day before today (London) is never closed, and a day on or before
today is never reopened: either would change a standstill already running or already ended
(closing a past day could make a contract already signed fall inside its standstill; reopening
could end a running standstill early).
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import NAMESPACE_URL, uuid5

from marketplace.working_days import london_date
from sharedkernel.errors import Conflict, InvalidValue, NotFound
from sharedkernel.events import Context, TradehallAggregate
from sharedkernel.text import domain_text

CLOSURE_DAYS_ID = uuid5(NAMESPACE_URL, "https://tradehall.invalid/closure-days")
MAX_REASON = 500
_SATURDAY = 5


class ClosureDays(TradehallAggregate):
    """The singleton list of closure days, each with why."""

    class Started(TradehallAggregate.Created):
        pass

    class Closed(TradehallAggregate.Event):
        day: str  # ISO date
        reason: str

        def apply(self, aggregate: ClosureDays) -> None:
            aggregate._reasons[date.fromisoformat(self.day)] = self.reason

    class Reopened(TradehallAggregate.Event):
        day: str  # ISO date

        def apply(self, aggregate: ClosureDays) -> None:
            aggregate._reasons.pop(date.fromisoformat(self.day), None)

    def __init__(self) -> None:
        self._reasons: dict[date, str] = {}

    @classmethod
    def start(cls, context: Context) -> ClosureDays:
        """The empty list, made when the first closure is entered (see the module's note)."""
        return cls._create(cls.Started, id=CLOSURE_DAYS_ID, **context.event_kwargs())

    # Reads -----------------------------------------------------------------------------------

    @property
    def days(self) -> frozenset[date]:
        return frozenset(self._reasons)

    @property
    def reasons(self) -> dict[date, str]:
        return dict(self._reasons)

    # Staff -----------------------------------------------------------------------------------

    def close(self, context: Context, day: date, reason: str) -> None:
        _require_date(day)
        if day.weekday() >= _SATURDAY:
            raise InvalidValue("day", "a weekend is never a working day")
        if day < london_date(context.at):
            raise InvalidValue(
                "day",
                "a past day is not closed: it would change standstills already running",
            )
        if day.year > london_date(context.at).year + 1:
            # The working calendar holds a notice's year and the next: no standstill reaches
            # further, and a day beyond it could never be counted.
            raise InvalidValue("day", "a day this year or next")
        if day in self._reasons:
            raise Conflict(f"{day.isoformat()} is already closed")
        self.trigger_event(
            self.Closed, day=day.isoformat(), reason=_reason(reason), **context.event_kwargs()
        )

    def reopen(self, context: Context, day: date) -> None:
        _require_date(day)
        if day not in self._reasons:
            raise NotFound(f"{day.isoformat()} is not closed")
        if day <= london_date(context.at):
            raise InvalidValue(
                "day",
                "only a future day is reopened: reopening this one could shorten a standstill "
                "already running",
            )
        self.trigger_event(self.Reopened, day=day.isoformat(), **context.event_kwargs())


def _require_date(day: date) -> None:
    if isinstance(day, datetime):
        raise TypeError("a closure day is a date, not a datetime")


def _reason(reason: str) -> str:
    return domain_text(
        reason, "reason", MAX_REASON, required="say why the association closes", multiline=False
    )
