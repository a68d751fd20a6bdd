"""The ledger's PostgreSQL recorder when ``MENTORPAY_DB_INSERT_FUNCTION`` is on: each save is
one statement, a database function that takes the events table's lock itself.

The library's own function (``POSTGRES_ENABLE_DB_FUNCTIONS``) saves in one round trip instead
of a pipelined transaction (``SET LOCAL``, ``LOCK TABLE``, ``NOTIFY``, ``INSERT``, ``COMMIT``),
but takes no table lock: a writer can then commit a higher notification id while a lower one
is still uncommitted, and a follower that has read past it never sees the lower one. This
function is the library's with the lock put back: the statement's own transaction holds the
``EXCLUSIVE`` lock from the first id it takes to its commit, so ids still commit in order.
"""

from __future__ import annotations

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier


class OrderedInsertFunctionRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        # A name of its own: the library (re)creates its lock-free function at every start-up.
        self.pg_function_name_insert_events = (
            f"mentorpay_insert_events_{datastore.originator_id_type}"
        )
        names = {
            "schema": Identifier(datastore.schema),
            "table": Identifier(self.events_table_name),
            "insert_events": Identifier(self.pg_function_name_insert_events),
            "event": Identifier(self.stored_event_type_name),
            "channel": Identifier(self.channel_name),
        }
        self.sql_invoke_pg_function_insert_events = SQL(
            "SELECT * FROM {schema}.{insert_events}((%s))"
        ).format(**names)
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{insert_events}(events {schema}.{event}[]) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
                "BEGIN "
                "    SET LOCAL lock_timeout = '{lock_timeout}s'; "
                "    LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "    NOTIFY {channel}; "
                "    RETURN QUERY "
                "    INSERT INTO {schema}.{table} AS t "
                "    (originator_id, originator_version, topic, state) "
                "    SELECT originator_id, originator_version, topic, state FROM unnest(events) "
                "    RETURNING notification_id; "
                "END; $BODY$"
            ).format(lock_timeout=datastore.lock_timeout, **names)
        )
