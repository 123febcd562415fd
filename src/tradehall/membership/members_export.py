"""`tradehall export members` and `GET /api/v1/members.csv`: one row per organisation.

Read from each organisation as the membership Application loads it: the registry facts, the
membership's standing, tier and paid-up-until, and the join date (when the admission took effect,
which for an imported member is its join date in the old system). The status and good standing
are as they stand at the export's time: a lapse time has made due is shown, though the clock
has not recorded it yet.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import TextIO

from membership.application import MembershipApp
from membership.domain import Organisation
from membership.standing import GOOD_STANDING
from tradehall.csv_cells import CellWriter

COLUMNS = (
    "organisation_id",
    "name",
    "kind",
    "legal_form",
    "registry_identifier",
    "regions",
    "cpv_codes",
    "status",
    "good_standing",
    "tier",
    "paid_up_until",
    "joined",
)
LIST_SEPARATOR = ";"


def member_rows(app: MembershipApp, now: datetime) -> Iterator[list[str]]:
    """The export's rows, without the header, in order of registration; standing at `now`."""
    for organisation_id in app.organisation_ids():
        yield _row(app.get_organisation(organisation_id), now)


def write_members_csv(app: MembershipApp, out: TextIO, now: datetime) -> int:
    """Write the header and every organisation's row to `out`; the number of rows."""
    writer = CellWriter(out)
    writer.writerow(COLUMNS)
    count = 0
    for row in member_rows(app, now):
        writer.writerow(row)
        count += 1
    return count


def members_csv(app: MembershipApp, now: datetime) -> str:
    buffer = io.StringIO()
    write_members_csv(app, buffer, now)
    return buffer.getvalue()


def _row(organisation: Organisation, now: datetime) -> list[str]:
    identifier = organisation.registry_identifier
    status = organisation.membership_status_at(now)
    return [
        str(organisation.id),
        organisation.name,
        organisation.kind.value,
        organisation.legal_form.value,
        str(identifier) if identifier else "",
        LIST_SEPARATOR.join(organisation.regions),
        LIST_SEPARATOR.join(organisation.cpv_codes),
        status.value,
        "true" if status in GOOD_STANDING else "false",
        organisation.tier.code if organisation.tier else "",
        _day(organisation.paid_up_until),
        _day(organisation.joined_at),
    ]


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else ""
