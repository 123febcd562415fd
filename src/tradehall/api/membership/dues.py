"""Dues: the schedule of bands, manual payments, refunds, credit notes, ledgers and export."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from membership.application import MembershipApp
from membership.domain import Organisation
from membership.dues import DUES_CURRENCY, DuesBand
from sharedkernel.events import Context
from sharedkernel.money import Money
from tradehall.api.access import PUBLIC, own_organisation_or_staff, rule, staff_only
from tradehall.api.commands import Commands, command_result, idempotency_key
from tradehall.api.downloads import CSV, csv_attachment
from tradehall.api.membership.organisation_commands import ORGANISATION, OrganisationCommands
from tradehall.api.membership.schemas.membership import (
    BandView,
    CreditNote,
    LedgerEntryView,
    LedgerView,
    ManualPayment,
    MoneyView,
    PublishSchedule,
    Refund,
    ScheduleVersionView,
    ScheduleView,
    money_of,
)
from tradehall.api.schemas.common import CommandResult
from tradehall.csv_cells import CellWriter
from tradehall.membership import LOG
from tradehall.services import Threads

ORG = "/api/v1/organisations/{organisation_id:uuid}/dues"
# Where the association keeps its books: a treasurer's "today".
LONDON = ZoneInfo("Europe/London")


def idempotent_id(kind: str, request: Request[Any, Any, Any]) -> str | None:
    """A ledger id from the client's Idempotency-Key: the same request twice records once."""
    key = idempotency_key(request)
    return None if key is None else f"{kind}_{key}"


def _money(value: Money) -> MoneyView:
    return MoneyView(amount_minor=value.minor, currency=value.currency)


def _effective(context: Context, day: date | None) -> Context:
    """A fact about a day in the past (a cheque banked last week) carries that day, at noon
    (or now, if that is today and before noon). Today is the treasurer's: London's date as
    well as UTC's (past midnight in summer time, London is a day ahead of UTC for an hour).
    The domain refuses a later day, or one before the organisation registered (ADR 17)."""
    if day is None:
        return context
    moment = datetime.combine(day, time(12, 0), tzinfo=UTC)
    if day in {context.at.astimezone(UTC).date(), context.at.astimezone(LONDON).date()}:
        moment = min(moment, context.at)
    return Context(context.actor, context.request_id, context.at, moment)


def ledger_view(organisation: Organisation) -> LedgerView:
    return LedgerView(
        organisation_id=str(organisation.id),
        entries=[
            LedgerEntryView(
                kind=entry.kind,
                id=entry.entry_id,
                at=entry.at,
                amount=_money(entry.amount),
                reference=entry.reference,
                period_start=entry.period_start,
                period_end=entry.period_end,
            )
            for entry in organisation.ledger
        ],
        balance=_money(organisation.balance),
        paid_up_until=organisation.paid_up_until,
    )


class DuesScheduleController(Controller):
    path = "/api/v1/dues"
    tags = ["dues"]

    @get("/schedule", opt=rule(PUBLIC), summary="The dues bands, every version")
    async def schedule(
        self, membership: NamedDependency[MembershipApp], threads: NamedDependency[Threads]
    ) -> ScheduleView:
        schedule = await threads.run(membership.dues_schedule)
        return ScheduleView(
            versions=[
                ScheduleVersionView(
                    version=version.version,
                    effective_from=version.effective_from,
                    bands=[
                        BandView(
                            code=band.code,
                            name=band.name,
                            up_to_minor=band.up_to.minor if band.up_to else None,
                            annual_due_minor=band.annual_due.minor,
                            currency=band.annual_due.currency,
                            lookup_key=band.price_reference,
                        )
                        for band in version.bands
                    ],
                )
                for version in schedule.versions
            ]
        )

    @post(
        "/schedule",
        opt=rule(staff_only()),
        status_code=201,
        summary="Publish a new version of the dues bands, in force from a date (staff)",
    )
    async def publish(
        self,
        commands: NamedDependency[Commands],
        membership: NamedDependency[MembershipApp],
        data: JSONBody[PublishSchedule],
    ) -> CommandResult:
        bands = [
            DuesBand(
                code=band.code,
                name=band.name,
                up_to=Money(DUES_CURRENCY, band.up_to_minor)
                if band.up_to_minor is not None
                else None,
                annual_due=Money(DUES_CURRENCY, band.annual_due_minor),
                price_reference=band.lookup_key,
            )
            for band in data.bands
        ]
        effective_from = data.effective_from
        if effective_from.tzinfo is None:
            effective_from = effective_from.replace(tzinfo=UTC)
        saved = await commands.record(membership.publish_dues_schedule, effective_from, bands)
        return command_result(saved, LOG)

    @get(
        "/ledger.csv",
        opt=rule(staff_only()),
        summary="Every organisation's dues ledger as CSV, for the association's accounts",
        media_type=CSV,
    )
    async def ledger_csv(
        self, membership: NamedDependency[MembershipApp], threads: NamedDependency[Threads]
    ) -> Response[str]:
        return csv_attachment(await threads.run(_ledger_csv, membership), "dues-ledger.csv")


