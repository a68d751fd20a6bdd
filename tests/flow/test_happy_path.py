"""A user picks a slot, pays, and is booked: confirm-first and webhook-first."""

from __future__ import annotations

from tests.support.stack import Stack
from tests.support.waiting import wait_until


def _our_calcom_bookings(stack: Stack, booking_id: str) -> list[dict]:
    return [
        b
        for b in stack.calcom_bookings()
        if (b.get("metadata") or {}).get("mentorpay_booking_id") == booking_id
    ]


def test_confirm_first_books_and_records_the_payment(stack: Stack) -> None:
    checkout = stack.start_checkout(stack.free_slot())
    assert checkout["amount"] == 7500 and checkout["currency"] == "usd"
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200

    with stack.client() as client:
        response = client.post(
            "/api/bookings/confirm", json={"checkoutSessionId": checkout["checkoutSessionId"]}
        )
    assert response.status_code in (200, 202), response.text
    booking = wait_until(
        lambda: (b := stack.booking(checkout["bookingId"]))["status"] == "ACCEPTED" and b,
        timeout=20,
    )
    assert booking["calcomBookingUid"]
    assert booking["payment"]["status"] == "succeeded"
    assert booking["payment"]["amount"] == 7500
    calcom = _our_calcom_bookings(stack, checkout["bookingId"])
    assert [b["uid"] for b in calcom] == [booking["calcomBookingUid"]]


def test_webhook_alone_books_the_session(stack: Stack) -> None:
    checkout = stack.start_checkout(stack.free_slot())
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    booking = wait_until(
        lambda: (b := stack.booking(checkout["bookingId"]))["status"] == "ACCEPTED" and b,
        timeout=20,
    )
    assert booking["payment"]["status"] == "succeeded"
    assert len(_our_calcom_bookings(stack, checkout["bookingId"])) == 1
