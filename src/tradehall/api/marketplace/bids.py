"""Sealed bids over HTTP (issue 12, ADR 27): a supplier drafts a bid per lot, writes its price,
answers and social-value commitments, attaches documents, forms a consortium, submits (with a
receipt), withdraws and submits again until the deadline; after the clock opens a tender's bids,
its buyer's users and staff read them.

Sealed means: before opening, only the bid's lead and partners learn anything of it. A bid that
is not the caller's is the same 404 as one that does not exist; bid routes carry neither the
tender nor the organisation in their path (the access log records paths) and answer no
read-your-writes position (nothing follows the bids log).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, BinaryIO
from urllib.parse import unquote
from uuid import UUID

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.params import FromPath, HeaderParameter, JSONBody
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.application import MarketplaceApp
from marketplace.bids.application import BidsApp
from marketplace.bids.bid import Bid
from marketplace.bids.content import (
    BidDocument,
    Share,
    parse_commitment,
    parse_consortium,
    parse_content,
)
from marketplace.tenders import Tender, TenderStatus
from sharedkernel.errors import InvalidValue, NotFound, StaleVersion
from sharedkernel.text import TextRejected, clean_text
from tradehall.api.access import SIGNED_IN, Access, rule
from tradehall.api.commands import Commands, command_response, current_user, etag
from tradehall.api.files import file_response, safe_filename, take_upload
from tradehall.api.identity.auth import THROTTLED_RESPONSE
from tradehall.api.marketplace.schemas.bids import (
    AcceptanceBody,
    BidContentBody,
    BidDocumentView,
    BidsList,
    BidView,
    CommitmentView,
    ConsortiumBody,
    NewBidBody,
    OpenedBidsView,
    OpenedBidView,
    ReceiptCommandResult,
    ShareView,
)
from tradehall.api.marketplace.suppliers import SUPPLIERS, Suppliers
from tradehall.api.ownership import caller_organisation
from tradehall.api.request_policy import UPLOAD_BODY
from tradehall.api.schemas.common import CommandResult
from tradehall.identity.users import Role
from tradehall.marketplace.bids import LOG
from tradehall.marketplace.bids.invitation_throttle import count_invitations
from tradehall.marketplace.bids.notices import invitations, receipts
from tradehall.marketplace.sealing.files import SealedFileStore
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.membership.evidence.files import UnknownFile
from tradehall.membership.evidence.stores import staged_intake
from tradehall.settings import Settings

BIDDER = Access(
    "users of the bid's lead or partner organisations (others: 404)", roles=frozenset(Role)
)
OPENED_BIDS = Access(
    "users of the tender's buyer organisation, or staff, after opening (others: 404)",
    roles=frozenset(Role),
)
NO_CACHE = "private, no-store"
# A bid document's name comes in a header, not the query string: a proxy's access log records
# query strings, and a file's name can say whose bid it is ("Acme - Leeds catering.pdf").
MAX_FILENAME = 200
# Percent-encoded UTF-8 takes up to twelve characters for one (four bytes, "%XX" each).
FilenameHeader = Annotated[
    str,
    HeaderParameter(
        name="x-filename",
        min_length=1,
        max_length=MAX_FILENAME * 12,
        description="the document's name, percent-encoded UTF-8 (RFC 3986)",
    ),
]


def _bad_filename(message: str) -> ValidationException:
    return ValidationException(
        f"x-filename: {message}",
        extra=[{"key": "x-filename", "message": message, "source": "header"}],
    )


def _document_name(header: str) -> str:
    """The X-Filename header's name, held to the text policy every string from a client meets
    (the request guard checks only the headers it knows; this one is decoded here): no control
    or bidirectional characters (U+202E then "fdp.exe" shows as "exe.pdf"), no blank name,
    nothing but percent-encoded UTF-8."""
    if not header.isascii():
        raise _bad_filename("percent-encode the name (UTF-8, RFC 3986)")
    try:
        name = unquote(header, errors="strict")
    except UnicodeDecodeError:
        raise _bad_filename("not percent-encoded UTF-8") from None
    if len(name) > MAX_FILENAME:
        raise InvalidValue("x-filename", f"at most {MAX_FILENAME} characters")
    try:
        return clean_text(name, max_length=MAX_FILENAME)
    except TextRejected as rejected:
        raise _bad_filename(rejected.reason) from None


def _no_bid(bid_id: UUID) -> NotFoundException:
    return NotFoundException(f"no bid {bid_id}")


def _bidder(commands: Commands) -> UUID:
    organisation_id = caller_organisation(commands)
    if organisation_id is None:
        raise PermissionDeniedException("bids are made by the users of an organisation")
    return organisation_id


async def _published(commands: Commands, marketplace: MarketplaceApp, tender_id: UUID) -> Tender:
    """A published tender; a draft is as unknown as a tender that does not exist."""
    try:
        tender = await commands.run(marketplace.tender, tender_id)
    except NotFound:
        tender = None
    if tender is None or tender.status is TenderStatus.DRAFT:
        raise NotFoundException(f"no tender {tender_id}")
    return tender


async def _own_bid(commands: Commands, bids: BidsApp, bid_id: UUID) -> tuple[Bid, UUID]:
    organisation_id = caller_organisation(commands)
    if organisation_id is None:
        raise _no_bid(bid_id)
    try:
        return await commands.run(bids.bid_for, bid_id, organisation_id), organisation_id
    except NotFound:
        raise _no_bid(bid_id) from None


@dataclass(frozen=True)
class BidAtHand:
    """The bid a route acts on: the caller's (as its lead or a partner), with its tender and
    the caller's organisation. Anyone else gets the 404 of a bid that does not exist."""

    bid: Bid
    organisation_id: UUID
    tender: Tender

    @property
    def address(self) -> tuple[Tender, UUID, UUID]:
        """What every bid command takes first: the tender, the bid's id, who acts on it."""
        return self.tender, self.bid.id, self.organisation_id


