"""Registering an organisation with its first user: a user row and events, all or nothing.

Two ways in. Staff-run (`tradehall demo`, the member import's kin): `register_organisation`
records at once and mails a link to verify the address. The public route asks first
(`request_registration`): what was declared waits in `pending_registrations` behind a link
mailed to the address, and the answer is the same whether or not the address is taken (ADR 8);
`confirm_registration` records it when the link comes back, the address then verified.

Lives in the composition root because it joins identity (state-stored) and the membership
context (event-sourced).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from membership.application import MembershipApp, RegistryIdentifierClaimed, Saved
from membership.domain import OrganisationKind, RegistrationDetails
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import Context, user_actor
from tradehall.clock import Clock
from tradehall.identity import throttle
from tradehall.identity.accounts import (
    USED_LINK,
    VERIFY,
    mail_policy,
    pending_registration,
    registration_for_address,
    token_and_mail,
    use_pending_registration,
)
from tradehall.identity.parts import IdentityParts
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
    the clock, the worker threads, the public address the confirmation mail links to, and the
    throttle on confirming one link."""

    membership: MembershipApp
    users: UserDirectory
    passwords: Passwords
    clock: Clock
    threads: Threads
    public_url: str
    # Confirmations of one link (password guesses): counted as sign-in counts per account.
    confirmations: throttle.Policy

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
    settings = services.settings
    return Registrar(
        services.membership,
        services.users,
        services.passwords,
        services.clock,
        services.threads,
        services.settings.public_url,
        throttle.Policy(
            free=settings.login_account_free_failures,
            base_seconds=1,
            max_seconds=settings.login_max_delay_seconds,
            decay_seconds=settings.throttle_decay_seconds,
        ),
    )


def _parsed(new: NewOrganisation) -> tuple[RegistrationDetails, str]:
    """The declared details and the normalised address; 422 naming the field at fault."""
    details = RegistrationDetails.parse(**{name: getattr(new, name) for name in _DECLARED})
    email = normalise_email(new.email, field="user.email")
    check_password_policy(new.password, field="user.password")
    return details, email


async def register_organisation(
    services: Registrar, new: NewOrganisation, request_id: str
) -> Registration:
    """Validate, hash, then record the organisation's events and its user row in one commit,
    with a mail asking the user to verify their address (staff-run: no confirmation first)."""
    details, email = _parsed(new)
    if await services.users.email_taken(email):
        raise EmailTaken
    password_hash = new.password_hash
    if password_hash is None:
        password_hash = await services.run(services.passwords.hash, new.password)
    organisation_id, user_id = uuid.uuid4(), uuid.uuid4()
    verification = token_and_mail(
        VERIFY,
        recipient=email,
        now=services.clock.now(),
        public_url=services.public_url,
        user_id=user_id,
        organisation_id=organisation_id,
    )
    return await _record(
        services,
        details,
        email,
        password_hash,
        request_id,
        ids=(organisation_id, user_id),
        verified=False,
        side_writes=verification,
    )


async def _record(
    services: Registrar,
    details: RegistrationDetails,
    email: str,
    password_hash: str,
    request_id: str,
    *,
    ids: tuple[UUID, UUID],
    verified: bool,
    side_writes: Sequence[Any],
) -> Registration:
    """The organisation's events, its first user's row and `side_writes`, in one commit."""
    organisation_id, user_id = ids
    now = services.clock.now()
    user_row = insert_user(
        user_id=user_id,
        email=email,
        password_hash=password_hash,
        organisation_id=organisation_id,
        roles=first_user_roles(details.kind),
        now=now,
    )
    if verified:
        user_row = user_row.values(email_verified_at=now)
    context = Context(user_actor(user_id), request_id, now)
    try:
        saved = await services.run(
            services.membership.register_organisation,
            context,
            organisation_id,
            details,
            user_id,
            side_writes=[user_row, *side_writes],
        )
    except Conflict:
        # A racing registration took the e-mail after our check: say so, not "clash".
        if await services.users.email_taken(email):
            raise EmailTaken from None
        raise
    return Registration(organisation_id, user_id, saved)


