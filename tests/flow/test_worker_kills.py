"""``kill -9`` of a worker process in the middle of work, with two workers sharing the work on
PostgreSQL: nothing is lost, no side effect happens twice, the other worker carries on."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.pipeline import (
    arm_calcom_fault,
    book_and_pay,
    calcom_bookings_of,
    drained,
    status_of,
    stripe_refunds_of,
)
from tests.support.waiting import wait_until
from tests.support.worker_processes import Cluster, worker_cluster

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster(postgres_url: str) -> Iterator[Cluster]:
    with worker_cluster(postgres_url) as running:
        yield running


def test_kill_9_of_one_of_two_workers_loses_nothing_and_repeats_nothing(cluster: Cluster) -> None:
    stack = cluster.stack
    first, second = cluster.start_worker(), cluster.start_worker()
    # Slow Cal.com calls, so that work is in flight when the worker dies.
    arm_calcom_fault(stack, method="POST", path="/v2/bookings", delayMs=1200, times=12)
    with ThreadPoolExecutor(4) as pool:
        booking_ids = list(pool.map(lambda skip: book_and_pay(stack, skip), range(10)))

    # Both workers take work; kill -9 one of them while it runs some.
    busy = wait_until(
        lambda: {first.pid, second.pid} & set(cluster.running_leases()), timeout=30, interval=0.01
    )
    victim = first if first.pid in busy else second
    survivor = second if victim is first else first
    victim.kill()

    wait_until(lambda: all(status_of(stack, b) == "ACCEPTED" for b in booking_ids), timeout=60)
    drained(stack)
    assert survivor.process.poll() is None  # it carried on
    for booking_id in booking_ids:
        assert len(calcom_bookings_of(stack, booking_id)) == 1, (
            booking_id
        )  # no duplicate Cal.com booking
        assert stripe_refunds_of(stack, booking_id) == []
    with stack.container.store.transaction(readonly=True) as tx:
        statuses = tx.execute("SELECT DISTINCT status FROM work_items").fetchall()
        rerun = tx.execute("SELECT MAX(attempts) AS n FROM work_items").fetchone()
    assert [row["status"] for row in statuses] == ["done"]  # nothing lost, nothing parked
    assert rerun is not None and rerun["n"] >= 2  # what the victim was running ran again
