"""Shared set-up for projector tests: a store full of membership events."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from membership.application import MembershipApp, RegistryIdentifierClaimed
from membership.domain import RegistrationDetails
from projections.base import Projection
from sharedkernel.events import Context
from sharedkernel.money import Money
from sharedkernel.reference import cpv_codes, itl_regions

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def seed(app: MembershipApp, organisations: int, rng: random.Random) -> None:
    """Register, apply, admit / reject / withdraw: every event kind the projections read."""
    app.ensure_dues_schedule(Context("system", "seed", START))
    codes = sorted(cpv_codes())
    regions = sorted(itl_regions())
    for n in range(organisations):
        at = START + timedelta(minutes=n)
        org_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        details = RegistrationDetails.parse(
            name=f"Enterprise {n:05d}",
            kind="social_enterprise",
            legal_form="cic",
            registry_scheme="GB-COH",
            registry_id=str(rng.randrange(10**7, 10**8)),
            social_purpose="Work for people far from the labour market",
            regions=rng.sample(regions, 2),
            cpv_codes=rng.sample(codes, 2),
        )
        context = Context("system", f"seed-{n}", at)
        try:
            app.register_organisation(context, org_id, details, uuid.uuid4())
        except RegistryIdentifierClaimed:  # a random registry number drawn twice: skip it
            continue
        fate = rng.random()
        if fate < 0.15:
            continue
        app.apply_for_membership(context, org_id, Money("GBP", rng.randrange(10**9)))
        if fate < 0.6:
            app.admit(context, org_id)
            if fate < 0.45:
                tier = app.get_organisation(org_id).tier
                assert tier is not None
                app.record_payment(context, org_id, tier.annual_due, "bank_transfer", "seed")
        elif fate < 0.75:
            app.reject(context, org_id, "no asset lock")
        elif fate < 0.85:
            app.withdraw_application(context, org_id)
            app.apply_for_membership(context, org_id, Money("GBP", 1_000_000))


def snapshot(engine: Engine, projections: list[Projection]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every projection table, in a stable order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for projection in projections:
            for table in projection.tables:
                rows = connection.execute(select(table)).all()
                tables[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return tables
