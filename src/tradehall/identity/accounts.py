"""Account e-mails: verify an address, reset a password, invite a colleague, confirm a
registration.

Each writes a one-use token (only its hash is kept) and an outbox message in one transaction.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Insert,
    String,
    Text,
    Update,
    Uuid,
    case,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.sqltypes import UtcDateTime
from tradehall.identity import throttle
from tradehall.identity.parts import IdentityParts
from tradehall.identity.sessions import revoke_user_tokens
from tradehall.identity.tables import account_tokens, pending_registrations, users
from tradehall.identity.tokens import token_hash, use_once
from tradehall.identity.users import (
    Role,
    User,
    check_password_policy,
    insert_user,
    normalise_email,
)
from tradehall.mail.tables import outbox_messages

VERIFY, RESET, INVITE = "verify", "reset", "invite"
# A registration's link, and the notice sent instead when the address already has an account.
REGISTER, REGISTER_TAKEN = "registration", "registration_taken"
# The notice sent instead of an invitation when the address already has an account.
INVITE_TAKEN = "invitation_taken"
LIFETIMES = {
    VERIFY: timedelta(days=7),
    RESET: timedelta(hours=1),
    INVITE: timedelta(days=14),
    REGISTER: timedelta(days=1),
}
UNKNOWN_LINK = "this link is unknown or has expired"
# Invitations one organisation sends (to any addresses) before each must wait: the account-mail
# wait, doubling from a minute to its bound; one is forgotten per throttle decay.
INVITATIONS_FREE_PER_ORGANISATION = 20
USED_LINK = "this link has been used already"
OUTDATED_INVITATION = "this invitation names a role that no longer exists: ask for a new invitation"
INVITER_GONE = (
    "whoever sent this invitation no longer administers the organisation: ask for a new invitation"
)
_MAIL = {
    VERIFY: ("Confirm your e-mail address", "Confirm this address for Tradehall: {link}"),
    RESET: (
        "Reset your Tradehall password",
        "Someone asked to reset your password. If it was you: {link} (valid for an hour). "
        "If not, ignore this message.",
    ),
    INVITE: (
        "You are invited to Tradehall",
        "A colleague invited you to act for your organisation on Tradehall. Set your password "
        "here: {link}",
    ),
    REGISTER: (
        "Confirm your Tradehall registration",
        "Someone, we hope you, asked to register an organisation on Tradehall with this "
        "address. To confirm the registration: {link} (valid for a day). If it was not you, "
        "ignore this message: nothing is registered without it.",
    ),
    # No link: nothing is registered, and the account is not changed.
    REGISTER_TAKEN: (
        "Someone tried to register with your Tradehall address",
        "Someone asked to register an organisation on Tradehall with this address, which "
        "already has an account. If it was you, sign in (or ask for a password reset if you "
        "have forgotten your password). If not, ignore this message: nothing was changed.",
    ),
    # No link: an account acts for one organisation, and is not changed.
    INVITE_TAKEN: (
        "You were invited to Tradehall",
        "A colleague invited this address to act for their organisation on Tradehall, but it "
        "already has an account, and an account acts for one organisation only. Nothing was "
        "changed. If you expected the invitation, ask them to invite another address.",
    ),
}
_PATHS = {
    VERIFY: "account/verify",
    RESET: "account/reset",
    INVITE: "account/invitation",
    REGISTER: "registration/confirm",
}


def token_and_mail(
    purpose: str,
    *,
    recipient: str,
    now: datetime,
    public_url: str,
    user_id: UUID | None = None,
    organisation_id: UUID | None = None,
    roles: frozenset[Role] | None = None,
) -> list[Insert]:
    """The token row and the message carrying its secret, to write in one transaction."""
    secret = secrets.token_urlsafe(32)
    hashed = token_hash(secret)
    subject, body = _MAIL[purpose]
    link = f"{public_url.rstrip('/')}/{_PATHS[purpose]}?token={secret}"
    return [
        insert(account_tokens).values(
            token_hash=hashed,
            purpose=purpose,
            user_id=user_id,
            organisation_id=organisation_id,
            email=recipient if purpose == INVITE else None,
            roles=" ".join(sorted(roles)) if roles else None,
            expires_at=now + LIFETIMES[purpose],
            used_at=None,
            created_at=now,
        ),
        insert(outbox_messages).values(
            message_id=_message_id(hashed),
            template=f"account_{purpose}",
            organisation_id=organisation_id,
            recipient=recipient,
            subject=subject,
            body=body.format(link=link),
            created_at=now,
            sent_at=None,
            attempts=0,
            last_error=None,
        ),
    ]


async def _write(identity: IdentityParts, statements: list[Insert]) -> None:
    async with identity.engine.begin() as connection:
        for statement in statements:
            await connection.execute(statement)


async def _write_token(identity: IdentityParts, purpose: str, recipient: str, **about: Any) -> None:
    """A `purpose` token for `recipient` and its message, written now in one transaction;
    `about` names the user, organisation or roles it is for (see `token_and_mail`)."""
    now, public_url = identity.clock.now(), identity.settings.public_url
    await _write(
        identity,
        token_and_mail(purpose, recipient=recipient, now=now, public_url=public_url, **about),
    )


async def _use_token(identity: IdentityParts, connection: Any, secret: str, purpose: str) -> Any:
    """The token's row, marked used in the caller's transaction; refused if not usable."""
    now = identity.clock.now()
    hashed = token_hash(secret)
    row = (
        await connection.execute(
            select(account_tokens).where(
                account_tokens.c.token_hash == hashed, account_tokens.c.purpose == purpose
            )
        )
    ).first()
    if row is None or row.expires_at < now:
        raise InvalidValue("token", UNKNOWN_LINK)
    claimed = await connection.execute(use_once(account_tokens, hashed, now))
    if claimed.rowcount != 1:
        raise InvalidValue("token", USED_LINK)
    return row


async def _check_token(identity: IdentityParts, secret: str, purpose: str) -> None:
    """Refuse a link unknown, expired or used, as `_use_token` would, without using it: looked
    at before a new password is hashed, so a made-up link costs no hash (the routes are public
    and unthrottled; argon2 is slow and takes 64 MiB by design). `_use_token` still decides."""
    async with identity.engine.connect() as connection:
        row = (
            await connection.execute(
                select(account_tokens.c.expires_at, account_tokens.c.used_at).where(
                    account_tokens.c.token_hash == token_hash(secret),
                    account_tokens.c.purpose == purpose,
                )
            )
        ).first()
    if row is None or row.expires_at < identity.clock.now():
        raise InvalidValue("token", UNKNOWN_LINK)
    if row.used_at is not None:
        raise InvalidValue("token", USED_LINK)


def mail_policy(identity: IdentityParts) -> throttle.Policy:
    """Account mails (reset, verification) to one address: a few, then a growing wait."""
    settings = identity.settings
    return throttle.Policy(
        free=settings.account_mail_free_per_address,
        base_seconds=60,
        max_seconds=settings.account_mail_max_delay_seconds,
        decay_seconds=settings.throttle_decay_seconds,
    )


def invitations_policy(identity: IdentityParts) -> throttle.Policy:
    """Invitations from one organisation, to whatever addresses: anyone may register and so
    administer one, and each recipient's throttle does not bound how many strangers it mails."""
    settings = identity.settings
    return throttle.Policy(
        free=INVITATIONS_FREE_PER_ORGANISATION,
        base_seconds=60,
        max_seconds=settings.account_mail_max_delay_seconds,
        decay_seconds=settings.throttle_decay_seconds,
    )


