"""A sealed batch (ADR 27): one outbox row of one size whether it names no organisation, one or
as many as it has room for, each told its own line; past the bound, a row more of the same size;
bound to its message id, and read by `open_sealed` as addressed to nobody."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from tests.integration.test_sealing_keys import engine, fresh_store, master  # noqa: F401
from tradehall.marketplace.sealing.keys import SealingError, SealingKeys
from tradehall.marketplace.sealing.outbox import (
    BATCH_ADDRESSEE,
    BATCH_RECIPIENTS,
    open_sealed,
    open_sealed_messages,
    sealed_batch_rows,
)

AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
MESSAGE_ID = "<batch@tradehall.invalid>"


@pytest.fixture
def keys(engine: Engine) -> SealingKeys:  # noqa: F811
    return SealingKeys(engine, master())


def recipients(count: int) -> list[tuple[uuid.UUID, str]]:
    return [(uuid.uuid4(), f"{uuid.uuid4()} (lot-{n % 12 + 1})") for n in range(count)]


def rows_for(keys: SealingKeys, named: list[tuple[uuid.UUID, str]]) -> list[dict[str, object]]:
    return sealed_batch_rows(
        keys,
        message_id=MESSAGE_ID,
        template="bid_tender_amended",
        subject="A tender you bid on was amended",
        body="What changed: deadline.\nYour bid: https://x.example/api/v1/bids/",
        recipients=named,
        created_at=AT,
    )


def test_a_batch_is_one_row_of_one_size_up_to_its_bound_then_rows_of_that_size(
    keys: SealingKeys,
) -> None:
    sizes = set()
    for count in (0, 1, 3, BATCH_RECIPIENTS):
        named = recipients(count)
        [row] = rows_for(keys, named)
        assert (row["message_id"], row["template"], row["organisation_id"]) == (
            MESSAGE_ID,
            "sealed",
            None,
        )
        sizes.add(len(row["sealed"]))  # type: ignore[arg-type]
        batch, told = open_sealed_messages(keys, row)
        assert batch
        assert [(org, body.rpartition("/bids/")[2]) for org, _, _, body in told] == named
        assert open_sealed(keys, row)[0] == BATCH_ADDRESSEE
    assert len(sizes) == 1, sizes

    named = recipients(BATCH_RECIPIENTS + 1)
    first, second = rows_for(keys, named)
    assert (first["message_id"], second["message_id"]) == (
        MESSAGE_ID,
        "<batch@tradehall.invalid:2>",
    )
    assert {len(first["sealed"]), len(second["sealed"])} == sizes  # type: ignore[arg-type]
    told = open_sealed_messages(keys, first)[1] + open_sealed_messages(keys, second)[1]
    assert [org for org, *_ in told] == [org for org, _ in named]
    # Bound to its message id, as any sealed notice.
    with pytest.raises(SealingError):
        open_sealed_messages(keys, second | {"message_id": MESSAGE_ID})


def test_an_addressee_too_long_for_its_room_is_refused(keys: SealingKeys) -> None:
    with pytest.raises(ValueError, match="at most"):
        rows_for(keys, [(uuid.uuid4(), "x" * 200)])
