"""The work pool over a toy log: a failing lane is retried on a schedule while other lanes go
on, a deterministic error is parked at once, running out of attempts calls ``give_up``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.errors import LedgerValidationError
from projections import tracking, work_queue
from projections.dispatch import WorkDispatcher
from projections.follower import Follower, RetryPolicy
from projections.work_pool import WorkPool, WorkSettings
from tests.support.follower_toy import Toy, toy_world
from tests.support.waiting import wait_until


@pytest.fixture
def toy(database_url: str) -> Iterator[Toy]:
    with toy_world(database_url) as world:
        yield world


class Flaky:
    """Fails ``transient[lane]`` times on each event of a lane, or always with ``permanent``."""

    name = "flaky"

    def __init__(self, transient: dict[str, int], permanent: set[str]) -> None:
        self.transient = transient
        self.permanent = permanent
        self.handled: list[tuple[str, int]] = []
        self.gave_up: list[int] = []
        self._lock = threading.Lock()

    def handle(self, position: int, event: Any) -> None:
        lane = str(event.originator_id)
        with self._lock:
            if lane in self.permanent:
                raise LedgerValidationError("never")
            if self.transient.get(lane, 0) > 0:
                self.transient[lane] -= 1
                raise ConnectionError("try later")
            self.handled.append((lane, position))

    def give_up(self, position: int, event: Any, error: Exception) -> None:
        with self._lock:
            self.gave_up.append(position)


def _lanes(toy: Toy) -> list[str]:
    notifications = toy.app.recorder.select_notifications(0, 100)
    return list(dict.fromkeys(str(n.originator_id) for n in notifications))


def test_failures_are_scheduled_parked_or_given_up_and_hold_up_no_other_lane(toy: Toy) -> None:
    toy.append(counters=4, increments=1)  # four lanes, two events each
    slow, poison, hopeless, fine = _lanes(toy)
    process = Flaky(transient={slow: 2, hopeless: 99}, permanent={poison})
    dispatcher = Follower(toy.app, toy.store, WorkDispatcher({"flaky": ()}), poll_interval=0.05)
    settings = WorkSettings(
        threads=3, poll_interval=0.05, retry=RetryPolicy(attempts=3, initial_delay=0.5)
    )
    pool = WorkPool(toy.app, toy.store, [process], dispatcher, settings)
    with dispatcher:
        pool.start()
        try:
            # The healthy lane completes while the slow one waits out its retries.
            wait_until(lambda: [lane for lane, _ in process.handled].count(fine) == 2)
            assert [lane for lane, _ in process.handled].count(slow) == 0
            head = toy.app.recorder.max_notification_id() or 0
            assert pool.wait_for("flaky", head, timeout=20)
        finally:
            pool.stop()

    handled = [lane for lane, _ in process.handled]
    assert handled.count(slow) == 2  # retried, then done, in order
    slow_positions = [p for lane, p in process.handled if lane == slow]
    assert slow_positions == sorted(slow_positions)
    assert len(process.gave_up) == 2  # the hopeless lane's two events, after three attempts each
    with toy.store.transaction(readonly=True) as tx:
        parked = work_queue.parked(tx)
    assert {(p.lane, p.attempts) for p in parked} == {(poison, 1)}  # not retried
    assert len(parked) == 2


def test_the_dispatcher_takes_over_where_the_old_per_manager_followers_stood(toy: Toy) -> None:
    last = toy.append(counters=3)
    ids = toy.notification_ids()
    # An older deployment ran one follower per process manager; they had reached ids[1], ids[0].
    with toy.store.ddl_transaction() as tx:
        tracking.create_table(tx)
        tracking.ensure(tx, "fulfilment")
        tracking.advance(tx, "fulfilment", expected=0, new=ids[1])
        tracking.ensure(tx, "refunds")
        tracking.advance(tx, "refunds", expected=0, new=ids[0])

    routes: dict[str, tuple[str, ...]] = {"fulfilment": (), "refunds": ()}
    dispatcher = Follower(toy.app, toy.store, WorkDispatcher(routes))
    assert dispatcher.position == ids[0]  # the slowest of them
    assert dispatcher.run_until_caught_up() == last
    with toy.store.transaction(readonly=True) as tx:
        rows = tx.execute("SELECT DISTINCT position FROM work_items ORDER BY position").fetchall()
    assert [row["position"] for row in rows] == ids[1:]  # history is not handed out again
