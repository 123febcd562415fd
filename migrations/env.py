"""Alembic environment: runs on the connection `tradehall migrate` hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from projections.tables import metadata as read_side
from tradehall.identity.tables import metadata as identity
from tradehall.mail.tables import metadata as mail
from tradehall.marketplace.alerts.tables import metadata as alerts
from tradehall.marketplace.outside.tables import metadata as outside
from tradehall.marketplace.sealing.tables import metadata as sealing
from tradehall.payments.tables import metadata as payments

target_metadata = [identity, read_side, payments, mail, sealing, outside, alerts]


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    # `alembic` run by hand: take the URL from -x url=... (autogenerate, history).
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("pass -x url=DATABASE_URL, or run `tradehall migrate`")
    with create_engine(url).begin() as conn:
        _run(conn)
