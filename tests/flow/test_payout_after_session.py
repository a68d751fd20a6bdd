"""Payouts after the session, not before it: a payment is due when its hold has passed and its
session ended ``MENTORPAY_PAYOUT_AFTER_SESSION_HOURS`` (24 by default) ago."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from ledger import PayoutNotAllowed
from mentorpay.settings import Settings
from processes.services.payouts import PayoutRunResult
from tests.support.lifecycle import (
    FEE,
    HOLD,
    MENTOR_ACCOUNT,
    PRICE,
    assert_books_clean,
    book,
    payouts_at,
    slots,
    stripe_transfers,
)
from tests.support.stack import Stack

WINDOW = timedelta(hours=24)


def test_the_setting_defaults_to_a_day_and_empty_means_the_hold_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().payout_after_session_hours == 24
    monkeypatch.setenv("MENTORPAY_PAYOUT_AFTER_SESSION_HOURS", "")
    assert Settings().payout_after_session_hours is None
    monkeypatch.setenv("MENTORPAY_PAYOUT_AFTER_SESSION_HOURS", "6")
    assert Settings().payout_after_session_hours == 6


def test_a_held_payment_whose_session_has_not_ended_is_not_paid_out_until_after_it(
    stack: Stack,
) -> None:
    # A session six days out: the 72 h hold passes long before it ends.
    booking_id, payment = book(stack, timedelta(days=6))
    end = stack.container.ledger.get_booking(UUID(booking_id)).request.end
    assert payment.paid_at + HOLD < end

    assert payouts_at(stack, payment.paid_at + HOLD, WINDOW).run() == PayoutRunResult(0, 0, 0)
    assert payouts_at(stack, end, WINDOW).run() == PayoutRunResult(0, 0, 0)
    just_before = end + WINDOW - timedelta(seconds=1)
    assert payouts_at(stack, just_before, WINDOW).run() == PayoutRunResult(0, 0, 0)
    # The ledger itself refuses too, whatever a read model says.
    with pytest.raises(PayoutNotAllowed):
        stack.container.ledger.mark_payout_eligible(
            payment_id=payment.id,
            destination_account=MENTOR_ACCOUNT,
            now=just_before,
            hold=HOLD,
            after_session=WINDOW,
        )
    assert stripe_transfers(stack, booking_id) == []

    after = payouts_at(stack, end + WINDOW, WINDOW)
    assert after.run() == PayoutRunResult(eligible=1, paid_out=1, failed=0)
    assert after.run() == PayoutRunResult(0, 0, 0)
    (transfer,) = stripe_transfers(stack, booking_id)
    assert transfer.amount == PRICE - FEE
    assert_books_clean(stack)


def test_the_containers_payouts_use_the_setting(stack: Stack) -> None:
    booking_id, _ = book(stack, timedelta(days=1))
    # The stack's own service: a 72 h hold and a day after the session; nothing is due now.
    assert stack.container.payouts.run() == PayoutRunResult(0, 0, 0)
    assert stripe_transfers(stack, booking_id) == []


def test_a_session_rescheduled_later_moves_its_payout_with_it(stack: Stack) -> None:
    booking_id, payment = book(stack, timedelta(days=4))
    old_end = stack.container.ledger.get_booking(UUID(booking_id)).request.end
    later = next(s for s in slots(stack, timedelta(days=6)) if s > old_end + timedelta(days=1))
    with stack.client() as client:
        moved = client.post(
            f"/api/bookings/{booking_id}/reschedule", json={"start": later.isoformat()}
        )
    assert moved.status_code == 200, moved.text
    new_end = stack.container.ledger.get_booking(UUID(booking_id)).request.end
    assert new_end > old_end + timedelta(days=1)

    at_old = max(payment.paid_at + HOLD, old_end + WINDOW)
    assert payouts_at(stack, at_old, WINDOW).run() == PayoutRunResult(0, 0, 0)
    assert payouts_at(stack, new_end + WINDOW, WINDOW).run() == PayoutRunResult(1, 1, 0)
    assert len(stripe_transfers(stack, booking_id)) == 1
    assert_books_clean(stack)
