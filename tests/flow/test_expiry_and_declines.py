"""A checkout nobody pays gives its slot back; a declined card leaves the booking payable."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from tests.support.stack import Stack
from tests.support.waiting import wait_until


def _offered(stack: Stack, start: datetime) -> bool:
    with stack.client() as client:
        response = client.get(
            "/api/event-types/1001/slots",
            params={
                "start": (start - timedelta(hours=1)).isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(),
            },
        )
    assert response.status_code == 200, response.text
    return any(datetime.fromisoformat(s["start"]) == start for s in response.json())


def _reservations(stack: Stack) -> list[dict]:
    with stack.sandbox_client() as client:
        response = client.get("/_sandbox/calcom/bookings")
    assert response.status_code == 200, response.text
    return response.json()["reservations"]


def test_an_unpaid_checkout_expires_and_frees_its_slot(stack: Stack) -> None:
    start = stack.free_slot()
    checkout = stack.start_checkout(start)
    assert not _offered(stack, start)  # held while the customer pays

    # Jump just past the checkout's expiry but not past the slot hold's own end (it outlives
    # the checkout by a margin), so only our release can free the slot this soon.
    expires_at = datetime.fromisoformat(checkout["expiresAt"])
    (hold,) = _reservations(stack)
    hold_until = datetime.fromisoformat(hold["reservationUntil"].replace("Z", "+00:00"))
    target = expires_at + timedelta(seconds=30)
    assert target < hold_until
    with stack.sandbox_client() as sandbox:
        advanced = sandbox.post(
            "/_sandbox/clock/advance",
            json={"seconds": (target - datetime.now(expires_at.tzinfo)).total_seconds()},
        )
    assert advanced.status_code == 200, advanced.text
    assert datetime.fromisoformat(advanced.json()["now"]) < hold_until

    booking = wait_until(
        lambda: (b := stack.booking(checkout["bookingId"]))["status"] == "EXPIRED" and b,
        timeout=15,
    )
    assert booking["payment"] is None
    wait_until(lambda: _offered(stack, start), timeout=15)
    assert _reservations(stack) == []
    # Someone else can hold the slot at Cal.com now.
    with stack.sandbox_client() as calcom:
        held = calcom.post(
            "/v2/slots/reservations",
            headers={"Authorization": "Bearer cal_test_sandbox", "cal-api-version": "2024-09-04"},
            json={"eventTypeId": 1001, "slotStart": start.isoformat()},
        )
    assert held.status_code == 201, held.text
    # The expired session cannot be paid any more.
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 400


def test_a_declined_card_leaves_the_booking_payable_and_a_good_card_books_it(
    stack: Stack,
) -> None:
    checkout = stack.start_checkout(stack.free_slot())
    booking_id = checkout["bookingId"]

    declined = stack.pay(checkout["checkoutSessionId"], card="4000000000000002")
    assert declined.status_code == 402, declined.text
    error = declined.json()["error"]
    assert (error["type"], error["code"]) == ("card_error", "card_declined")

    with stack.client() as client:
        confirm = client.post(
            "/api/bookings/confirm", json={"checkoutSessionId": checkout["checkoutSessionId"]}
        )
    assert confirm.status_code == 200, confirm.text
    assert confirm.json()["success"] is False
    assert confirm.json()["status"] == "AWAITING_PAYMENT"
    booking = stack.booking(booking_id)
    assert booking["status"] == "AWAITING_PAYMENT" and booking["payment"] is None
    assert stack.container.ledger.payment_id_for_booking(UUID(booking_id)) is None

    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    with stack.client() as client:
        confirm = client.post(
            "/api/bookings/confirm", json={"checkoutSessionId": checkout["checkoutSessionId"]}
        )
    assert confirm.status_code in (200, 202), confirm.text
    booking = wait_until(
        lambda: (b := stack.booking(booking_id))["status"] == "ACCEPTED" and b, timeout=20
    )
    assert booking["payment"]["status"] == "succeeded"
    assert booking["payment"]["amount"] == 7500
    assert booking["calcomBookingUid"]
