"""Unit tests: domain only, no I/O."""

import pytest

# Plain asserts in the shared builders report their values like those in the tests.
pytest.register_assert_rewrite("tests.unit.membership_builders")

from tests.unit.membership_builders import reset_clock  # noqa: E402


@pytest.fixture(autouse=True)
def _fixed_clock() -> None:
    """Every test starts its contexts at the same fixed moment."""
    reset_clock()
