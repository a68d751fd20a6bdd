"""When Cal.com or our own worker lets the user down, the user is booked once or refunded once."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

import pytest
import stripe

from ledger import Ledger
from processes.managers.fulfilment import Fulfilment
from tests.support.stack import Stack
from tests.support.waiting import wait_until

CALCOM_AUTH = {"Authorization": "Bearer cal_test_sandbox"}
BOOKINGS_API = {**CALCOM_AUTH, "cal-api-version": "2024-08-13"}
SLOTS_API = {**CALCOM_AUTH, "cal-api-version": "2024-09-04"}


def _our_calcom_bookings(stack: Stack, booking_id: str) -> list[dict]:
    return [
        b
        for b in stack.calcom_bookings()
        if (b.get("metadata") or {}).get("mentorpay_booking_id") == booking_id
    ]


def _stripe_refunds(stack: Stack, payment_intent_id: str) -> list[Any]:
    client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": stack.sandbox_url})
    return list(client.v1.refunds.list(params={"payment_intent": payment_intent_id}).data)


def _events(stack: Stack, topic: str, originator_id: UUID) -> int:
    notifications = stack.container.ledger.recorder.select_notifications(start=1, limit=10_000)
    return sum(1 for n in notifications if n.topic == topic and n.originator_id == originator_id)


def _payment_of(stack: Stack, booking_id: str) -> Any:
    ledger = stack.container.ledger
    payment_id = wait_until(lambda: ledger.get_booking(UUID(booking_id)).payment_id, timeout=20)
    return ledger.get_payment(payment_id)


def _workers_caught_up(stack: Stack) -> None:
    """Every process manager has handled the whole ledger, so no late effect can follow."""
    position = stack.container.ledger.recorder.max_notification_id() or 0
    for name, worker in stack.container.processes.items():
        assert worker.wait_for(position, timeout=20), f"{name} is stuck"


def _settled(stack: Stack, booking_id: str) -> dict:
    return wait_until(
        lambda: (
            (b := stack.booking(booking_id))["status"] not in ("AWAITING_PAYMENT", "PENDING") and b
        ),
        timeout=20,
    )


def test_slot_taken_at_calcom_while_paying_rejects_and_refunds_once(stack: Stack) -> None:
    start = stack.free_slot()
    checkout = stack.start_checkout(start)
    booking_id = checkout["bookingId"]
    reservation_uid = stack.container.ledger.get_booking(UUID(booking_id)).request.reservation_uid
    assert reservation_uid

    # Someone else gets the slot at Cal.com after our hold is gone.
    with stack.sandbox_client() as cal:
        released = cal.delete(f"/v2/slots/reservations/{reservation_uid}", headers=SLOTS_API)
        assert released.status_code == 200, released.text
        taken = cal.post(
            "/v2/bookings",
            headers=BOOKINGS_API,
            json={
                "start": start.isoformat(),
                "eventTypeId": 1001,
                "attendee": {
                    "name": "Grace Hopper",
                    "email": "grace@example.com",
                    "timeZone": "UTC",
                },
            },
        )
        assert taken.status_code == 201, taken.text

    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    with stack.client() as client:
        confirmed = client.post(
            "/api/bookings/confirm", json={"checkoutSessionId": checkout["checkoutSessionId"]}
        )
    assert confirmed.status_code == 200, confirmed.text
    answer = confirmed.json()
    assert answer["success"] is False
    assert answer["status"] == "REJECTED"
    assert "refund" in answer["error"].lower()

    booking = _settled(stack, booking_id)
    assert booking["status"] == "REJECTED"
    assert booking["calcomBookingUid"] is None
    assert _our_calcom_bookings(stack, booking_id) == []

    payment = wait_until(
        lambda: (p := _payment_of(stack, booking_id)).status == "refunded" and p, timeout=20
    )
    _workers_caught_up(stack)
    refunds = _stripe_refunds(stack, payment.payment_intent_id)
    assert [(r.amount, r.currency, r.status) for r in refunds] == [(7500, "usd", "succeeded")]
    assert payment.refunded_amount == 7500
    assert _events(stack, "mentorpay.Payment.Refunded", payment.id) == 1
    assert stack.booking(booking_id)["payment"]["amountRefunded"] == 7500


def test_calcom_5xx_twice_then_books_once_without_refund(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="projections.work_pool")
    checkout = stack.start_checkout(stack.free_slot())
    booking_id = checkout["bookingId"]
    with stack.sandbox_client() as sandbox:
        armed = sandbox.post(
            "/_sandbox/faults",
            json={
                "service": "calcom",
                "method": "POST",
                "path": "/v2/bookings",
                "status": 500,
                "times": 2,
            },
        )
        assert armed.status_code == 201, armed.text

    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    booking = _settled(stack, booking_id)
    assert booking["status"] == "ACCEPTED"

    # Both injected failures were met and retried.
    failed_attempts = [
        r
        for r in caplog.records
        if r.name == "projections.work_pool" and booking_id in r.getMessage()
    ]
    assert len(failed_attempts) == 2

    calcom = _our_calcom_bookings(stack, booking_id)
    assert [b["uid"] for b in calcom] == [booking["calcomBookingUid"]]
    _workers_caught_up(stack)
    payment = _payment_of(stack, booking_id)
    assert payment.status == "succeeded"
    assert _stripe_refunds(stack, payment.payment_intent_id) == []


class _CrashAfterBooking:
    """The ledger as fulfilment sees it, except that the first ``record_booked`` dies, as a
    worker killed between Cal.com's answer and the ledger write would."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.crashes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)

    def record_booked(self, **kwargs: Any) -> Any:
        if self.crashes == 0:
            self.crashes += 1
            raise RuntimeError("worker died before recording the Cal.com booking")
        return self._ledger.record_booked(**kwargs)


def test_worker_dying_after_calcom_booked_finds_the_booking_on_restart(stack: Stack) -> None:
    container = stack.container
    real_worker = container.processes["fulfilment"]
    real_worker.stop()

    checkout = stack.start_checkout(stack.free_slot())
    booking_id = checkout["bookingId"]
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    wait_until(lambda: stack.booking(booking_id)["status"] == "PENDING", timeout=20)

    crashing_ledger = _CrashAfterBooking(container.ledger)
    doomed = Fulfilment(crashing_ledger, container.calcom)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="worker died"):
        wait_until(lambda: container.work.run_one("fulfilment", doomed), timeout=20)
    assert crashing_ledger.crashes == 1
    assert len(_our_calcom_bookings(stack, booking_id)) == 1
    assert stack.booking(booking_id)["status"] == "PENDING"

    real_worker.start()
    booking = wait_until(
        lambda: (b := stack.booking(booking_id))["status"] == "ACCEPTED" and b, timeout=20
    )
    _workers_caught_up(stack)
    calcom = _our_calcom_bookings(stack, booking_id)
    assert [b["uid"] for b in calcom] == [booking["calcomBookingUid"]]
    payment = _payment_of(stack, booking_id)
    assert payment.status == "succeeded"
    assert _stripe_refunds(stack, payment.payment_intent_id) == []
    assert _events(stack, "mentorpay.Booking.Booked", UUID(booking_id)) == 1
