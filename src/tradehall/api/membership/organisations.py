"""The organisation registry and the membership application, over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncEngine

from membership.application import MembershipApp
from membership.contacts import ContactPoint, check_contact_points
from membership.domain import Organisation, Profile
from membership.registry import normalise_identifier
from membership.standing import GOOD_STANDING
from projections.applications import application_of
from sharedkernel.errors import NotFound
from tradehall.api.access import (
    PUBLIC,
    own_organisation,
    own_organisation_or_staff,
    rule,
    staff_only,
)
from tradehall.api.commands import Commands, command_result, etag
from tradehall.api.identity.accounts import RegistrationConfirmation
from tradehall.api.membership.directory import application_view
from tradehall.api.membership.organisation_commands import ORGANISATION, OrganisationCommands
from tradehall.api.membership.schemas.membership import ApplyForMembership, money_of
from tradehall.api.membership.schemas.organisations import (
    ContactPoints,
    ContactPointView,
    MembershipView,
    OrganisationView,
    Registered,
    RegisterOrganisation,
    RegistrationRequested,
    RegistryIdentifierView,
    Rejection,
    ReleaseClaim,
    ReplaceContactPoints,
    UpdateProfile,
)
from tradehall.api.membership.schemas.reads import ApplicationStatus
from tradehall.api.middleware import request_id_of
from tradehall.api.public_limits import THROTTLED_RESPONSE, limited_per_address, registrations
from tradehall.api.read_models import ReadModel, read_model
from tradehall.api.reads import PositionParam, with_consistency
from tradehall.api.schemas.common import CommandResult
from tradehall.identity.parts import Identity
from tradehall.membership import LOG
from tradehall.membership.contacts import (
    contact_points_of,
    erase_contact_points,
    replace_contact_points,
)
from tradehall.membership.parked_webhooks import erase_parked_webhooks
from tradehall.membership.registration import (
    NewOrganisation,
    Registrar,
    confirm_registration,
    request_registration,
)

ETAG_HEADER = [
    ResponseHeader(name="ETag", description="the organisation's version", documentation_only=True)
]


def _contact_views(points: list[ContactPoint]) -> list[ContactPointView]:
    return [
        ContactPointView(label=p.label, name=p.name, email=p.email, phone=p.phone) for p in points
    ]


def _contact_points(organisation_id: UUID, points: list[ContactPoint]) -> ContactPoints:
    return ContactPoints(organisation_id=organisation_id, contact_points=_contact_views(points))


def _view(
    organisation: Organisation, contacts: list[ContactPoint], now: datetime
) -> OrganisationView:
    """The organisation, its membership's status and standing as they stand `now` (a lapse
    time has made due is shown, though the clock has not recorded it yet)."""
    status = organisation.membership_status_at(now)
    identifier = organisation.registry_identifier
    return OrganisationView(
        id=organisation.id,
        name=organisation.name,
        kind=organisation.kind,
        legal_form=organisation.legal_form,
        registry_identifier=(
            RegistryIdentifierView(scheme=identifier.scheme, identifier=identifier.identifier)
            if identifier
            else None
        ),
        social_purpose=organisation.social_purpose,
        regions=list(organisation.regions),
        cpv_codes=list(organisation.cpv_codes),
        website=organisation.website,
        contact_points=_contact_views(contacts),
        membership=MembershipView(
            status=status,
            good_standing=status in GOOD_STANDING,
            applied_at=organisation.applied_at,
            decided_at=organisation.decided_at,
            rejection_reason=organisation.rejection_reason,
            tier=organisation.tier.code if organisation.tier else None,
            paid_up_until=organisation.paid_up_until,
            resigns_at=organisation.resignation_at,
            suspension_reason=organisation.suspension_reason,
        ),
        registered_at=organisation.created_on,
        version=organisation.version,
    )


class OrganisationController(Controller):
    path = "/api/v1/organisations"
    tags = ["organisations"]
    dependencies = ORGANISATION

    @post(
        "/",
        opt=rule(PUBLIC),
        status_code=202,
        summary="Ask to register an organisation and its first user: a link is e-mailed",
        description=(
            "Nothing is recorded yet: the registration waits (a day) for the link mailed to "
            "the first user's address, which confirms it "
            "(`POST /api/v1/organisations/confirmations`). If the address already has an "
            "account, its owner is mailed a notice instead, with no link, and the account is "
            "not changed; the answer is the same either way (ADR 8). Bad input is a 422 (or "
            "400) naming the field, and a registry identifier already registered a 409, before "
            "any mail. Account mails to one address (with resets, verifications and "
            "invitations) are throttled: after `TRADEHALL_ACCOUNT_MAIL_FREE_PER_ADDRESS` the "
            "next must wait, doubling up to `TRADEHALL_ACCOUNT_MAIL_MAX_DELAY_SECONDS`. "
            "Registrations from one client address are limited too: "
            "`TRADEHALL_REGISTRATIONS_PER_ADDRESS_PER_HOUR` at once, then one per its share of "
            "an hour (doubling up to an hour). Past either, 429 with `Retry-After`, nothing "
            "recorded and no mail."
        ),
        guards=[limited_per_address(registrations)],
        responses=THROTTLED_RESPONSE,
    )
    async def register(
        self,
        registrar: NamedDependency[Registrar],
        identity: NamedDependency[Identity],
        data: JSONBody[RegisterOrganisation],
    ) -> RegistrationRequested:
        registry = data.registry_identifier
        email = await request_registration(
            registrar,
            identity,
            NewOrganisation(
                name=data.name,
                kind=data.kind.value,
                legal_form=data.legal_form.value,
                registry_scheme=registry.scheme if registry else None,
                registry_id=registry.identifier if registry else None,
                social_purpose=data.social_purpose,
                regions=data.regions,
                cpv_codes=data.cpv_codes,
                email=data.user.email,
                password=data.user.password,
            ),
        )
        return RegistrationRequested(
            status="e-mailed",
            detail=(
                f"we have e-mailed {email}: open the link in the message within a day to "
                "confirm the registration"
            ),
        )

    @post(
        "/confirmations",
        opt=rule(PUBLIC),
        status_code=201,
        summary="Confirm a registration with the mailed link's token and the password given "
        "when asking: the organisation is recorded with its first user",
        description=(
            "The token works once, for a day. Unknown, expired or used: 422 naming `token`. "
            "The password must be the one the registration was asked with (else 422 naming "
            "`password`, and the link still works): whoever opens the link proves the mailbox, "
            "the password that they are who asked, so nobody holds an account under an "
            "address whose owner only clicked. 409 if the address was registered since "
            "(another registration of it confirmed first) or the registry identifier claimed "
            "since. If the details asked with no longer meet the rules (they changed since it was "
            "asked), 422 naming `token`: the link is used up and the registration must be asked "
            "again. Guesses at the password are counted per link, as sign-in counts them per "
            "account: after `TRADEHALL_LOGIN_ACCOUNT_FREE_FAILURES` each must wait, doubling up "
            "to `TRADEHALL_LOGIN_MAX_DELAY_SECONDS` (429 with `Retry-After`, nothing checked). "
            "The first user's address counts as verified."
        ),
        responses=THROTTLED_RESPONSE,
        response_headers=[
            *ETAG_HEADER,
            ResponseHeader(
                name="Location", description="the new organisation", documentation_only=True
            ),
        ],
    )
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        registrar: NamedDependency[Registrar],
        engine: NamedDependency[AsyncEngine],
        data: JSONBody[RegistrationConfirmation],
    ) -> Response[Registered]:
        registration = await confirm_registration(
            registrar, engine, data.token, data.password, request_id_of(request.scope)
        )
        saved, organisation_id = registration.saved, registration.organisation_id
        result = command_result(saved, LOG)
        return Response(
            Registered(
                id=saved.aggregate_id,
                user_id=registration.user_id,
                version=saved.version,
                position=result.position,
            ),
            status_code=201,
            headers={"ETag": etag(saved.version), "Location": f"{self.path}/{organisation_id}"},
        )

    @get(
        "/{organisation_id:uuid}",
        opt=rule(own_organisation_or_staff()),
        summary="An organisation, with its membership application and version (ETag)",
        response_headers=ETAG_HEADER,
    )
    async def show(
        self,
        organisation: NamedDependency[OrganisationCommands],
        engine: NamedDependency[AsyncEngine],
    ) -> Response[OrganisationView]:
        found = await organisation.load()
        async with engine.connect() as connection:
            contacts = await contact_points_of(connection, organisation.organisation_id)
        view = _view(found, contacts, organisation.commands.clock.now())
        return Response(view, headers={"ETag": etag(found.version)})

    @put(
        "/{organisation_id:uuid}/profile",
        opt=rule(own_organisation_or_staff()),
        status_code=200,
        summary="Keep the profile current: name, social purpose, regions, CPV codes, website",
        description=(
            "The whole profile as it is to stand. Recorded as one event with its actor, and "
            "only when something changed (otherwise the version stays and `position` is "
            "empty). The kind, legal form and registry identifier are not changed here."
        ),
        response_headers=ETAG_HEADER,
    )
    async def update_profile(
        self, organisation: NamedDependency[OrganisationCommands], data: JSONBody[UpdateProfile]
    ) -> Response[CommandResult]:
        profile = Profile.parse(
            name=data.name,
            social_purpose=data.social_purpose,
            regions=data.regions,
            cpv_codes=data.cpv_codes,
            website=data.website,
        )
        return await organisation.execute(organisation.membership.update_profile, profile)

    @get(
        "/{organisation_id:uuid}/contact-points",
        opt=rule(own_organisation_or_staff()),
        summary="The organisation's contact points (people's data: its users and staff only)",
    )
    async def contact_points(
        self,
        organisation: NamedDependency[OrganisationCommands],
        engine: NamedDependency[AsyncEngine],
    ) -> ContactPoints:
        await organisation.require_registered()
        async with engine.connect() as connection:
            points = await contact_points_of(connection, organisation.organisation_id)
        return _contact_points(organisation.organisation_id, points)

    @put(
        "/{organisation_id:uuid}/contact-points",
        opt=rule(own_organisation_or_staff()),
        status_code=200,
        summary="Replace the contact points with this list (kept in a table, never in events)",
    )
    async def replace_contact_points(
        self,
        organisation: NamedDependency[OrganisationCommands],
        engine: NamedDependency[AsyncEngine],
        data: JSONBody[ReplaceContactPoints],
    ) -> ContactPoints:
        points = check_contact_points(
            [
                ContactPoint.parse(
                    label=each.label,
                    name=each.name,
                    email=each.email,
                    phone=each.phone,
                    field=f"contact_points[{i}]",
                )
                for i, each in enumerate(data.contact_points)
            ]
        )
        await organisation.require_registered()
        context = organisation.commands.context()
        await replace_contact_points(
            engine, organisation.organisation_id, points, actor=context.actor, now=context.at
        )
        return _contact_points(organisation.organisation_id, list(points))

    @delete(
        "/{organisation_id:uuid}/contact-points",
        opt=rule(own_organisation_or_staff()),
        summary="Erase every contact point of the organisation",
    )
    async def erase_contact_points(
        self,
        organisation: NamedDependency[OrganisationCommands],
        engine: NamedDependency[AsyncEngine],
    ) -> None:
        await organisation.require_registered()
        await erase_contact_points(engine, organisation.organisation_id)
        # Stripe's payloads parked for staff name its people too (ADRs 4 and 13).
        await erase_parked_webhooks(engine, organisation.organisation_id)

    @post(
        "/{organisation_id:uuid}/membership/application",
        opt=rule(own_organisation()),
        status_code=200,
        summary="Apply for membership (social enterprises)",
        response_headers=ETAG_HEADER,
    )
    async def apply(
        self,
        organisation: NamedDependency[OrganisationCommands],
        data: JSONBody[ApplyForMembership],
    ) -> Response[CommandResult]:
        turnover = money_of(data.annual_turnover, "annual_turnover.amount_minor")
        return await organisation.execute(organisation.membership.apply_for_membership, turnover)

    @get(
        "/{organisation_id:uuid}/membership/application",
        opt=rule(own_organisation_or_staff()),
        summary="An organisation's membership application, from the read model",
        dependencies={"read_model": read_model("applications")},
    )
    async def status_of(
        self,
        read_model: NamedDependency[ReadModel],
        organisation_id: FromPath[UUID],
        position: PositionParam = None,
    ) -> Response[ApplicationStatus]:
        row, consistent = await read_model.query(position, application_of, organisation_id)
        if row is None:
            raise NotFound(f"no organisation {organisation_id}")
        return with_consistency(
            ApplicationStatus(application=application_view(row), consistent=consistent), consistent
        )

    @post(
        "/{organisation_id:uuid}/membership/application/withdrawal",
        opt=rule(own_organisation()),
        status_code=200,
        summary="Withdraw a pending membership application",
        response_headers=ETAG_HEADER,
    )
    async def withdraw(
        self, organisation: NamedDependency[OrganisationCommands]
    ) -> Response[CommandResult]:
        return await organisation.execute(organisation.membership.withdraw_application)

    @post(
        "/{organisation_id:uuid}/membership/admission",
        opt=rule(staff_only()),
        status_code=200,
        summary="Admit a pending applicant (staff)",
        response_headers=ETAG_HEADER,
    )
    async def admit(
        self, organisation: NamedDependency[OrganisationCommands]
    ) -> Response[CommandResult]:
        return await organisation.execute(organisation.membership.admit)

    @post(
        "/{organisation_id:uuid}/membership/rejection",
        opt=rule(staff_only()),
        status_code=200,
        summary="Reject a pending applicant with a reason (staff)",
        response_headers=ETAG_HEADER,
    )
    async def reject(
        self, organisation: NamedDependency[OrganisationCommands], data: JSONBody[Rejection]
    ) -> Response[CommandResult]:
        return await organisation.execute(organisation.membership.reject, data.reason)


class RegistryClaimController(Controller):
    path = "/api/v1/registry-claims"
    tags = ["organisations"]

    @post(
        "/release",
        opt=rule(staff_only()),
        status_code=200,
        summary="Release a wrongly claimed registry identifier (staff)",
    )
    async def release(
        self,
        commands: NamedDependency[Commands],
        membership: NamedDependency[MembershipApp],
        data: JSONBody[ReleaseClaim],
    ) -> CommandResult:
        identifier = normalise_identifier(data.scheme, data.identifier)
        release = membership.release_registry_claim
        saved = await commands.record(release, identifier, data.reason)
        return command_result(saved, LOG)
