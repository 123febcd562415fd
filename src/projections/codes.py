"""CPV codes and regions as child rows of an aggregate (a member, a listing, a tender): the rows
written, the filters that find an aggregate by them, and the reads that list them.

Each child table is keyed by its aggregate's key column (the same name as in the aggregate's
own table) and a code: `cpv_code` (with its `cpv_stem`) or `region` (projections.tables).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import Column, ColumnElement, Connection, Table, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.folding import Row, replace_rows, storable

# The stored lengths of the codes (the child tables' key columns).
CPV_LENGTH, REGION_LENGTH = 12, 10


def cpv_stem(code: str) -> str:
    """The hierarchy prefix of a CPV code: its 8 digits without trailing zeros (at least 2)."""
    digits = code.split("-")[0]
    return digits.rstrip("0").ljust(2, "0")


def cpv_rows(key: str, owner: UUID, codes: Iterable[str]) -> Iterator[Row]:
    return ({key: owner, "cpv_code": c, "cpv_stem": cpv_stem(c)} for c in codes)


def region_rows(key: str, owner: UUID, regions: Iterable[str]) -> Iterator[Row]:
    return ({key: owner, "region": r} for r in regions)


class StatedCodes(Protocol):
    @property
    def cpv_codes(self) -> Sequence[str]: ...

    @property
    def regions(self) -> Sequence[str]: ...


def replace_codes(
    connection: Connection,
    key: str,
    cpv: Table,
    regions: Table,
    stated: Mapping[UUID, StatedCodes],
    created: Collection[UUID],
) -> None:
    """Write the codes each aggregate's event stated last in a batch, each code as it will be
    stored and once an aggregate; the stored rows of one made before the batch are replaced."""
    replaced = [owner for owner in stated if owner not in created]
    new_cpv: list[Row] = []
    new_regions: list[Row] = []
    for owner, codes in stated.items():
        cpv_codes = dict.fromkeys(storable(connection, c, CPV_LENGTH) for c in codes.cpv_codes)
        new_cpv.extend(cpv_rows(key, owner, cpv_codes))
        stored = dict.fromkeys(storable(connection, r, REGION_LENGTH) for r in codes.regions)
        new_regions.extend(region_rows(key, owner, stored))
    replace_rows(connection, cpv, key, replaced, new_cpv)
    replace_rows(connection, regions, key, replaced, new_regions)


# Reads -------------------------------------------------------------------------------------


def related_regions(code: str, parents: dict[str, str | None]) -> set[str]:
    """A region, the regions containing it and the regions inside it: all serve it."""
    related = {code}
    parent = parents.get(code)
    while parent:
        related.add(parent)
        parent = parents.get(parent)
    frontier = {code}
    while frontier:
        frontier = {child for child, up in parents.items() if up in frontier}
        related |= frontier
    return related


def stem_prefixes(stem: str) -> list[str]:
    return [stem[:length] for length in range(2, len(stem) + 1)]


def in_regions(
    regions: Table, key: Column[Any], region: str, parents: dict[str, str | None]
) -> ColumnElement[bool]:
    """The aggregate (its key column `key`) names `region` or a region related to it."""
    return exists().where(
        and_(
            regions.c[key.name] == key,
            regions.c.region.in_(related_regions(region, parents)),
        )
    )


def in_cpv(cpv: Table, key: Column[Any], cpv_code: str) -> ColumnElement[bool]:
    """The aggregate (its key column `key`) names `cpv_code`, a code under it or one above it."""
    stem = cpv_stem(cpv_code)
    return exists().where(
        and_(
            cpv.c[key.name] == key,
            or_(
                cpv.c.cpv_stem.startswith(stem, autoescape=True),
                cpv.c.cpv_stem.in_(stem_prefixes(stem)),
            ),
        )
    )


async def codes_by_owner(
    connection: AsyncConnection, table: Table, key: str, code: str, owners: Sequence[UUID]
) -> dict[UUID, list[str]]:
    """Each owner's codes in `table` (its column `code`), in order; [] for one with none."""
    found: dict[UUID, list[str]] = {owner: [] for owner in owners}
    if owners:
        for owner, value in await connection.execute(
            select(table.c[key], table.c[code])
            .where(table.c[key].in_(owners))
            .order_by(table.c[code])
        ):
            found[owner].append(value)
    return found


async def stated_codes(
    connection: AsyncConnection, key: str, cpv: Table, regions: Table, owners: Sequence[UUID]
) -> tuple[dict[UUID, list[str]], dict[UUID, list[str]]]:
    """Each owner's CPV codes and regions, as `replace_codes` stored them."""
    return (
        await codes_by_owner(connection, cpv, key, "cpv_code", owners),
        await codes_by_owner(connection, regions, key, "region", owners),
    )
