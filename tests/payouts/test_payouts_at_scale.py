"""Payout runs over many due payments on PostgreSQL against the Stripe sandbox: a run's threads
and concurrent runs never transfer a payment twice, the request rate toward Stripe holds, and
a run stopped by the process's shutdown leaves the rest to the next run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
import stripe

from ledger import Ledger, Money, PaymentStatus
from mentorpay.persistence import eventsourcing_env
from processes.gateways.stripe_gateway import StripeGateway
from processes.services.payouts import PayoutRunResult, PayoutSchedule, PayoutService
from projections.catalog import Catalog
from projections.catalog_file import parse_catalog
from projections.follower import Follower
from projections.payments import PaymentsProjection
from projections.store import ReadModelStore
from tests.support.sandbox_controls import arm_fault, control
from tests.support.sandbox_server import RunningSandbox
from tests.support.stripe_sandbox import DEMO_ACCOUNT, GOOD_CARD, HTTP, RETURN_URL
from tests.support.waiting import wait_until

HOLD = timedelta(hours=72)
PRICE, FEE = Money(7500, "usd"), Money(750, "usd")
MENTOR = "mentor-scale"
CATALOG = {
    "mentors": [{"id": MENTOR, "name": "Scale Mentor", "stripe_account_id": DEMO_ACCOUNT}],
    "event_types": [
        {
            "id": 1001,
            "mentor_id": MENTOR,
            "title": "Session",
            "duration_minutes": 30,
            "price": {"amount": PRICE.amount, "currency": PRICE.currency},
        }
    ],
}


@dataclass
class Payouts:
    ledger: Ledger
    store: ReadModelStore
    catalog: Catalog
    stripe: StripeGateway
    payments: Follower
    sandbox: RunningSandbox

    def service(self, **options: object) -> PayoutService:
        now = datetime.now(UTC) + HOLD + timedelta(minutes=5)
        return PayoutService(
            self.ledger,
            self.store,
            self.catalog,
            self.stripe,
            hold=HOLD,
            clock=lambda: now,
            read_model=self.payments,
            **options,  # type: ignore[arg-type]
        )

    def due_payments(self, count: int) -> list[tuple[UUID, UUID]]:
        """``count`` sessions paid by card in the sandbox and booked: (booking, payment) ids."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(self._due_payment, range(count)))

    def _due_payment(self, n: int) -> tuple[UUID, UUID]:
        booking_id = uuid4()
        session = self.stripe.create_checkout_session(
            booking_id=booking_id,
            price=PRICE,
            product_name="Session",
            customer_email="attendee@example.com",
            return_url=RETURN_URL,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            metadata={},
            idempotency_key=f"checkout:{booking_id}",
        )
        HTTP.post(
            f"{self.sandbox.url}/_sandbox/checkout/sessions/{session.id}/pay",
            json={"card": GOOD_CARD},
        ).raise_for_status()
        intent_id = self.stripe.retrieve_checkout_session(session.id).payment_intent_id
        intent = self.stripe.retrieve_payment_intent(intent_id or "")
        charge = self.stripe.retrieve_charge(intent.latest_charge_id or "")
        start = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(hours=n)
        self.ledger.request_booking(
            booking_id=booking_id,
            user_id="user-1",
            mentor_id=MENTOR,
            event_type_id=1001,
            start=start,
            end=start + timedelta(minutes=30),
            attendee_name="Attendee",
            attendee_email="attendee@example.com",
            attendee_time_zone="UTC",
            price=PRICE,
            platform_fee=FEE,
            checkout_session_id=session.id,
            reservation_uid=None,
            expires_at=session.expires_at,
        )
        paid = self.ledger.record_payment(
            payment_intent_id=intent.id,
            charge_id=charge.id,
            amount=charge.amount,
            booking_id=booking_id,
            paid_at=charge.created,
        )
        self.ledger.record_booked(booking_id=booking_id, calcom_booking_uid=f"cal_{n}")
        return booking_id, paid.payment_id

    def transfers_at_stripe(self) -> list[stripe.Transfer]:
        client = stripe.StripeClient(
            "sk_test_scale_checks",
            base_addresses={"api": self.sandbox.url},
            max_network_retries=0,
        )
        return list(client.v1.transfers.list(params={"limit": 100}).auto_paging_iter())


@pytest.fixture
def payouts(postgres_url: str, sandbox: RunningSandbox) -> Iterator[Payouts]:
    ledger = Ledger(eventsourcing_env(postgres_url))
    store = ReadModelStore(postgres_url)
    gateway = StripeGateway("sk_test_scale", sandbox.url)
    try:
        catalog = Catalog(store)
        catalog.create_tables()
        catalog.load(parse_catalog(json.dumps(CATALOG)))
        yield Payouts(
            ledger, store, catalog, gateway, Follower(ledger, store, PaymentsProjection()), sandbox
        )
    finally:
        gateway.close()
        store.close()
        ledger.close()


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

    groups = sorted(t.transfer_group or "" for t in payouts.transfers_at_stripe())
    assert groups == sorted(str(booking) for booking, _ in due)  # one transfer each
    assert all(payouts.ledger.get_payment(p).status == PaymentStatus.PAID for _, p in due)


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

    groups = sorted(t.transfer_group or "" for t in payouts.transfers_at_stripe())
    assert groups == sorted(str(booking) for booking, _ in due)  # one transfer each
    assert all(payouts.ledger.get_payment(p).status == PaymentStatus.PAID for _, p in due)


def test_sigterm_stops_a_payouts_run_process_soon_and_the_next_run_pays_the_rest_once(
    payouts: Payouts, postgres_url: str
) -> None:
    due = payouts.due_payments(30)
    env = {
        **os.environ,
        "MENTORPAY_DATABASE_URL": postgres_url,
        "MENTORPAY_STRIPE_API_BASE": payouts.sandbox.url,
        "MENTORPAY_CALCOM_API_BASE": payouts.sandbox.url,
        "MENTORPAY_PAYOUT_HOLD_HOURS": "0",
        "MENTORPAY_PAYOUT_AFTER_SESSION_HOURS": "",  # the hold alone decides
        "MENTORPAY_PAYOUT_CONCURRENCY": "4",
        "MENTORPAY_PAYOUT_MAX_REQUESTS_PER_SECOND": "4",  # at least 15 s for all 30
    }
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
    groups = sorted(t.transfer_group or "" for t in payouts.transfers_at_stripe())
    assert groups == sorted(str(booking) for booking, _ in due)  # one transfer each
    assert all(payouts.ledger.get_payment(p).status == PaymentStatus.PAID for _, p in due)
