"""`tradehall import members`: members from a CiviCRM or Wild Apricot export, all or nothing.

Every row is checked first, against registration's rules (members_csv) and then against what
is stored (e-mail addresses and registry identifiers held by others); if any row is wrong the
import records nothing and reports each error by row and column. Then each member is recorded
with its real join date and paid-up-until date as effective dates, its organisation, registry
claim and first user row in one save. Ids derive from the source system and its member id, so
a second import of the same file finds every member there already and adds nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import select

from membership.application import RegistryIdentifierClaimed
from sharedkernel.errors import Conflict, DomainError
from sharedkernel.events import IMPORTER, Context
from tradehall.identity.tables import users
from tradehall.identity.users import insert_user
from tradehall.membership.members_csv import (
    DateOrder,
    MemberRow,
    Outcome,
    ParsedExport,
    RowError,
    SkippedRow,
    Source,
    parse_export,
)
from tradehall.membership.parts import MembershipParts
from tradehall.membership.registration import first_user_roles

# Not an argon2 hash, so no password ever verifies against it: imported users sign in once
# they have set a password through the password-reset e-mail.
UNUSABLE_PASSWORD_HASH = "!imported: no password until reset"  # noqa: S105
SUSPENSION_REASON = "suspended in {source} before the import"
# The request id of everything an import records starts with this: a reader of the log can tell
# history brought over from an old system from things that happen here (e.g. not to send notices).
IMPORT_REQUEST_PREFIX = "import-"
_EMAIL_BATCH = 500


@dataclass
class ImportReport:
    source: Source
    rows: int = 0
    imported: int = 0
    already_present: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    # Rows that passed every check but could not be saved (a concurrent change): run again.
    failed: list[RowError] = field(default_factory=list)


class ImportRefused(Exception):
    """The file has errors: nothing was imported."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__(f"{len(errors)} errors: nothing imported")
        self.errors = list(errors)


Progress = Callable[[str, int, int], None]  # (stage, done, total)


async def import_members(
    services: MembershipParts,
    text: str,
    *,
    source: Source | None = None,
    date_order: DateOrder = DateOrder.DAY_FIRST,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row, then import; raises ImportRefused (nothing recorded) on any error."""
    now = services.clock.now()
    schedule = await services.run(services.membership.dues_schedule)
    parsed = parse_export(
        text, now=now, bands=schedule.bands_at(now), source=source, date_order=date_order
    )
    store_errors, present = await _check_against_store(services, parsed, progress)
    if parsed.errors or store_errors:
        # One report of everything wrong, in the file's order.
        raise ImportRefused(sorted(parsed.errors + store_errors, key=lambda error: error.row))
    report = ImportReport(
        parsed.source,
        rows=len(parsed.rows) + len(parsed.skipped),
        already_present=len(present),
        skipped=parsed.skipped,
    )
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    context = Context(IMPORTER, f"{IMPORT_REQUEST_PREFIX}{parsed.source}-{digest}", now)
    to_import = [row for row in parsed.rows if row.organisation_id not in present]
    for done, row in enumerate(to_import, start=1):
        try:
            saved = await services.run(_import_row, services, context, row)
        except RegistryIdentifierClaimed as error:
            report.failed.append(RowError(row.row, row.columns["registry_id"], error.message))
        except DomainError as error:
            report.failed.append(RowError(row.row, row.columns["source_id"], error.message))
        else:
            report.imported += saved
            report.already_present += not saved
        if progress:
            progress("importing", done, len(to_import))
    return report


def _import_row(services: MembershipParts, context: Context, row: MemberRow) -> bool:
    """Record one member; False if it is there already."""
    user_row = insert_user(
        user_id=row.user_id,
        email=row.email,
        password_hash=UNUSABLE_PASSWORD_HASH,
        organisation_id=row.organisation_id,
        roles=first_user_roles(row.details.kind),  # as a registering first user has
        now=context.at,
    )
    suspended = row.outcome is Outcome.SUSPENDED
    try:
        saved = services.membership.import_member(
            context,
            row.organisation_id,
            row.details,
            row.user_id,
            joined_at=row.joined_at,
            paid_up_until=row.paid_up_until,
            band=row.band,
            turnover=row.turnover,
            resigns_at=row.paid_up_until if row.outcome is Outcome.RESIGNED else None,
            suspension_reason=SUSPENSION_REASON.format(source=row.source) if suspended else None,
            side_writes=[user_row],
        )
    except Conflict as error:
        if isinstance(error, RegistryIdentifierClaimed):
            raise
        raise Conflict(
            f"could not be saved ({error.message}); has its e-mail address been taken since?"
        ) from error
    return saved is not None


async def _check_against_store(
    services: MembershipParts, parsed: ParsedExport, progress: Progress | None
) -> tuple[list[RowError], set[UUID]]:
    """Rows that clash with stored data, and the members imported before."""
    app = services.membership
    present: set[UUID] = set()
    errors: list[RowError] = []
    owners = await _email_owners(services, [row.email for row in parsed.rows])
    for done, row in enumerate(parsed.rows, start=1):
        if await services.run(app.is_registered, row.organisation_id):
            present.add(row.organisation_id)
        else:
            owner = owners.get(row.email, row.organisation_id)
            if owner != row.organisation_id:
                errors.append(
                    RowError(row.row, row.columns["email"], "already registered to another user")
                )
            identifier = row.details.registry_identifier
            if identifier is not None:
                holder = await services.run(app.registry_claim_holder, identifier)
                if holder not in {None, row.organisation_id}:
                    errors.append(
                        RowError(
                            row.row,
                            row.columns["registry_id"],
                            f"{identifier} is already registered to another organisation",
                        )
                    )
        if progress:
            progress("checking", done, len(parsed.rows))
    return errors, present


async def _email_owners(services: MembershipParts, emails: Sequence[str]) -> dict[str, UUID | None]:
    """The organisation of each stored user with one of these e-mail addresses."""
    owners: dict[str, UUID | None] = {}
    async with services.engine.connect() as connection:
        for start in range(0, len(emails), _EMAIL_BATCH):
            batch = emails[start : start + _EMAIL_BATCH]
            result = await connection.execute(
                select(users.c.email, users.c.organisation_id).where(users.c.email.in_(batch))
            )
            owners.update({row.email: row.organisation_id for row in result})
    return owners


async def import_with_progress(
    services: MembershipParts, text: str, *, source: Source | None, date_order: DateOrder
) -> ImportReport:
    """`import_members` with a progress bar per stage (checking the store, importing)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn

    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        return await import_members(
            services, text, source=source, date_order=date_order, progress=advance
        )
