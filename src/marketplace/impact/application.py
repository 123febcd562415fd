"""The proxy-value table's commands and reads, mixed into `MarketplaceApp`: staff add a version;
anyone reads every version, the shipped default first."""

from __future__ import annotations

from functools import cache

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from marketplace.impact.proxies import (
    PROXY_VALUES_ID,
    ProxyTable,
    ProxyValues,
    default_table,
)
from sharedkernel.errors import StaleVersion
from sharedkernel.events import Context
from sharedkernel.reference.proxy_values import default_proxy_rows
from sharedkernel.writing import ConcurrentChange, Saved, Writes, saved

_CLASHED = "the proxy-value table kept changing; try again"


@cache
def shipped_proxy_table() -> ProxyTable:
    """The default table shipped as reference data (effective from 2000-01-01)."""
    rows = default_proxy_rows()
    return default_table((r.measure, r.unit, r.pence_per_unit, r.source) for r in rows)


class ProxyValueCommands(Writes):
    def add_proxy_table(
        self, context: Context, table: ProxyTable, expected_version: int | None = None
    ) -> Saved:
        """Record a version. `expected_version`: the configured versions' version as last read
        (0 when none was added yet); another's write in between is a StaleVersion (409)."""
        assert isinstance(self, Application)
        app = self

        def attempt() -> Saved:
            found = self.proxy_values()
            current = found.version if found is not None else 0
            if expected_version is not None and expected_version != current:
                raise StaleVersion(expected_version, current)
            values = found or ProxyValues.start(context)
            values.add(context, table)
            return saved(values, app.save(values))

        if expected_version is None:
            return self._retrying(PROXY_VALUES_ID, attempt, _CLASHED)
        with self._writing(PROXY_VALUES_ID):
            try:
                return attempt()
            except IntegrityError:
                # Another process wrote in between: the version named is no longer current.
                found = self.proxy_values()
                current = found.version if found is not None else 0
                if current != expected_version:
                    raise StaleVersion(expected_version, current) from None
                raise ConcurrentChange(_CLASHED) from None

    def proxy_values(self) -> ProxyValues | None:
        """The configured versions' aggregate, if any version was added."""
        return self._find(PROXY_VALUES_ID, ProxyValues)

    def proxy_values_version(self) -> int:
        """The configured versions' version (0 before the first): what If-Match names."""
        found = self.proxy_values()
        return found.version if found is not None else 0

    def proxy_tables(self) -> tuple[ProxyTable, ...]:
        """Every version: the shipped default first, then the configured ones by effective
        date."""
        found = self.proxy_values()
        return (shipped_proxy_table(), *(found.tables if found is not None else ()))