async def request_registration(
    services: Registrar, identity: IdentityParts, new: NewOrganisation
) -> str:
    """Validate, count a mail to the address, hash, then keep the registration behind a link
    mailed to the address, or, if the address has an account, mail its owner a notice instead.
    Returns the normalised address; says nothing of which was done.

    Raises InvalidValue (422) for bad input and RegistryIdentifierClaimed (409) for a registry
    identifier already held (public: the identifier, not the address), before any mail; then
    throttle.Throttled (429) if the address has had its share of account mails, counted
    under the address whether or not it is taken. The same work follows either way: the
    password is hashed, and the same two statements write one row each
    (`accounts.registration_for_address`)."""
    details, email = _parsed(new)
    identifier = details.registry_identifier
    if identifier is not None:
        holder = await services.run(services.membership.registry_claim_holder, identifier)
        if holder is not None:
            raise RegistryIdentifierClaimed(identifier)
    now = services.clock.now()
    await throttle.count_attempt(
        identity.engine, throttle.mail_key(email), mail_policy(identity), now
    )
    password_hash = await services.run(services.passwords.hash, new.password)
    statements = registration_for_address(
        email,
        password_hash=password_hash,
        details=json.dumps({name: getattr(new, name) for name in _DECLARED}),
        organisation_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        now=now,
        public_url=services.public_url,
    )
    async with identity.engine.begin() as connection:
        for statement in statements:
            await connection.execute(statement)
    return email


def confirmation_key(hashed: str) -> str:
    """The throttle key of confirmations of one link (its hash's hash: the key names no
    secret, nor the hash a link is looked up by)."""
    return "registration:" + hashlib.sha256(hashed.encode()).hexdigest()[:40]


def _outdated(refused: Exception) -> str:
    """What a user is told of a registration its details no longer make (they ask again)."""
    why = ""
    if isinstance(refused, InvalidValue):
        why = f" (`{refused.field}`: {refused.message})"
    return (
        "this registration no longer meets the rules it is checked by"
        f"{why}: ask for the registration again"
    )


async def confirm_registration(
    services: Registrar, engine: AsyncEngine, secret: str, password: str, request_id: str
) -> Registration:
    """Record the pending registration a link's secret stands for: its events, its user (the
    address verified: the link was opened from its mailbox) and the link's use, in one commit.

    422 naming `token` for a link unknown, expired or used (two confirmations at once: one
    records, the other is told the link is used); 422 naming `password` unless it is the one
    asked with (the link is not used: the mailbox's holder proves the address, the password
    that they are who asked; else whoever asked with someone else's address would hold an
    account under it once its owner clicked); 409 if the address was registered since it was
    asked for (another pending registration confirmed first), or the registry identifier
    claimed since. 422 naming `token` too if the details kept no longer parse (the rules
    changed since it was asked for): the link is used up, and the registration must be asked
    again."""
    now = services.clock.now()
    async with engine.connect() as connection:
        pending = await pending_registration(connection, secret, now)
    # Counted before the password is checked (ADR 14): whoever holds the link cannot guess
    # at will. Raises throttle.Throttled (429); cleared when the registration is recorded.
    guesses = confirmation_key(pending.token_hash)
    await throttle.count_attempt(engine, guesses, services.confirmations, now)
    if not (await services.run(services.passwords.check, pending.password_hash, password)).ok:
        raise InvalidValue("password", "not the password this registration was asked with")
    try:
        details = RegistrationDetails.parse(**json.loads(pending.details))
    except (InvalidValue, TypeError, ValueError) as refused:
        # The rules (or the fields) changed between asking and confirming. The confirmation's
        # body is {token, password}: a problem naming a declared field could not be mended.
        # The link is used up, with what it held of the person, so it is not tried again.
        async with engine.begin() as connection:
            await connection.execute(use_pending_registration(pending.token_hash, now))
        raise InvalidValue("token", _outdated(refused)) from None
    # Plain UUIDs: asyncpg gives its own type, which the event transcoder does not know.
    ids = (UUID(str(pending.organisation_id)), UUID(str(pending.user_id)))
    try:
        if await services.users.email_taken(pending.email):
            raise EmailTaken
        registration = await _record(
            services,
            details,
            pending.email,
            pending.password_hash,
            request_id,
            ids=ids,
            verified=True,
            side_writes=[
                use_pending_registration(pending.token_hash, now),
                # Whoever holds the mailbox wanted its mail: the address's mail throttle is
                # cleared, as a password reset clears sign-in's (a reset soon after is not
                # held back, and the address keeps no row a never-mailed one would not).
                throttle.clearing(throttle.mail_key(pending.email)),
                throttle.clearing(guesses),
            ],
        )
    except Conflict as conflict:
        # Used meanwhile? A concurrent confirmation of this link recorded the same ids (and
        # so took the address: its user may be there before this one's check).
        async with engine.connect() as connection:
            try:
                await pending_registration(connection, secret, now)
            except InvalidValue:
                raise InvalidValue("token", USED_LINK) from None
        raise conflict
    return registration