def invitations_key(organisation_id: UUID) -> str:
    return f"invitations:organisation:{organisation_id}"


async def request_verification(identity: IdentityParts, user: User) -> None:
    """Raises throttle.Throttled if the address has had its share of mails."""
    async with identity.engine.connect() as connection:
        email = (
            await connection.execute(select(users.c.email).where(users.c.id == user.id))
        ).scalar_one()
    await throttle.count_attempt(
        identity.engine, throttle.mail_key(email), mail_policy(identity), identity.clock.now()
    )
    await _write_token(
        identity, VERIFY, email, user_id=user.id, organisation_id=user.organisation_id
    )


async def confirm_verification(identity: IdentityParts, secret: str) -> None:
    async with identity.engine.begin() as connection:
        row = await _use_token(identity, connection, secret, VERIFY)
        await connection.execute(
            update(users)
            .where(users.c.id == row.user_id)
            .values(email_verified_at=identity.clock.now())
        )


async def request_password_reset(identity: IdentityParts, email: str) -> None:
    """Sends a reset link if the address has an account; says nothing either way.

    Both ways do the same work, so the time taken says nothing either: the address's mail
    throttle is counted (raises throttle.Throttled), then one transaction runs the same two
    statements, which write a token and a message only if an enabled user has the address.
    """
    address = normalise_email(email)
    now = identity.clock.now()
    await throttle.count_attempt(
        identity.engine, throttle.mail_key(address), mail_policy(identity), now
    )
    await _write(
        identity, reset_for_address(address, now=now, public_url=identity.settings.public_url)
    )


