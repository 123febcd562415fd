"""A projection never fails on a string an event holds: NUL, a lone surrogate, an overlong value.

The events are recorded through the Application and the domain (no API in front to refuse
them), or, for what the library's own encoder cannot write, as another writer would store them.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from membership.application import MembershipApp
from membership.details import RegistrationDetails
from membership.domain import Organisation
from projections.registry import all_projections
from projections.tables import directory_members, membership_applications
from sharedkernel.events import Context
from sharedkernel.money import Money
from tests.integration.test_projector import membership, projector, store  # noqa: F401
from tradehall.mail.tables import outbox_messages
from tradehall.membership.notices import NoticeWriter
from tradehall.store.base import Store

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
MARK = "SURROGATE-GOES-HERE"


def details(name: str, purpose: str = "Work") -> RegistrationDetails:
    """Details holding any text: built past `parse`, as an import or an older version might."""
    parsed = RegistrationDetails.parse(
        name="x",
        kind="social_enterprise",
        legal_form="sole_trader_or_partnership",
        registry_scheme=None,
        registry_id=None,
        social_purpose="x",
        regions=["TLC"],
        cpv_codes=["45000000-7"],
    )
    return replace(parsed, name=name, social_purpose=purpose)


def register(app: MembershipApp, name: str, purpose: str = "Work") -> uuid.UUID:
    organisation_id = uuid.uuid4()
    context = Context("system", f"text-{organisation_id}", AT)
    app.register_organisation(context, organisation_id, details(name, purpose), uuid.uuid4())
    return organisation_id


def record_with_a_lone_surrogate(app: MembershipApp) -> uuid.UUID:
    """A registration whose stored name holds an escaped lone surrogate: valid JSON, which the
    library's encoder cannot write (UTF-8 has no surrogates) but another writer could."""
    context = Context("system", "text-surrogate", AT)
    organisation = Organisation.register(context, uuid.uuid4(), details(MARK), uuid.uuid4())
    stored = app.mapper.to_stored_event(organisation.collect_events()[0])
    assert MARK.encode() in stored.state
    state = stored.state.replace(MARK.encode(), b"a\\ud800b")
    app.recorder.insert_events([replace(stored, state=state)])
    return organisation.id


# One batch: rows made and changed in it are inserted (COPY on PostgreSQL). A batch an event:
# rows made earlier are loaded, changed and written back (INSERT ... unnest ... ON CONFLICT).
@pytest.mark.parametrize("batch_size", [1000, 1])
def test_every_projection_applies_events_holding_nul_and_lone_surrogates(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    batch_size: int,
) -> None:
    app = membership
    app.ensure_dues_schedule(Context("system", "schedule", AT))
    context = Context("staff:1", "text-staff", AT)
    nul_name = register(app, "a\x00b", purpose="purpose \x00 with a NUL")
    app.apply_for_membership(context, nul_name, Money("GBP", 25_000_000))
    app.admit(context, nul_name)
    app.suspend(context, nul_name, "reason \x00 with a NUL")
    rejected = register(app, "Rejected \x00 Ltd")
    app.apply_for_membership(context, rejected, Money("GBP", 25_000_000))
    app.reject(context, rejected, "no \x00 asset lock")
    overlong = register(app, "L" * 250)
    surrogate = record_with_a_lone_surrogate(app)
    projections = [*all_projections(), NoticeWriter("https://tradehall.example")]
    runner = projector(store, app, projections, batch_size=batch_size)

    runner.catch_up()

    head = app.recorder.max_notification_id()
    assert [(s.projection, s.position, s.failure) for s in runner.status()] == [
        (p.name, head, None) for p in projections
    ]
    # PostgreSQL text holds no NUL: it becomes U+FFFD there; SQLite keeps it. Neither store
    # can encode a lone surrogate. Values are cut to the column's length where it is enforced.
    nul = "\ufffd" if store.name == "postgresql" else "\x00"
    with runner.engine.connect() as connection:
        names = dict(
            connection.execute(
                select(directory_members.c.organisation_id, directory_members.c.name)
            ).all()
        )
        purpose = connection.execute(
            select(directory_members.c.social_purpose).where(
                directory_members.c.organisation_id == nul_name
            )
        ).scalar_one()
        reason = connection.execute(
            select(membership_applications.c.rejection_reason).where(
                membership_applications.c.organisation_id == rejected
            )
        ).scalar_one()
        bodies = dict(
            connection.execute(select(outbox_messages.c.template, outbox_messages.c.body)).all()
        )
    assert names[nul_name] == f"a{nul}b"
    assert names[rejected] == f"Rejected {nul} Ltd"
    assert names[surrogate] == "a\ufffdb"
    assert names[overlong] == "L" * (200 if store.name == "postgresql" else 250)
    assert purpose == f"purpose {nul} with a NUL"
    assert reason == f"no {nul} asset lock"
    assert bodies["suspended"].endswith(f"reason {nul} with a NUL")
    assert f"a{nul}b" in bodies["suspended"]
    assert bodies["application_rejected"].endswith(f"no {nul} asset lock")
