"""The read side decodes stored events as the library would, and reads PostgreSQL as it would."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from membership.application import MembershipApp
from projections.events import EventSource, decode_state
from tests.integration.projection_fixtures import seed
from tests.integration.test_projector import database_of_its_own

AT = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
PAYLOADS: list[dict[str, Any]] = [
    {"timestamp": AT, "actor": "system", "effective_at": AT, "request_id": "r-1"},
    {"first_user_id": uuid.uuid4(), "regions": ["TLC", "TLC3"], "cpv_codes": []},
    {"score": Decimal("12.50"), "turnover_minor": 10**30, "ratio": 0.5, "ok": True, "no": None},
    {"when": datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=1)))},
    {"naive": datetime(2026, 3, 2, 9, 30), "empty": {}, "text": '«quoted» "x" \\ é'},
    {"dates": [AT, AT + timedelta(days=1)], "ids": [uuid.uuid4()], "mixed": [1, "a", None]},
    # Shapes the usual payload does not have: nested objects and lists, wrappers within them.
    {"bands": [{"code": "micro", "up_to_minor": None, "since": AT}], "deep": [[AT], [1]]},
    {"lookalike": {"_type_": "datetime_iso", "_data_": "2026-03-02T09:30:00", "extra": 1}},
    {"lookalike": {"_type_": "datetime_iso"}},
]


def library_transcoder() -> JSONTranscoder:
    """As an eventsourcing Application sets up its transcoder."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_decode_as_the_library_decodes_them(payload: dict[str, Any]) -> None:
    transcoder = library_transcoder()
    state = transcoder.encode(payload)

    decoded = decode_state(state)

    assert decoded == transcoder.decode(state)
    assert {k: type(v) for k, v in decoded.items()} == {
        k: type(v) for k, v in transcoder.decode(state).items()
    }


def test_a_transcoding_the_read_side_does_not_know_is_left_as_it_was_stored() -> None:
    state = b'{"at": {"_type_": "nothing_we_know", "_data_": "x"}, "n": 1}'

    assert decode_state(state) == {"at": {"_type_": "nothing_we_know", "_data_": "x"}, "n": 1}


@pytest.mark.parametrize(
    "wrapped",
    [
        {"_type_": "datetime_iso", "_data_": "yesterday"},
        {"_type_": "datetime_iso", "_data_": 5},
        {"_type_": "uuid_hex", "_data_": "zz"},
        {"_type_": "uuid_hex", "_data_": None},
        {"_type_": "decimal_str", "_data_": "x"},
        {"_type_": "decimal_str", "_data_": [1]},
    ],
)
def test_a_wrapper_whose_value_is_not_its_type_is_left_as_it_was_stored(
    wrapped: dict[str, Any],
) -> None:
    """Another writer's: no reader takes the wrapper for a time, an id or a number, so each
    leaves its event out by its own rules; decoding it never raises (ADR 16)."""
    state = json.dumps({"at": wrapped, "n": 1, "deep": [{"x": wrapped}]}).encode()

    assert decode_state(state) == {"at": wrapped, "n": 1, "deep": [{"x": wrapped}]}


@pytest.mark.parametrize("state", [b"", b"not json", b"[1, 2]", b"5", b"null", b"\xff{}"])
def test_a_state_that_is_not_a_json_object_is_read_as_an_empty_payload(state: bytes) -> None:
    assert decode_state(state) == {}


@pytest.fixture
def membership_on_postgres() -> Iterator[MembershipApp]:
    with database_of_its_own() as store:
        app = MembershipApp(env=store.application_env("membership", pool_size=2))
        yield app
        app.close()


def test_the_postgres_reader_reads_what_the_library_reads(
    membership_on_postgres: MembershipApp,
) -> None:
    app = membership_on_postgres
    seed(app, 40, random.Random(3))
    source = EventSource("membership", app.recorder)

    for after, limit in [(0, 1000), (0, 7), (13, 5), (app.recorder.max_notification_id(), 10)]:
        after = after or 0
        ours = source.read(after, limit)
        library = app.recorder.select_notifications(start=after + 1, limit=limit)
        assert [(e.position, e.originator_id, e.originator_version, e.topic) for e in ours] == [
            (n.id, n.originator_id, n.originator_version, n.topic) for n in library
        ]
        assert [e.data for e in ours] == [decode_state(n.state) for n in library]
    assert source.head() == app.recorder.max_notification_id()
