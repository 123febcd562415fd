"""Reads of several statements that must see the database at one moment.

A read connection sees each commit as it lands: PostgreSQL's default READ COMMITTED takes a
snapshot a statement, and the SQLite driver begins no transaction for a SELECT, so each
statement reads the newest commit. A read whose statements must agree with each other (sums of
contracts, of their commitments and of their deliveries) asks for one snapshot instead.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection


async def one_snapshot(connection: AsyncConnection) -> AsyncConnection:
    """The connection, its statements from now until it ends reading one moment of the data.

    Call it before the connection's first statement. PostgreSQL: a REPEATABLE READ transaction
    (its snapshot taken at the first statement). SQLite: an explicit BEGIN (in WAL mode, the
    snapshot is taken at the first read and kept until the transaction ends).
    """
    if connection.dialect.name == "postgresql":
        return await connection.execution_options(isolation_level="REPEATABLE READ")
    await connection.exec_driver_sql("BEGIN")
    return connection
