"""What a PostgreSQL database holds, as far as a test can see it: its schema (every relation,
column, index, constraint, function, trigger, type, sequence, extension and setting outside the
system's schemas), each table's rows and each sequence's value. Two databases of equal state
answer every test alike; the suite empties a database a test has finished with back to its
template's state instead of dropping it and copying the template again (`tests/conftest.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg
from psycopg import sql

# The schemas a test's objects can live in: every one but the system's.
_USER_NAMESPACE = sql.SQL(
    "n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
)


def _catalog(query: LiteralString) -> sql.Composed:
    """A catalog query over the schemas a test's objects can live in (`{user}`)."""
    return sql.SQL(query).format(user=_USER_NAMESPACE)


_SCHEMA_QUERIES: dict[str, sql.SQL | sql.Composed] = {
    "schemas": _catalog("SELECT n.nspname FROM pg_namespace n WHERE {user} ORDER BY 1"),
    "relations": _catalog(
        """SELECT n.nspname, c.relname, c.relkind, c.relpersistence
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {user} ORDER BY 1, 2"""
    ),
    "columns": _catalog(
        """SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND {user}
        ORDER BY 1, 2, 3"""
    ),
    "indexes": _catalog(
        """SELECT n.nspname, c.relname, pg_get_indexdef(c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('i', 'I') AND {user} ORDER BY 1, 2"""
    ),
    "constraints": _catalog(
        """SELECT n.nspname, r.conrelid::regclass::text, r.conname, pg_get_constraintdef(r.oid)
        FROM pg_constraint r JOIN pg_namespace n ON n.oid = r.connamespace
        WHERE {user} ORDER BY 1, 2, 3"""
    ),
    "functions": _catalog(
        """SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.prokind,
               md5(p.prosrc)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prokind = 'a' AND {user} ORDER BY 1, 2, 3"""
    ),
    "triggers": _catalog(
        """SELECT n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND {user} ORDER BY 1, 2, 3"""
    ),
    "views": _catalog(
        """SELECT n.nspname, c.relname, pg_get_viewdef(c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm') AND {user} ORDER BY 1, 2"""
    ),
    "types": _catalog(
        """SELECT n.nspname, t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod),
               ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
                     ORDER BY e.enumsortorder)
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {user} ORDER BY 1, 2"""
    ),
    "sequences": sql.SQL(
        """SELECT schemaname, sequencename, data_type::text, start_value, min_value,
               max_value, increment_by, cycle, cache_size
        FROM pg_sequences ORDER BY 1, 2"""
    ),
    "extensions": sql.SQL("SELECT extname, extversion FROM pg_extension ORDER BY 1"),
    "settings": sql.SQL(
        """SELECT s.setrole, s.setconfig FROM pg_db_role_setting s
        WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY 1"""
    ),
}
# Functions and procedures as `CREATE OR REPLACE` would make them again.
_FUNCTIONS = _catalog(
    """SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
           pg_get_functiondef(p.oid)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prokind IN ('f', 'p') AND {user} ORDER BY 1, 2, 3"""
)
_TABLES = _catalog(
    """SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND {user} ORDER BY 1, 2"""
)

Table = tuple[str, str]  # schema, name


@dataclass(frozen=True)
class Schema:
    parts: tuple[tuple[str, tuple[tuple[Any, ...], ...]], ...]
    # Each function's and procedure's definition, by schema, name and arguments.
    functions: dict[tuple[str, str, str], str]


@dataclass(frozen=True)
class DatabaseState:
    schema: Schema
    # Each table's row count and a digest of its rows (in a fixed order).
    rows: dict[Table, tuple[int, str]]
    # Each sequence's last value (None: never called since its start).
    sequences: dict[Table, int | None]


def state_of(connection: psycopg.Connection[Any]) -> DatabaseState:
    return DatabaseState(_schema_of(connection), _rows(connection), _sequences(connection))


def _schema_of(connection: psycopg.Connection[Any]) -> Schema:
    parts = tuple(
        (part, tuple(tuple(row) for row in connection.execute(query).fetchall()))
        for part, query in _SCHEMA_QUERIES.items()
    )
    functions = {
        (schema, name, arguments): definition
        for schema, name, arguments, definition in connection.execute(_FUNCTIONS).fetchall()
    }
    return Schema(parts, functions)


def _tables(connection: psycopg.Connection[Any]) -> list[Table]:
    return [(schema, name) for schema, name in connection.execute(_TABLES).fetchall()]


# A table's (`t`'s) row count and the md5 of its rows as text, in order.
_COUNT_AND_DIGEST = sql.SQL(
    "count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
)


def _of_table(table: Table, query: LiteralString, **values: sql.Composable) -> sql.Composed:
    """A query about one table: `{schema}`, `{name}`, `{table}`, `{count_and_digest}` in it."""
    schema, name = table
    return sql.SQL(query).format(
        schema=sql.Literal(schema),
        name=sql.Literal(name),
        table=sql.Identifier(schema, name),
        count_and_digest=_COUNT_AND_DIGEST,
        **values,
    )


def _rows(connection: psycopg.Connection[Any]) -> dict[Table, tuple[int, str]]:
    tables = _tables(connection)
    if not tables:
        return {}
    # One round trip for every table.
    query = sql.SQL(" UNION ALL ").join(
        _of_table(table, "SELECT {schema}, {name}, {count_and_digest} FROM {table} t")
        for table in tables
    )
    return {
        (schema, name): (count, digest)
        for schema, name, count, digest in connection.execute(query).fetchall()
    }


