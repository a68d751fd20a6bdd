"""The work queue's rules, on both stores: lanes keep one booking's work in order, retries
wait for their time, a lapsed lease makes work claimable again, parked work holds up nothing,
and concurrent claims never take the same row."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from projections import work_queue
from projections.store import ReadModelStore
from projections.work_queue import Claim

LEASE = timedelta(seconds=30)


@pytest.fixture
def store(database_url: str) -> Iterator[ReadModelStore]:
    with ReadModelStore(database_url, pool_size=4) as opened:
        with opened.ddl_transaction() as tx:
            work_queue.create_tables(tx)
        yield opened


def _enqueue(store: ReadModelStore, *items: tuple[int, str]) -> None:
    with store.transaction() as tx:
        work_queue.enqueue(tx, [("p", position, lane, "topic") for position, lane in items])


def _claim(store: ReadModelStore, now: datetime | None = None, worker: str = "w") -> Claim | None:
    with store.transaction() as tx:
        return work_queue.claim(tx, ["p"], worker=worker, lease=LEASE, now=now)


def _done(store: ReadModelStore, claim: Claim) -> bool:
    with store.transaction() as tx:
        return work_queue.mark_done(tx, claim)


def test_one_lane_in_order_other_lanes_independent(store: ReadModelStore) -> None:
    _enqueue(store, (1, "A"), (2, "A"), (3, "B"))
    first = _claim(store)
    other = _claim(store)
    assert first is not None and other is not None
    assert (first.position, other.position) == (1, 3)  # 2 waits for 1: same booking
    assert _claim(store) is None
    assert _done(store, first)
    second = _claim(store)
    assert second is not None and second.position == 2


def test_a_retry_waits_for_its_time_and_holds_its_lane(store: ReadModelStore) -> None:
    _enqueue(store, (1, "A"), (2, "A"))
    claim = _claim(store)
    assert claim is not None
    with store.transaction() as tx:
        assert work_queue.schedule_retry(tx, claim, delay=60, error="503")
    assert _claim(store) is None  # not due, and 2 stays behind it
    later = _claim(store, now=datetime.now(UTC) + timedelta(seconds=61))
    assert later is not None and (later.position, later.attempts) == (1, 2)


def test_a_lapsed_lease_makes_the_work_claimable_again(store: ReadModelStore) -> None:
    _enqueue(store, (1, "A"))
    crashed = _claim(store, worker="dead")
    assert crashed is not None
    assert _claim(store) is None  # still leased
    taken_over = _claim(store, now=datetime.now(UTC) + LEASE + timedelta(seconds=1))
    assert taken_over is not None and taken_over.attempts == 2
    assert not _done(store, crashed)  # the dead worker's late answer changes nothing
    assert _done(store, taken_over)


def test_parked_work_holds_up_nothing_and_can_be_queued_again(store: ReadModelStore) -> None:
    _enqueue(store, (1, "A"), (2, "A"))
    claim = _claim(store)
    assert claim is not None
    with store.transaction() as tx:
        assert work_queue.park(tx, claim, error="LedgerValidationError: no")
    nxt = _claim(store)
    assert nxt is not None and nxt.position == 2
    with store.transaction() as tx:
        [parked] = work_queue.parked(tx)
        assert (parked.position, parked.lane, parked.attempts) == (1, "A", 1)
        assert parked.last_error == "LedgerValidationError: no"
        assert work_queue.requeue(tx, "p", 1)
    assert _done(store, nxt)
    again = _claim(store)
    assert again is not None and (again.position, again.attempts) == (1, 1)


def test_concurrent_claims_never_take_the_same_row(store: ReadModelStore) -> None:
    _enqueue(store, *[(n, f"lane-{n}") for n in range(1, 41)])
    taken: list[int] = []
    lock = threading.Lock()

    def drain(worker: str) -> None:
        while (claim := _claim(store, worker=worker)) is not None:
            with lock:
                taken.append(claim.position)

    threads = [threading.Thread(target=drain, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(taken) == list(range(1, 41))


def test_done_work_is_forgotten_after_a_while_parked_work_is_kept(store: ReadModelStore) -> None:
    _enqueue(store, (1, "A"), (2, "B"))
    done, parked = _claim(store), _claim(store)
    assert done is not None and parked is not None
    assert _done(store, done)
    with store.transaction() as tx:
        work_queue.park(tx, parked, error="no")
        assert work_queue.prune_done(tx, timedelta(days=7)) == 0  # too recent
        assert work_queue.prune_done(tx, timedelta(seconds=-1)) == 1
        assert work_queue.get(tx, "p", 1) is None
        assert work_queue.get(tx, "p", 2) is not None