async def _bid_at_hand(
    commands: NamedDependency[Commands],
    bids: NamedDependency[BidsApp],
    marketplace: NamedDependency[MarketplaceApp],
    bid_id: FromPath[UUID],
) -> BidAtHand:
    bid, organisation_id = await _own_bid(commands, bids, bid_id)
    tender = await _published(commands, marketplace, bid.tender_id)
    return BidAtHand(bid, organisation_id, tender)


def _bids_with_tenders(
    bids: BidsApp, marketplace: MarketplaceApp, organisation_id: UUID
) -> list[tuple[Bid, Tender]]:
    """The organisation's bids, by tender and lot, each with its tender: one worker thread's
    work, each tender loaded once."""
    found = sorted(bids.bids_of(organisation_id), key=lambda bid: (str(bid.tender_id), bid.lot_id))
    tenders = {
        tender_id: marketplace.tender(tender_id) for tender_id in {b.tender_id for b in found}
    }
    return [(bid, tenders[bid.tender_id]) for bid in found]


def bid_view(bid: Bid, tender: Tender) -> BidView:
    return BidView(
        id=bid.id,
        version=bid.version,
        tender_id=bid.tender_id,
        lot_id=bid.lot_id,
        status=bid.status.value,
        currency=bid.shown_currency(tender),
        price_minor=None if bid.content.price is None else bid.content.price.minor,
        answers=dict(bid.content.answers),
        commitments=[
            CommitmentView(measure=c.measure, quantity=c.quantity, unit=c.unit)
            for c in bid.content.commitments
        ],
        documents=[
            BidDocumentView(
                name=d.name,
                filename=d.filename,
                content_type=d.content_type,
                size=d.size,
                sha256=d.sha256,
            )
            for d in bid.documents
        ],
        consortium=[
            ShareView(
                organisation_id=s.organisation_id,
                share=s.percent,
                lead=i == 0,
                accepted=i == 0 or s.organisation_id in bid.accepted,
            )
            for i, s in enumerate(bid.shares)
        ],
        consortium_round=bid.consortium_round,
        consortium_complete=bid.consortium_complete,
        submitted_at=bid.submitted_at,
        digest=bid.digest,
        invalid_reason=bid.invalid_reason,
        closed_reason=bid.closed_reason,
        tender_amended_since_drafted=tender.amendments_since(bid.created_on),
        tender_status=tender.status.value,
    )