def reset_for_address(address: str, *, now: datetime, public_url: str) -> list[Insert]:
    """A reset token and its message for the user with this address, if there is one:
    INSERT ... SELECT from users, so the statements are the same whether or not there is."""
    secret = secrets.token_urlsafe(32)
    hashed = token_hash(secret)
    subject, body = _MAIL[RESET]
    link = f"{public_url.rstrip('/')}/{_PATHS[RESET]}?token={secret}"
    account = select(users.c.id, users.c.organisation_id).where(
        users.c.email == address, users.c.disabled_at.is_(None)
    )
    found = account.subquery("account")
    return [
        insert(account_tokens).from_select(
            [
                "token_hash",
                "purpose",
                "user_id",
                "organisation_id",
                "email",
                "roles",
                "expires_at",
                "used_at",
                "created_at",
            ],
            select(
                literal(hashed),
                literal(RESET),
                found.c.id,
                found.c.organisation_id,
                null(),
                null(),
                literal(now + LIFETIMES[RESET], UtcDateTime),
                null(),
                literal(now, UtcDateTime),
            ),
        ),
        _selected_message(
            hashed,
            now,
            template=literal(f"account_{RESET}"),
            organisation_id=found.c.organisation_id,
            recipient=literal(address),
            subject=literal(subject),
            body=literal(body.format(link=link)),
        ),
    ]


def _message_id(hashed: str) -> str:
    """A token's message's Message-ID, from its hash: the same each time it is sent."""
    return f"<{uuid.uuid5(uuid.NAMESPACE_OID, hashed)}@tradehall.invalid>"


def _selected_message(hashed: str, now: datetime, **decided: Any) -> Insert:
    """A token's message, INSERT ... SELECT: `decided` gives the template, organisation_id,
    recipient, subject and body as expressions (literals, columns of what is selected from,
    CASEs); the rest is as every account mail has it."""
    columns = ["template", "organisation_id", "recipient", "subject", "body"]
    return insert(outbox_messages).from_select(
        ["message_id", *columns, "created_at", "sent_at", "attempts", "last_error"],
        select(
            literal(_message_id(hashed)),
            *(decided[name] for name in columns),
            literal(now, UtcDateTime),
            null(),
            literal(0),
            null(),
        ),
    )


async def confirm_password_reset(identity: IdentityParts, secret: str, password: str) -> None:
    check_password_policy(password)
    await _check_token(identity, secret, RESET)
    password_hash = await identity.run(identity.passwords.hash, password)
    now = identity.clock.now()
    async with identity.engine.begin() as connection:
        row = await _use_token(identity, connection, secret, RESET)
        await connection.execute(
            update(users).where(users.c.id == row.user_id).values(password_hash=password_hash)
        )
        # Every token signed in with the old password stops working now.
        for statement in revoke_user_tokens(row.user_id, now, "password reset"):
            await connection.execute(statement)
        email = (
            await connection.execute(select(users.c.email).where(users.c.id == row.user_id))
        ).scalar_one()
        # Any other reset link still out there stops working with this one.
        await connection.execute(
            update(account_tokens)
            .where(
                account_tokens.c.user_id == row.user_id,
                account_tokens.c.purpose == RESET,
                account_tokens.c.used_at.is_(None),
            )
            .values(used_at=identity.clock.now())
        )
    # Whoever holds the mailbox may sign in again at once.
    await throttle.clear(identity.engine, throttle.account_key(email))


