"""Contracts over HTTP (issue 13): the buyer's users amend, complete or terminate a signed
contract; a party's users report the social value delivered per period; the buyer's users
confirm or reject each report. The buyer's and the parties' users, and staff, read a contract
whole; everyone signed in lists their organisation's contracts (staff: all).

A contract is seen only by those users and staff: anyone else gets the same 404 as for a
contract that does not exist. Who may do what beyond seeing it is the domain's to say where it
knows (a supplier never confirms its own delivery; only a party reports); the terms' commands
take no organisation, so the buyer's own is checked here, as tenders check theirs.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, JSONBody

from marketplace.application import MarketplaceApp
from marketplace.contracts import Contract, Delivered
from marketplace.tender_terms import Period
from projections.contracts import ContractEntry, all_contracts, organisation_contracts
from projections.pages import Page as ProjectedPage
from sharedkernel.moments import plausible_moment
from sharedkernel.money import Money
from tradehall.api.access import SIGNED_IN, Access, rule
from tradehall.api.commands import Commands, Saved, command_response, current_user, etag
from tradehall.api.marketplace.reason_routes import ReasonRoutes
from tradehall.api.marketplace.schemas.contracts import (
    CommitmentView,
    ContractAmendmentBody,
    ContractAmendmentView,
    ContractReasonBody,
    ContractsPage,
    ContractSummary,
    ContractView,
    DeliveredView,
    DeliveryReportBody,
    DeliveryReportView,
    PartyView,
    PeriodBody,
    PeriodView,
)
from tradehall.api.ownership import caller_organisation, load_or_404
from tradehall.api.read_models import Paging, ReadModel, read_model
from tradehall.api.reads import PageParam, PerPageParam, PositionParam
from tradehall.api.schemas.common import CommandResult
from tradehall.identity.users import Role
from tradehall.marketplace import LOG

# The projection whose tables the list reads (read-your-writes waits on it).
PROJECTION = "contracts"
NO_CACHE = "private, no-store"
# Checked in the handler against the contract itself.
CONTRACT_READERS = Access(
    "users of the contract's buyer and party organisations, or staff (others: 404)",
    roles=frozenset(Role),
)
CONTRACT_BUYER = Access(
    "users of the contract's buyer organisation (parties and staff 403, others 404)",
    roles=frozenset(Role),
)
CONTRACT_SIDES = Access(
    "users of the contract's buyer or party organisations, as the domain allows (others 404)",
    roles=frozenset(Role),
)


def _not_found(contract_id: UUID) -> NotFoundException:
    return NotFoundException(f"no contract {contract_id}")


def _involves(contract: Contract, organisation_id: UUID | None) -> bool:
    return organisation_id is not None and (
        organisation_id == contract.buyer_id or contract.is_party(organisation_id)
    )


async def _seen(
    commands: Commands, marketplace: MarketplaceApp, contract_id: UUID
) -> tuple[Contract, UUID | None]:
    """The contract and the caller's organisation, if the caller is one of the buyer's or a
    party's users, or staff; else the 404 of a contract that does not exist."""
    organisation_id = caller_organisation(commands)
    contract = await load_or_404(commands, marketplace.contract, contract_id, _not_found)
    staff = Role.STAFF in current_user(commands.request).roles
    if not staff and not _involves(contract, organisation_id):
        raise _not_found(contract_id)
    return contract, organisation_id


async def _side(commands: Commands, marketplace: MarketplaceApp, contract_id: UUID) -> UUID:
    """The caller's organisation, the buyer or a party (the domain decides which may act);
    staff see the contract but never act on it."""
    contract, organisation_id = await _seen(commands, marketplace, contract_id)
    if organisation_id is None or not _involves(contract, organisation_id):
        raise PermissionDeniedException("only the contract's buyer and suppliers act on it")
    return organisation_id


async def _as_buyer(commands: Commands, marketplace: MarketplaceApp, contract_id: UUID) -> Contract:
    contract, organisation_id = await _seen(commands, marketplace, contract_id)
    if organisation_id is None or organisation_id != contract.buyer_id:
        raise PermissionDeniedException("only the contract's buyer changes its terms")
    return contract


def _period(body: PeriodBody, field: str) -> Period:
    return Period(
        plausible_moment(f"{field}.start", body.start),
        plausible_moment(f"{field}.end", body.end),
    )


# Views ------------------------------------------------------------------------------------------