def _bid_response(bid: Bid, tender: Tender, status_code: int = 200) -> Response[BidView]:
    return Response(
        bid_view(bid, tender),
        status_code=status_code,
        headers={"ETag": etag(bid.version), "Cache-Control": NO_CACHE},
    )


class _SealedDestination:
    """The evidence intake's store for one bid document: encrypted under the tender's key, under
    a random name (never the content's hash: equal files must not show as equal)."""

    def __init__(self, files: SealedFileStore, tender_id: UUID) -> None:
        self.files = files
        self.tender_id = tender_id
        self.name: str | None = None

    def put(self, staged: Path, sha256: str) -> None:
        self.name = self.files.put(self.tender_id, staged.read_bytes())
        staged.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        raise UnknownFile(sha256)

    def exists(self, sha256: str) -> bool:
        return False


class BidController(Controller):
    path = "/api/v1"
    tags = ["bids"]
    dependencies = {"at_hand": Provide(_bid_at_hand), "suppliers": SUPPLIERS}

    @post(
        "/bids",
        opt=rule(SIGNED_IN),
        status_code=201,
        summary="Draft your organisation's bid for a lot of a tender (once per lot)",
        description=(
            "The caller's organisation leads the bid. Eligibility (membership in good "
            "standing where the tender is for members, the quality mark where required, "
            "regions where restricted) is checked now and again at opening; the buyer's own "
            "organisation does not bid. Drafting again answers the same bid. Nobody but the "
            "bid's lead and partners learns of it before opening: no position is answered."
        ),
    )
    async def draft(
        self,
        commands: NamedDependency[Commands],
        bids: NamedDependency[BidsApp],
        marketplace: NamedDependency[MarketplaceApp],
        suppliers: NamedDependency[Suppliers],
        sealing: NamedDependency[SealingKeys],
        data: JSONBody[NewBidBody],
    ) -> Response[CommandResult]:
        lead_id = _bidder(commands)
        tender = await _published(commands, marketplace, data.tender_id)
        lead = await suppliers.facts(commands, lead_id)
        # The tender's key exists from its publication; one published before sealing gets it now.
        await commands.run(sealing.ensure_tender_key, tender.id, commands.context().at)
        saved = await commands.record(bids.draft_bid, tender, data.lot_id, lead)
        return command_response(saved, LOG, status_code=201)

    @get(
        "/bids",
        opt=rule(SIGNED_IN),
        summary="Your organisation's bids: those it leads and those it is invited into",
    )
    async def mine(
        self,
        commands: NamedDependency[Commands],
        bids: NamedDependency[BidsApp],
        marketplace: NamedDependency[MarketplaceApp],
    ) -> Response[BidsList]:
        organisation_id = caller_organisation(commands)
        found = (
            []
            if organisation_id is None
            else await commands.run(_bids_with_tenders, bids, marketplace, organisation_id)
        )
        return Response(
            BidsList(items=[bid_view(bid, tender) for bid, tender in found]),
            headers={"Cache-Control": NO_CACHE},
        )

    @get(
        "/bids/{bid_id:uuid}",
        opt=rule(BIDDER),
        summary="A bid, to its lead and partners",
    )
    async def read(
        self,
        commands: NamedDependency[Commands],
        bids: NamedDependency[BidsApp],
        marketplace: NamedDependency[MarketplaceApp],
        bid_id: FromPath[UUID],
    ) -> Response[BidView]:
        bid, _ = await _own_bid(commands, bids, bid_id)
        return _bid_response(bid, await commands.run(marketplace.tender, bid.tender_id))

    @put(
        "/bids/{bid_id:uuid}",
        opt=rule(BIDDER),
        summary="Write the bid's price, answers and social-value commitments (its lead)",
        description=(
            "A draft may be partial; a submission needs the price and an answer to every "
            "quality criterion. A submitted bid is changed after a withdrawal. Nothing changes "
            "from the deadline on."
        ),
    )
    async def change(
        self,
        commands: NamedDependency[Commands],
        bids: NamedDependency[BidsApp],
        at_hand: NamedDependency[BidAtHand],
        data: JSONBody[BidContentBody],
    ) -> Response[CommandResult]:
        bid, tender = at_hand.bid, at_hand.tender
        commitments = [
            parse_commitment(c.measure, c.quantity, c.unit, f"commitments[{i}]")
            for i, c in enumerate(data.commitments)
        ]
        content = parse_content(
            tender.terms, bid.lot_currency(tender), data.price_minor, data.answers, commitments
        )
        return await commands.execute(LOG, bids.change_content, *at_hand.address, content)

    @post(
        "/bids/{bid_id:uuid}/documents",
        opt=rule(BIDDER) | {UPLOAD_BODY: True},
        status_code=201,
        summary="Attach a document to the bid (its lead; the raw file as the body)",
        description=(
            "The same checks as every upload (type from the bytes, active content refused). "
            "Stored encrypted under the tender's key, under a random name."
        ),
    )
    async def attach(
        self,
        request: Request[Any, Any, Any],
        commands: NamedDependency[Commands],
        bids: NamedDependency[BidsApp],
        bid_files: NamedDependency[SealedFileStore],
        settings: NamedDependency[Settings],
        at_hand: NamedDependency[BidAtHand],
        filename: FilenameHeader,
    ) -> Response[CommandResult]:
        bid, organisation_id, tender = at_hand.bid, at_hand.organisation_id, at_hand.tender
        name = _document_name(filename)
        # Refused before a byte is stored: not the lead, a bid or tender that takes nothing now,
        # a version named that is not the bid's (If-Match; decided again as it is saved).
        bid.ensure_lead(organisation_id)
        bid.ensure_editable(commands.context(), tender)
        expected = commands.expected_version()
        if expected is not None and expected != bid.version:
            raise StaleVersion(expected, bid.version)
        destination = _SealedDestination(bid_files, tender.id)
        stored = await take_upload(staged_intake(settings, destination), request)
        assert destination.name is not None
        document = BidDocument(
            destination.name,
            stored.sha256,
            stored.content_type,
            stored.size,
            safe_filename(name),
        )
        try:
            saved = await commands.save(bids.attach_document, *at_hand.address, document)
        except Exception:
            await commands.run(bid_files.delete, destination.name)
            raise
        return command_response(saved, LOG, status_code=201)

    @get(
        "/bids/{bid_id:uuid}/documents/{name:str}",
        opt=rule(BIDDER),
        summary="A document of the bid, to its lead and partners",
    )
    async def document(
        self,
        commands: NamedDependency[Commands],
        bids: NamedDependency[BidsApp],
        bid_files: NamedDependency[SealedFileStore],
        bid_id: FromPath[UUID],
        name: FromPath[str],
    ) -> Response[bytes]:
        bid, _ = await _own_bid(commands, bids, bid_id)
        found = next((d for d in bid.documents if d.name == name), None)
        if found is None:
            raise NotFoundException(f"the bid has no document {name}")
        return await _sealed_file(commands, bid_files, bid.tender_id, found)

    @put(
        "/bids/{bid_id:uuid}/consortium",
        opt=rule(BIDDER),
        summary="Name the consortium's partners and everyone's share (the lead)",
        description=(
            "Whole percentages, the lead's and the partners', summing to 100; no partners "
            "makes a sole bid. Each partner must be eligible, is told, and must accept; any "
            "change to the partners or shares needs every partner to accept again.\n\n"
            "Each partner told counts against the lead's invitations to that partner (three "
            "times `TRADEHALL_ACCOUNT_MAIL_FREE_PER_ADDRESS`) and against all the lead's "
            "invitations (`TRADEHALL_ACCOUNT_MAIL_FREE_PER_ADDRESS` per partner a consortium "
            "may have); past either, the wait doubles from 60 s up to "
            "`TRADEHALL_ACCOUNT_MAIL_MAX_DELAY_SECONDS`: 429 with `Retry-After`, nothing "
            "recorded and nobody told. A request that tells nobody is not counted."
        ),
        responses=THROTTLED_RESPONSE,
    )
    async def consortium(
        self,
        commands: NamedDependency[Commands],
        bids: NamedDependency[BidsApp],
        suppliers: NamedDependency[Suppliers],
        sealing: NamedDependency[SealingKeys],
        settings: NamedDependency[Settings],
        engine: NamedDependency[AsyncEngine],
        at_hand: NamedDependency[BidAtHand],
        data: JSONBody[ConsortiumBody],
    ) -> Response[CommandResult]:
        bid, tender = at_hand.bid, at_hand.tender
        partners = [Share(p.organisation_id, p.share) for p in data.partners]
        shares = parse_consortium(bid.lead_id, data.lead_share, partners)
        facts = await suppliers.facts_of(commands, [p.organisation_id for p in partners])
        lead = await commands.run(suppliers.membership.get_organisation, bid.lead_id)
        told = invitations(sealing, tender, lead.name, settings.public_url)
        if at_hand.organisation_id != bid.lead_id:
            # A partner: the command refuses it, and nothing is counted first, or a 429 would
            # tell the partner whom the lead has been inviting to its other bids (ADR 14).
            return command_response(
                await commands.save(bids.form_consortium, *at_hand.address, shares, facts, told),
                LOG,
            )
        counted = await count_invitations(  # may be a 429
            engine,
            await commands.run(sealing.index_key),
            settings,
            commands.clock.now(),
            bid.lead_id,
            [p.organisation_id for p in partners],
        )
        try:
            saved = await commands.save(bids.form_consortium, *at_hand.address, shares, facts, told)
        except Exception:
            await counted.give_back()  # refused: nobody told
            raise
        if saved.version == bid.version:
            await counted.give_back()  # nothing changed: nobody told
        return command_response(saved, LOG)

    @post(
        "/bids/{bid_id:uuid}/acceptance",
        opt=rule(BIDDER),
        status_code=200,
        summary="Accept the consortium's terms as read (a partner)",
        description="Name the terms round read: terms changed since are read and accepted again.",
    )
    async def accept(
        self,
        commands: NamedDependency[Commands],
        bids: NamedDependency[BidsApp],
        at_hand: NamedDependency[BidAtHand],
        data: JSONBody[AcceptanceBody],
    ) -> Response[CommandResult]:
        saved = await commands.save(
            bids.accept_partnership, *at_hand.address, data.consortium_round
        )
        return command_response(saved, LOG)

    @post(
        "/bids/{bid_id:uuid}/submission",
        opt=rule(BIDDER),
        status_code=200,
        summary="Submit the bid (its lead): answered with a receipt, also sent by e-mail",
        description=(
            "Until the deadline, to the second: from the deadline on nothing is accepted, "
            "whether or not the opening clock has run. The receipt gives the time and a "
            "SHA-256 digest of what was submitted."
        ),
    )
    async def submit(
        self,
        commands: NamedDependency[Commands],
        bids: NamedDependency[BidsApp],
        suppliers: NamedDependency[Suppliers],
        sealing: NamedDependency[SealingKeys],
        at_hand: NamedDependency[BidAtHand],
    ) -> Response[ReceiptCommandResult]:
        bid, tender = at_hand.bid, at_hand.tender
        lead = await suppliers.facts(commands, bid.lead_id)
        saved = await commands.save(bids.submit, *at_hand.address, lead, receipts(sealing, tender))
        # The receipt of this submission: the bid as it saved it, whatever was done since.
        submitted = await commands.run(
            bids.bid_for, at_hand.bid.id, at_hand.organisation_id, saved.version
        )
        assert submitted.submitted_at is not None
        assert submitted.digest is not None
        return Response(
            ReceiptCommandResult(
                id=saved.aggregate_id,
                version=saved.version,
                position={},
                submitted_at=submitted.submitted_at,
                digest=submitted.digest,
            ),
            headers={"ETag": etag(saved.version), "Cache-Control": NO_CACHE},
        )

    @post(
        "/bids/{bid_id:uuid}/withdrawal",
        opt=rule(BIDDER),
        status_code=200,
        summary="Withdraw a submitted bid before the deadline (its lead); submit it again later",
    )
    async def withdraw(
        self,
        commands: NamedDependency[Commands],
        bids: NamedDependency[BidsApp],
        at_hand: NamedDependency[BidAtHand],
    ) -> Response[CommandResult]:
        return await commands.execute(LOG, bids.withdraw, *at_hand.address)