async def invite(identity: IdentityParts, inviter: User, organisation_id: UUID, email: str) -> None:
    """Raises throttle.Throttled if the address has had its share of account mails: anyone
    may register and so administer an organisation, so invitations are held to the same
    per-recipient throttle as resets and verifications (no stream of mail to a stranger);
    and if the organisation has sent its share of invitations, to whatever addresses (no
    stream of mail to strangers).

    Answered the same whether or not the address has an account (ADR 8: otherwise any
    organisation's admin could test addresses): one with an account is sent a notice with no
    link instead, beside an inert token, by the same statements (`invitation_for_address`)."""
    address = normalise_email(email)
    now = identity.clock.now()
    # The organisation's count first (its admin learns only of its own), then the recipient's;
    # a recipient's 429 gives the organisation its attempt back.
    sent = await throttle.count_attempt(
        identity.engine, invitations_key(organisation_id), invitations_policy(identity), now
    )
    try:
        await throttle.count_attempt(
            identity.engine, throttle.mail_key(address), mail_policy(identity), now
        )
    except throttle.Throttled:
        await throttle.refund(identity.engine, sent)
        raise
    # The invitee acts as the inviter does (member or buyer), without administering others.
    roles = frozenset(inviter.roles & {Role.MEMBER, Role.BUYER}) or frozenset({Role.MEMBER})
    await _write(
        identity,
        invitation_for_address(
            address,
            organisation_id=organisation_id,
            roles=roles,
            invited_by=inviter.id,
            now=now,
            public_url=identity.settings.public_url,
        ),
    )