def _period_view(period: Period) -> PeriodView:
    return PeriodView(start=period.start, end=period.end)


def contract_view(contract: Contract) -> ContractView:
    delivered, pending = contract.delivered(), contract.pending()
    return ContractView(
        id=contract.id,
        version=contract.version,
        tender_id=contract.tender_id,
        lot_id=contract.lot_id,
        bid_id=contract.bid_id,
        buyer_id=contract.buyer_id,
        parties=[
            PartyView(organisation_id=p.organisation_id, share_percent=p.share_percent)
            for p in contract.parties
        ],
        value_minor=contract.value.minor,
        currency=contract.value.currency,
        period=_period_view(contract.period),
        status=contract.status.value,
        signed_at=contract.signed_at,
        ended_at=contract.ended_at,
        end_reason=contract.end_reason,
        amendments=[
            ContractAmendmentView(
                at=a.at,
                changed=list(a.changed),
                value_minor=None if a.value is None else a.value.minor,
                period=None if a.period is None else _period_view(a.period),
                reason=a.reason,
            )
            for a in contract.amendments
        ],
        commitments=[
            CommitmentView(
                measure=c.measure,
                unit=c.unit,
                committed=c.quantity,
                delivered=delivered.get(c.measure, 0),
                pending=pending.get(c.measure, 0),
            )
            for c in contract.commitments
        ],
        delivery_reports=[
            DeliveryReportView(
                id=r.id,
                reporter_id=r.reporter_id,
                period=_period_view(r.period),
                delivered=[
                    DeliveredView(measure=d.measure, quantity=d.quantity) for d in r.delivered
                ],
                note=r.note,
                status=r.status,
                decision_reason=r.decision_reason,
            )
            for r in contract.reports
        ],
    )


def summary_of(entry: ContractEntry) -> ContractSummary:
    return ContractSummary(
        id=entry.contract_id,
        tender_id=entry.tender_id,
        lot_id=entry.lot_id,
        buyer_id=entry.buyer_id,
        parties=[
            PartyView(organisation_id=p.organisation_id, share_percent=p.share_percent)
            for p in entry.parties
        ],
        status=entry.status,
        value_minor=entry.value_minor,
        currency=entry.currency,
        period=PeriodView(start=entry.period_start, end=entry.period_end),
        signed_at=entry.signed_at,
        version=entry.version,
    )


CONTRACT = "/contracts/{contract_id:uuid}"


def contract_signed(saved: Saved) -> Response[CommandResult]:
    """A command that signs a contract answers it: 201, its ETag, and where to read it."""
    response = command_response(saved, LOG, status_code=201)
    response.headers["Location"] = f"/api/v1/contracts/{saved.aggregate_id}"
    return response


async def _buyer_ends(
    commands: Commands, marketplace: MarketplaceApp, contract_id: UUID
) -> tuple[UUID]:
    """A buyer's reason route's check: the contract's buyer only; the command takes its id."""
    await _as_buyer(commands, marketplace, contract_id)
    return (contract_id,)


# A buyer's commands that end its active contract with only a reason (complete, terminate).
_ENDINGS = ReasonRoutes(CONTRACT, "contract_id", CONTRACT_BUYER, ContractReasonBody, _buyer_ends)