async def _sealed_file(
    commands: Commands, files: SealedFileStore, tender_id: UUID, document: BidDocument
) -> Response[bytes]:
    try:
        content = await commands.run(files.get, tender_id, document.name)
    except FileNotFoundError:
        raise NotFoundException("the document is missing from the file store") from None
    return file_response(content, document.filename, document.content_type, NO_CACHE)


class OpenedBidsController(Controller):
    path = "/api/v1"
    tags = ["bids"]

    async def _opening(
        self, commands: Commands, marketplace: MarketplaceApp, tender_id: UUID
    ) -> Any:
        """The tender's opened bids, to its buyer's users and staff; before opening (or to
        anyone else) the same 404, whatever bids there are."""
        user = current_user(commands.request)
        opening = None
        try:
            tender = await commands.run(marketplace.tender, tender_id)
        except NotFound:
            tender = None
        if tender is not None and (
            Role.STAFF in user.roles or caller_organisation(commands) == tender.buyer_id
        ):
            opening = await commands.run(marketplace.opening, tender_id)
        if opening is None:
            raise NotFoundException(f"no opened bids for tender {tender_id}")
        return opening

    @get(
        "/tenders/{tender_id:uuid}/bids",
        opt=rule(OPENED_BIDS),
        summary="A tender's bids as opened: valid ones whole, invalid ones with why",
    )
    async def opened(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        tender_id: FromPath[UUID],
    ) -> Response[OpenedBidsView]:
        opening = await self._opening(commands, marketplace, tender_id)
        return Response(
            OpenedBidsView(
                tender_id=tender_id,
                opened_at=opening.opened_at,
                bids=[
                    OpenedBidView(
                        bid_id=UUID(b["bid_id"]),
                        lot_id=b["lot_id"],
                        lead_id=UUID(b["lead_id"]),
                        consortium=b["shares"],
                        submitted_at=b["submitted_at"],
                        digest=b["digest"],
                        valid=b["valid"],
                        reason=b["reason"],
                        content=b.get("content"),
                        documents=b.get("documents"),
                    )
                    for b in opening.bids
                ],
            ),
            headers={"Cache-Control": NO_CACHE},
        )

    @get(
        "/tenders/{tender_id:uuid}/bids/{bid_id:uuid}/documents/{name:str}",
        opt=rule(OPENED_BIDS),
        summary="A document of an opened, valid bid",
    )
    async def opened_document(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        bid_files: NamedDependency[SealedFileStore],
        tender_id: FromPath[UUID],
        bid_id: FromPath[UUID],
        name: FromPath[str],
    ) -> Response[bytes]:
        opening = await self._opening(commands, marketplace, tender_id)
        bid = next((b for b in opening.bids if b["bid_id"] == str(bid_id)), None)
        documents = [BidDocument.from_data(d) for d in (bid or {}).get("documents") or []]
        found = next((d for d in documents if d.name == name), None)
        if found is None:
            raise NotFoundException(f"no document {name} of an opened bid {bid_id}")
        return await _sealed_file(commands, bid_files, tender_id, found)


CONTROLLERS = (BidController, OpenedBidsController)
