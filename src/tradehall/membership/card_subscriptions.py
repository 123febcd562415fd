"""What the membership log asks of members' card subscriptions, and its sending to Stripe.

The follower (`CardSubscriptionFollower`) is run by the projector like the notice writer:
exactly once per event, whoever recorded it (API, CLI, import, clock), in the projector's
transaction, and never rebuilt. For each event that asks something of a card subscription (a
resignation or an expulsion cancels it, a declared turnover reprices its renewal) it records a
command whose id, derived from the event's id, is the idempotency key sent to Stripe.

The sender (`CardSubscriptionSender`) performs the commands at least once: a crash after Stripe
applied one and before it was marked done sends it again with the same key, and Stripe applies
it once. What the command acts on is read from the membership Application when it is sent (the
subscription, the renewal band), so a command for a member who pays no card subscription, or
whose subscription has ended, is marked not needed and Stripe is not called. A failure is
retried with backoff, a bounded number of times, then marked failed for staff
(`GET /api/v1/dues/card-subscription-commands`). Without Stripe keys nothing sends: the
commands wait, and that route says card payments are not configured (docs/adr/0020).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar
from uuid import UUID

import stripe
from eventsourcing.persistence import InterfaceError, OperationalError
from sqlalchemy import Connection, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from membership.application import MembershipApp
from projections.base import Projection
from projections.events import RecordedEvent
from projections.folding import insert_rows
from sharedkernel.errors import DomainError
from tradehall.clock import Clock
from tradehall.mail.outbox import dated
from tradehall.payments.stripe_gateway import StripeGateway
from tradehall.payments.tables import card_subscription_commands as commands

CANCEL_NOW = "cancel_now"
CANCEL_AT_PERIOD_END = "cancel_at_period_end"
REPRICE = "reprice"
PENDING, DONE, NOT_NEEDED, FAILED = "pending", "done", "not_needed", "failed"
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
_log = logging.getLogger("tradehall.payments")

Runner = Callable[..., Awaitable[Any]]
T = TypeVar("T")


class SenderParts(Protocol):
    """What the sender is made of: Stripe (None without keys), the database, the membership
    Application, the clock, and threads for the Application and Stripe's client."""

    @property
    def stripe(self) -> StripeGateway | None: ...
    @property
    def engine(self) -> AsyncEngine: ...
    @property
    def membership(self) -> MembershipApp: ...
    @property
    def clock(self) -> Clock: ...

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...


def command_id(event: RecordedEvent) -> str:
    """The command's id and Stripe idempotency key: one per event, the same every time."""
    return f"tradehall-card-{event.originator_id}-{event.originator_version}"


def action_for(event: RecordedEvent) -> str | None:
    """What an event asks of the organisation's card subscription, if anything."""
    match event.name:
        case "Organisation.Expelled":
            return CANCEL_NOW
        case "Organisation.ResignationGiven":
            # Resigning at the end of the paid period: Stripe stops at that period's end.
            resigns_at = _moment(event.data.get("resigns_at"))
            effective_at = _moment(event.data.get("effective_at"))
            if resigns_at is None or effective_at is None:
                # Not as the domain writes it, yet the member resigned: no later charge, and
                # no cut to a period paid for (what the sender reads of it then decides).
                _log.warning(
                    "card subscription commands: %r says not when it takes effect: "
                    "cancelled at the period's end",
                    event,
                )
                return CANCEL_AT_PERIOD_END
            return CANCEL_AT_PERIOD_END if resigns_at > effective_at else CANCEL_NOW
        case "Organisation.TurnoverDeclared":
            return REPRICE
    return None


def _moment(value: Any) -> datetime | None:
    """A payload's time (one stored without its zone taken as UTC); None if it is none."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class CardSubscriptionFollower(Projection):
    """Follows the membership log and records a command for each event that asks one."""

    name = "card_subscription_commands"
    logs = ("membership",)
    tables = (commands,)
    rebuildable = False

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        rows: dict[str, dict[str, Any]] = {}
        for event in events:
            action = action_for(event)
            if action is None:
                continue
            rows.setdefault(
                command_id(event),
                {
                    "command_id": command_id(event),
                    "organisation_id": event.originator_id,
                    "action": action,
                    # Its time, else its effective time (another writer's event may hold none).
                    "created_at": dated(event),
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": None,
                    "last_error": None,
                    "finished_at": None,
                },
            )
        # Applied again (a position set back, a restore), an event records nothing new: the
        # command there may have been sent already.
        insert_rows(connection, commands, _not_recorded(connection, rows))

    def clear(self, connection: Connection) -> None:
        raise RuntimeError("card subscription commands are a record, not a view: never rebuilt")


def _not_recorded(connection: Connection, rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The commands (by id) not recorded already."""
    if not rows:
        return []
    column = commands.c.command_id
    there = set(connection.scalars(select(column).where(column.in_(list(rows)))))
    return [row for key, row in rows.items() if key not in there]


@dataclass(frozen=True)
class CardCommand:
    command_id: str
    organisation_id: UUID
    action: str
    attempts: int


