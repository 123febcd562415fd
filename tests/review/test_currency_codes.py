"""Review probe (helper "review") of 75bb218's rule in its siblings: a stored payload's currency is
an ISO 4217 code's form, three capitals and nothing after them. 75bb218 made the contracts read
model's check end in `\\Z` (`$` lets a newline follow: 'GBP\\n' read as a code, then cut to the
column's three letters and counted as GBP); the impact ledger's lot estimates and the requests
for quote's budgets and quotes read currencies with a `$` pattern of their own. Each shape that
carries a currency refuses what is not a code's form, as the contracts' does."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from projections import impact, quote_requests
from projections.contracts import CurrencyCode

SHAPES: list[Any] = [CurrencyCode, impact.Currency, quote_requests.Currency]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("odd", ["GBP\n", "GBPX", "gbp", "GB", "", "GBP\u202e"])
def test_a_currency_that_is_not_a_code_s_form_is_refused(shape: Any, odd: str) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(odd, shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_code_is_taken(shape: Any) -> None:
    assert msgspec.convert("GBP", shape) == "GBP"