class _ByAddress:
    """The parts of an `INSERT ... SELECT` decided in the database by whether a user has the
    address: the same statements run either way, each writing one row, so neither the answer
    nor the work says whether it is taken (ADR 8). A one-use secret for the link."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.secret = secrets.token_urlsafe(32)
        self.hashed = token_hash(self.secret)
        self.taken = select(users.c.id).where(users.c.email == address).exists()

    def unless_taken(self, value: Any, type_: Any) -> Any:
        """`value`, or NULL if the address is taken (an inert row keeps nothing of it)."""
        return case((self.taken, null()), else_=literal(value, type_))

    def free_or_taken(self, free: str, if_taken: str) -> Any:
        return case((self.taken, literal(if_taken)), else_=literal(free))

    def used_if_taken(self, now: datetime) -> Any:
        """An inert row is used from the start: its link, never mailed, can do nothing."""
        return case((self.taken, literal(now, UtcDateTime)), else_=null())

    def message(
        self, now: datetime, public_url: str, purposes: tuple[str, str], organisation_id: Any
    ) -> Insert:
        """One message: the link (`purposes[0]`'s mail) if the address is free, else the
        owner's notice with no link (`purposes[1]`'s)."""
        free, if_taken = purposes
        subject, body = _MAIL[free]
        notice_subject, notice = _MAIL[if_taken]
        link = f"{public_url.rstrip('/')}/{_PATHS[free]}?token={self.secret}"
        return _selected_message(
            self.hashed,
            now,
            template=self.free_or_taken(f"account_{free}", f"account_{if_taken}"),
            organisation_id=organisation_id,
            recipient=literal(self.address),
            subject=self.free_or_taken(subject, notice_subject),
            body=self.free_or_taken(body.format(link=link), notice),
        )


def invitation_for_address(
    address: str,
    *,
    organisation_id: UUID,
    roles: frozenset[Role],
    now: datetime,
    public_url: str,
    invited_by: UUID | None = None,
) -> list[Insert]:
    """An invitation token and the message carrying its link, if no user has the address; if
    one has, an inert token (used, without the address or roles) and a notice with no link.
    `invited_by` is the admin sending it (`accept_invitation` checks they still are one).

    INSERT ... SELECT, as `registration_for_address`: the same two statements run either way,
    each writing one row, so the work does not say whether the address is taken."""
    by = _ByAddress(address)
    return [
        insert(account_tokens).from_select(
            [
                "token_hash",
                "purpose",
                "user_id",
                "organisation_id",
                "email",
                "roles",
                "invited_by",
                "expires_at",
                "used_at",
                "created_at",
            ],
            select(
                literal(by.hashed),
                literal(INVITE),
                null(),
                literal(organisation_id, Uuid),
                by.unless_taken(address, String),
                by.unless_taken(" ".join(sorted(roles)), String),
                literal(invited_by, Uuid),
                literal(now + LIFETIMES[INVITE], UtcDateTime),
                by.used_if_taken(now),
                literal(now, UtcDateTime),
            ),
        ),
        by.message(
            now,
            public_url,
            (INVITE, INVITE_TAKEN),
            organisation_id=by.unless_taken(organisation_id, Uuid),
        ),
    ]


async def accept_invitation(identity: IdentityParts, secret: str, password: str) -> UUID:
    check_password_policy(password)
    await _check_token(identity, secret, INVITE)
    password_hash = await identity.run(identity.passwords.hash, password)
    user_id = uuid.uuid4()
    outdated = gone = False
    try:
        async with identity.engine.begin() as connection:
            row = await _use_token(identity, connection, secret, INVITE)
            try:
                roles = frozenset(Role(name) for name in (row.roles or "").split())
            except ValueError:
                # A role renamed or dropped since the invitation was sent: the body is
                # {token, password}, nothing the invitee could mend. The link is used up
                # (this transaction commits) and nobody is added.
                outdated = True
            if not outdated and not await _inviter_still_admin(connection, row):
                # The inviter lost the admin role, was disabled or left the organisation since:
                # their invitation goes with it. Used up, nobody added, as above.
                gone = True
            elif not outdated:
                await connection.execute(
                    insert_user(
                        user_id=user_id,
                        email=row.email,
                        password_hash=password_hash,
                        organisation_id=row.organisation_id,
                        roles=roles,
                        now=identity.clock.now(),
                    ).values(email_verified_at=identity.clock.now())
                )
    except IntegrityError:
        raise Conflict("a user with this e-mail address is already registered") from None
    if outdated:
        raise InvalidValue("token", OUTDATED_INVITATION)
    if gone:
        raise InvalidValue("token", INVITER_GONE)
    return user_id


async def _inviter_still_admin(connection: Any, row: Any) -> bool:
    """Whether the invitation's sender is still an enabled admin of its organisation, read in
    the accepting transaction after its token is claimed, so a role removed or a user disabled
    at the same moment cannot slip through. PostgreSQL: the row is read FOR SHARE, so a change
    not yet committed is waited for and its result read, and one begun after waits for this
    acceptance to commit. SQLite: the claim took the database's one write lock, so no change
    commits between this read and the acceptance's commit (SQLite leaves FOR SHARE out).
    A link written before its inviter was recorded (migration 0036) has none: accepted."""
    if row.invited_by is None:
        return True
    inviter = (
        await connection.execute(
            select(users.c.organisation_id, users.c.roles, users.c.disabled_at)
            .where(users.c.id == row.invited_by)
            .with_for_update(read=True)
        )
    ).first()
    return (
        inviter is not None
        and inviter.disabled_at is None
        and inviter.organisation_id is not None
        and str(inviter.organisation_id) == str(row.organisation_id)
        and Role.ADMIN.value in inviter.roles.split()
    )


def registration_for_address(
    address: str,
    *,
    password_hash: str,
    details: str,
    organisation_id: UUID,
    user_id: UUID,
    now: datetime,
    public_url: str,
) -> list[Insert]:
    """A pending registration (`details`, the password's hash, the ids it will record) and the
    message carrying its link, if no user has the address; if one has, an inert row (used,
    without the address, hash or details) and a notice to the owner with no link.

    INSERT ... SELECT, as `reset_for_address`: the same two statements run either way, and
    each writes one row, so the work does not say whether the address is taken; the decision
    is made in the transaction that writes them."""
    by = _ByAddress(address)
    return [
        insert(pending_registrations).from_select(
            [
                "token_hash",
                "organisation_id",
                "user_id",
                "email",
                "password_hash",
                "details",
                "created_at",
                "expires_at",
                "used_at",
            ],
            select(
                literal(by.hashed),
                literal(organisation_id, Uuid),
                literal(user_id, Uuid),
                by.unless_taken(address, String),
                by.unless_taken(password_hash, String),
                by.unless_taken(details, Text),
                literal(now, UtcDateTime),
                literal(now + LIFETIMES[REGISTER], UtcDateTime),
                by.used_if_taken(now),
            ),
        ),
        by.message(now, public_url, (REGISTER, REGISTER_TAKEN), organisation_id=null()),
    ]


async def pending_registration(connection: Any, secret: str, now: datetime) -> Any:
    """The pending registration a link's secret stands for; refused as account links are
    (422 naming `token`) if unknown, expired or used."""
    row = (
        await connection.execute(
            select(pending_registrations).where(
                pending_registrations.c.token_hash == token_hash(secret)
            )
        )
    ).first()
    if row is None or row.expires_at < now:
        raise InvalidValue("token", UNKNOWN_LINK)
    if row.used_at is not None:
        raise InvalidValue("token", USED_LINK)
    return row


def use_pending_registration(hashed: str, now: datetime) -> Update:
    """Mark a pending registration used and drop what it held of the person: run in the
    transaction that records the organisation."""
    return use_once(pending_registrations, hashed, now).values(
        email=None, password_hash=None, details=None
    )
