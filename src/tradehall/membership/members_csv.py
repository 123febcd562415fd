"""Membership exports from CiviCRM and Wild Apricot: their columns, and each row read and checked.

Pure: no I/O beyond the text given. Each row is checked with the rules of registration
(`RegistrationDetails.parse`, e-mail normalisation) plus the dates and status an import needs;
every error is collected with its row (spreadsheet numbering: the header is row 1) and column,
so one run reports everything wrong with a file. docs/members-import.md is the mapping's guide.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from uuid import UUID, uuid5

from membership.domain import RegistrationDetails
from membership.dues import DUES_CURRENCY, DuesBand, band_for
from membership.lifecycle import check_turnover
from sharedkernel.errors import InvalidValue
from sharedkernel.moments import plausible_moment
from sharedkernel.money import Money
from sharedkernel.text import TextRejected, clean_text
from tradehall.identity.users import normalise_email

# Organisation and user ids of imported members derive from the source system and its id, so
# importing the same file again finds them (uuid5 in this namespace).
IMPORT_NAMESPACE = UUID("5d0c3f5e-7a51-4c1e-8f0a-2b6e9d4c1a37")


class Source(StrEnum):
    CIVICRM = "civicrm"
    WILD_APRICOT = "wildapricot"


# Each field an import reads, and the headers that may carry it, in order of preference: the
# first of them present in the file and filled in on the row gives the value.
SOURCE_COLUMNS: dict[Source, dict[str, tuple[str, ...]]] = {
    Source.CIVICRM: {
        "source_id": ("Contact ID", "Internal Contact ID"),
        "name": ("Organization Name", "Display Name"),
        "email": ("Email",),
        "membership_type": ("Membership Type",),
        "status": ("Membership Status", "Status"),
        "joined": ("Member Since", "Membership Start Date", "Start Date"),
        "paid_up_until": ("Membership Expiration Date", "Membership End Date", "End Date"),
    },
    Source.WILD_APRICOT: {
        "source_id": ("User ID", "Member ID"),
        "name": ("Organization",),
        "email": ("Email", "e-Mail"),
        "membership_type": ("Membership level",),
        "status": ("Membership status",),
        "joined": ("Member since",),
        "paid_up_until": ("Renewal due",),
    },
}
# Our own columns, the same for every source (add them to the export before importing).
EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {
    "legal_form": ("Legal Form",),
    "registry_scheme": ("Registry Scheme",),
    "registry_id": ("Registry ID",),
    "regions": ("Regions",),
    "cpv_codes": ("CPV Codes",),
    "social_purpose": ("Social Purpose",),
    "annual_turnover": ("Annual Turnover",),
}
REQUIRED_FIELDS = (
    "source_id",
    "name",
    "email",
    "status",
    "joined",
    "paid_up_until",
    "regions",
    "cpv_codes",
    "social_purpose",
)
DEFAULT_LEGAL_FORM = "other"
MAX_SOURCE_ID = 64
# A row's value by field name; an error on a field of the row.
_Cell = Callable[[str], str]
_Fail = Callable[[str, str], None]


class Outcome(StrEnum):
    """What a row's status in the old system makes of it here."""

    MEMBER = "member"  # standing derived from the dates
    RESIGNED = "resigned"  # ended by the member: resigned at its paid-up-until date
    SUSPENDED = "suspended"  # imported, then suspended
    SKIPPED = "skipped"  # never a member (pending applications, deceased contacts)


STATUSES: dict[Source, dict[str, Outcome]] = {
    # CiviCRM's default membership statuses (labels).
    Source.CIVICRM: {
        "new": Outcome.MEMBER,
        "current": Outcome.MEMBER,
        "grace": Outcome.MEMBER,
        "expired": Outcome.MEMBER,
        "cancelled": Outcome.RESIGNED,
        "pending": Outcome.SKIPPED,
        "deceased": Outcome.SKIPPED,
    },
    # Wild Apricot's member statuses, as exported ("Pending - Renewal") or as in its API.
    Source.WILD_APRICOT: {
        "active": Outcome.MEMBER,
        "lapsed": Outcome.MEMBER,
        "pendingrenewal": Outcome.MEMBER,
        "pendinglevelchange": Outcome.MEMBER,
        "pendingupgrade": Outcome.MEMBER,
        "suspended": Outcome.SUSPENDED,
        "pendingnew": Outcome.SKIPPED,
    },
}

