"""Cal.com books the session but its answer never arrives: the retry finds that booking."""

from __future__ import annotations

import stripe

from tests.support.stack import Stack
from tests.support.waiting import wait_until


def test_a_lost_booking_response_makes_no_second_booking_and_no_refund(stack: Stack) -> None:
    with stack.sandbox_client() as sandbox:
        armed = sandbox.post("/_sandbox/faults", json={
            "service": "calcom", "method": "POST", "path": "/v2/bookings",
            "status": 0, "afterProcessing": True, "times": 1,
        })  # fmt: skip
    assert armed.status_code == 201, armed.text
    checkout = stack.start_checkout(stack.free_slot())
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200

    booking = wait_until(
        lambda: (b := stack.booking(checkout["bookingId"]))["status"] == "ACCEPTED" and b,
        timeout=20,
    )
    with stack.sandbox_client() as sandbox:
        assert sandbox.get("/_sandbox/faults").json() == {"faults": []}  # the response was lost
    ours = [b for b in stack.calcom_bookings()
            if b["metadata"].get("mentorpay_booking_id") == checkout["bookingId"]]  # fmt: skip
    assert [b["uid"] for b in ours] == [booking["calcomBookingUid"]]
    client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": stack.sandbox_url})
    intent = booking["payment"]["paymentIntentId"]
    assert list(client.v1.refunds.list(params={"payment_intent": intent}).data) == []
