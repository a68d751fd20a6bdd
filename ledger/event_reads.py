"""Reading the stored events of several aggregates in one query.

A command that needs two aggregates (a payment and its booking) would otherwise pay the
library's read twice: a pooled connection, a query composed anew, a round trip, a dict row
per event. On PostgreSQL one prepared ``IN`` query with plain tuple rows reads them all;
elsewhere (SQLite, memory) the recorder is asked once per aggregate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

EventsOf = Callable[[Sequence[UUID]], dict[UUID, list[StoredEvent]]]


def events_reader(recorder: AggregateRecorder) -> EventsOf:
    """A function giving each id's stored events in version order (absent: no events)."""
    if isinstance(recorder, PostgresAggregateRecorder):
        return _postgres_reader(recorder)

    def one_by_one(ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        found = {aggregate_id: list(recorder.select_events(aggregate_id)) for aggregate_id in ids}
        return {aggregate_id: events for aggregate_id, events in found.items() if events}

    return one_by_one


def _postgres_reader(recorder: PostgresAggregateRecorder) -> EventsOf:
    datastore = recorder.datastore
    select = SQL(
        "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
        "WHERE originator_id IN ({ids}) ORDER BY originator_id, originator_version"
    )
    statements: dict[int, bytes] = {}

    def statement_for(count: int) -> bytes:
        # One prepared statement per number of ids, each a scalar parameter: psycopg dumps
        # a list in Python, element by element, at several times a scalar's cost.
        if count not in statements:
            statements[count] = select.format(
                schema=Identifier(datastore.schema),
                table=Identifier(recorder.events_table_name),
                ids=SQL(", ").join([SQL("%s")] * count),
            ).as_bytes()
        return statements[count]

    # A lost connection is retried as the library retries its own reads.
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def read(ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        found: dict[UUID, list[StoredEvent]] = {}
        if not ids:
            return found
        with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement_for(len(ids)), tuple(ids), prepare=True, binary=True)
            for originator_id, version, topic, state in curs.fetchall():
                found.setdefault(originator_id, []).append(
                    StoredEvent(originator_id, version, topic, bytes(state))
                )
        return found

    return cast(EventsOf, read)  # the decorator is untyped