LEGAL_FORM_ALIASES = {
    "cic": "cic",
    "community_interest_company": "cic",
    "co_op": "co_operative_society",
    "coop": "co_operative_society",
    "co_operative": "co_operative_society",
    "cooperative": "co_operative_society",
    "cooperative_society": "co_operative_society",
    "co_operative_society": "co_operative_society",
    "cbs": "community_benefit_society",
    "bencom": "community_benefit_society",
    "cio": "charitable_incorporated_organisation",
    "charitable_incorporated_organization": "charitable_incorporated_organisation",
    "clg": "company_limited_by_guarantee",
    "company_limited_by_guarantee": "company_limited_by_guarantee",
    "ltd": "company_limited_by_shares",
    "cls": "company_limited_by_shares",
    "sole_trader": "sole_trader_or_partnership",
    "partnership": "sole_trader_or_partnership",
}

# Which of our columns each registration field maps to, for error messages.
_DETAIL_FIELDS = {
    "name": "name",
    "legal_form": "legal_form",
    "registry_identifier.scheme": "registry_scheme",
    "registry_identifier.identifier": "registry_id",
    "registry_identifier": "registry_id",
    "social_purpose": "social_purpose",
    "regions": "regions",
    "cpv_codes": "cpv_codes",
}


class DateOrder(StrEnum):
    DAY_FIRST = "dmy"
    MONTH_FIRST = "mdy"


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f'row {self.row}, column "{self.column}": {self.message}'


@dataclass(frozen=True)
class SkippedRow:
    row: int
    reason: str


@dataclass(frozen=True)
class MemberRow:
    """One row, checked: what the import records."""

    row: int
    source: Source
    source_id: str
    details: RegistrationDetails
    email: str
    joined_at: datetime
    paid_up_until: datetime
    band: DuesBand
    turnover: Money | None
    outcome: Outcome
    columns: Mapping[str, str]  # field -> the header it was read from, for later errors

    @property
    def organisation_id(self) -> UUID:
        return uuid5(IMPORT_NAMESPACE, f"{self.source}:{self.source_id}")

    @property
    def user_id(self) -> UUID:
        return uuid5(IMPORT_NAMESPACE, f"{self.source}:{self.source_id}:first-user")


@dataclass
class ParsedExport:
    source: Source
    rows: list[MemberRow] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class UnreadableExport(Exception):
    """The file is not a membership export we can read (no rows, unknown columns)."""