@dataclass(frozen=True)
class Sent:
    done: int = 0
    not_needed: int = 0
    retrying: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: doubling, at most an hour."""
    wait: timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(wait, LONGEST_WAIT)


# The event store not answering: every command would fail alike, none by its own doing.
_STORE_AWAY = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class CardSubscriptionSender:
    engine: AsyncEngine
    membership: MembershipApp
    gateway: StripeGateway
    clock: Clock
    run: Runner  # runs synchronous work (the Application, the gateway) in a worker thread

    async def due(self, organisation_id: UUID | None = None, limit: int = 100) -> list[CardCommand]:
        """The commands waiting whose time has come (one organisation's, if named)."""
        now = self.clock.now()
        query = (
            select(commands)
            .where(commands.c.status == PENDING)
            .where(or_(commands.c.next_attempt_at.is_(None), commands.c.next_attempt_at <= now))
            .order_by(commands.c.created_at, commands.c.command_id)
            .limit(limit)
        )
        if organisation_id is not None:
            query = query.where(commands.c.organisation_id == organisation_id)
        async with self.engine.connect() as connection:
            result = await connection.execute(query)
            return [
                CardCommand(row.command_id, row.organisation_id, row.action, row.attempts)
                for row in result
            ]

    async def perform(self, command: CardCommand) -> str:
        """Ask Stripe for what the command says: DONE, or NOT_NEEDED when there is no live
        subscription (or no band to reprice to). Raises what Stripe or the gateway raise."""
        subscription = await self.run(self.membership.card_subscription, command.organisation_id)
        if subscription is None or subscription.ended:
            return NOT_NEEDED
        key = command.command_id
        if command.action == REPRICE:
            band = await self.run(self.membership.renewal_band, command.organisation_id)
            if band is None:
                return NOT_NEEDED
            await self.run(
                self.gateway.change_price_at_renewal,
                subscription.subscription_id,
                band.price_reference,
                key,
            )
            return DONE
        await self.run(
            self.gateway.cancel_subscription,
            subscription.subscription_id,
            at_period_end=command.action == CANCEL_AT_PERIOD_END,
            idempotency_key=key,
        )
        return DONE

    async def send_due(self, organisation_id: UUID | None = None) -> Sent:
        """Perform what is due (one organisation's, if named); how each went."""
        counts = {DONE: 0, NOT_NEEDED: 0, PENDING: 0, FAILED: 0}
        for command in await self.due(organisation_id):
            try:
                outcome = await self.perform(command)
            except _STORE_AWAY:
                raise  # not this command's doing: the pass stops, and is tried again later
            # Stripe's error, the domain's, or any other (an organisation whose log its
            # aggregate cannot load, the gateway's own): this command's attempt fails, counted
            # with its error, and the later ones are sent (it blocked them every pass before).
            except Exception as error:
                outcome = await self._failed(command, error)
            else:
                await self._finish(command, outcome)
            counts[outcome] += 1
        return Sent(counts[DONE], counts[NOT_NEEDED], counts[PENDING], counts[FAILED])

    async def _finish(self, command: CardCommand, outcome: str) -> None:
        await self._update(
            command, status=outcome, attempts=command.attempts + 1, finished_at=self.clock.now()
        )

    async def _failed(self, command: CardCommand, error: Exception) -> str:
        attempts = command.attempts + 1
        now = self.clock.now()
        said = str(getattr(error, "user_message", None) or error)
        if not isinstance(error, stripe.StripeError | DomainError):
            said = f"{type(error).__name__}: {said}"  # not Stripe's words nor the domain's
        message = said[:500] or type(error).__name__
        gave_up = attempts >= MAX_ATTEMPTS
        status = FAILED if gave_up else PENDING
        _log.warning("card subscription command %s failed: %s", command.command_id, message)
        await self._update(
            command,
            status=status,
            attempts=attempts,
            last_error=message,
            next_attempt_at=None if gave_up else now + backoff(attempts),
            finished_at=now if gave_up else None,
        )
        return status

    async def _update(self, command: CardCommand, **values: Any) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(commands).where(commands.c.command_id == command.command_id).values(**values)
            )


def sender_for(parts: SenderParts) -> CardSubscriptionSender | None:
    """The sender, wired from its parts; None without Stripe keys (nothing is sent)."""
    if parts.stripe is None:
        return None
    return CardSubscriptionSender(
        parts.engine, parts.membership, parts.stripe, parts.clock, parts.run
    )


async def card_sender_job(
    sender: CardSubscriptionSender | None, interval: float, stop: asyncio.Event
) -> None:
    """The API's worker (beside the mail sender): sends what is due every `interval` seconds;
    returns at once without Stripe keys (no sender)."""
    if sender is not None:
        await run_card_sender(sender, stop, interval)


async def run_card_sender(
    sender: CardSubscriptionSender, stop: asyncio.Event, interval: float
) -> None:
    while not stop.is_set():
        try:
            await sender.send_due()
        except Exception:
            _log.exception("sending card subscription commands failed; trying again")
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            continue


async def unfinished_commands(engine: AsyncEngine, limit: int = 500) -> list[Any]:
    """For staff: the commands that failed for good, then those still waiting, oldest first."""
    async with engine.connect() as connection:
        result = await connection.execute(
            select(commands)
            .where(commands.c.status.in_([FAILED, PENDING]))
            .order_by(commands.c.status == PENDING, commands.c.created_at)
            .limit(limit)
        )
        return list(result)
