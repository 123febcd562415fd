"""Probes of the members import with what an old system's export (or an attacker who hands one
to staff) may hold: dates no one could mean, amounts past what the API takes, huge cells."""

from __future__ import annotations

import pytest

from tests.integration.test_members_csv import (
    civicrm_row,
    csv_text,
    head,
    organisation_id,
    services,  # noqa: F401 (a fixture)
)
from tradehall.membership.members_csv import UnreadableExport
from tradehall.membership.members_import import ImportRefused, import_members
from tradehall.services import Services


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("Member Since", "0001-01-01"),
        ("Member Since", "1066-10-14"),
        ("Membership Expiration Date", "9999-12-31"),
        ("Membership Expiration Date", "2150-01-01"),
    ],
)
async def test_a_date_no_one_could_mean_is_refused_by_row_and_column(
    services: Services,  # noqa: F811
    column: str,
    value: str,
) -> None:
    """ADR 17: dates outside 1900-2099 are refused wherever they come from (the bounds are the
    domain's so that imports meet them too); year 0001 or 9999 overflows the clock's date
    arithmetic (a renewal window 30 days before 0001-01-05, a period a year after 9999)."""
    row = civicrm_row(**{column: value})
    before = head(services)

    with pytest.raises(ImportRefused) as refused:
        await import_members(services, csv_text([civicrm_row(), row]))

    errors = [str(error) for error in refused.value.errors]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f'row 3, column "{column}"'), errors
    assert head(services) == before
    assert not services.membership.is_registered(organisation_id(row))


async def test_a_turnover_past_what_the_api_takes_is_refused(
    services: Services,  # noqa: F811
) -> None:
    """The API takes at most 10**13 pence; an import stores nothing the API would refuse (a
    5,000-digit amount cannot even be written as JSON: the import stopped half-way)."""
    first = civicrm_row()
    huge = civicrm_row(**{"Annual Turnover": "9" * 5000})
    before = head(services)

    with pytest.raises(ImportRefused) as refused:
        await import_members(services, csv_text([first, huge]))

    errors = [str(error) for error in refused.value.errors]
    assert len(errors) == 1, errors
    assert errors[0].startswith('row 3, column "Annual Turnover"'), errors
    assert head(services) == before
    assert not services.membership.is_registered(organisation_id(first))


async def test_a_cell_larger_than_the_csv_reader_takes_is_a_refusal_not_a_crash(
    services: Services,  # noqa: F811
) -> None:
    huge = civicrm_row(**{"Social Purpose": "x" * 200_000})
    before = head(services)

    with pytest.raises((UnreadableExport, ImportRefused)):
        await import_members(services, csv_text([civicrm_row(), huge]))

    assert head(services) == before
