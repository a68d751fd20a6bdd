"""Helpers for the pipeline's flow tests: faults at the sandbox, what Cal.com and Stripe hold
for a booking, and waiting until the process managers have done their work."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import stripe

from tests.support.stack import Stack


def arm_calcom_fault(stack: Stack, **fault: Any) -> None:
    with stack.sandbox_client() as sandbox:
        response = sandbox.post("/_sandbox/faults", json={"service": "calcom", **fault})
        assert response.status_code == 201, response.text


def armed_faults(stack: Stack) -> list[dict]:
    with stack.sandbox_client() as sandbox:
        return sandbox.get("/_sandbox/faults").json()["faults"]


def calcom_bookings_of(stack: Stack, booking_id: str) -> list[dict]:
    return [
        b
        for b in stack.calcom_bookings()
        if (b.get("metadata") or {}).get("mentorpay_booking_id") == booking_id
    ]


def stripe_refunds_of(stack: Stack, booking_id: str) -> list[Any]:
    payment_id = stack.container.ledger.get_booking(UUID(booking_id)).payment_id
    if payment_id is None:
        return []
    intent = stack.container.ledger.get_payment(payment_id).payment_intent_id
    client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": stack.sandbox_url})
    return list(client.v1.refunds.list(params={"payment_intent": intent}).data)


def status_of(stack: Stack, booking_id: str) -> str:
    return str(stack.container.ledger.get_booking(UUID(booking_id)).status)


def free_slots(stack: Stack) -> list[datetime]:
    now = datetime.now(UTC)
    with stack.client() as client:
        response = client.get(
            "/api/event-types/1001/slots",
            params={
                "start": (now + timedelta(days=1)).isoformat(),
                "end": (now + timedelta(days=15)).isoformat(),
            },
        )
    assert response.status_code == 200, response.text
    return [datetime.fromisoformat(slot["start"]) for slot in response.json()]


_SLOTS_BY_STACK: dict[str, list[datetime]] = {}


def book_and_pay(stack: Stack, skip: int) -> str:
    """Book the ``skip``-th slot of those free when the test first asked (so concurrent
    bookings never pick the same one) and pay for it."""
    slots = _SLOTS_BY_STACK.setdefault(stack.api_url, free_slots(stack))
    checkout = stack.start_checkout(slots[skip])
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    return str(checkout["bookingId"])


def drained(stack: Stack, timeout: float = 30.0) -> None:
    """Every process manager and every read model is done with the log, including the events
    their own work recorded meanwhile (a refund's ``Refunded``, say)."""
    container = stack.container
    waiting_on = {**container.processes, **container.projections}
    deadline = time.monotonic() + timeout
    while True:
        head = container.ledger.recorder.max_notification_id() or 0
        for name, worker in waiting_on.items():
            left = max(deadline - time.monotonic(), 0.0)
            assert worker.wait_for(head, timeout=left), f"{name} did not finish its work"
        if (container.ledger.recorder.max_notification_id() or 0) == head:
            return