def _tables_unlike(connection: psycopg.Connection[Any], wanted: DatabaseState) -> list[Table]:
    """The tables whose rows are not `wanted`'s (of the same schema), in one round trip: a
    table empty in `wanted` looked at for one row, not read whole."""
    query = sql.SQL(" UNION ALL ").join(
        _of_table(table, "SELECT {schema}, {name} WHERE EXISTS (SELECT FROM {table})")
        if count == 0
        else _of_table(
            table,
            "SELECT {schema}, {name} FROM (SELECT {count_and_digest} FROM {table} t)"
            " AS seen (rows, digest) WHERE (seen.rows, seen.digest) <> ({count}, {digest})",
            count=sql.Literal(count),
            digest=sql.Literal(digest),
        )
        for table, (count, digest) in wanted.rows.items()
    )
    return [(schema, name) for schema, name in connection.execute(query).fetchall()]


def _sequences(connection: psycopg.Connection[Any]) -> dict[Table, int | None]:
    return {
        (schema, name): last
        for schema, name, last in connection.execute(
            "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"
        ).fetchall()
    }


def rows_of(connection: psycopg.Connection[Any], table: Table) -> bytes:
    """A table's rows as `COPY … TO STDOUT` writes them, to be put back by `emptied_to`."""
    data = bytearray()
    with connection.cursor().copy(
        sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(*table))
    ) as copy:
        for chunk in copy:
            data += chunk
    return bytes(data)


# What DROP names each kind of relation a test may have added (indexes: the table's own go
# with it).
_DROP = {
    "r": "TABLE",
    "p": "TABLE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "S": "SEQUENCE",
    "c": "TYPE",
    "i": "INDEX",
    "I": "INDEX",
}


def _schema_put_back(connection: psycopg.Connection[Any], found: Schema, wanted: Schema) -> bool:
    """Drop the schemas, relations and functions a database has beyond `wanted`'s (a test's own
    event log's tables, say), with what depends on them, and make `wanted`'s functions again
    where they differ; whether anything was done."""
    parts, wanted_parts = dict(found.parts), dict(wanted.parts)
    schemas = [row[0] for row in parts["schemas"] if row not in wanted_parts["schemas"]]
    relations = [
        (_DROP[kind], schema, name)
        for schema, name, kind, _ in parts["relations"]
        if (schema, name, kind, _) not in wanted_parts["relations"]
        and kind in _DROP
        and schema not in schemas
    ]
    for schema in schemas:
        connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    # A function the test made again otherwise (the library's create_table replaces its insert
    # function with one for the log it creates) is made as it was; one it added is dropped.
    functions = [key for key, made in found.functions.items() if wanted.functions.get(key) != made]
    for key in functions:
        schema, name, arguments = key
        if key in wanted.functions:
            connection.execute(wanted.functions[key].encode())
        elif schema not in schemas:
            connection.execute(
                sql.SQL("DROP FUNCTION IF EXISTS {}({}) CASCADE").format(
                    sql.Identifier(schema, name),
                    sql.SQL(arguments),  # as the catalog writes them
                )
            )
    # Tables first: their indexes and sequences go with them.
    for what, schema, name in sorted(relations, key=lambda relation: relation[0] != "TABLE"):
        connection.execute(
            sql.SQL("DROP {} IF EXISTS {} CASCADE").format(
                sql.SQL(what),  # one of _DROP's words
                sql.Identifier(schema, name),
            )
        )
    return bool(schemas or relations or functions)


def emptied_to(
    connection: psycopg.Connection[Any], wanted: DatabaseState, rows: dict[Table, bytes]
) -> bool:
    """Bring a database whose schema is `wanted`'s back to `wanted`'s rows and sequences (its
    tables' `rows`, as `rows_of` read them), the schemas and relations it has beyond `wanted`'s
    dropped first. False if its schema still differs, True once its whole state is `wanted`.
    The connection must be in autocommit mode."""
    found = _schema_of(connection)
    if _schema_put_back(connection, found, wanted.schema):
        found = _schema_of(connection)
    if found != wanted.schema:
        return False
    changed = _tables_unlike(connection, wanted)
    with connection.transaction():
        # Foreign keys and triggers stay out of the way of emptying tables in any order.
        connection.execute("SET LOCAL session_replication_role = replica")
        for table in changed:
            connection.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(*table)))
            if table in rows:
                with connection.cursor().copy(
                    sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(*table))
                ) as copy:
                    copy.write(rows[table])
        for sequence, last in _sequences(connection).items():
            if last == wanted.sequences[sequence]:
                continue
            name = sql.Identifier(*sequence)
            if wanted.sequences[sequence] is None:
                connection.execute(sql.SQL("ALTER SEQUENCE {} RESTART").format(name))
            else:
                connection.execute(
                    "SELECT setval(format('%%I.%%I', %s, %s)::regclass, %s, true)",
                    (*sequence, wanted.sequences[sequence]),
                )
    # The schema is as it was checked: what was emptied is looked at again. (The deleted rows
    # are left to the server: vacuuming each table cost more than emptying it.)
    return not _tables_unlike(connection, wanted) and _sequences(connection) == wanted.sequences
