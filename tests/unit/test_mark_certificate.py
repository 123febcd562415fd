"""Quality mark certificate numbers: derived, round-tripped, mistypes caught."""

from __future__ import annotations

import re
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from membership.marks.certificate import (
    CHECK_ALPHABET,
    MAX_INPUT_LENGTH,
    SYMBOLS,
    CertificateNumber,
    Malformed,
    Mistyped,
    certificate_number_for,
    read_certificate_number,
)

CANONICAL = re.compile(r"TQM-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z*~$=U]")
ids = st.uuids()


def _payload(number: str) -> str:
    return number[4:8] + number[9:13]


def _with_payload(number: str, payload: str) -> str:
    return f"TQM-{payload[:4]}-{payload[4:]}-{number[-1]}"


@given(ids)
def test_a_number_is_canonical_stable_and_reads_back(mark_id: UUID) -> None:
    number = certificate_number_for(mark_id)
    assert CANONICAL.fullmatch(number)
    assert certificate_number_for(UUID(bytes=mark_id.bytes)) == number
    read = read_certificate_number(number)
    assert isinstance(read, CertificateNumber)
    assert read.text == str(read) == number
    assert read.is_for(mark_id)


@given(ids)
def test_reading_forgives_case_spacing_aliases_and_a_missing_prefix(mark_id: UUID) -> None:
    number = certificate_number_for(mark_id)
    payload = _payload(number)
    aliased = payload.replace("0", "o").replace("1", "l")
    for typed in (
        number.lower(),
        number.replace("-", ""),
        number.replace("-", " "),
        f"  {number}  ",
        number[4:],
        f"{payload}{number[-1]}".lower(),
        f"{aliased[:4]} {aliased[4:]} {number[-1].lower()}",
        f"tqm {payload.replace('1', 'I')}-{number[-1]}",
        number.replace("-", "\u2013"),  # an en dash, pasted from a document
    ):
        assert read_certificate_number(typed) == read_certificate_number(number), typed


@given(ids)
def test_every_single_substitution_of_the_payload_is_mistyped(mark_id: UUID) -> None:
    number = certificate_number_for(mark_id)
    payload = _payload(number)
    for position, original in enumerate(payload):
        for symbol in SYMBOLS:
            if symbol == original:
                continue
            changed = payload[:position] + symbol + payload[position + 1 :]
            assert read_certificate_number(_with_payload(number, changed)) == Mistyped()


@given(ids)
def test_every_other_check_symbol_is_mistyped(mark_id: UUID) -> None:
    number = certificate_number_for(mark_id)
    for symbol in CHECK_ALPHABET:
        if symbol != number[-1]:
            assert read_certificate_number(number[:-1] + symbol) == Mistyped()


@given(ids)
def test_every_adjacent_transposition_of_the_payload_is_mistyped(mark_id: UUID) -> None:
    number = certificate_number_for(mark_id)
    payload = _payload(number)
    for position in range(len(payload) - 1):
        first, second = payload[position], payload[position + 1]
        if first == second:
            continue
        swapped = payload[:position] + second + first + payload[position + 2 :]
        assert read_certificate_number(_with_payload(number, swapped)) == Mistyped()


def test_the_check_symbol_may_be_punctuation_or_u() -> None:
    # 36 is the largest check value: a payload of 36 ends in U, 32..35 in * ~ $ =.
    for payload, check in ((32, "*"), (33, "~"), (34, "$"), (35, "="), (36, "U")):
        number = CertificateNumber(payload).text
        assert number.endswith(f"-{check}")
        assert read_certificate_number(number) == CertificateNumber(payload)
    assert read_certificate_number(CertificateNumber(36).text.lower()) == CertificateNumber(36)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "TQM",
        "TQM-0000-0000",  # no check symbol
        "TQM-0000-0000-00",  # one symbol too many
        "TQM-0000-000U-0",  # U is a check symbol only
        "TQM-0000-00*0-0",  # punctuation is a check symbol only
        "TQM-0000-0000-#",
        "XQM-0000-0000-0",  # a prefix that is not ours
        "TQM-0000-0000-0/../x",
        "TQM-0000-0000-0\x00",
        "TQM-\u0131000-0000-0",  # a dotless i upper-cases to I: not ASCII, not read
        "TQM-\uff10000-0000-0",  # a fullwidth digit
        "x" * (MAX_INPUT_LENGTH + 1),
        " " * (MAX_INPUT_LENGTH + 1),
        "TQM-0000-0000-0" + " " * MAX_INPUT_LENGTH,
    ],
)
def test_anything_else_is_malformed(typed: str) -> None:
    assert isinstance(read_certificate_number(typed), Malformed)


def test_a_very_long_input_is_refused_before_any_work() -> None:
    assert read_certificate_number("TQM-" * 1_000_000) == Malformed("too long")


@given(st.text(max_size=60))
def test_any_text_reads_as_one_of_three_answers(text: str) -> None:
    read = read_certificate_number(text)
    assert isinstance(read, CertificateNumber | Mistyped | Malformed)
    if isinstance(read, CertificateNumber):
        assert read_certificate_number(read.text) == read


def test_numbers_differ_for_ids_that_share_a_prefix() -> None:
    # Time-ordered ids (uuid1, uuid7) share their leading bytes; their numbers must not.
    base = uuid4().bytes
    numbers = {
        certificate_number_for(UUID(bytes=base[:10] + bytes([n, 0, 0, 0, 0, 0]))) for n in range(50)
    }
    assert len(numbers) == 50


def test_a_payload_outside_40_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="40 bits"):
        CertificateNumber(1 << 40)
    with pytest.raises(ValueError, match="40 bits"):
        CertificateNumber(-1)
