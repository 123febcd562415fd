"""The directory page read in one query shows each member with its own regions, CPV codes and
mark, counts every match, and pages past the end as before (issue 19)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from membership.application import MembershipApp
from projections.directory import directory_page
from projections.events import EventSource
from projections.registry import all_projections
from projections.runner import BatchProjector
from projections.tables import directory_member_cpv, directory_member_regions, directory_members
from sharedkernel.reference import itl_regions
from tests.integration.projection_fixtures import seed
from tests.integration.test_projector import database_of_its_own
from tradehall.store.base import Store
from tradehall.store.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", "postgresql"])
def own_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store of its own: the seeded members must not show in other tests' directories."""
    if request.param == "sqlite":
        yield SQLiteStore(tmp_path / "data")
        return
    with database_of_its_own() as store:
        yield store


@pytest.fixture
async def seeded(own_store: Store) -> AsyncIterator[AsyncEngine]:
    own_store.migrate()
    app = MembershipApp(env=own_store.application_env("membership", pool_size=2))
    projector = BatchProjector(
        own_store.sync_engine(),
        {"membership": EventSource("membership", app.recorder)},
        all_projections(),
    )
    try:
        seed(app, 40, random.Random(20261201))
        projector.ensure_positions()
        projector.catch_up()
    finally:
        projector.engine.dispose()
        app.close()
    engine = own_store.async_engine(pool_size=2)
    yield engine
    await engine.dispose()


async def test_each_member_on_a_page_has_its_own_codes_and_the_count_is_of_every_match(
    seeded: AsyncEngine,
) -> None:
    parents = {code: region.parent for code, region in itl_regions().items()}
    async with seeded.connect() as connection:
        listed = (
            (
                await connection.execute(
                    select(directory_members.c.organisation_id)
                    .where(directory_members.c.listed.is_(True))
                    .order_by(directory_members.c.name, directory_members.c.organisation_id)
                )
            )
            .scalars()
            .all()
        )
        regions: dict[object, list[str]] = {}
        for owner, region in await connection.execute(
            select(directory_member_regions.c.organisation_id, directory_member_regions.c.region)
        ):
            regions.setdefault(owner, []).append(region)
        codes: dict[object, list[str]] = {}
        for owner, code in await connection.execute(
            select(directory_member_cpv.c.organisation_id, directory_member_cpv.c.cpv_code)
        ):
            codes.setdefault(owner, []).append(code)
        assert len(listed) > 6, "the seed lists too few members to page"

        page = await directory_page(
            connection, region=None, cpv_code=None, region_parents=parents, limit=5, offset=2
        )
        assert page.total == len(listed)
        assert [e.organisation_id for e in page.entries] == listed[2:7]
        for entry in page.entries:
            assert entry.regions == sorted(regions.get(entry.organisation_id, []))
            assert entry.cpv_codes == sorted(codes.get(entry.organisation_id, []))
            assert entry.mark_status is None
            assert entry.certificate_number is None

        past = await directory_page(
            connection,
            region=None,
            cpv_code=None,
            region_parents=parents,
            limit=5,
            offset=len(listed) + 10,
        )
        assert past.entries == []
        assert past.total == len(listed)

        nowhere = await directory_page(
            connection,
            region=None,
            cpv_code=None,
            region_parents=parents,
            limit=5,
            offset=0,
            mark="revoked",
        )
        assert nowhere.entries == []
        assert nowhere.total == 0
