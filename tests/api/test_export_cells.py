"""Exports neutralise control and bidi characters as they neutralise spreadsheet formulas.

The API refuses such text, but the event logs may hold it (imports, older versions, other
writers): the values are put into events through the Application directly.
"""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from membership.details import LegalForm, OrganisationKind, RegistrationDetails
from sharedkernel.events import SYSTEM, Context
from sharedkernel.money import Money
from tests.api.helpers import services_of
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.csv_cells import safe_cell
from tradehall.membership.members_export import COLUMNS

C0 = [chr(c) for c in range(0x00, 0x20)]
C1 = [chr(c) for c in range(0x80, 0xA0)]
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
BREAKS = ["\t", "\n", "\r", "\x85", "\u2028", "\u2029"]
UNSAFE = set(C0) | set(C1) | set(BIDI) | {"\x7f", "\u2028", "\u2029"}
# What the stored values hold (no NUL: PostgreSQL's read side could not hold it meanwhile).
NAME = "Evil\u202e\u2066CIC\x1b[31m\x07\x9b\r\nSecond line\tcell\x7f"
REFERENCE = "=HYPERLINK(\u202e\x85x)"
REASON = "Goodwill\r\ncredit\u2028for\u2029the\tdelay\x9d"


@pytest.mark.parametrize("character", sorted(UNSAFE))
def test_no_control_or_bidi_character_reaches_a_cell(character: str) -> None:
    cell = safe_cell(f"a{character}b")

    assert not UNSAFE & set(cell)
    assert cell == ("a b" if character in BREAKS else "a\ufffdb")


def test_formulas_get_an_apostrophe_but_plain_numbers_do_not() -> None:
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-1+2") == "'-1+2"
    assert safe_cell("\u202e=1+1") == "\ufffd=1+1"
    assert safe_cell("-150.00") == "-150.00"
    assert safe_cell("+44") == "'+44"
    assert safe_cell(None) == ""
    assert safe_cell(12) == "12"


async def test_exports_write_stored_control_and_bidi_characters_safely(
    client: AppClient, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    app = services_of(client).membership
    context = Context(SYSTEM, "test-export-cells", clock.now())
    organisation_id = uuid.uuid4()
    details = RegistrationDetails(
        name=NAME,
        kind=OrganisationKind.SOCIAL_ENTERPRISE,
        legal_form=LegalForm.CIC,
        registry_identifier=None,
        social_purpose="Stored before the text policy",
        regions=("TLC",),
        cpv_codes=("15810000-9",),
    )
    app.register_organisation(context, organisation_id, details, uuid.uuid4())
    app.apply_for_membership(context, organisation_id, Money("GBP", 25_000_000))
    app.admit(context, organisation_id)
    app.record_payment(context, organisation_id, Money("GBP", 5_000), "cheque", REFERENCE)
    app.issue_credit_note(context, organisation_id, Money("GBP", 1_000), REASON)

    members = await client.get("/api/v1/members.csv", headers=staff_headers)
    ledger = await client.get("/api/v1/dues/ledger.csv", headers=staff_headers)

    for export, columns in ((members, len(COLUMNS)), (ledger, 10)):
        assert export.status_code == 200, export.text
        assert not UNSAFE - {"\n"} & set(export.text)
        lines = export.text.split("\n")
        assert lines[-1] == ""
        # Every record is one physical line with every column.
        assert {len(next(csv.reader([line]))) for line in lines[:-1]} == {columns}
    [member] = [
        row
        for row in csv.DictReader(io.StringIO(members.text))
        if row["organisation_id"] == str(organisation_id)
    ]
    assert member["name"] == "Evil\ufffd\ufffdCIC\ufffd[31m\ufffd\ufffd  Second line cell\ufffd"
    ours = [
        row
        for row in csv.DictReader(io.StringIO(ledger.text))
        if row["organisation_id"] == str(organisation_id)
    ]
    assert {row["organisation"] for row in ours} == {member["name"]}
    references = {row["entry"]: row["reference"] for row in ours}
    assert references["payment"] == "'=HYPERLINK(\ufffd x)"
    assert references["credit_note"] == "Goodwill  credit for the delay\ufffd"
