"""Shared reads: concurrent commands that read aggregates while a read is in flight are read
together next, in one query, and each gets exactly what it asked for."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import OperationalError, StoredEvent

from ledger import Ledger
from ledger.event_reads import SharedReads, events_reader
from mentorpay.persistence import eventsourcing_env
from tests.support.ledger_factories import request_booking
from tests.support.waiting import wait_until


class HeldReads:
    """A read function that records what it is asked and can hold its first call."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[UUID]] = []
        self.gate = threading.Event()
        self.fail = fail

    def __call__(self, ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        self.calls.append(list(ids))
        if len(self.calls) == 1:
            assert self.gate.wait(timeout=30)
        elif self.fail:
            raise OperationalError("connection lost")
        return {i: [StoredEvent(i, 1, "t", i.bytes)] for i in ids}


def held_then_together(
    reads: SharedReads, held: HeldReads, asks: list[list[UUID]]
) -> tuple[list[UUID], list[object]]:
    """One read held in flight, ``asks`` queued behind it, then all let go: the first read's
    ids and each queued caller's result (or exception)."""
    first_ids = [uuid.uuid4()]
    with ThreadPoolExecutor(max_workers=len(asks) + 1) as pool:
        first = pool.submit(reads, first_ids)
        wait_until(lambda: held.calls)
        queued = [pool.submit(reads, ids) for ids in asks]
        wait_until(lambda: reads.waiting == len(asks))
        held.gate.set()
        first.result(timeout=30)
        return first_ids, [f.exception(timeout=30) or f.result(timeout=30) for f in queued]


def test_reads_asked_while_one_is_in_flight_are_made_together_and_each_gets_its_own() -> None:
    held = HeldReads()
    reads = SharedReads(held)
    shared = uuid.uuid4()  # asked by two callers: read once
    asks = [[uuid.uuid4(), shared], [shared, uuid.uuid4()], [uuid.uuid4()]]

    first_ids, results = held_then_together(reads, held, asks)

    assert held.calls[0] == first_ids
    assert len(held.calls) == 2  # everything queued meanwhile in one read
    # What operations see of it (``/metrics``): 4 commands' reads served by 2 queries.
    assert (reads.stats.queries, reads.stats.requests) == (2, 4)
    assert reads.stats.seconds > 0
    assert sorted(held.calls[1]) == sorted({i for ids in asks for i in ids})
    for ids, found in zip(asks, results, strict=True):
        assert isinstance(found, dict)
        assert sorted(found) == sorted(ids)
        assert all(found[i][0].originator_id == i for i in ids)


def test_a_read_of_too_many_ids_for_one_query_is_split_between_queries() -> None:
    held = HeldReads()
    reads = SharedReads(held, max_ids=4)
    asks = [[uuid.uuid4(), uuid.uuid4()] for _ in range(3)]  # 6 ids: 4 fit in one query

    _, results = held_then_together(reads, held, asks)

    assert [len(call) for call in held.calls] == [1, 4, 2]
    assert all(
        isinstance(r, dict) and sorted(r) == sorted(ids)
        for r, ids in zip(results, asks, strict=True)
    )


def test_a_failed_read_fails_each_caller_of_its_batch_with_its_own_error_and_the_next_works() -> (
    None
):
    held = HeldReads(fail=True)
    reads = SharedReads(held)
    asks = [[uuid.uuid4()] for _ in range(3)]

    _, results = held_then_together(reads, held, asks)

    assert all(isinstance(r, OperationalError) for r in results)
    assert len({id(r) for r in results}) == 3  # raising one object in many threads is unsafe
    held.fail = False
    again = uuid.uuid4()
    assert list(reads([again])) == [again]
    assert reads.waiting == 0


def test_on_each_store_a_shared_read_gives_each_aggregate_its_events_in_order(
    database_url: str,
) -> None:
    with Ledger(eventsourcing_env(database_url)) as ledger:
        booked = [request_booking(ledger) for _ in range(3)]
        for booking_id in booked[:2]:
            ledger.expire_booking(booking_id=booking_id)
        absent = uuid.uuid4()
        reads = events_reader(ledger.recorder)  # shared on PostgreSQL

        with ThreadPoolExecutor(max_workers=4) as pool:
            found = list(pool.map(reads, [[b, absent] for b in booked] + [[absent]]))

        for booking_id, events in zip(booked, found[:-1], strict=True):
            assert list(events) == [booking_id]  # nothing for the absent id
            versions = [e.originator_version for e in events[booking_id]]
            assert versions == sorted(versions) and len(versions) == (
                2 if booking_id in booked[:2] else 1
            )
        assert found[-1] == {}


def test_a_leader_interrupted_before_it_took_its_batch_leaves_no_one_stuck() -> None:
    class InterruptedOnce(SharedReads):
        interrupted = False

        def _take_batch(self) -> tuple[list[Any], list[UUID]]:
            if not self.interrupted:
                self.interrupted = True
                raise KeyboardInterrupt  # say, while it waited for the interpreter lock
            return super()._take_batch()

    reads = InterruptedOnce(HeldReads())
    reads._read.gate.set()  # type: ignore[attr-defined]
    with pytest.raises(KeyboardInterrupt):
        reads([uuid.uuid4()])

    again = uuid.uuid4()
    found: list[dict[UUID, list[StoredEvent]]] = []
    # A daemon thread: stuck behind a lead no one holds, it must not hang the test run.
    reader = threading.Thread(target=lambda: found.append(reads([again])), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "the next read waits for a leader that is gone"
    assert list(found[0]) == [again]
    assert reads.waiting == 0
