"""Payout runs over many due payments on PostgreSQL against the Stripe sandbox: a run's threads
and concurrent runs never transfer a payment twice, the request rate toward Stripe holds, and
a run stopped by the process's shutdown, or one that lost its run lock, leaves the rest to the
next run."""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import stripe

from ledger import PaymentStatus
from processes.services.payouts import PayoutRunResult, PayoutSchedule
from tests.support.advisory_locks import end_sessions_holding
from tests.support.sandbox_controls import arm_fault, control
from tests.support.scale_payouts import FEE, PRICE, Payouts, cli_env
from tests.support.waiting import wait_until


def test_two_concurrent_runs_on_many_threads_transfer_each_due_payment_exactly_once(
    payouts: Payouts,
) -> None:
    due = payouts.due_payments(40)
    # Two services, as two processes would have: only the database lock serialises them.
    runs = [payouts.service(concurrency=4, max_requests_per_second=None) for _ in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results: list[PayoutRunResult] = list(pool.map(lambda s: s.run(), runs))

    assert sum(r.paid_out for r in results) == len(due), results
    assert all(r.failed == 0 for r in results), results
    transfers = payouts.transfers_at_stripe()
    by_group: dict[str, list[stripe.Transfer]] = {}
    for transfer in transfers:
        by_group.setdefault(transfer.transfer_group or "", []).append(transfer)
    assert sorted(by_group) == sorted(str(booking) for booking, _ in due)
    for booking_id, payment_id in due:
        (transfer,) = by_group[str(booking_id)]
        payment = payouts.ledger.get_payment(payment_id)
        assert payment.status == PaymentStatus.PAID
        assert payment.transfer_id == transfer.id
        assert transfer.source_transaction == payment.charge_id
        assert transfer.amount == (PRICE - FEE).amount
    # And a third run finds nothing left to pay.
    assert runs[0].run().paid_out == 0


def test_a_run_keeps_to_the_configured_request_rate_toward_stripe(payouts: Payouts) -> None:
    count, rate = 8, 8.0
    payouts.due_payments(count)
    service = payouts.service(concurrency=4, max_requests_per_second=rate)

    started = time.monotonic()
    result = service.run()
    elapsed = time.monotonic() - started

    assert result.paid_out == count and result.failed == 0, result
    assert len(payouts.transfers_at_stripe()) == count
    # Each payout makes two requests (the look-up by transfer group, then the transfer) and the
    # run one more (the mentor's account): 2N + 1 requests, spaced 1/rate apart over 4 threads.
    requests = 2 * count + 1
    assert elapsed >= (requests - 1) / rate, elapsed


def test_rate_limited_and_lost_transfers_on_many_threads_are_paid_out_once_by_the_next_run(
    payouts: Payouts,
) -> None:
    due = payouts.due_payments(12)
    # Stripe answers three transfers with 429 (rate limited: made nothing), then makes three
    # whose answers are lost on the way back (made, unrecorded).
    arm_fault(
        payouts.sandbox.url,
        service="stripe",
        method="POST",
        path="/v1/transfers",
        status=429,
        times=3,
        message="Too many requests",
    )
    control(
        payouts.sandbox.url,
        "POST",
        "/faults",
        {
            "service": "stripe",
            "method": "POST",
            "path": "/v1/transfers",
            "status": 0,
            "times": 3,
            "afterProcessing": True,
        },
    )
    service = payouts.service(concurrency=4, max_requests_per_second=None)

    first = service.run()
    assert first.failed >= 3 and first.paid_out + first.failed == len(due), first
    # Transient: the next run pays the rest, finding the transfers Stripe did make.
    second = service.run()
    assert second.failed == 0 and first.paid_out + second.paid_out == len(due), second

    payouts.assert_each_paid_out_once(due)


def test_a_run_in_progress_at_shutdown_stops_soon_and_the_next_run_pays_the_rest_once(
    payouts: Payouts,
) -> None:
    due = payouts.due_payments(30)
    # As in serve/worker: the service and its schedule share the process's shutdown signal.
    stopping = threading.Event()
    rate = 4.0  # 2 requests a payout: the whole run would take at least 15 s
    service = payouts.service(concurrency=4, max_requests_per_second=rate, stopping=stopping)
    schedule = PayoutSchedule(service, 3600, stopping)
    schedule.start()
    try:
        wait_until(lambda: len(payouts.transfers_at_stripe()) >= 3, timeout=120)
    finally:
        stopped_at = time.monotonic()
        schedule.stop(timeout=120)  # what Container.close() does on SIGTERM
    stopping_took = time.monotonic() - stopped_at

    assert not schedule.is_running
    first = schedule.last_result
    assert first is not None and schedule.last_error is None
    assert first.failed == 0, first.failures
    assert first.left > 0 and first.paid_out + first.left == len(due), first
    assert first.eligible == first.paid_out  # every payout begun was finished and recorded
    # Well before the run could have finished: the payments it left need 2 requests each.
    assert stopping_took < first.left * 2 / rate, (stopping_took, first)
    assert len(payouts.transfers_at_stripe()) == first.paid_out

    second = payouts.service(concurrency=4, max_requests_per_second=None).run()
    assert second.failed == 0 and second.left == 0, second.failures
    assert second.paid_out == first.left, second

    payouts.assert_each_paid_out_once(due)


def test_a_run_that_loses_its_run_lock_leaves_the_rest_and_the_next_run_pays_it_once(
    payouts: Payouts, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    due = payouts.due_payments(30)
    rate = 4.0  # 2 requests a payout: the whole run would take at least 15 s
    service = payouts.service(concurrency=4, max_requests_per_second=rate)
    with ThreadPoolExecutor(max_workers=1) as pool, caplog.at_level(logging.ERROR):
        running = pool.submit(service.run)
        wait_until(lambda: len(payouts.transfers_at_stripe()) >= 3, timeout=120)
        assert end_sessions_holding(postgres_url, "payouts-run") == 1
        # Another run (any process) may take the lock now; this one stops beginning payouts.
        first = running.result(timeout=120)

    assert first.failed == 0, first.failures
    assert first.left > 0 and first.paid_out + first.left == len(due), first
    assert first.eligible == first.paid_out  # every payout begun was finished and recorded
    assert "lost its run lock" in caplog.text
    assert len(payouts.transfers_at_stripe()) == first.paid_out

    second = payouts.service(concurrency=4, max_requests_per_second=None).run()
    assert second.failed == 0 and second.left == 0, second.failures
    assert second.paid_out == first.left, second
    payouts.assert_each_paid_out_once(due)


def test_sigterm_stops_a_payouts_run_process_soon_and_the_next_run_pays_the_rest_once(
    payouts: Payouts, postgres_url: str
) -> None:
    due = payouts.due_payments(30)
    env = cli_env(postgres_url, payouts.sandbox.url, rate=4)  # at least 15 s for all 30
    process = subprocess.Popen(
        [sys.executable, "-m", "mentorpay.cli", "payouts", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: len(payouts.transfers_at_stripe()) >= 3, timeout=120)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)

    assert process.returncode == 0, output
    counts = re.search(r"(\d+) paid out, 0 failed, (\d+) left for the next run", output)
    assert counts is not None, output
    paid_out, left = int(counts[1]), int(counts[2])
    assert left > 0 and paid_out + left == len(due), output
    assert len(payouts.transfers_at_stripe()) == paid_out

    rest = payouts.service(concurrency=4, max_requests_per_second=None).run()
    assert rest.failed == 0 and rest.paid_out == left, rest
    payouts.assert_each_paid_out_once(due)
