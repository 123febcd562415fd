"""Review probe (helper "review"): a stored payload's social-value measure name is the domain's
form (lower case and underscores) and nothing after it. The contracts read model's pattern ended
in `$`, which lets a newline follow: another writer's "local_jobs\\n" was read as a measure of its
own, a second row beside local_jobs, committed 0 (the key the measures' rows are kept by)."""

from __future__ import annotations

import msgspec
import pytest

from projections.contracts import MeasureName


@pytest.mark.parametrize("odd", ["local_jobs\n", "Local_jobs", "local-jobs", "", "x" * 61])
def test_a_measure_name_not_in_the_domain_s_form_is_refused(odd: str) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(odd, MeasureName)


def test_a_measure_name_is_taken() -> None:
    assert msgspec.convert("local_jobs", MeasureName) == "local_jobs"