def _decimal(minor: int) -> str:
    """Minor units as a decimal amount, exactly (no floats near money)."""
    units, pence = divmod(abs(minor), 100)
    return f"{'-' if minor < 0 else ''}{units}.{pence:02d}"


def _ledger_csv(membership: MembershipApp) -> str:
    buffer = io.StringIO()
    writer = CellWriter(buffer)
    writer.writerow(
        [
            "organisation_id",
            "organisation",
            "entry",
            "id",
            "date",
            "amount",
            "currency",
            "reference",
            "period_start",
            "period_end",
        ]
    )
    for organisation in membership.organisations_with_ledgers():
        for entry in organisation.ledger:
            writer.writerow(
                [
                    organisation.id,
                    organisation.name,
                    entry.kind,
                    entry.entry_id,
                    entry.at.date().isoformat(),
                    # Signed as it moves what the member owes: a refund's reversal takes
                    # off what its refund added, so each organisation's lines sum to its
                    # balance.
                    _decimal(entry.owed_minor),
                    entry.amount.currency,
                    entry.reference,
                    entry.period_start.date().isoformat() if entry.period_start else "",
                    entry.period_end.date().isoformat() if entry.period_end else "",
                ]
            )
    return buffer.getvalue()


class DuesController(Controller):
    path = ORG
    tags = ["dues"]
    dependencies = ORGANISATION

    @get("/ledger", opt=rule(own_organisation_or_staff()), summary="The dues ledger and balance")
    async def ledger(self, organisation: NamedDependency[OrganisationCommands]) -> LedgerView:
        return ledger_view(await organisation.load())

    @post(
        "/payments",
        opt=rule(staff_only()),
        status_code=201,
        summary="Record a payment received by bank transfer, cheque or cash (staff)",
    )
    async def payment(
        self, organisation: NamedDependency[OrganisationCommands], data: JSONBody[ManualPayment]
    ) -> Response[CommandResult]:
        amount = money_of(data.amount, "amount")
        return await organisation.execute(
            organisation.membership.record_payment,
            amount,
            data.method,
            data.reference,
            context=_effective(organisation.commands.context(), data.effective_date),
            payment_id=idempotent_id("pay", organisation.commands.request),
            status_code=201,
        )

    @post("/refunds", opt=rule(staff_only()), status_code=201, summary="Record a refund (staff)")
    async def refund(
        self, organisation: NamedDependency[OrganisationCommands], data: JSONBody[Refund]
    ) -> Response[CommandResult]:
        amount = money_of(data.amount, "amount")
        return await organisation.execute(
            organisation.membership.record_refund,
            amount,
            data.reference,
            context=_effective(organisation.commands.context(), data.effective_date),
            refund_id=idempotent_id("ref", organisation.commands.request),
            status_code=201,
        )

    @post(
        "/credit-notes",
        opt=rule(staff_only()),
        status_code=201,
        summary="Issue a credit note",
        description=(
            "With an `Idempotency-Key`, the same request sent again records one credit note; "
            "the key used for another amount or reason is a 409."
        ),
    )
    async def credit_note(
        self, organisation: NamedDependency[OrganisationCommands], data: JSONBody[CreditNote]
    ) -> Response[CommandResult]:
        amount = money_of(data.amount, "amount")
        return await organisation.execute(
            organisation.membership.issue_credit_note,
            amount,
            data.reason,
            credit_id=idempotent_id("crn", organisation.commands.request),
            status_code=201,
        )
