"""Reading the stored events of several aggregates in one query.

A command that needs two aggregates (a payment and its booking) would otherwise pay the
library's read twice: a pooled connection, a query composed anew, a round trip, a dict row
per event. On PostgreSQL one prepared ``= ANY`` query with plain tuple rows reads them all;
elsewhere (SQLite, memory) the recorder is asked once per aggregate.

Concurrent commands share those reads too (``SharedReads``): the reads asked for while one is
in flight are made together next, in one query, by one of their callers. Each query costs
the client a pooled connection and a statement's round trip whatever it reads, and with
many threads under one interpreter lock that cost, not the database, bounds how many
commands a process decides per second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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

from ledger.handoff import LeaderQueue, Waiter, fail_all

EventsOf = Callable[[Sequence[UUID]], dict[UUID, list[StoredEvent]]]


def events_reader(
    recorder: AggregateRecorder, *, others_under_way: Callable[[], bool] | None = None
) -> EventsOf:
    """A function giving each id's stored events in version order (absent: no events); on
    PostgreSQL shared by concurrent callers (``SharedReads``, ``others_under_way`` its hint),
    each query read for all of them (elsewhere reads are one per aggregate anyway: sharing
    would only queue them)."""
    if isinstance(recorder, PostgresAggregateRecorder):
        return SharedReads(_postgres_reader(recorder), others_under_way=others_under_way)

    def one_by_one(ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        found = {aggregate_id: list(recorder.select_events(aggregate_id)) for aggregate_id in ids}
        return {aggregate_id: events for aggregate_id, events in found.items() if events}

    return one_by_one


def _postgres_reader(recorder: PostgresAggregateRecorder) -> EventsOf:
    datastore = recorder.datastore
    # One statement for any number of ids: they go as one array literal, built with a
    # ``str.join`` (psycopg dumps a list, or many scalar parameters, one by one in Python).
    select = (
        SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s::uuid[]) ORDER BY originator_id, originator_version"
        )
        .format(schema=Identifier(datastore.schema), table=Identifier(recorder.events_table_name))
        .as_bytes()
    )

    # A lost connection is retried as the library retries its own reads.
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def read(ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        found: dict[UUID, list[StoredEvent]] = {}
        if not ids:
            return found
        with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            ids_literal = "{" + ",".join([str(i) for i in ids]) + "}"
            curs.execute(select, (ids_literal,), prepare=True, binary=True)
            for originator_id, version, topic, state in curs.fetchall():
                found.setdefault(originator_id, []).append(
                    StoredEvent(originator_id, version, topic, bytes(state))
                )
        return found

    return cast(EventsOf, read)  # the decorator is untyped


# Ids in one shared query at most.
MAX_SHARED_IDS = 64


@dataclass(frozen=True)
class ReadStats:
    """What shared reads have done since they were made (every figure only grows): how many
    commands' reads each query serves, and how long the queries take."""

    queries: int
    requests: int  # the commands' reads they served
    seconds: float  # spent in the queries, one at a time


class _Request(Waiter):
    __slots__ = ("found", "ids")

    def __init__(self, ids: Sequence[UUID]) -> None:
        super().__init__()
        self.ids = ids
        self.found: dict[UUID, list[StoredEvent]] = {}


class SharedReads(LeaderQueue[_Request]):
    """``read`` (an ``EventsOf``) shared by concurrent callers: whoever asks while a read is
    in flight waits, and the first of them then reads for all that waited, in one call.

    Every caller gets what one read made after it asked would give (so never a staler
    state), all its ids from the same query."""

    def __init__(
        self,
        read: EventsOf,
        *,
        max_ids: int = MAX_SHARED_IDS,
        others_under_way: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__()
        self._read = read
        self._max_ids = max_ids
        # Whether other commands are under way and may ask for reads in a moment.
        self._others_under_way = others_under_way or (lambda: False)
        # Written by the leader only (one at a time), read by anyone: no lock needed.
        self._stats = ReadStats(0, 0, 0.0)

    @property
    def stats(self) -> ReadStats:
        return self._stats

    def __call__(self, ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        request = _Request(ids)
        if self._join(request):
            self._lead(request)
        request.outcome()
        return request.found

    def _lead(self, own: _Request) -> None:
        try:
            if self._others_under_way():
                # Callers released together (a group commit wakes a batch at once) are ready
                # to run but wait for the interpreter lock: yield it for one scheduler tick
                # (``sleep(0)``: about 0.07 ms here) so that they ask first and share this
                # query. Alone, a command never waits.
                time.sleep(0)
            with self._lock:
                batch, wanted = self._take_batch()
            started = time.perf_counter()
            try:
                found = self._read(wanted)
            except BaseException as error:
                fail_all(batch, error)
                raise
            finally:
                stats = self._stats
                self._stats = ReadStats(
                    stats.queries + 1,
                    stats.requests + len(batch),
                    stats.seconds + time.perf_counter() - started,
                )
            for request in batch:
                request.found = {i: found[i] for i in request.ids if i in found}
                request.resolve(None)
        finally:
            self._pass_lead(own)

    def _take_batch(self) -> tuple[list[_Request], list[UUID]]:
        """The queue's first requests whose ids fit in one query (always the first)."""
        wanted: dict[UUID, None] = {}
        batch: list[_Request] = []
        while self._queue:
            more = [i for i in self._queue[0].ids if i not in wanted]
            if batch and len(wanted) + len(more) > self._max_ids:
                break
            wanted.update(dict.fromkeys(more))
            batch.append(self._queue.popleft())
        return batch, list(wanted)
