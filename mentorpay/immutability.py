"""Make the ledger's events table append-only in the database itself.

The library only ever INSERTs events; any UPDATE or DELETE (a bug, a hand-typed query, a
compromised service) would silently rewrite history. Triggers refuse them at the source:

- PostgreSQL (``ledger_events``): a row trigger raising on UPDATE and DELETE, and a
  statement trigger raising on TRUNCATE. Installed with ``CREATE OR REPLACE`` under an
  advisory lock, so every process may call this at start-up.
- SQLite (the library's table ``stored_events``): ``RAISE(ABORT)`` triggers on UPDATE and
  DELETE (SQLite has no TRUNCATE).
- ``memory://``: nothing to protect.

A database owner can still drop the triggers: this guards against accidents and
application bugs; separating privileges is the production complement.
"""

from __future__ import annotations

import sqlite3

import psycopg
from psycopg import sql

from ledger import Ledger
from projections.database_url import parse_database_url

# Table names chosen by the eventsourcing library for the ``ledger`` application.
POSTGRES_EVENTS_TABLE = f"{Ledger.name}_events"
SQLITE_EVENTS_TABLE = "stored_events"
MESSAGE = "ledger events are immutable: UPDATE, DELETE and TRUNCATE are refused"
_FUNCTION = "mentorpay_refuse_event_change"
_LOCK_KEY = 0x6D656E746F72  # any fixed number; serialises concurrent installers

_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = {message};
END
$$
"""
_POSTGRES_ROW_TRIGGER = """
CREATE OR REPLACE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {schema}.{table}
FOR EACH ROW EXECUTE FUNCTION {schema}.{function}()
"""
_POSTGRES_TRUNCATE_TRIGGER = """
CREATE OR REPLACE TRIGGER {trigger} BEFORE TRUNCATE ON {schema}.{table}
FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{function}()
"""


def protect_event_table(database_url: str) -> None:
    """Install the guard (idempotent); a no-op where the store cannot enforce it.

    Call it after the ``Ledger`` is constructed: the library creates the table then.
    """
    target = parse_database_url(database_url)
    if target.kind == "postgres":
        _protect_postgres(target.psycopg_conninfo, target.schema or "public")
    elif target.kind == "sqlite":
        assert target.sqlite_path is not None
        _protect_sqlite(target.sqlite_path)


def _protect_postgres(conninfo: str, schema: str) -> None:
    names = {
        "schema": sql.Identifier(schema),
        "table": sql.Identifier(POSTGRES_EVENTS_TABLE),
        "function": sql.Identifier(_FUNCTION),
        "message": sql.Literal(MESSAGE),
    }
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(sql.SQL(_POSTGRES_FUNCTION).format(**names))
        conn.execute(
            sql.SQL(_POSTGRES_ROW_TRIGGER).format(
                trigger=sql.Identifier(f"{POSTGRES_EVENTS_TABLE}_append_only"), **names
            )
        )
        conn.execute(
            sql.SQL(_POSTGRES_TRUNCATE_TRIGGER).format(
                trigger=sql.Identifier(f"{POSTGRES_EVENTS_TABLE}_no_truncate"), **names
            )
        )


def _protect_sqlite(path: str) -> None:
    connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        for operation in ("UPDATE", "DELETE"):
            connection.execute(
                f"CREATE TRIGGER IF NOT EXISTS {SQLITE_EVENTS_TABLE}_no_{operation.lower()}"
                f" BEFORE {operation} ON {SQLITE_EVENTS_TABLE}"
                f" BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
        connection.execute("COMMIT")
    finally:
        connection.close()
