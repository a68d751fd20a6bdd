"""A small chaos run, checked from outside: about 30 bookings through the API while Stripe
and Cal.com fail now and then and worker processes are killed with -9 and replaced.

Afterwards every booking is either ACCEPTED with exactly one Cal.com booking and no refund,
or REJECTED with exactly one full refund and no Cal.com booking; nothing is parked; and
``ledger verify`` finds nothing. Bounded: it ends in well under two minutes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from mentorpay.bootstrap import read_models
from processes.finance.audit import verify
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
BOOKINGS = 30
KILLS = 3
SLOT_TAKEN = "User either already has booking at this time or is not available"


@pytest.fixture
def cluster(postgres_url: str) -> Iterator[Cluster]:
    with worker_cluster(postgres_url) as running:
        yield running


def _faults(cluster: Cluster) -> None:
    stack = cluster.stack
    # Cal.com: outages, a lost answer after the booking was made, slow calls, slots taken.
    arm_calcom_fault(stack, method="POST", path="/v2/bookings", status=500, times=5)
    arm_calcom_fault(
        stack, method="POST", path="/v2/bookings", status=0, afterProcessing=True, times=3
    )
    arm_calcom_fault(stack, method="POST", path="/v2/bookings", delayMs=800, times=6)
    arm_calcom_fault(
        stack, method="POST", path="/v2/bookings", status=400, message=SLOT_TAKEN, times=4
    )
    arm_calcom_fault(stack, method="GET", path="/v2/bookings", status=503, times=4)
    # Stripe: the refunds of the bookings that fail meet errors too.
    with stack.sandbox_client() as sandbox:
        for fault in (
            {
                "service": "stripe",
                "method": "POST",
                "path": "/v1/refunds",
                "status": 500,
                "times": 2,
            },
            {"service": "stripe", "method": "POST", "path": "/v1/refunds", "status": 0, "times": 1},
        ):
            assert sandbox.post("/_sandbox/faults", json=fault).status_code == 201


def test_chaos_faults_and_worker_kills_leave_every_booking_right(cluster: Cluster) -> None:
    started = time.monotonic()
    stack = cluster.stack
    cluster.start_worker()
    cluster.start_worker()
    _faults(cluster)
    chaos = random.Random(9)

    def kill_and_replace() -> None:
        for _ in range(KILLS):
            time.sleep(chaos.uniform(1.5, 3.0))  # chaos timing, not synchronisation
            victim = chaos.choice(cluster.alive())
            victim.kill()
            cluster.start_worker()

    with ThreadPoolExecutor(5) as pool:
        killer = pool.submit(kill_and_replace)
        booking_ids = list(pool.map(lambda skip: book_and_pay(stack, skip), range(BOOKINGS)))
        killer.result()

    settled = {"ACCEPTED", "REJECTED"}
    wait_until(lambda: all(status_of(stack, b) in settled for b in booking_ids), timeout=60)
    drained(stack)

    outcomes = {"ACCEPTED": 0, "REJECTED": 0}
    for booking_id in booking_ids:
        status = status_of(stack, booking_id)
        outcomes[status] += 1
        live = [b for b in calcom_bookings_of(stack, booking_id) if b["status"] == "accepted"]
        refunds = stripe_refunds_of(stack, booking_id)
        if status == "ACCEPTED":
            assert len(live) == 1 and refunds == [], booking_id
        else:
            assert live == [] and len(refunds) == 1, booking_id
            assert refunds[0].amount == stack.booking(booking_id)["amount"]
    assert outcomes["REJECTED"] >= 4  # the slots taken at least
    with stack.client("ops-1", "admin") as admin:
        assert admin.get("/api/ops/attention").json()["items"] == []
    head = stack.container.ledger.recorder.max_notification_id() or 0
    wait_until(
        lambda: all(f.lag() == 0 for f in stack.container.projections.values()),
        timeout=30,
    )
    report = verify(stack.container.ledger, stack.container.store, read_models())
    assert report.findings == [], [str(f) for f in report.findings]
    assert report.position >= head
    assert time.monotonic() - started < 120
