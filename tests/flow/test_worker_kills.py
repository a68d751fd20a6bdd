"""``kill -9`` of a worker process in the middle of work, with two workers sharing the work on
PostgreSQL: nothing is lost, no side effect happens twice, the other worker carries on."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.flow.test_pipeline import _arm, _book_and_pay, _drained, _ours, _refunds, _status
from tests.flow.worker_processes import Cluster, worker_cluster
from tests.waiting import wait_until

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster(postgres_url: str) -> Iterator[Cluster]:
    with worker_cluster(postgres_url) as running:
        yield running


def test_kill_9_of_one_of_two_workers_loses_nothing_and_repeats_nothing(cluster: Cluster) -> None:
    stack = cluster.stack
    first, second = cluster.start_worker(), cluster.start_worker()
    # Slow Cal.com calls, so that work is in flight when the worker dies.
    _arm(stack, method="POST", path="/v2/bookings", delayMs=1200, times=12)
    with ThreadPoolExecutor(4) as pool:
        booking_ids = list(pool.map(lambda skip: _book_and_pay(stack, skip), range(10)))

    # Both workers take work; kill -9 one of them while it runs some.
    busy = wait_until(
        lambda: {first.pid, second.pid} & set(cluster.running_leases()), timeout=30, interval=0.01
    )
    victim = first if first.pid in busy else second
    survivor = second if victim is first else first
    victim.kill()

    wait_until(lambda: all(_status(stack, b) == "ACCEPTED" for b in booking_ids), timeout=60)
    _drained(stack)
    assert survivor.process.poll() is None  # it carried on
    for booking_id in booking_ids:
        assert len(_ours(stack, booking_id)) == 1, booking_id  # no duplicate Cal.com booking
        assert _refunds(stack, booking_id) == []
    with stack.container.store.transaction(readonly=True) as tx:
        statuses = tx.execute("SELECT DISTINCT status FROM work_items").fetchall()
        rerun = tx.execute("SELECT MAX(attempts) AS n FROM work_items").fetchone()
    assert [row["status"] for row in statuses] == ["done"]  # nothing lost, nothing parked
    assert rerun is not None and rerun["n"] >= 2  # what the victim was running ran again