class ContractsController(Controller):
    path = "/api/v1"
    tags = ["contracts"]
    dependencies = {"read_model": read_model(PROJECTION)}

    # Reads ----------------------------------------------------------------------------------

    @get(
        CONTRACT,
        opt=rule(CONTRACT_READERS),
        summary="A contract: parties, value, period, status, amendments, commitments against "
        "delivery (confirmed, and reported awaiting confirmation), delivery reports; `ETag`",
    )
    async def read(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        contract_id: FromPath[UUID],
    ) -> Response[ContractView]:
        contract, _ = await _seen(commands, marketplace, contract_id)
        return Response(
            contract_view(contract),
            headers={"ETag": etag(contract.version), "Cache-Control": NO_CACHE},
        )

    @get(
        "/contracts",
        opt=rule(SIGNED_IN),
        summary="The caller's organisation's contracts, as buyer or as a party, newest first "
        "(staff: every contract)",
    )
    async def mine(
        self,
        commands: NamedDependency[Commands],
        read_model: NamedDependency[ReadModel],
        page: PageParam = 1,
        per_page: PerPageParam = 20,
        position: PositionParam = None,
    ) -> Response[ContractsPage]:
        paging = Paging(page, per_page)
        organisation_id = caller_organisation(commands)
        found: ProjectedPage[ContractEntry] = ProjectedPage([], 0)  # no organisation, none
        if Role.STAFF in current_user(commands.request).roles:
            found, consistent = await read_model.query(
                position, all_contracts, limit=paging.limit, offset=paging.offset
            )
        elif organisation_id is not None:
            found, consistent = await read_model.query(
                position,
                organisation_contracts,
                organisation_id,
                limit=paging.limit,
                offset=paging.offset,
            )
        else:
            consistent = await read_model.consistent(position)
        items = [summary_of(e) for e in found.entries]
        response = paging.response(ContractsPage, items, found.total, consistent)
        response.headers["Cache-Control"] = NO_CACHE
        return response

    # The buyer: the contract's terms --------------------------------------------------------

    @post(
        f"{CONTRACT}/amendments",
        opt=rule(CONTRACT_BUYER),
        status_code=200,
        summary="Amend an active contract's value and/or period, saying why",
        description=(
            "What is given equal to the current terms is not a change; an amendment that "
            "changes nothing is a 422. The currency never changes."
        ),
    )
    async def amend(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        contract_id: FromPath[UUID],
        data: JSONBody[ContractAmendmentBody],
    ) -> Response[CommandResult]:
        contract = await _as_buyer(commands, marketplace, contract_id)
        value = None
        if data.value_minor is not None:
            value = Money(contract.value.currency, data.value_minor)
        period = None if data.period is None else _period(data.period, "period")
        return await commands.execute(
            LOG, marketplace.amend_contract, contract_id, value, period, data.reason
        )

    complete = _ENDINGS.route(
        "completion",
        "Complete an active contract, with a reason",
        MarketplaceApp.complete_contract,
    )
    terminate = _ENDINGS.route(
        "termination",
        "Terminate an active contract, with a reason",
        MarketplaceApp.terminate_contract,
    )

    # Delivery -------------------------------------------------------------------------------

    @post(
        f"{CONTRACT}/delivery-reports",
        opt=rule(CONTRACT_SIDES),
        status_code=201,
        summary="A supplier's report of the social value delivered in a past period",
        description=(
            "By a party's users (the buyer's: 409). The `report_id` is the client's: sending "
            "the same report again answers the first. Periods do not overlap (409), but a "
            "rejected report's; each measure is one the contract commits to. If-Match: the "
            "contract's version."
        ),
    )
    async def report(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        contract_id: FromPath[UUID],
        data: JSONBody[DeliveryReportBody],
    ) -> Response[CommandResult]:
        organisation_id = await _side(commands, marketplace, contract_id)
        period = _period(data.period, "period")
        delivered = [Delivered(d.measure, d.quantity) for d in data.delivered]
        saved = await commands.save(
            marketplace.report_delivery,
            contract_id,
            data.report_id,
            organisation_id,
            period,
            delivered,
            data.note,
        )
        return command_response(saved, LOG, status_code=201)

    @post(
        f"{CONTRACT}/delivery-reports/{{report_id:uuid}}/confirmation",
        opt=rule(CONTRACT_SIDES),
        status_code=200,
        summary="The buyer confirms a delivery report: its figures count as delivered",
        description="A supplier never confirms its own delivery (409).",
    )
    async def confirm(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        contract_id: FromPath[UUID],
        report_id: FromPath[UUID],
    ) -> Response[CommandResult]:
        organisation_id = await _side(commands, marketplace, contract_id)
        return await commands.execute(
            LOG, marketplace.confirm_delivery, contract_id, report_id, organisation_id
        )

    @post(
        f"{CONTRACT}/delivery-reports/{{report_id:uuid}}/rejection",
        opt=rule(CONTRACT_SIDES),
        status_code=200,
        summary="The buyer rejects a delivery report, with why; its period is free again",
        description="A supplier never rejects its own delivery (409).",
    )
    async def reject(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        contract_id: FromPath[UUID],
        report_id: FromPath[UUID],
        data: JSONBody[ContractReasonBody],
    ) -> Response[CommandResult]:
        organisation_id = await _side(commands, marketplace, contract_id)
        return await commands.execute(
            LOG, marketplace.reject_delivery, contract_id, report_id, organisation_id, data.reason
        )


# The controllers the marketplace declaration serves.
CONTROLLERS: tuple[type[Controller], ...] = (ContractsController,)