def _key(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").split()).casefold()


def detect_source(headers: Sequence[str]) -> Source:
    present = {_key(h) for h in headers}
    for source, columns in SOURCE_COLUMNS.items():
        if any(_key(header) in present for header in columns["source_id"]):
            return source
    expected = " or ".join(f'"{SOURCE_COLUMNS[s]["source_id"][0]}" ({s})' for s in Source)
    raise UnreadableExport(f"row 1: no {expected} column: which system is this export from?")


def parse_export(
    text: str,
    *,
    now: datetime,
    bands: Sequence[DuesBand],
    source: Source | None = None,
    date_order: DateOrder = DateOrder.DAY_FIRST,
) -> ParsedExport:
    """Read and check every row; nothing is skipped silently and nothing stops at one error."""
    records = _records(text)
    if not records or not any(cell.strip() for cell in records[0]):
        raise UnreadableExport("the file is empty: the first row should name the columns")
    headers = records[0]
    chosen = source or detect_source(headers)
    index: dict[str, int] = {}
    for position, header in enumerate(headers):
        index.setdefault(_key(header), position)
    wanted = SOURCE_COLUMNS[chosen] | EXTRA_COLUMNS
    columns = {
        name: [(h, index[_key(h)]) for h in candidates if _key(h) in index]
        for name, candidates in wanted.items()
    }
    parsed = ParsedExport(chosen)
    for name in REQUIRED_FIELDS:
        if not columns[name]:
            expected = " or ".join(f'"{h}"' for h in wanted[name])
            parsed.errors.append(RowError(1, wanted[name][0], f"missing: add a column {expected}"))
    if parsed.errors:
        return parsed
    reader = _RowReader(chosen, columns, now, bands, date_order)
    first_seen: dict[tuple[str, str], int] = {}
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines at the end of a spreadsheet's export
        result = reader.read(number, record)
        if isinstance(result, SkippedRow):
            parsed.skipped.append(result)
            continue
        if isinstance(result, list):
            parsed.errors.extend(result)
            continue
        duplicates = _duplicates(result, first_seen)
        if duplicates:
            parsed.errors.extend(duplicates)
            continue
        parsed.rows.append(result)
    return parsed


def _records(text: str) -> list[list[str]]:
    """The file's records; UnreadableExport naming the line if the CSV reader cannot read it
    (a cell longer than it takes, a quote left open)."""
    reader = csv.reader(io.StringIO(text))
    try:
        return list(reader)
    except csv.Error as error:
        raise UnreadableExport(f"line {reader.line_num}: {error}") from None


def _duplicates(row: MemberRow, first_seen: dict[tuple[str, str], int]) -> list[RowError]:
    """A second row for the same member, e-mail or registry identifier as an earlier one."""
    identifier = row.details.registry_identifier
    keys = [
        ("source_id", row.source_id, "the same member"),
        ("email", row.email, "the same e-mail address"),
    ]
    if identifier is not None:
        keys.append(("registry_id", str(identifier), "the same registry identifier"))
    errors = []
    for name, value, what in keys:
        earlier = first_seen.setdefault((name, value), row.row)
        if earlier != row.row:
            errors.append(RowError(row.row, row.columns[name], f"{what} as row {earlier}"))
    return errors


class _RowReader:
    def __init__(
        self,
        source: Source,
        columns: Mapping[str, list[tuple[str, int]]],
        now: datetime,
        bands: Sequence[DuesBand],
        date_order: DateOrder,
    ) -> None:
        self.source = source
        self.columns = columns
        self.now = now
        self.bands = bands
        self.date_order = date_order

    def value(self, record: Sequence[str], name: str) -> tuple[str, str]:
        """The field's value on the row, and the header it came from ('' when absent)."""
        candidates = self.columns[name]
        for header, position in candidates:
            cell = record[position].strip() if position < len(record) else ""
            if cell:
                return cell, header
        return "", candidates[0][0] if candidates else EXTRA_COLUMNS.get(name, (name,))[0]

    def read(self, number: int, record: Sequence[str]) -> MemberRow | SkippedRow | list[RowError]:
        errors: list[RowError] = []
        used: dict[str, str] = {}

        def fail(name: str, message: str) -> None:
            errors.append(RowError(number, used.get(name) or self.value(record, name)[1], message))

        def cell(name: str) -> str:
            text, header = self.value(record, name)
            used[name] = header
            try:
                # The API's text policy: an import stores nothing the API would refuse.
                return clean_text(text, multiline=True)
            except TextRejected as rejected:
                fail(name, rejected.reason)  # the row is refused; read on for its other errors
                return text

        status_text = cell("status")
        outcome = STATUSES[self.source].get(re.sub(r"[^a-z]", "", status_text.casefold()))
        if outcome is None:
            known = ", ".join(STATUSES[self.source])
            fail("status", f"{status_text!r} is not a status we know (one of: {known})")
        elif outcome is Outcome.SKIPPED:
            return SkippedRow(number, f"status {status_text}: not a member")
        source_id = cell("source_id")
        if not source_id:
            fail("source_id", "empty: every member needs its id in the old system")
        elif len(source_id) > MAX_SOURCE_ID:
            fail("source_id", f"longer than {MAX_SOURCE_ID} characters")
        email = ""
        try:
            email = normalise_email(cell("email"))
        except InvalidValue as error:
            fail("email", error.message)
        joined_at = self.date(cell("joined"), "joined", fail, end_of_day=False)
        paid_up_until = self.date(cell("paid_up_until"), "paid_up_until", fail, end_of_day=True)
        if joined_at is not None and joined_at > self.now:
            fail("joined", "the join date is in the future")
        if joined_at is not None and paid_up_until is not None and paid_up_until < joined_at:
            fail("paid_up_until", "before the join date")
        details = self.details(cell, fail)
        turnover = self.turnover(cell("annual_turnover"), fail)
        band = self.band(turnover, cell("membership_type"), fail)
        if errors:
            return errors
        # Every field that failed to parse has reported an error above.
        assert outcome is not None
        assert details is not None
        assert band is not None
        assert joined_at is not None
        assert paid_up_until is not None
        return MemberRow(
            row=number,
            source=self.source,
            source_id=source_id,
            details=details,
            email=email,
            joined_at=joined_at,
            paid_up_until=paid_up_until,
            band=band,
            turnover=turnover,
            outcome=outcome,
            columns=used,
        )

    def details(self, cell: _Cell, fail: _Fail) -> RegistrationDetails | None:
        scheme, identifier = cell("registry_scheme"), cell("registry_id")
        try:
            return RegistrationDetails.parse(
                name=cell("name"),
                kind="social_enterprise",
                legal_form=legal_form_code(cell("legal_form") or DEFAULT_LEGAL_FORM),
                registry_scheme=scheme or None,
                registry_id=identifier or None,
                social_purpose=cell("social_purpose"),
                regions=split_codes(cell("regions")),
                cpv_codes=split_codes(cell("cpv_codes")),
            )
        except InvalidValue as error:
            fail(_DETAIL_FIELDS.get(error.field.partition("[")[0], "name"), error.message)
            return None

    def date(self, text: str, name: str, fail: _Fail, *, end_of_day: bool) -> datetime | None:
        if not text:
            what = "paid-up-until date (lifetime memberships have none: give one)"
            fail(name, f"empty: give the {'join date' if name == 'joined' else what}")
            return None
        day = parse_day(text, self.date_order)
        if day is None:
            fail(name, f"{text!r} is not a date (YYYY-MM-DD, 15 Mar 2024 or 15/03/2024)")
            return None
        moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        try:
            # Dates no one could mean (year 0001, 9999) are refused, as the API's are (ADR 17).
            return plausible_moment(name, moment)
        except InvalidValue as error:
            fail(name, error.message)
            return None

    def turnover(self, text: str, fail: _Fail) -> Money | None:
        if not text:
            return None
        pence = parse_pounds(text)
        if pence is None:
            fail("annual_turnover", f"{text!r} is not an amount in pounds (e.g. 250000.00)")
            return None
        turnover = Money(DUES_CURRENCY, pence)
        try:
            check_turnover(turnover)  # the API's bounds
        except InvalidValue as error:
            fail("annual_turnover", error.message)
            return None
        return turnover

    def band(self, turnover: Money | None, membership_type: str, fail: _Fail) -> DuesBand | None:
        if turnover is not None:
            return band_for(self.bands, turnover)
        wanted = membership_type.casefold()
        for band in self.bands:
            if wanted and wanted in {band.code.casefold(), band.name.casefold()}:
                return band
        codes = ", ".join(band.code for band in self.bands)
        fail(
            "annual_turnover",
            f"empty, and the membership type {membership_type!r} names no dues band ({codes}): "
            "give the annual turnover",
        )
        return None


def split_codes(text: str) -> list[str]:
    """Codes separated by semicolons, commas, bars or spaces."""
    return [code for code in re.split(r"[;,|\s]+", text) if code]


def legal_form_code(text: str) -> str:
    """Our legal-form code for a label ('CIC', 'Co-operative', 'CIO'); unknown ones pass through
    (registration then names the allowed values)."""
    key = re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")
    return LEGAL_FORM_ALIASES.get(key, key)


_TEXT_MONTH_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y")


def parse_day(text: str, order: DateOrder) -> date | None:
    """ISO dates (a time after them is ignored), '15 Mar 2024', and 15/03/2024 in `order`."""
    clean = text.strip()
    iso = re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$", clean)
    numeric = re.match(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?: .*)?$", clean)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if numeric:
            first, second, year = int(numeric[1]), int(numeric[2]), int(numeric[3])
            day, month = (first, second) if order is DateOrder.DAY_FIRST else (second, first)
            return date(year, month, day)
    except ValueError:
        return None
    words = " ".join(clean.replace(",", " ").split())
    for pattern in _TEXT_MONTH_FORMATS:
        try:
            return datetime.strptime(words, pattern).date()
        except ValueError:
            continue
    return None


def parse_pounds(text: str) -> int | None:
    """Pence from '£250,000', '250000.50' or 'GBP 1,200'; None if it is not such an amount."""
    clean = re.sub(r"(?i)gbp|[£,\s]", "", text)
    if not re.fullmatch(r"\d+(?:\.\d{1,2})?", clean):
        return None
    try:
        return int(Decimal(clean) * 100)
    except InvalidOperation:
        return None
