"""The ledger's PostgreSQL recorder (unless ``MENTORPAY_DB_INSERT_FUNCTION`` is off): each save
is one statement, a database function that takes the events table's lock itself.

The library's own function (``POSTGRES_ENABLE_DB_FUNCTIONS``) saves in one round trip instead
of a pipelined transaction (``SET LOCAL``, ``LOCK TABLE``, ``NOTIFY``, ``INSERT``, ``COMMIT``),
but takes no table lock: a writer can then commit a higher notification id while a lower one
is still uncommitted, and a follower that has read past it never sees the lower one. This
function is the library's with the lock put back: the statement's own transaction holds the
``EXCLUSIVE`` lock from the first id it takes to its commit, so ids still commit in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier


class OrderedInsertFunctionRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        # A name of its own: the library (re)creates its lock-free function at every start-up.
        # Four arrays, each sent as one array literal (``_array_literals``), not the
        # library's array of a composite type: psycopg dumps a list element by element in
        # Python, the largest part of a save's client CPU after the round trip.
        self.pg_function_name_insert_events = "mentorpay_append_events"
        names = {
            "schema": Identifier(datastore.schema),
            "table": Identifier(self.events_table_name),
            "insert_events": Identifier(self.pg_function_name_insert_events),
            "channel": Identifier(self.channel_name),
        }
        self.sql_invoke_pg_function_insert_events = SQL(
            "SELECT * FROM {schema}.{insert_events}(%s::uuid[], %s::bigint[], %s::text[], "
            "%s::bytea[])"
        ).format(**names)
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{insert_events}(ids uuid[], "
                "versions bigint[], topics text[], states bytea[]) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
                "BEGIN "
                "    SET LOCAL lock_timeout = '{lock_timeout}s'; "
                "    LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "    NOTIFY {channel}; "
                "    RETURN QUERY "
                "    INSERT INTO {schema}.{table} AS t "
                "    (originator_id, originator_version, topic, state) "
                "    SELECT * FROM unnest(ids, versions, topics, states) "
                "    RETURNING notification_id; "
                "END; $BODY$"
            ).format(lock_timeout=datastore.lock_timeout, **names)
        )

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        # Every process (re)creates the function at start-up; concurrent CREATE OR REPLACE
        # of one function fails ("tuple concurrently updated"), so they take turns.
        curs.execute("SELECT pg_advisory_xact_lock(hashtext('mentorpay_append_events'))")
        super()._create_table(curs)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        params = _array_literals(stored_events)
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row) as curs,
        ):
            curs.execute(self.sql_invoke_pg_function_insert_events, params, prepare=True)
            return [row[0] for row in curs.fetchall()]


def _array_literals(stored_events: Sequence[StoredEvent]) -> tuple[str, str, str, str]:
    """The events' columns as PostgreSQL array literals, one string each: built with str
    joins and ``bytes.hex`` (C), about a third of the CPU psycopg needs to dump four lists.
    Topics are quoted (backslash and double quote escaped); states are hex ``bytea``."""
    return (
        "{" + ",".join([str(e.originator_id) for e in stored_events]) + "}",
        "{" + ",".join([str(e.originator_version) for e in stored_events]) + "}",
        "{" + ",".join([_quoted(e.topic) for e in stored_events]) + "}",
        "{" + ",".join(['"\\\\x' + e.state.hex() + '"' for e in stored_events]) + "}",
    )


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
