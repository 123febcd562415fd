"""The impact ledger's totals as the API shows them: groups with names, every measure listed
(zeros too), money per currency, and the same as CSV rows for a spreadsheet."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from uuid import UUID

from marketplace.bids.content import MEASURES
from marketplace.impact.proxies import ProxyTable, table_on
from projections.impact_ledger import Rate, Totals, pence
from tradehall.api.marketplace.schemas.impact import ImpactGroupView, MeasureView, MoneyView
from tradehall.csv_cells import CellWriter

SOCIAL_VALUE_CURRENCY = "GBP"  # the proxy-value table's pence


def rate_of(tables: Sequence[ProxyTable]) -> Rate:
    """Pence per unit of a measure on a day, by the table version in effect that day; a
    measure the table does not value (none today) is worth nothing rather than a guess."""

    @lru_cache(maxsize=4096)
    def on(day: date) -> ProxyTable:
        return table_on(tables, day)

    def rate(measure: str, day: date) -> Decimal:
        found = on(day).values.get(measure)
        return Decimal(0) if found is None else found.pence_per_unit

    return rate


def group_view(totals: Totals, name: str | None = None) -> ImpactGroupView:
    return ImpactGroupView(
        key=totals.key,
        name=name,
        contracts=totals.contracts,
        money=[
            MoneyView(
                currency=m.currency,
                value_won_minor=m.value_won_minor,
                estimated_minor=m.estimated_minor,
                awarded_minor=m.awarded_minor,
                estimate_less_awarded_minor=m.estimate_less_awarded_minor,
            )
            for _, m in sorted(totals.money.items())
        ],
        measures=[_measure(totals, measure, unit) for measure, unit in MEASURES.items()],
        social_value_currency=SOCIAL_VALUE_CURRENCY,
        social_value_committed_minor=totals.social_value_committed_minor,
        social_value_delivered_minor=totals.social_value_delivered_minor,
    )


def _measure(totals: Totals, measure: str, unit: str) -> MeasureView:
    found = totals.measures.get(measure)
    if found is None:
        return MeasureView(
            measure=measure,
            unit=unit,
            committed=0,
            delivered=0,
            committed_value_minor=0,
            delivered_value_minor=0,
        )
    return MeasureView(
        measure=measure,
        unit=unit,
        committed=found.committed,
        delivered=found.delivered,
        committed_value_minor=pence(found.committed_value),
        delivered_value_minor=pence(found.delivered_value),
    )


def named_groups(groups: Mapping[str, Totals], names: Mapping[UUID, str]) -> list[ImpactGroupView]:
    """Organisations' groups with their names, by name then id."""
    views = [group_view(t, names.get(UUID(key))) for key, t in groups.items()]
    return sorted(views, key=lambda v: ((v.name or "").casefold(), v.key))


CSV_COLUMNS = (
    "group",
    "name",
    "contracts",
    "kind",
    "item",
    "unit",
    "committed",
    "delivered",
    "value_won_minor",
    "estimated_minor",
    "awarded_minor",
    "estimate_less_awarded_minor",
    "committed_value_minor",
    "delivered_value_minor",
)


def report_csv(groups: Sequence[ImpactGroupView]) -> str:
    """One row a currency (kind `money`) and a measure (kind `measure`, its values in GBP
    pence) of each group, and one `social_value` row: filter by kind to sum a column."""
    out = io.StringIO()
    writer = CellWriter(out)
    writer.writerow(CSV_COLUMNS)
    for g in groups:
        head = {"group": g.key, "name": g.name or "", "contracts": g.contracts}
        rows: list[dict[str, object]] = [
            head
            | {
                "kind": "money",
                "item": m.currency,
                "unit": m.currency,
                "value_won_minor": m.value_won_minor,
                "estimated_minor": m.estimated_minor,
                "awarded_minor": m.awarded_minor,
                "estimate_less_awarded_minor": m.estimate_less_awarded_minor,
            }
            for m in g.money
        ]
        rows.extend(
            head
            | {
                "kind": "measure",
                "item": s.measure,
                "unit": s.unit,
                "committed": s.committed,
                "delivered": s.delivered,
                "committed_value_minor": s.committed_value_minor,
                "delivered_value_minor": s.delivered_value_minor,
            }
            for s in g.measures
        )
        rows.append(
            head
            | {
                "kind": "social_value",
                "item": "all measures",
                "unit": g.social_value_currency,
                "committed_value_minor": g.social_value_committed_minor,
                "delivered_value_minor": g.social_value_delivered_minor,
            }
        )
        for row in rows:
            writer.writerow(row.get(column, "") for column in CSV_COLUMNS)
    return out.getvalue()
