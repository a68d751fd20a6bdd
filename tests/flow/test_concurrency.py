"""One payment reported many times at once (return page and webhooks) is recorded once."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import httpx
import stripe

from tests.support.http import http_client
from tests.support.stack import WEBHOOK_SECRET, Stack
from tests.support.waiting import wait_until

CONFIRM_CALLS = 20


def _events(stack: Stack, topic: str, originator_id: UUID) -> int:
    notifications = stack.container.ledger.recorder.select_notifications(start=1, limit=10_000)
    return sum(1 for n in notifications if n.topic == topic and n.originator_id == originator_id)


def _signed(payload: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(
        f"{timestamp}.{payload.decode()}", WEBHOOK_SECRET
    )
    return {"Content-Type": "application/json", "Stripe-Signature": f"t={timestamp},v1={signature}"}


def _events_about(stack: Stack, checkout_session_id: str) -> list[dict]:
    """Stripe's events about this checkout and its payment, oldest first (what it delivers)."""
    with stack.sandbox_client() as sandbox:
        response = sandbox.get(
            "/v1/events",
            params={"limit": 100},
            headers={"Authorization": "Bearer sk_test_sandbox"},
        )
    assert response.status_code == 200, response.text
    events = list(reversed(response.json()["data"]))  # Stripe lists newest first
    session = next(
        e["data"]["object"]
        for e in events
        if e["type"] == "checkout.session.completed"
        and e["data"]["object"]["id"] == checkout_session_id
    )
    ours = {checkout_session_id, session["payment_intent"]}
    return [
        e
        for e in events
        if ours & {e["data"]["object"].get("id"), e["data"]["object"].get("payment_intent")}
    ]


def _delivered(stack: Stack, event_ids: set[str]) -> bool:
    with stack.sandbox_client() as sandbox:
        attempts = sandbox.get("/_sandbox/webhook-deliveries").json()["data"]
    return event_ids <= {a["event"] for a in attempts if a["delivered"]}


def test_concurrent_confirms_and_replayed_webhooks_record_one_payment(stack: Stack) -> None:
    checkout = stack.start_checkout(stack.free_slot())
    booking_id = UUID(checkout["bookingId"])
    with stack.sandbox_client() as sandbox:
        # Every reporter (Stripe's own webhook included) reads the charge slowly, so they all
        # reach the ledger at about the same time instead of one after the other.
        armed = sandbox.post(
            "/_sandbox/faults",
            json={
                "service": "stripe",
                "method": "GET",
                "path": "/v1/charges/*",
                "delayMs": 300,
                "times": 1000,
            },
        )
        assert armed.status_code == 201, armed.text
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200

    events = _events_about(stack, checkout["checkoutSessionId"])
    types = {e["type"] for e in events}
    assert {"checkout.session.completed", "payment_intent.succeeded"} <= types
    # Stripe's deliveries race with ours: newest first, twice, freshly signed.
    replays = [json.dumps(e).encode() for e in [*reversed(events), *reversed(events)]]

    barrier = threading.Barrier(CONFIRM_CALLS + 1)
    token = stack.token()

    def confirm() -> httpx.Response:
        with http_client(
            base_url=stack.api_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            barrier.wait(timeout=10)
            return client.post(
                "/api/bookings/confirm", json={"checkoutSessionId": checkout["checkoutSessionId"]}
            )

    def replay_webhooks() -> list[httpx.Response]:
        with http_client(base_url=stack.api_url, timeout=30) as client:
            barrier.wait(timeout=10)
            return [
                client.post("/api/webhooks/stripe", content=body, headers=_signed(body))
                for body in replays
            ]

    with ThreadPoolExecutor(CONFIRM_CALLS + 1) as pool:
        webhook_calls = pool.submit(replay_webhooks)
        confirm_calls = [pool.submit(confirm) for _ in range(CONFIRM_CALLS)]
        confirmations = [call.result() for call in confirm_calls]
        webhooks = webhook_calls.result()

    for response in confirmations:
        assert response.status_code == 200, response.text
        assert response.json() == {
            "success": True,
            "bookingId": str(booking_id),
            "status": "ACCEPTED",
            "error": None,
        }
    assert [r.status_code for r in webhooks] == [200] * len(replays)
    wait_until(lambda: _delivered(stack, {e["id"] for e in events}), timeout=20)

    ledger = stack.container.ledger
    payment = ledger.get_payment(ledger.get_booking(booking_id).payment_id)
    booking = stack.booking(str(booking_id))
    assert booking["status"] == "ACCEPTED"
    assert booking["payment"]["status"] == "succeeded"
    assert _events(stack, "mentorpay.Payment.Paid", payment.id) == 1
    assert _events(stack, "mentorpay.Booking.PaymentConfirmed", booking_id) == 1
    fulfilment = stack.container.processes["fulfilment"]
    assert fulfilment.wait_for(ledger.recorder.max_notification_id() or 0, timeout=10)
    ours = [
        b
        for b in stack.calcom_bookings()
        if (b.get("metadata") or {}).get("mentorpay_booking_id") == str(booking_id)
    ]
    assert [b["uid"] for b in ours] == [booking["calcomBookingUid"]]
