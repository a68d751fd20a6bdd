"""Concurrent writers on PostgreSQL: optimistic concurrency turns races into one record."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import psycopg
import pytest

from ledger import Ledger, Money, PaymentRecorded, RefundExceedsPayment
from mentorpay.persistence import eventsourcing_env
from projections.database_url import parse_database_url
from tests.support.ledger_factories import T0, accepted_booking, request_booking

pytestmark = pytest.mark.postgres

THREADS = 16
T = TypeVar("T")


@pytest.fixture
def pg_ledger(postgres_url: str) -> Iterator[Ledger]:
    with Ledger(eventsourcing_env(postgres_url)) as app:
        yield app


def all_at_once(work: Callable[[int], T]) -> list[T | Exception]:
    """Run ``work(i)`` on THREADS threads released together by a barrier."""
    barrier = threading.Barrier(THREADS)

    def run(i: int) -> T | Exception:
        barrier.wait(timeout=30)
        try:
            return work(i)
        except Exception as error:  # collected: the test decides which errors are expected
            return error

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def test_the_same_payment_reported_sixteen_times_at_once_is_recorded_once(
    pg_ledger: Ledger,
) -> None:
    booking_id = request_booking(pg_ledger)

    results = all_at_once(
        lambda _: pg_ledger.record_payment(
            payment_intent_id="pi_race",
            charge_id="ch_race",
            amount=Money(7500, "usd"),
            booking_id=booking_id,
            paid_at=T0,
        )
    )

    assert all(isinstance(r, PaymentRecorded) for r in results), results
    recorded = [r for r in results if isinstance(r, PaymentRecorded)]
    assert sum(r.newly_recorded for r in recorded) == 1
    assert {(r.payment_id, r.disposition) for r in recorded} == {
        (recorded[0].payment_id, "accepted")
    }
    topics = Counter(n.topic for n in pg_ledger.recorder.select_notifications(start=1, limit=100))
    assert topics == {
        "mentorpay.Booking.Requested": 1,
        "mentorpay.Payment.Paid": 1,
        "mentorpay.Booking.PaymentConfirmed": 1,
        "mentorpay.Booking.PolicyFixed": 1,
    }


def test_sixteen_concurrent_refunds_never_exceed_the_payment(pg_ledger: Ledger) -> None:
    _, payment_id = accepted_booking(pg_ledger)  # 7500 paid
    # 16 refunds of 600 would be 9600: only 12 of them fit.
    results = all_at_once(
        lambda i: pg_ledger.record_refund(
            payment_id=payment_id, refund_id=f"re_{i}", amount=Money(600, "usd"), reason="split"
        )
    )

    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, RefundExceedsPayment) for e in errors), errors
    assert len(errors) == 4
    payment = pg_ledger.get_payment(payment_id)
    assert payment.refunded_amount == 12 * 600 <= payment.amount
    stored = [
        n
        for n in pg_ledger.recorder.select_notifications(start=1, limit=100)
        if n.topic == "mentorpay.Payment.Refunded"
    ]
    assert len(stored) == 12


def test_events_live_in_the_ledger_events_table(pg_ledger: Ledger, postgres_url: str) -> None:
    request_booking(pg_ledger)
    with psycopg.connect(parse_database_url(postgres_url).psycopg_conninfo) as conn:
        (count,) = conn.execute("SELECT count(*) FROM ledger_events").fetchone()  # type: ignore[misc]
    assert count == 1
