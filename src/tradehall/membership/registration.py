"""Registering an organisation with its first user: a user row and events, all or nothing.

Lives in the composition root because it joins identity (state-stored) and the membership
context (event-sourced); the API and `tradehall demo` both call it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from membership.application import MembershipApp, Saved
from membership.domain import OrganisationKind, RegistrationDetails
from sharedkernel.errors import Conflict
from sharedkernel.events import Context, user_actor
from tradehall.clock import Clock
from tradehall.identity.accounts import VERIFY, token_and_mail
from tradehall.identity.users import (
    Passwords,
    Role,
    UserDirectory,
    check_password_policy,
    insert_user,
    normalise_email,
)
from tradehall.services import Services, Threads


@dataclass(frozen=True)
class NewOrganisation:
    name: str
    kind: str
    legal_form: str
    registry_scheme: str | None
    registry_id: str | None
    social_purpose: str
    regions: list[str]
    cpv_codes: list[str]
    email: str
    password: str
    # A hash of `password` already made (seeding many accounts that share one password).
    password_hash: str | None = None


@dataclass(frozen=True)
class Registration:
    organisation_id: UUID
    user_id: UUID
    saved: Saved


class EmailTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("a user with this e-mail address is already registered")


def first_user_roles(kind: OrganisationKind) -> frozenset[Role]:
    """A social enterprise's first user is a member, anyone else's a buyer; and its admin."""
    if kind is OrganisationKind.SOCIAL_ENTERPRISE:
        return frozenset({Role.MEMBER, Role.ADMIN})
    return frozenset({Role.BUYER, Role.ADMIN})


@dataclass(frozen=True)
class Registrar:
    """What a registration uses: the membership Application, the users, the password hasher,
    the clock, the worker threads, and the public address the confirmation mail links to."""

    membership: MembershipApp
    users: UserDirectory
    passwords: Passwords
    clock: Clock
    threads: Threads
    public_url: str

    async def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await self.threads.run(fn, *args, **kwargs)


# What NewOrganisation says of the organisation itself, as RegistrationDetails.parse takes it.
_DECLARED = (
    "name",
    "kind",
    "legal_form",
    "registry_scheme",
    "registry_id",
    "social_purpose",
    "regions",
    "cpv_codes",
)


def registrar_for(services: Services) -> Registrar:
    """The registrar over the container's parts."""
    return Registrar(
        services.membership,
        services.users,
        services.passwords,
        services.clock,
        services.threads,
        services.settings.public_url,
    )


async def register_organisation(
    services: Registrar, new: NewOrganisation, request_id: str
) -> Registration:
    """Validate, hash, then record the organisation's events and its user row in one commit."""
    details = RegistrationDetails.parse(**{name: getattr(new, name) for name in _DECLARED})
    email = normalise_email(new.email, field="user.email")
    check_password_policy(new.password, field="user.password")
    if await services.users.email_taken(email):
        raise EmailTaken
    password_hash = new.password_hash
    if password_hash is None:
        password_hash = await services.run(services.passwords.hash, new.password)
    organisation_id, user_id = uuid.uuid4(), uuid.uuid4()
    now = services.clock.now()
    user_row = insert_user(
        user_id=user_id,
        email=email,
        password_hash=password_hash,
        organisation_id=organisation_id,
        roles=first_user_roles(details.kind),
        now=now,
    )
    context = Context(user_actor(user_id), request_id, now)
    try:
        saved = await services.run(
            services.membership.register_organisation,
            context,
            organisation_id,
            details,
            user_id,
            # The user, and the mail asking them to confirm their address: all or nothing.
            side_writes=[
                user_row,
                *token_and_mail(
                    VERIFY,
                    recipient=email,
                    now=now,
                    public_url=services.public_url,
                    user_id=user_id,
                    organisation_id=organisation_id,
                ),
            ],
        )
    except Conflict:
        # A racing registration took the e-mail after our check: say so, not "clash".
        if await services.users.email_taken(email):
            raise EmailTaken from None
        raise
    return Registration(organisation_id, user_id, saved)
