"""Responses of the impact reports (issue 17): a group's totals, money per currency and each
social-value measure committed against delivered, with its value by the proxy-value table."""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

Grouping = Literal["member", "buyer", "year", "quarter"]
Figure = Literal["social_value", "contract_value", "jobs", "savings"]


class MoneyView(msgspec.Struct, kw_only=True):
    currency: str
    value_won_minor: int  # contracts' values as they stand (amended)
    # Of contracts whose lot had an estimate in this currency: the estimates, the values
    # awarded (as signed), and the difference (positive: under the estimates).
    estimated_minor: int
    awarded_minor: int
    estimate_less_awarded_minor: int


class MeasureView(msgspec.Struct, kw_only=True):
    measure: str
    unit: str
    committed: int
    delivered: int  # confirmed by the buyer
    # In pence (GBP), by the proxy-value table in effect on the signing day (committed) and
    # on each delivery period's last day (delivered).
    committed_value_minor: int
    delivered_value_minor: int


class ImpactGroupView(msgspec.Struct, kw_only=True):
    key: str  # "all", an organisation's id, "2026" or "2026-Q3"
    name: str | None  # the organisation's name, for a member or a buyer
    contracts: int
    money: list[MoneyView]
    measures: list[MeasureView]
    social_value_currency: str
    social_value_committed_minor: int
    social_value_delivered_minor: int


class ImpactSummaryView(msgspec.Struct, kw_only=True):
    totals: ImpactGroupView
    years: list[ImpactGroupView]
    proxy_values: str  # where the proxy-value table's versions and sources are
    consistent: bool


class ImpactReportView(msgspec.Struct, kw_only=True):
    by: Grouping
    since: date | None
    until: date | None
    groups: list[ImpactGroupView]
    consistent: bool


class MemberImpactView(msgspec.Struct, kw_only=True):
    organisation_id: str
    since: date | None
    until: date | None
    totals: ImpactGroupView
    years: list[ImpactGroupView]
    consistent: bool
