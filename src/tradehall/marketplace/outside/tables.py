"""The OCDS feed's high-water mark: where the next tick reads from. A record of the poller's,
not a read model: never rebuilt (the opportunities themselves are events)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text

from sharedkernel.sqltypes import NAMING_CONVENTION, UtcDateTime
from tradehall.settings import MAX_FEED_URL

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# One row per feed address (TRADEHALL_OCDS_FEED_URL; another address starts afresh). `next_url`
# is the page the next tick reads first: the last page read while it had no `links.next` (a
# feed's last page grows), else the page after it. `version` is bumped by every move of
# `next_url`, compared and set, so two polls at once never both move it. The counts are totals
# over every tick; `read_at` is when a page was last read whole.
ocds_feeds = Table(
    "ocds_feeds",
    metadata,
    Column("feed_url", String(MAX_FEED_URL), primary_key=True),
    Column("next_url", String(MAX_FEED_URL), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("read_at", UtcDateTime, nullable=True),
    Column("pages", BigInteger, nullable=False),
    Column("imported", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("unchanged", BigInteger, nullable=False),
    Column("skipped", BigInteger, nullable=False),
    # The last tick's failure (a page too large, too slow, not JSON, a link off the feed's
    # host), cleared by a tick without one.
    Column("last_error", Text, nullable=True),
    Column("last_error_at", UtcDateTime, nullable=True),
)
