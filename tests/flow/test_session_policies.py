"""Policies per event type: recorded when the booking is paid, applied at cancellation; a late
cancellation's partial refund posts balanced entries (fee on what is kept, the mentor owed the
rest, paid out after the hold)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from ledger import BOOKINGS_CLEARING, PLATFORM_FEES, STRIPE_BALANCE, mentor_payable
from ledger.session_policy import SessionPolicy
from processes.services.payouts import PayoutRunResult
from tests.support.lifecycle import (
    FEE,
    HOLD,
    MENTOR,
    PRICE,
    account_balances,
    assert_books_clean,
    book,
    payouts_at,
    refunded_to,
    set_policy,
    stripe_refunds,
    stripe_transfers,
    workers_caught_up,
)
from tests.support.stack import Stack

# Every bookable slot (1 to 8 days ahead) is inside a 30-day window: a late cancellation.
LATE_HALF = {"free_cancel_hours": 30 * 24, "late_cancel_refund_percent": 50}


def _cancel(stack: Stack, booking_id: str) -> dict:
    with stack.client() as client:
        response = client.post(f"/api/bookings/{booking_id}/cancel")
    assert response.status_code == 200, response.text
    return response.json()


def test_the_policy_in_force_at_payment_is_recorded_with_it(stack: Stack) -> None:
    set_policy(stack, max_reschedules=3, late_cancel_refund_percent=25)
    booking_id, _ = book(stack)

    booking = stack.container.ledger.get_booking(UUID(booking_id))
    # What the catalogue sets, and the settings' defaults for the rest.
    assert booking.policy == SessionPolicy(
        free_cancel_hours=24,
        late_cancel_refund_percent=25,
        reschedule_cutoff_hours=24,
        max_reschedules=3,
    )


def test_a_late_cancellation_refunds_the_policys_percentage_with_balanced_postings(
    stack: Stack,
) -> None:
    set_policy(stack, **LATE_HALF)
    booking_id, payment = book(stack)

    answer = _cancel(stack, booking_id)

    assert answer["refund"] == {
        "rule": "late_cancellation",
        "amount": PRICE // 2,
        "currency": "usd",
    }
    refunded = refunded_to(stack, payment, PRICE // 2)
    workers_caught_up(stack)
    assert [r.amount for r in stripe_refunds(stack, payment)] == [PRICE // 2]
    # The attendee has half back; the fee is taken on the half that is kept; the mentor is owed
    # the rest of that half.
    kept = PRICE - PRICE // 2
    fee_kept = FEE - (PRICE // 2) * FEE // PRICE
    books = account_balances(stack, UUID(booking_id), payment.id)
    assert books[STRIPE_BALANCE] == kept
    assert books[BOOKINGS_CLEARING] == 0
    assert books[PLATFORM_FEES] == -fee_kept
    assert books[mentor_payable(MENTOR)] == -(kept - fee_kept)
    assert refunded.status == "partially_refunded"
    assert_books_clean(stack)

    # The mentor's share of what was kept is paid out after the hold, once.
    after_hold = payouts_at(stack, payment.paid_at + HOLD)
    assert after_hold.run() == PayoutRunResult(eligible=1, paid_out=1, failed=0)
    assert after_hold.run() == PayoutRunResult(0, 0, 0)
    (transfer,) = stripe_transfers(stack, booking_id)
    assert transfer.amount == kept - fee_kept
    assert account_balances(stack, UUID(booking_id), payment.id)[mentor_payable(MENTOR)] == 0
    assert_books_clean(stack)


def test_a_policy_changed_in_the_catalogue_after_payment_does_not_change_that_booking(
    stack: Stack,
) -> None:
    # Paid under the defaults: free cancellation up to 24 h before (every slot is further out).
    early_id, early_payment = book(stack, timedelta(days=3))
    set_policy(stack, **LATE_HALF)
    late_id, late_payment = book(stack, timedelta(days=3))

    early = _cancel(stack, early_id)
    late = _cancel(stack, late_id)

    assert early["refund"] == {"rule": "free_cancellation", "amount": PRICE, "currency": "usd"}
    assert late["refund"] == {"rule": "late_cancellation", "amount": PRICE // 2, "currency": "usd"}
    refunded_to(stack, early_payment, PRICE)
    refunded_to(stack, late_payment, PRICE // 2)
    # Changing it back changes neither recorded decision.
    set_policy(stack)
    with stack.client() as client:
        again = client.post(f"/api/bookings/{late_id}/cancel")
    assert again.json()["refund"]["amount"] == PRICE // 2
    workers_caught_up(stack)
    assert [r.amount for r in stripe_refunds(stack, late_payment)] == [PRICE // 2]
    assert_books_clean(stack)
